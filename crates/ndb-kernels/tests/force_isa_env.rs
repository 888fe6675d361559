//! `NDB_FORCE_ISA` picks the dispatcher's ISA when the CPU supports it and is ignored
//! otherwise. The dispatcher reads the variable once per process, so each case runs this test
//! binary again as a child process with the variable set.

use std::process::Command;

use ndb_kernels::{kernels_for, Isa};

const REPORT_PREFIX: &str = "ACTIVE_ISA=";

/// Run by the parent test in a child process; prints the dispatcher's pick.
#[test]
#[ignore = "helper: run in a child process by `forced_isa_is_used_only_when_supported`"]
fn report_active_isa() {
    println!("{REPORT_PREFIX}{}", ndb_kernels::active_isa().name());
}

/// The ISA a child process picks with `NDB_FORCE_ISA=value`.
fn active_isa_with(value: &str) -> Isa {
    let exe = std::env::current_exe().expect("path of this test binary");
    let output = Command::new(exe)
        .args(["--ignored", "--exact", "report_active_isa", "--nocapture"])
        .args(["--test-threads", "1"])
        .env("NDB_FORCE_ISA", value)
        .output()
        .expect("run the child test process");
    assert!(output.status.success(), "child failed: {output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let name = stdout
        .lines()
        .find_map(|line| line.split_once(REPORT_PREFIX)?.1.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {REPORT_PREFIX} line in {stdout}"));
    Isa::from_name(name).unwrap_or_else(|| panic!("unknown ISA name {name}"))
}

#[test]
fn forced_isa_is_used_only_when_supported() {
    let best = active_isa_with("");
    assert!(kernels_for(best).is_some());
    for isa in Isa::ALL {
        let expected = if kernels_for(isa).is_some() {
            isa
        } else {
            best
        };
        assert_eq!(active_isa_with(isa.name()), expected, "NDB_FORCE_ISA={isa}");
    }
    assert_eq!(active_isa_with("no-such-isa"), best);
}
