//! `bench`: runs the benchmark harness.

use crate::error::{CliError, CliResult};
use crate::Ctx;

/// The benchmark harness binary that `ndb bench` runs.
const BENCH_BIN: &str = "ndb-search-bench";

pub fn bench(ctx: &mut Ctx, args: &[String]) -> CliResult<()> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::fail(format!("cannot find the ndb executable's directory: {e}")))?;
    let harness = exe.with_file_name(format!("{BENCH_BIN}{}", std::env::consts::EXE_SUFFIX));
    if !harness.is_file() {
        return Err(CliError::fail(format!(
            "`ndb bench` runs the benchmark harness {BENCH_BIN}, which is not installed next to \
             ndb (looked for {}); build it with `cargo build --release -p ndb-bench`",
            harness.display()
        )));
    }
    ctx.flush()?;
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .skip_while(|a| *a == "--")
        .collect();
    let status = std::process::Command::new(&harness)
        .args(&args)
        .status()
        .map_err(|e| CliError::fail(format!("cannot run {}: {e}", harness.display())))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(CliError {
            code,
            msg: format!("{BENCH_BIN} exited with status {code}"),
        }),
        None => Err(CliError::fail(format!("{BENCH_BIN} was killed ({status})"))),
    }
}
