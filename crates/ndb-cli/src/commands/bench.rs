//! `bench`: runs the benchmark harness.

use crate::error::{CliError, CliResult};
use crate::Ctx;
use std::path::Path;

/// The benchmark harness binary that `ndb bench` runs.
const BENCH_BIN: &str = "ndb-search-bench";

/// The harness's options that name a file it writes, and the one that names its database.
const BENCH_OUTPUT_OPTIONS: [&str; 3] = ["--md", "--json", "--plot"];
const BENCH_DB_OPTION: &str = "--db";

pub fn bench(ctx: &mut Ctx, args: &[String]) -> CliResult<()> {
    check_bench_outputs(args)?;
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

/// The value of each `--opt VALUE` or `--opt=VALUE` among `args` for the given options.
fn option_values<'a>(args: &'a [String], options: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut found = Vec::new();
    let mut it = args.iter().map(String::as_str).peekable();
    while let Some(a) = it.next() {
        for opt in options {
            if a == *opt {
                if let Some(v) = it.peek() {
                    found.push((*opt, *v));
                }
            } else if let Some(v) = a.strip_prefix(opt).and_then(|r| r.strip_prefix('=')) {
                found.push((*opt, v));
            }
        }
    }
    found
}

/// The files the harness will write follow the rule of every file `ndb` writes: not inside
/// the database directory (`--db`). Checked before the harness runs.
fn check_bench_outputs(args: &[String]) -> CliResult<()> {
    let dbs = option_values(args, &[BENCH_DB_OPTION]);
    for (_, db) in &dbs {
        for (opt, file) in option_values(args, &BENCH_OUTPUT_OPTIONS) {
            crate::output::check_outside(Path::new(file), Path::new(db))
                .map_err(|e| e.context(opt))?;
        }
    }
    Ok(())
}
