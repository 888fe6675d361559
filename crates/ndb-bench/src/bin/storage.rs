//! `ndb-storage-bench`: storage-engine figures for nDB (issue 2, "Figures to report").
//!
//! Scenarios (384-dim random vectors, seeded):
//! - `bulk`: `insert_batch` of 1,000 documents, N in all, under `Buffered` and
//!   `FdatasyncEachBatch` -> docs/s (each run in a fresh directory).
//! - `single`: single-document `insert` under `FdatasyncEachBatch` with 1 and 8 writer threads for
//!   a fixed time -> docs/s and fdatasyncs per insert (group commit).
//! - `reopen`: N flushed vectors (100k and 1M by default); `Database::open` + `get_collection`
//!   time and RSS, each measurement in a fresh child process (page cache warm).
//! - `wal-reopen`: a collection whose WAL/memtable holds ~64 MiB (not flushed); reopen (replay) time
//!   and RSS in a child process.
//! - `all`: every scenario above.
//!
//! Usage: `ndb-storage-bench [--scenario all|bulk|single|reopen|wal-reopen] [--n N[,N..]]
//!   [--runs R] [--dir DIR] [--secs S] [--threads 1,8] [--wal-mib 64] [--seed S] [--keep] [--json]`
//!
//! Output: a markdown report on stdout; with `--json`, one JSON object instead. Progress goes to
//! stderr. Every figure is a median over the stated number of runs, with min and max.

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ndb::{CollectionConfig, Database, Document, Durability};
use ndb_bench::{
    dir_bytes, doc_id, filesystem_of, fmt_count, machine_description, make_docs, median, min_max,
    ms, parse_count, read_mem, Prng,
};
use serde_json::{json, Value};

type Res<T> = Result<T, Box<dyn StdError>>;

const DIM: usize = 384;
const BATCH: usize = 1_000;
const COLL: &str = "bench";
const MIB: f64 = 1024.0 * 1024.0;

const USAGE: &str = "\
ndb-storage-bench: storage figures for nDB (384-dim random vectors)

  --scenario NAME   all (default) | bulk | single | reopen | wal-reopen
  --n N[,N..]       bulk: total documents (default 200k); reopen: collection sizes (default 100k,1M)
  --bulk-n N        bulk size when running `all`
  --reopen-n N,..   reopen sizes when running `all`
  --runs R          runs per figure (default: bulk 3, single 3, reopen 5, wal-reopen 5)
  --dir DIR         scratch directory (default <workspace>/target/bench-tmp); must be on a real disk
  --secs S          single: seconds per run (default 3)
  --threads T,..    single: writer thread counts (default 1,8)
  --wal-mib M       wal-reopen: WAL size to build, MiB (default 64)
  --seed S          PRNG seed (default 42)
  --keep            keep the data directories (default: removed)
  --json            print one JSON object instead of markdown
";

#[derive(Clone, Debug)]
struct Args {
    scenario: String,
    n: Option<Vec<u64>>,
    bulk_n: Option<u64>,
    reopen_n: Option<Vec<u64>>,
    runs: Option<usize>,
    dir: PathBuf,
    secs: f64,
    threads: Vec<usize>,
    wal_mib: u64,
    seed: u64,
    keep: bool,
    json: bool,
    /// For `reopen-child`: the collection name.
    name: String,
}

fn default_dir() -> PathBuf {
    // <workspace>/target/bench-tmp: CARGO_MANIFEST_DIR is crates/ndb-bench at build time.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map(|ws| ws.join("target").join("bench-tmp"))
        .unwrap_or_else(|| std::env::temp_dir().join("ndb-bench"))
}

fn parse_list<T: std::str::FromStr>(s: &str) -> Option<Vec<T>> {
    s.split(',').map(|p| p.trim().parse().ok()).collect()
}

fn parse_counts(s: &str) -> Option<Vec<u64>> {
    s.split(',').map(parse_count).collect()
}

