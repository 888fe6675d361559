//! `--reference`: `scripts/bench/reference.py` (faiss and numpy for exact search; hnswlib and
//! USearch with `--hnsw`) on the same files in the same run; its JSON comes back.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ndb_bench::scratch::{scratch_root, workspace_root};
use ndb_bench::Res;
use serde_json::Value;

use crate::dataset::Dataset;
use crate::{Args, BENCH};

/// The reference script's python (the venv made by setup-venv.sh unless told otherwise).
fn reference_python(args: &Args) -> Res<PathBuf> {
    if let Some(p) = &args.python {
        return Ok(p.clone());
    }
    if let Some(p) = std::env::var_os("NDB_BENCH_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    // setup-venv.sh makes the venv, or adds what a venv made by an older version of it lacks
    // (hnswlib, USearch); it returns at once when everything is there.
    let ws = workspace_root();
    BENCH.progress("scripts/bench/setup-venv.sh (checks target/bench-venv)");
    let st = Command::new("bash")
        .arg(ws.join("scripts/bench/setup-venv.sh"))
        .current_dir(&ws)
        // Its messages go to stderr with the progress lines: stdout holds the report only.
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit())
        .status()?;
    if !st.success() {
        return Err("scripts/bench/setup-venv.sh failed".into());
    }
    Ok(ws.join("target/bench-venv/bin/python"))
}

/// Numbers joined by commas, as the script's list options take them.
fn join(v: &[usize]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Run the reference script on `ds`: the flags `lead`, the options every mode takes, then the
/// options `tail`; `describe` turns the python and script paths into the progress line. Its
/// JSON answer.
fn run_script(
    args: &Args,
    ds: &Dataset,
    lead: &[&str],
    tail: &[(&str, OsString)],
    describe: impl FnOnce(&str, &str) -> String,
) -> Res<Value> {
    let script = workspace_root().join("scripts/bench/reference.py");
    if !script.is_file() {
        return Err(format!("reference script not found at {}", script.display()).into());
    }
    let python = reference_python(args)?;
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .arg(&ds.dir)
        .args(lead)
        .args(["--metric", ds.metric.name()])
        .args(["--k", &args.k.to_string()])
        .args(["--queries", &ds.queries.rows().to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .args(
            tail.iter()
                .flat_map(|(flag, value)| [OsStr::new(flag), value]),
        )
        // Single-threaded BLAS / OpenMP; the machine-wide OpenBLAS core-type overrides slow a
        // current numpy, so they are dropped for this process only.
        .env("OMP_NUM_THREADS", "1")
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .env_remove("OPENBLAS_CORETYPE")
        .env_remove("OPENBLAS_L2_SIZE")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped());
    BENCH.progress(describe(
        &python.display().to_string(),
        &script.display().to_string(),
    ));
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!("reference script failed ({})", out.status).into());
    }
    let v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("reference script printed no valid JSON: {e}"))?;
    Ok(v)
}

/// faiss IndexFlat and numpy on the same files, one query at a time, one thread.
pub fn exact(args: &Args, ds: &Dataset) -> Res<Value> {
    run_script(args, ds, &[], &[], |python, script| {
        format!(
            "reference: {python} {script} {} --metric {} --k {} --queries {}",
            ds.dir.display(),
            ds.metric.name(),
            args.k,
            ds.queries.rows()
        )
    })
}

/// faiss IndexFlat alone on the same files, `repeat` timed passes (the `--dims` sweep): its
/// row's `qps_runs` holds every pass's QPS.
pub fn exact_faiss(args: &Args, ds: &Dataset, repeat: usize) -> Res<Value> {
    let tail = [
        ("--engines", "faiss".into()),
        ("--repeat", repeat.to_string().into()),
    ];
    run_script(args, ds, &[], &tail, |python, script| {
        format!(
            "reference: {python} {script} {} --engines faiss --repeat {repeat} --metric {} --k {} --queries {}",
            ds.dir.display(),
            ds.metric.name(),
            args.k,
            ds.queries.rows()
        )
    })
}

/// `reference.py --hnsw` on the same files with the same M / ef_construction / ef sweep.
pub fn hnsw(args: &Args, ds: &Dataset) -> Res<Value> {
    let scratch = scratch_root();
    std::fs::create_dir_all(&scratch)?;
    let tail = [
        ("--m", args.m.to_string().into()),
        ("--ef-construction", args.ef_construction.to_string().into()),
        ("--ef-sweep", join(args.ef_sweep()).into()),
        ("--build-threads", join(&args.build_threads).into()),
        ("--reopen-runs", args.reopen_runs.to_string().into()),
        ("--sweep-runs", args.sweep_runs.to_string().into()),
        ("--engines", args.ref_engines.clone().into()),
        ("--scratch", scratch.into_os_string()),
    ];
    run_script(args, ds, &["--hnsw"], &tail, |python, script| {
        format!(
            "reference: {python} {script} {} --hnsw --engines {} ...",
            ds.dir.display(),
            args.ref_engines
        )
    })
}
