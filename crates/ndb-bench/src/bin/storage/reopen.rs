//! The reopen scenarios: `reopen` (flushed collections) and `wal-reopen` (a collection held in
//! its WAL). Each open is measured in a fresh child process (this binary again, with
//! `--scenario reopen-child`), which prints its figures as one line of JSON.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ndb::{CollectionConfig, Database};
use ndb_bench::data::insert_in_batches;
use ndb_bench::report::fmt;
use ndb_bench::scratch::{self, fresh_dir};
use ndb_bench::{dir_bytes, doc_id, make_docs, ms, read_mem, Prng, Res};
use serde_json::{json, Value};

use crate::{storage_only, Args, Report, Scenario, BATCH, BENCH, COLL, DIM, MIB};

/// Run `reopen-child` on `db_dir` in a fresh process; its JSON answer.
fn run_child(db_dir: &Path, name: &str) -> Res<Value> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .arg("--scenario")
        .arg("reopen-child")
        .arg("--dir")
        .arg(db_dir)
        .arg("--name")
        .arg(name)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "reopen child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or("reopen child printed no JSON")?;
    Ok(serde_json::from_str(line)?)
}

fn f(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

/// How a figure is read off the children's answers.
enum Read {
    /// A field as it is.
    Value(&'static str),
    /// A field in KiB, as MiB.
    Mib(&'static str),
    /// The growth of `{prefix}_before_kib` to `{prefix}_after_kib`, MiB.
    GrowthMib(&'static str),
}

impl Read {
    fn of(&self, a: &Value) -> f64 {
        match *self {
            Read::Value(key) => f(a, key),
            Read::Mib(key) => f(a, key) / 1024.0,
            Read::GrowthMib(prefix) => {
                let kib = |when: &str| f(a, &format!("{prefix}_{when}_kib"));
                (kib("after") - kib("before")) / 1024.0
            }
        }
    }
}

/// The figures of every reopen: metric, unit, and how each is read.
const REOPEN_FIGURES: [(&str, &str, Read); 10] = [
    (
        "Database::open + get_collection",
        "ms",
        Read::Value("open_ms"),
    ),
    ("  of which Database::open", "ms", Read::Value("db_open_ms")),
    (
        "  of which get_collection",
        "ms",
        Read::Value("get_collection_ms"),
    ),
    (
        "collection open_duration (stats)",
        "ms",
        Read::Value("open_duration_ms"),
    ),
    ("VmRSS before open", "MiB", Read::Mib("rss_before_kib")),
    ("VmRSS after open", "MiB", Read::Mib("rss_after_kib")),
    ("VmRSS growth", "MiB", Read::GrowthMib("rss")),
    ("  RssAnon growth", "MiB", Read::GrowthMib("anon")),
    ("  RssFile growth", "MiB", Read::GrowthMib("file")),
    ("first get() after open", "us", Read::Value("first_get_us")),
];

/// Reopen `db_dir` `runs` times in child processes (after one uncounted warm-up) and add the
/// figures under `scenario`/`config`. Returns the children's answers.
fn measure(
    args: &Args,
    rep: &mut Report,
    (scenario, config): (&str, &str),
    db_dir: &Path,
    expect_docs: u64,
    runs: usize,
) -> Res<Vec<Value>> {
    // Warm-up: brings the files into the page cache; not counted.
    let warm = run_child(db_dir, &args.name)?;
    BENCH.progress(format!(
        "{scenario} {config}: warm-up open {:.2} ms",
        f(&warm, "open_ms")
    ));
    let mut answers = Vec::new();
    for run in 0..runs {
        let a = run_child(db_dir, &args.name)?;
        let docs = a
            .get("doc_count")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX);
        if docs != expect_docs {
            return Err(format!("{scenario}: reopened {docs} docs, expected {expect_docs}").into());
        }
        BENCH.progress(format!(
            "{scenario} {config} run {}/{runs}: open+get_collection {:.2} ms (open {:.2}, get_collection {:.2}); RSS {:.1} -> {:.1} MiB",
            run + 1,
            f(&a, "open_ms"),
            f(&a, "db_open_ms"),
            f(&a, "get_collection_ms"),
            f(&a, "rss_before_kib") / 1024.0,
            f(&a, "rss_after_kib") / 1024.0,
        ));
        answers.push(a);
    }
    for (metric, unit, read) in &REOPEN_FIGURES {
        let values = answers.iter().map(|a| read.of(a)).collect();
        rep.add(scenario, config, metric, unit, values);
    }
    Ok(answers)
}

/// `n` random vectors inserted and flushed into `dir`: (seconds, disk bytes, segments).
fn build_flushed(dir: &Path, n: u64, seed: u64) -> Res<(f64, u64, usize)> {
    let db = Database::open(dir)?;
    let coll = db.create_collection(COLL, storage_only(CollectionConfig::new(DIM)))?;
    let mut rng = Prng::new(seed);
    let t = Instant::now();
    insert_in_batches(&coll, n as usize, BATCH, |i| {
        ndb::Document::new(doc_id("d", i as u64), rng.vector(DIM))
    })?;
    coll.flush()?;
    coll.sync()?;
    let secs = t.elapsed().as_secs_f64();
    let st = coll.stats()?;
    if st.doc_count != n || st.memtable_docs != 0 {
        return Err(format!(
            "reopen build: {} docs ({} in memtable), expected {n} flushed",
            st.doc_count, st.memtable_docs
        )
        .into());
    }
    Ok((secs, st.disk_bytes, st.segment_count))
}

/// `reopen`: flushed collections of each size.
pub fn flushed(args: &Args, rep: &mut Report) -> Res<()> {
    let sizes = args
        .reopen_n
        .as_deref()
        .or_else(|| args.n_for(Scenario::Reopen))
        .unwrap_or(&[100_000, 1_000_000])
        .to_vec();
    let runs = args.runs.unwrap_or(5);
    for n in sizes {
        let dir = fresh_dir(&args.scratch.dir, &format!("reopen-{n}"))?;
        BENCH.progress(format!(
            "reopen: building {} flushed vectors (Buffered, insert_batch of {BATCH}, flush)",
            fmt::count(n)
        ));
        let (secs, disk_bytes, segments) = build_flushed(&dir, n, args.seed)?;
        let config = format!("{} flushed vectors, {segments} segments", fmt::count(n));
        rep.note(format!(
            "reopen {}: built in {secs:.1} s (incl. vector generation), {segments} segments, {:.1} MiB on disk (du {:.1} MiB)",
            fmt::count(n),
            disk_bytes as f64 / MIB,
            dir_bytes(&dir) as f64 / MIB
        ));
        measure(args, rep, ("reopen", &config), &dir, n, runs)?;
        scratch::remove(&BENCH, &dir, args.scratch.keep);
    }
    rep.note("reopen: each measurement in a fresh child process (re-exec with --scenario reopen-child) after one uncounted warm-up child, so the page cache is warm; RSS from /proc/self/status just before Database::open and just after get_collection");
    Ok(())
}

/// Fill a collection's WAL to `target` bytes without a flush: (documents, WAL bytes).
fn fill_wal(dir: &Path, target: u64, threshold: u64, seed: u64) -> Res<(u64, u64)> {
    let db = Database::open(dir)?;
    let coll = db.create_collection(
        COLL,
        storage_only(CollectionConfig::new(DIM).with_flush_threshold_bytes(threshold as usize)),
    )?;
    let mut rng = Prng::new(seed);
    let mut done = 0u64;
    loop {
        coll.insert_batch(make_docs(&mut rng, "d", done, BATCH, DIM))?;
        done += BATCH as u64;
        if coll.stats()?.wal_bytes >= target {
            break;
        }
    }
    coll.sync()?;
    let st = coll.stats()?;
    if st.segment_count != 0 || st.memtable_docs != done {
        return Err(format!(
            "wal-reopen: expected everything in the memtable, got {} segments, {} memtable docs of {done}",
            st.segment_count, st.memtable_docs
        )
        .into());
    }
    Ok((done, st.wal_bytes))
}

/// `wal-reopen`: a collection held in its WAL, reopened (replayed).
pub fn wal(args: &Args, rep: &mut Report) -> Res<()> {
    let runs = args.runs.unwrap_or(5);
    let target = args.wal_mib * 1024 * 1024;
    let threshold = (target * 2).max(128 * 1024 * 1024);
    let dir = fresh_dir(&args.scratch.dir, "wal-reopen")?;
    BENCH.progress(format!(
        "wal-reopen: filling the WAL to {} MiB (Buffered, flush threshold {} MiB, no flush)",
        args.wal_mib,
        threshold / (1024 * 1024)
    ));
    let (n, wal_bytes) = fill_wal(&dir, target, threshold, args.seed)?;
    let config = format!(
        "WAL {:.1} MiB ({} docs, {} records), not flushed",
        wal_bytes as f64 / MIB,
        fmt::count(n),
        n / BATCH as u64
    );
    let answers = measure(args, rep, ("wal-reopen", &config), &dir, n, runs)?;
    let replayed: Vec<f64> = answers
        .iter()
        .map(|a| f(a, "wal_replayed_records"))
        .collect();
    let records = "WAL records replayed";
    rep.add("wal-reopen", &config, records, "records", replayed);
    let mibps: Vec<f64> = answers
        .iter()
        .map(|a| wal_bytes as f64 / MIB / (f(a, "open_ms") / 1e3))
        .collect();
    rep.add("wal-reopen", &config, "replay rate", "MiB/s", mibps);
    rep.note(
        "wal-reopen: RSS growth is expected here: replay rebuilds the memtable (vectors in memory)",
    );
    scratch::remove(&BENCH, &dir, args.scratch.keep);
    Ok(())
}

/// The child's side: open `--dir`, get `--name`, print the figures as one line of JSON.
pub fn child(args: &Args) -> Res<()> {
    let before = read_mem();
    let t0 = Instant::now();
    let db = Database::open(&args.scratch.dir)?;
    let t1 = Instant::now();
    let coll = db.get_collection(&args.name)?;
    let t2 = Instant::now();
    let after = read_mem();
    let st = coll.stats()?;
    // One read, outside the timed region, to check the collection answers.
    let probe = doc_id("d", st.doc_count / 2);
    let t3 = Instant::now();
    let found = coll.get(&probe)?.is_some();
    let first_get = t3.elapsed();
    if !found && st.doc_count > 0 {
        return Err(format!("reopen-child: document {probe} not found").into());
    }
    let answer = json!({
        "open_ms": ms(t2 - t0),
        "db_open_ms": ms(t1 - t0),
        "get_collection_ms": ms(t2 - t1),
        "open_duration_ms": ms(st.open_duration),
        "rss_before_kib": before.vm_rss_kib,
        "rss_after_kib": after.vm_rss_kib,
        "anon_before_kib": before.rss_anon_kib,
        "anon_after_kib": after.rss_anon_kib,
        "file_before_kib": before.rss_file_kib,
        "file_after_kib": after.rss_file_kib,
        "doc_count": st.doc_count,
        "segment_count": st.segment_count,
        "wal_replayed_records": st.wal_replayed_records,
        "first_get_us": first_get.as_secs_f64() * 1e6,
    });
    println!("{answer}");
    Ok(())
}