fn parse_args() -> Res<Args> {
    let mut a = Args {
        scenario: "all".into(),
        n: None,
        bulk_n: None,
        reopen_n: None,
        runs: None,
        dir: default_dir(),
        secs: 3.0,
        threads: vec![1, 8],
        wal_mib: 64,
        seed: 42,
        keep: false,
        json: false,
        name: COLL.into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = |name: &str| -> Res<String> {
            it.next()
                .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}").into())
        };
        let bad = |name: &str, v: &str| -> Box<dyn StdError> {
            format!("bad value {v:?} for {name}\n\n{USAGE}").into()
        };
        match flag.as_str() {
            "--scenario" => a.scenario = val("--scenario")?,
            "--n" => {
                let v = val("--n")?;
                a.n = Some(parse_counts(&v).ok_or_else(|| bad("--n", &v))?);
            }
            "--bulk-n" => {
                let v = val("--bulk-n")?;
                a.bulk_n = Some(parse_count(&v).ok_or_else(|| bad("--bulk-n", &v))?);
            }
            "--reopen-n" => {
                let v = val("--reopen-n")?;
                a.reopen_n = Some(parse_counts(&v).ok_or_else(|| bad("--reopen-n", &v))?);
            }
            "--runs" => {
                let v = val("--runs")?;
                a.runs = Some(
                    v.parse()
                        .ok()
                        .filter(|&r| r > 0)
                        .ok_or_else(|| bad("--runs", &v))?,
                );
            }
            "--dir" => a.dir = PathBuf::from(val("--dir")?),
            "--secs" => {
                let v = val("--secs")?;
                a.secs = v
                    .parse()
                    .ok()
                    .filter(|&s: &f64| s > 0.0)
                    .ok_or_else(|| bad("--secs", &v))?;
            }
            "--threads" => {
                let v = val("--threads")?;
                a.threads = parse_list(&v)
                    .filter(|t: &Vec<usize>| t.iter().all(|&x| x > 0))
                    .ok_or_else(|| bad("--threads", &v))?;
            }
            "--wal-mib" => {
                let v = val("--wal-mib")?;
                a.wal_mib = v
                    .parse()
                    .ok()
                    .filter(|&m| m > 0)
                    .ok_or_else(|| bad("--wal-mib", &v))?;
            }
            "--seed" => {
                let v = val("--seed")?;
                a.seed = v.parse().map_err(|_| bad("--seed", &v))?;
            }
            "--name" => a.name = val("--name")?,
            "--keep" => a.keep = true,
            "--json" => a.json = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n\n{USAGE}").into()),
        }
    }
    Ok(a)
}

/// One reported figure: every run's value, summarised by the median.
struct Figure {
    scenario: String,
    config: String,
    metric: String,
    unit: String,
    values: Vec<f64>,
}

impl Figure {
    fn to_json(&self) -> Value {
        let (lo, hi) = min_max(&self.values);
        json!({
            "scenario": self.scenario,
            "config": self.config,
            "metric": self.metric,
            "unit": self.unit,
            "median": median(&self.values),
            "runs": self.values.len(),
            "min": lo,
            "max": hi,
            "values": self.values,
        })
    }
}

#[derive(Default)]
struct Report {
    figures: Vec<Figure>,
    notes: Vec<String>,
}

impl Report {
    fn add(&mut self, scenario: &str, config: &str, metric: &str, unit: &str, values: Vec<f64>) {
        self.figures.push(Figure {
            scenario: scenario.into(),
            config: config.into(),
            metric: metric.into(),
            unit: unit.into(),
            values,
        });
    }

    fn note(&mut self, s: impl Into<String>) {
        let s = s.into();
        eprintln!("  note: {s}");
        self.notes.push(s);
    }
}

fn progress(msg: impl AsRef<str>) {
    eprintln!("[ndb-storage-bench] {}", msg.as_ref());
}

/// A fresh, empty directory `base/name`.
fn fresh_dir(base: &Path, name: &str) -> Res<PathBuf> {
    let d = base.join(name);
    if d.exists() {
        std::fs::remove_dir_all(&d)?;
    }
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

fn cleanup(args: &Args, dir: &Path) {
    if !args.keep {
        if let Err(e) = std::fs::remove_dir_all(dir) {
            eprintln!("  warning: could not remove {}: {e}", dir.display());
        }
    }
}

fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::Buffered => "Buffered",
        Durability::FdatasyncEachBatch => "FdatasyncEachBatch",
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}

// ---------------------------------------------------------------------------------------------
// bulk

fn scenario_bulk(args: &Args, rep: &mut Report) -> Res<()> {
    let n = args
        .bulk_n
        .or_else(|| {
            if args.scenario == "bulk" {
                args.n.as_ref().and_then(|v| v.first().copied())
            } else {
                None
            }
        })
        .unwrap_or(200_000);
    let runs = args.runs.unwrap_or(3);
    for durability in [Durability::Buffered, Durability::FdatasyncEachBatch] {
        let dname = durability_name(durability);
        let config = format!("insert_batch({BATCH}), N={}, {dname}", fmt_count(n));
        let mut rates = Vec::new();
        let mut syncs_per_batch = Vec::new();
        let mut segments = Vec::new();
        for run in 0..runs {
            let dir = fresh_dir(&args.dir, &format!("bulk-{dname}-{run}"))?;
            let (rate, syncs, batches, segs) = {
                let db = Database::open(&dir)?;
                let coll = db.create_collection(
                    COLL,
                    storage_only(CollectionConfig::new(DIM).with_durability(durability)),
                )?;
                let syncs0 = coll.stats()?.wal_syncs;
                let mut rng = Prng::new(args.seed.wrapping_add(run as u64));
                let mut timed = Duration::ZERO;
                let mut done = 0u64;
                let mut batches = 0u64;
                while done < n {
                    let count = (n - done).min(BATCH as u64) as usize;
                    // Vector generation is outside the timed region: only insert_batch is timed.
                    let docs = make_docs(&mut rng, "d", done, count, DIM);
                    let t = Instant::now();
                    coll.insert_batch(docs)?;
                    timed += t.elapsed();
                    done += count as u64;
                    batches += 1;
                }
                // The run ends durable in both modes (a no-op wait under FdatasyncEachBatch).
                let t = Instant::now();
                coll.sync()?;
                timed += t.elapsed();
                let st = coll.stats()?;
                if st.doc_count != n {
                    return Err(
                        format!("bulk: expected {n} docs, stats say {}", st.doc_count).into(),
                    );
                }
                (
                    n as f64 / timed.as_secs_f64(),
                    st.wal_syncs - syncs0,
                    batches,
                    st.segment_count,
                )
            };
            progress(format!(
                "bulk {dname} run {}/{runs}: {:.0} docs/s ({syncs} WAL fdatasyncs for {batches} batches, {segs} segments)",
                run + 1,
                rate
            ));
            rates.push(rate);
            syncs_per_batch.push(syncs as f64 / batches as f64);
            segments.push(segs as f64);
            cleanup(args, &dir);
        }
        rep.add("bulk", &config, "throughput", "docs/s", rates);
        rep.add(
            "bulk",
            &config,
            "WAL fdatasyncs per batch",
            "syncs/batch",
            syncs_per_batch,
        );
        rep.add(
            "bulk",
            &config,
            "segments after run (flushes at 64 MiB)",
            "segments",
            segments,
        );
    }
    rep.note("bulk: only insert_batch calls plus one final sync() are timed; vector generation is excluded; default 64 MiB flush threshold, so flushes during the load are included; each run in a fresh directory");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// single

fn scenario_single(args: &Args, rep: &mut Report) -> Res<()> {
    let runs = args.runs.unwrap_or(3);
    let secs = Duration::from_secs_f64(args.secs);
    for &threads in &args.threads {
        let config = format!(
            "insert, FdatasyncEachBatch, {threads} thread(s), {:.1} s",
            args.secs
        );
        let mut rates = Vec::new();
        let mut syncs_per_insert = Vec::new();
        let mut latency_us = Vec::new();
        for run in 0..runs {
            let dir = fresh_dir(&args.dir, &format!("single-{threads}-{run}"))?;
            let (total, elapsed, syncs) = {
                let db = Database::open(&dir)?;
                let coll = db.create_collection(
                    COLL,
                    storage_only(
                        CollectionConfig::new(DIM).with_durability(Durability::FdatasyncEachBatch),
                    ),
                )?;
                let syncs0 = coll.stats()?.wal_syncs;
                let start = Instant::now();
                let deadline = start + secs;
                let counts: Vec<Result<u64, String>> = std::thread::scope(|s| {
                    let handles: Vec<_> = (0..threads)
                        .map(|t| {
                            let coll = coll.clone();
                            let seed = args.seed.wrapping_add(1_000 * run as u64 + t as u64);
                            s.spawn(move || -> Result<u64, String> {
                                let mut rng = Prng::new(seed);
                                let prefix = format!("t{t}-");
                                let mut i = 0u64;
                                while Instant::now() < deadline {
                                    coll.insert(Document::new(doc_id(&prefix, i), rng.vector(DIM)))
                                        .map_err(|e| e.to_string())?;
                                    i += 1;
                                }
                                Ok(i)
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| {
                            h.join()
                                .unwrap_or_else(|_| Err("writer thread panicked".to_string()))
                        })
                        .collect()
                });
                let elapsed = start.elapsed();
                let mut total = 0;
                for c in counts {
                    total += c?;
                }
                let st = coll.stats()?;
                if st.doc_count != total {
                    return Err(
                        format!("single: inserted {total}, stats say {}", st.doc_count).into(),
                    );
                }
                (total, elapsed, st.wal_syncs - syncs0)
            };
            let rate = total as f64 / elapsed.as_secs_f64();
            let spi = syncs as f64 / total.max(1) as f64;
            let lat = elapsed.as_secs_f64() * threads as f64 / total.max(1) as f64 * 1e6;
            progress(format!(
                "single {threads} thread(s) run {}/{runs}: {total} inserts, {rate:.0} docs/s, {syncs} fdatasyncs ({spi:.3}/insert), mean latency {lat:.0} us",
                run + 1
            ));
            rates.push(rate);
            syncs_per_insert.push(spi);
            latency_us.push(lat);
            cleanup(args, &dir);
        }
        rep.add("single", &config, "throughput", "docs/s", rates);
        rep.add(
            "single",
            &config,
            "WAL fdatasyncs per insert",
            "syncs/insert",
            syncs_per_insert,
        );
        rep.add("single", &config, "mean insert latency", "us", latency_us);
    }
    rep.note("single: every thread inserts its own ids until the deadline; fdatasyncs per insert = stats().wal_syncs delta / inserts (< 1 means group commit shared fsyncs)");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// reopen (parent side)

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

/// Reopen `db_dir` `runs` times in child processes (after one uncounted warm-up) and add the
/// figures under `scenario`/`config`. Returns the children's answers.
fn measure_reopen(
    args: &Args,
    rep: &mut Report,
    scenario: &str,
    config: &str,
    db_dir: &Path,
    expect_docs: u64,
    runs: usize,
) -> Res<Vec<Value>> {
    // Warm-up: brings the files into the page cache; not counted.
    let warm = run_child(db_dir, &args.name)?;
    progress(format!(
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
        progress(format!(
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
    let col =
        |key: &str, scale: f64| -> Vec<f64> { answers.iter().map(|a| f(a, key) * scale).collect() };
    let diff = |after: &str, before: &str| -> Vec<f64> {
        answers
            .iter()
            .map(|a| (f(a, after) - f(a, before)) / 1024.0)
            .collect()
    };
    rep.add(
        scenario,
        config,
        "Database::open + get_collection",
        "ms",
        col("open_ms", 1.0),
    );
    rep.add(
        scenario,
        config,
        "  of which Database::open",
        "ms",
        col("db_open_ms", 1.0),
    );
    rep.add(
        scenario,
        config,
        "  of which get_collection",
        "ms",
        col("get_collection_ms", 1.0),
    );
    rep.add(
        scenario,
        config,
        "collection open_duration (stats)",
        "ms",
        col("open_duration_ms", 1.0),
    );
    rep.add(
        scenario,
        config,
        "VmRSS before open",
        "MiB",
        col("rss_before_kib", 1.0 / 1024.0),
    );
    rep.add(
        scenario,
        config,
        "VmRSS after open",
        "MiB",
        col("rss_after_kib", 1.0 / 1024.0),
    );
    rep.add(
        scenario,
        config,
        "VmRSS growth",
        "MiB",
        diff("rss_after_kib", "rss_before_kib"),
    );
    rep.add(
        scenario,
        config,
        "  RssAnon growth",
        "MiB",
        diff("anon_after_kib", "anon_before_kib"),
    );
    rep.add(
        scenario,
        config,
        "  RssFile growth",
        "MiB",
        diff("file_after_kib", "file_before_kib"),
    );
    rep.add(
        scenario,
        config,
        "first get() after open",
        "us",
        col("first_get_us", 1.0),
    );
    Ok(answers)
}

fn build_flushed(dir: &Path, n: u64, seed: u64) -> Res<(f64, u64, usize)> {
    let db = Database::open(dir)?;
    let coll = db.create_collection(COLL, storage_only(CollectionConfig::new(DIM)))?;
    let mut rng = Prng::new(seed);
    let t = Instant::now();
    let mut done = 0u64;
    while done < n {
        let count = (n - done).min(BATCH as u64) as usize;
        coll.insert_batch(make_docs(&mut rng, "d", done, count, DIM))?;
        done += count as u64;
    }
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

fn scenario_reopen(args: &Args, rep: &mut Report) -> Res<()> {
    let sizes = args
        .reopen_n
        .clone()
        .or_else(|| {
            if args.scenario == "reopen" {
                args.n.clone()
            } else {
                None
            }
        })
        .unwrap_or_else(|| vec![100_000, 1_000_000]);
    let runs = args.runs.unwrap_or(5);
    for n in sizes {
        let dir = fresh_dir(&args.dir, &format!("reopen-{n}"))?;
        progress(format!(
            "reopen: building {} flushed vectors (Buffered, insert_batch of {BATCH}, flush)",
            fmt_count(n)
        ));
        let (secs, disk_bytes, segments) = build_flushed(&dir, n, args.seed)?;
        let config = format!("{} flushed vectors, {segments} segments", fmt_count(n));
        rep.note(format!(
            "reopen {}: built in {secs:.1} s (incl. vector generation), {segments} segments, {:.1} MiB on disk (du {:.1} MiB)",
            fmt_count(n),
            disk_bytes as f64 / MIB,
            dir_bytes(&dir) as f64 / MIB
        ));
        measure_reopen(args, rep, "reopen", &config, &dir, n, runs)?;
        cleanup(args, &dir);
    }
    rep.note("reopen: each measurement in a fresh child process (re-exec with --scenario reopen-child) after one uncounted warm-up child, so the page cache is warm; RSS from /proc/self/status just before Database::open and just after get_collection");
    Ok(())
}

fn scenario_wal_reopen(args: &Args, rep: &mut Report) -> Res<()> {
    let runs = args.runs.unwrap_or(5);
    let target = args.wal_mib * 1024 * 1024;
    let threshold = (target * 2).max(128 * 1024 * 1024);
    let dir = fresh_dir(&args.dir, "wal-reopen")?;
    progress(format!(
        "wal-reopen: filling the WAL to {} MiB (Buffered, flush threshold {} MiB, no flush)",
        args.wal_mib,
        threshold / (1024 * 1024)
    ));
    let (n, wal_bytes) = {
        let db = Database::open(&dir)?;
        let coll = db.create_collection(
            COLL,
            storage_only(CollectionConfig::new(DIM).with_flush_threshold_bytes(threshold as usize)),
        )?;
        let mut rng = Prng::new(args.seed);
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
        (done, st.wal_bytes)
    };
    let config = format!(
        "WAL {:.1} MiB ({} docs, {} records), not flushed",
        wal_bytes as f64 / MIB,
        fmt_count(n),
        n / BATCH as u64
    );
    let answers = measure_reopen(args, rep, "wal-reopen", &config, &dir, n, runs)?;
    let replayed: Vec<f64> = answers
        .iter()
        .map(|a| f(a, "wal_replayed_records"))
        .collect();
    rep.add(
        "wal-reopen",
        &config,
        "WAL records replayed",
        "records",
        replayed,
    );
    let mibps: Vec<f64> = answers
        .iter()
        .map(|a| wal_bytes as f64 / MIB / (f(a, "open_ms") / 1e3))
        .collect();
    rep.add("wal-reopen", &config, "replay rate", "MiB/s", mibps);
    rep.note(
        "wal-reopen: RSS growth is expected here: replay rebuilds the memtable (vectors in memory)",
    );
    cleanup(args, &dir);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// reopen (child side)

fn reopen_child(args: &Args) -> Res<()> {
    let before = read_mem();
    let t0 = Instant::now();
    let db = Database::open(&args.dir)?;
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

// ---------------------------------------------------------------------------------------------
// report

fn fmt_val(v: f64) -> String {
    if !v.is_finite() {
        "n/a".into()
    } else if v.abs() >= 1000.0 {
        let s = format!("{:.0}", v);
        // thousands separators
        let (sign, digits) = if let Some(d) = s.strip_prefix('-') {
            ("-", d)
        } else {
            ("", &s[..])
        };
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn print_markdown(header: &Value, rep: &Report) {
    let m = &header["machine"];
    println!("# nDB storage benchmark (`ndb-storage-bench`)\n");
    println!(
        "- Machine: {} logical CPUs, {}, {} GiB RAM, Linux {}",
        m["nproc"],
        m["cpu_model"].as_str().unwrap_or("?"),
        m["mem_total_gib"],
        m["kernel"].as_str().unwrap_or("?")
    );
    println!(
        "- Scratch directory: `{}` on {} ({}, mounted at {})",
        header["dir"].as_str().unwrap_or("?"),
        header["filesystem"]["type"].as_str().unwrap_or("?"),
        header["filesystem"]["device"].as_str().unwrap_or("?"),
        header["filesystem"]["mount"].as_str().unwrap_or("?")
    );
    println!("- Command: `{}`", header["command"].as_str().unwrap_or("?"));
    println!("- Vectors: {DIM}-dim f32, uniform random (seed {}); figures are medians over `runs` runs\n", header["seed"]);
    println!("| Scenario | Configuration | Metric | Median | Unit | Runs | Min | Max |");
    println!("|---|---|---|---:|---|---:|---:|---:|");
    for fig in &rep.figures {
        let (lo, hi) = min_max(&fig.values);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            fig.scenario,
            fig.config,
            fig.metric,
            fmt_val(median(&fig.values)),
            fig.unit,
            fig.values.len(),
            fmt_val(lo),
            fmt_val(hi)
        );
    }
    if !rep.notes.is_empty() {
        println!("\nNotes:\n");
        for n in &rep.notes {
            println!("- {n}");
        }
    }
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("ndb-storage-bench: error: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Res<()> {
    let args = parse_args()?;
    if args.scenario == "reopen-child" {
        return reopen_child(&args);
    }
    let known = ["all", "bulk", "single", "reopen", "wal-reopen"];
    if !known.contains(&args.scenario.as_str()) {
        return Err(format!("unknown scenario {:?}\n\n{USAGE}", args.scenario).into());
    }
    std::fs::create_dir_all(&args.dir)?;
    let (device, fstype, mount) = filesystem_of(&args.dir);
    progress(format!(
        "scratch directory {} is on {fstype} ({device}, mounted at {mount})",
        args.dir.display()
    ));
    if matches!(fstype.as_str(), "tmpfs" | "ramfs" | "overlay") {
        eprintln!("  warning: {fstype} may not reach a real disk on fsync; use --dir on a disk file system");
    }
    let machine = machine_description();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let mut rep = Report::default();
    let all = args.scenario == "all";
    if all || args.scenario == "bulk" {
        scenario_bulk(&args, &mut rep)?;
    }
    if all || args.scenario == "single" {
        scenario_single(&args, &mut rep)?;
    }
    if all || args.scenario == "reopen" {
        scenario_reopen(&args, &mut rep)?;
    }
    if all || args.scenario == "wal-reopen" {
        scenario_wal_reopen(&args, &mut rep)?;
    }
    let unix_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = json!({
        "machine": machine,
        "dir": args.dir.display().to_string(),
        "filesystem": {"device": device, "type": fstype, "mount": mount},
        "command": command,
        "seed": args.seed,
        "dim": DIM,
        "unix_time": unix_time,
    });
    if args.json {
        let mut obj = header;
        obj["figures"] = Value::Array(rep.figures.iter().map(Figure::to_json).collect());
        obj["notes"] = json!(rep.notes);
        println!("{}", serde_json::to_string_pretty(&obj)?);
    } else {
        print_markdown(&header, &rep);
    }
    Ok(())
}

/// These figures are about the storage engine: no HNSW graph is built at flush (index builds
/// are measured by `ndb-search-bench --hnsw`).
fn storage_only(config: CollectionConfig) -> CollectionConfig {
    config.with_index(ndb::IndexConfig {
        min_rows: usize::MAX,
        ..ndb::IndexConfig::default()
    })
}
