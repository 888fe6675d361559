//! `ndb-maint-bench`: sustained ingest with and without background maintenance (issue 7,
//! "Figures to report").
//!
//! For each mode (background maintenance on, then off): a fresh database, one collection of
//! `--dim` dimensions with the default configuration (cosine, 64 MiB flush threshold unless
//! `--flush-mib` says otherwise, default HNSW
//! index), `--n` seeded random vectors inserted with `insert_batch` of `--batch` documents. Then
//! `flush()` and a wait until the collection is idle (segment count, flushes and merges unchanged
//! for `--stable-secs` and the background threads using < 0.1 core meanwhile), then `--idle-secs`
//! more of searches on the idle collection.
//!
//! Meanwhile:
//! - a sampler records every 250 ms `(t, docs inserted, segments, flushes, merges, memtable docs,
//!   indexed docs, CPU used by background threads)`; the report shows it once a second;
//! - a reader thread issues default searches (`Search::new(&q).top_k(10).threads(1)`) back to
//!   back and records `(start time, latency)`; latencies are reported by phase: during the ingest,
//!   during merges (the spans between the previous flush/merge completing and a merge completing:
//!   the maintenance thread runs its merges right after a flush, one at a time), after the last
//!   insert until idle ("drain"), and idle.
//!
//! Usage: `ndb-maint-bench [--n 200000] [--dim 384] [--batch 1000] [--modes on,off] [--seed 42] [--rate R]
//!   [--flush-mib 64]
//!   [--idle-secs 10] [--stable-secs 2] [--no-reader] [--dir DIR] [--json-out PATH]
//!   [--md-out PATH] [--keep]`
//!
//! Output: a markdown report on stdout followed by the JSON figures (also written to
//! `--json-out` / `--md-out` when given). Progress goes to stderr.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ndb::{Collection, CollectionConfig, Database, DatabaseOptions, Document, Search};
use ndb_bench::measure::Latency;
use ndb_bench::{doc_id, machine_description, ms, parse_count, read_mem, Prng};
use serde_json::{json, Value};

type Res<T> = Result<T, Box<dyn StdError>>;

const COLL: &str = "maint";
const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// Linux clock ticks per second (`USER_HZ`), the unit of `/proc/*/stat` CPU times.
const CLK_TCK: f64 = 100.0;
/// Background threads using less than this many cores count as idle.
const IDLE_CORES: f64 = 0.1;
/// A sample interval with background threads using more than this many cores is "busy".
const BUSY_CORES: f64 = 0.3;
/// Give up waiting for idle after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
const READER_QUERIES: usize = 256;

const PHASE_INGEST: u8 = 0;
const PHASE_DRAIN: u8 = 1;
const PHASE_IDLE: u8 = 2;
const PHASE_DONE: u8 = 3;

const USAGE: &str = "\
ndb-maint-bench: sustained ingest with background maintenance on and off (issue 7)

  --n N             documents to insert (default 200k; 1M is the issue's size)
  --dim D           vector dimension (default 384)
  --batch B         documents per insert_batch (default 1000)
  --modes M,..      on, off or both in that order (default on,off)
  --seed S          PRNG seed (default 42)
  --flush-mib M     memtable flush threshold in MiB (default: the collection default, 64)
  --idle-secs S     seconds of searches on the idle collection (default 10)
  --stable-secs S   idle = no segment/flush/merge change and < 0.1 core of background CPU for S s (default 2)
  --rate R          offer at most R docs/s (paced per batch; default: as fast as insert_batch returns)
  --no-reader       no concurrent searches (ingest rate only)
  --dir DIR         scratch directory (default <workspace>/target/bench-tmp)
  --json-out PATH   also write the JSON figures here
  --md-out PATH     also write the markdown report here
  --keep            keep the database directories (default: removed)
";

#[derive(Debug)]
struct Args {
    n: u64,
    dim: usize,
    batch: usize,
    modes: Vec<bool>,
    seed: u64,
    flush_mib: Option<usize>,
    idle_secs: f64,
    stable_secs: f64,
    reader: bool,
    rate: Option<f64>,
    dir: PathBuf,
    json_out: Option<PathBuf>,
    md_out: Option<PathBuf>,
    keep: bool,
}

fn default_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map(|ws| ws.join("target").join("bench-tmp"))
        .unwrap_or_else(|| PathBuf::from("target/bench-tmp"))
}

fn parse_args() -> Res<Args> {
    let mut a = Args {
        n: 200_000,
        dim: 384,
        batch: 1000,
        modes: vec![true, false],
        seed: 42,
        flush_mib: None,
        idle_secs: 10.0,
        stable_secs: 2.0,
        reader: true,
        rate: None,
        dir: default_dir(),
        json_out: None,
        md_out: None,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = |name: &str| -> Res<String> {
            it.next()
                .ok_or_else(|| format!("{name} needs a value").into())
        };
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            "--n" => {
                let v = val("--n")?;
                a.n = parse_count(&v).ok_or_else(|| format!("bad count {v:?}"))?;
            }
            "--dim" => a.dim = val("--dim")?.parse()?,
            "--batch" => a.batch = val("--batch")?.parse()?,
            "--modes" => {
                a.modes = val("--modes")?
                    .split(',')
                    .map(|m| match m.trim() {
                        "on" => Ok(true),
                        "off" => Ok(false),
                        o => Err(format!("unknown mode {o:?} (on|off)")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--seed" => a.seed = val("--seed")?.parse()?,
            "--flush-mib" => a.flush_mib = Some(val("--flush-mib")?.parse()?),
            "--idle-secs" => a.idle_secs = val("--idle-secs")?.parse()?,
            "--stable-secs" => a.stable_secs = val("--stable-secs")?.parse()?,
            "--no-reader" => a.reader = false,
            "--rate" => a.rate = Some(val("--rate")?.parse()?),
            "--dir" => a.dir = PathBuf::from(val("--dir")?),
            "--json-out" => a.json_out = Some(PathBuf::from(val("--json-out")?)),
            "--md-out" => a.md_out = Some(PathBuf::from(val("--md-out")?)),
            "--keep" => a.keep = true,
            s => return Err(format!("unknown argument {s}\n\n{USAGE}").into()),
        }
    }
    if a.n == 0 || a.batch == 0 || a.dim == 0 || a.modes.is_empty() {
        return Err("--n, --batch, --dim and --modes must be non-empty / at least 1".into());
    }
    Ok(a)
}

fn progress(msg: impl AsRef<str>) {
    eprintln!("[ndb-maint-bench] {}", msg.as_ref());
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn mode_name(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// The kernel thread id of the calling thread.
fn current_tid() -> u64 {
    std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| {
            p.file_name()
                .and_then(|f| f.to_str())
                .and_then(|s| s.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU ticks (user + system) of this process's threads, except `exclude`.
fn cpu_ticks_except(exclude: &[u64]) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let mut total = 0;
    for e in entries.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) else {
            continue;
        };
        if exclude.contains(&tid) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces) start at field 3 (state);
        // utime and stime are fields 14 and 15.
        if let Some((_, rest)) = stat.rsplit_once(')') {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ut: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
            let stt: u64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
            total += ut + stt;
        }
    }
    total
}

struct Shared {
    t0: Instant,
    docs: AtomicU64,
    phase: AtomicU8,
    main_tid: u64,
    reader_tid: AtomicU64,
    sampler_tid: AtomicU64,
}

impl Shared {
    fn excluded(&self) -> [u64; 3] {
        [
            self.main_tid,
            self.reader_tid.load(Ordering::Relaxed),
            self.sampler_tid.load(Ordering::Relaxed),
        ]
    }
}

#[derive(Clone, Debug)]
struct Sample {
    t: f64,
    docs: u64,
    segments: usize,
    flushes: u64,
    merges: u64,
    memtable_docs: u64,
    indexed_docs: u64,
    disk_bytes: u64,
    /// Cores used by background threads (all but the ingest, reader and sampler threads) since
    /// the previous sample.
    bg_cores: f64,
    phase: u8,
}

impl Sample {
    fn json(&self) -> Value {
        json!({
            "t_s": (self.t * 1000.0).round() / 1000.0, "docs": self.docs, "segments": self.segments,
            "flushes": self.flushes, "merges": self.merges, "memtable_docs": self.memtable_docs,
            "indexed_docs": self.indexed_docs, "disk_bytes": self.disk_bytes,
            "bg_cores": (self.bg_cores * 100.0).round() / 100.0, "phase": phase_name(self.phase),
        })
    }
}

fn phase_name(p: u8) -> &'static str {
    match p {
        PHASE_INGEST => "ingest",
        PHASE_DRAIN => "drain",
        PHASE_IDLE => "idle",
        _ => "done",
    }
}

fn sampler(coll: Collection, sh: Arc<Shared>) -> Vec<Sample> {
    sh.sampler_tid.store(current_tid(), Ordering::Relaxed);
    let mut out = Vec::new();
    let mut last_ticks = cpu_ticks_except(&sh.excluded());
    let mut last_t = sh.t0.elapsed().as_secs_f64();
    let mut next = Instant::now();
    loop {
        let phase = sh.phase.load(Ordering::Acquire);
        if phase == PHASE_DONE {
            break;
        }
        let Ok(st) = coll.stats() else { break };
        let ticks = cpu_ticks_except(&sh.excluded());
        let t = sh.t0.elapsed().as_secs_f64();
        let dt = (t - last_t).max(1e-3);
        out.push(Sample {
            t,
            docs: sh.docs.load(Ordering::Relaxed),
            segments: st.segment_count,
            flushes: st.flushes,
            merges: st.merges,
            memtable_docs: st.memtable_docs,
            indexed_docs: st.indexed_docs,
            disk_bytes: st.disk_bytes,
            bg_cores: ticks.saturating_sub(last_ticks) as f64 / CLK_TCK / dt,
            phase,
        });
        last_ticks = ticks;
        last_t = t;
        next += SAMPLE_EVERY;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    out
}

/// (start time s, latency ms, phase at start).
type Probe = (f64, f64, u8);

fn reader(coll: Collection, sh: Arc<Shared>, dim: usize, seed: u64) -> Res<Vec<Probe>> {
    sh.reader_tid.store(current_tid(), Ordering::Relaxed);
    let mut rng = Prng::new(seed ^ 0x5EA2C4);
    let queries: Vec<Vec<f32>> = (0..READER_QUERIES).map(|_| rng.vector(dim)).collect();
    let mut out = Vec::new();
    let mut i = 0usize;
    // Searches of an empty collection would only flatter the figures: wait for the first batch.
    while sh.docs.load(Ordering::Relaxed) == 0 && sh.phase.load(Ordering::Acquire) == PHASE_INGEST {
        std::thread::sleep(Duration::from_millis(1));
    }
    loop {
        let phase = sh.phase.load(Ordering::Acquire);
        if phase == PHASE_DONE {
            break;
        }
        let q = &queries[i % READER_QUERIES];
        i += 1;
        let start = sh.t0.elapsed().as_secs_f64();
        let t = Instant::now();
        let hits = coll.search(Search::new(q).top_k(10).threads(1))?;
        let lat = ms(t.elapsed());
        std::hint::black_box(hits);
        out.push((start, lat, phase));
    }
    Ok(out)
}

struct ModeResult {
    on: bool,
    ingest_s: f64,
    flush_s: f64,
    drain_s: f64,
    idle_timeout: bool,
    batch_ms: Vec<f64>,
    samples: Vec<Sample>,
    probes: Vec<Probe>,
    /// When `flush()` after the last insert returned (seconds from the start): from then on
    /// nothing is written and only background merges can run.
    flush_done_t: f64,
    /// Merges completed between `flush_done_t` and idle.
    merges_after_flush: u64,
    end_of_ingest: Sample,
    final_stats: Value,
    loadavg_start: String,
    loadavg_end: String,
    rss_kib: u64,
}

impl ModeResult {
    fn docs_per_s(&self, n: u64) -> f64 {
        n as f64 / self.ingest_s
    }
    fn lat(&self, pred: impl Fn(&Probe) -> bool) -> Latency {
        let v: Vec<f64> = self
            .probes
            .iter()
            .filter(|p| pred(p))
            .map(|p| p.1)
            .collect();
        Latency::of(&v)
    }
    /// A search started after the final `flush()` returned and before idle, while background
    /// threads were busy: only background merges and graph builds were running (no ingest).
    fn merging_only(&self, p: &Probe) -> bool {
        p.2 == PHASE_DRAIN && p.0 >= self.flush_done_t && self.bg_busy(p.0)
    }
    fn bg_busy(&self, t: f64) -> bool {
        // The sample interval containing t: the first sample at or after t.
        let i = self.samples.partition_point(|s| s.t < t);
        self.samples.get(i).is_some_and(|s| s.bg_cores > BUSY_CORES)
    }
    fn classes(&self) -> Vec<(&'static str, Latency)> {
        vec![
            ("ingest (all)", self.lat(|p| p.2 == PHASE_INGEST)),
            (
                "ingest, background build/merge busy",
                self.lat(|p| p.2 == PHASE_INGEST && self.bg_busy(p.0)),
            ),
            (
                "ingest, background quiet",
                self.lat(|p| p.2 == PHASE_INGEST && !self.bg_busy(p.0)),
            ),
            (
                "background merges/graph builds only (after the final flush, busy, before idle)",
                self.lat(|p| self.merging_only(p)),
            ),
            (
                "drain (last insert -> idle)",
                self.lat(|p| p.2 == PHASE_DRAIN),
            ),
            ("busy (ingest + drain)", self.lat(|p| p.2 <= PHASE_DRAIN)),
            ("idle", self.lat(|p| p.2 == PHASE_IDLE)),
        ]
    }
}

fn lat_json(l: &Latency) -> Value {
    json!({"count": l.count, "p50_ms": l.p50_ms, "p95_ms": l.p95_ms, "p99_ms": l.p99_ms, "mean_ms": l.mean_ms, "max_ms": l.max_ms})
}

fn run_mode(args: &Args, on: bool, data: &[f32]) -> Res<ModeResult> {
    let loadavg_start = loadavg();
    let dir = args.dir.join(format!(
        "maint-bench-{}-{}",
        mode_name(on),
        std::process::id()
    ));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    progress(format!(
        "maintenance {}: {} docs into {} (load average {loadavg_start})",
        mode_name(on),
        args.n,
        dir.display()
    ));
    let db = Database::open_with_options(
        &dir,
        DatabaseOptions::default().with_background_maintenance(on),
    )?;
    let mut config = CollectionConfig::new(args.dim);
    if let Some(mib) = args.flush_mib {
        config = config.with_flush_threshold_bytes(mib << 20);
    }
    let coll = db.create_collection(COLL, config)?;
    let sh = Arc::new(Shared {
        t0: Instant::now(),
        docs: AtomicU64::new(0),
        phase: AtomicU8::new(PHASE_INGEST),
        main_tid: current_tid(),
        reader_tid: AtomicU64::new(0),
        sampler_tid: AtomicU64::new(0),
    });
    let sampler_h = {
        let (c, s) = (coll.clone(), Arc::clone(&sh));
        std::thread::Builder::new()
            .name("bench-sampler".into())
            .spawn(move || sampler(c, s))?
    };
    let reader_h = if args.reader {
        let (c, s) = (coll.clone(), Arc::clone(&sh));
        let (dim, seed) = (args.dim, args.seed);
        Some(
            std::thread::Builder::new()
                .name("bench-reader".into())
                .spawn(move || reader(c, s, dim, seed).map_err(|e| e.to_string()))?,
        )
    } else {
        None
    };

    // ---- ingest ----
    let dim = args.dim;
    let n = args.n as usize;
    let mut batch_ms = Vec::with_capacity(n / args.batch + 1);
    let t_ingest = Instant::now();
    let mut last_report = Instant::now();
    for start in (0..n).step_by(args.batch) {
        let end = (start + args.batch).min(n);
        if let Some(rate) = args.rate {
            // Paced: batch k starts no earlier than k * batch / rate seconds in.
            let due = Duration::from_secs_f64(start as f64 / rate);
            if let Some(wait) = due.checked_sub(t_ingest.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let docs: Vec<Document> = (start..end)
            .map(|i| Document::new(doc_id("d", i as u64), data[i * dim..(i + 1) * dim].to_vec()))
            .collect();
        let t = Instant::now();
        coll.insert_batch(docs)?;
        batch_ms.push(ms(t.elapsed()));
        sh.docs.store(end as u64, Ordering::Relaxed);
        if last_report.elapsed() >= Duration::from_secs(10) {
            last_report = Instant::now();
            let st = coll.stats()?;
            progress(format!(
                "  {:.0} s: {end} docs, {} segments, {} flushes, {} merges",
                t_ingest.elapsed().as_secs_f64(),
                st.segment_count,
                st.flushes,
                st.merges
            ));
        }
    }
    let ingest_s = t_ingest.elapsed().as_secs_f64();
    let st = coll.stats()?;
    let end_of_ingest = Sample {
        t: sh.t0.elapsed().as_secs_f64(),
        docs: n as u64,
        segments: st.segment_count,
        flushes: st.flushes,
        merges: st.merges,
        memtable_docs: st.memtable_docs,
        indexed_docs: st.indexed_docs,
        disk_bytes: st.disk_bytes,
        bg_cores: f64::NAN,
        phase: PHASE_INGEST,
    };
    progress(format!(
        "  ingest done in {ingest_s:.1} s ({:.0} docs/s); flushing and waiting for idle",
        n as f64 / ingest_s
    ));

    // ---- drain: flush, then wait until merges are done ----
    sh.phase.store(PHASE_DRAIN, Ordering::Release);
    let t_drain = Instant::now();
    coll.flush()?;
    let flush_s = t_drain.elapsed().as_secs_f64();
    let flush_done_t = sh.t0.elapsed().as_secs_f64();
    let merges_at_flush = coll.stats()?.merges;
    let key = |s: &ndb::CollectionStats| (s.segment_count, s.flushes, s.merges, s.indexed_docs);
    let mut last_key = key(&coll.stats()?);
    let mut stable_since = Instant::now();
    let mut ticks_since = cpu_ticks_except(&sh.excluded());
    let mut idle_timeout = false;
    loop {
        std::thread::sleep(SAMPLE_EVERY);
        let st = coll.stats()?;
        let ticks = cpu_ticks_except(&sh.excluded());
        if key(&st) != last_key {
            last_key = key(&st);
            stable_since = Instant::now();
            ticks_since = ticks;
            continue;
        }
        let held = stable_since.elapsed().as_secs_f64();
        if held >= args.stable_secs {
            let cores = ticks.saturating_sub(ticks_since) as f64 / CLK_TCK / held;
            if cores < IDLE_CORES {
                break;
            }
            stable_since = Instant::now();
            ticks_since = ticks;
        }
        if t_drain.elapsed() > IDLE_TIMEOUT {
            idle_timeout = true;
            progress("  warning: gave up waiting for idle");
            break;
        }
    }
    // Idle counts from the start of the stable span that proved it.
    let drain_s = (t_drain.elapsed().as_secs_f64() - args.stable_secs).max(flush_s);
    progress(format!(
        "  idle after {drain_s:.1} s (flush {flush_s:.1} s); {} s of idle searches",
        args.idle_secs
    ));

    // ---- idle ----
    sh.phase.store(PHASE_IDLE, Ordering::Release);
    std::thread::sleep(Duration::from_secs_f64(args.idle_secs));
    sh.phase.store(PHASE_DONE, Ordering::Release);
    let probes = match reader_h {
        Some(h) => h
            .join()
            .map_err(|_| "reader thread panicked")?
            .map_err(|e| format!("reader: {e}"))?,
        None => Vec::new(),
    };
    let samples = sampler_h.join().map_err(|_| "sampler thread panicked")?;
    let st = coll.stats()?;
    let final_stats = json!({
        "doc_count": st.doc_count, "segments": st.segment_count, "flushes": st.flushes,
        "merges": st.merges, "indexed_docs": st.indexed_docs, "disk_bytes": st.disk_bytes,
        "memtable_docs": st.memtable_docs,
        "write_stalls": st.write_stalls, "write_stall_s": st.write_stall_time.as_secs_f64(),
    });
    if st.doc_count != args.n {
        progress(format!(
            "  warning: doc_count {} != {}",
            st.doc_count, args.n
        ));
    }
    let rss_kib = read_mem().vm_rss_kib;
    let merges_after_flush = st.merges.saturating_sub(merges_at_flush);
    drop(coll);
    drop(db);
    if !args.keep {
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            progress(format!(
                "  warning: could not remove {}: {e}",
                dir.display()
            ));
        }
    }
    Ok(ModeResult {
        on,
        ingest_s,
        flush_s,
        drain_s,
        idle_timeout,
        batch_ms,
        samples,
        probes,
        flush_done_t,
        merges_after_flush,
        end_of_ingest,
        final_stats,
        loadavg_start,
        loadavg_end: loadavg(),
        rss_kib,
    })
}

fn f2(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x < 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.2}")
    }
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("ndb-maint-bench: error: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Res<()> {
    let args = parse_args()?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    std::fs::create_dir_all(&args.dir)?;
    let load_start = loadavg();
    progress(format!("load average at start: {load_start}"));
    let t = Instant::now();
    let mut rng = Prng::new(args.seed);
    let data: Vec<f32> = (0..args.n as usize * args.dim)
        .map(|_| rng.next_f32())
        .collect();
    progress(format!(
        "generated {} × {} vectors ({:.0} MiB) in {:.1} s",
        args.n,
        args.dim,
        data.len() as f64 * 4.0 / (1024.0 * 1024.0),
        t.elapsed().as_secs_f64()
    ));
    let mut results = Vec::new();
    for &on in &args.modes {
        results.push(run_mode(&args, on, &data)?);
    }
    let load_end = loadavg();

    // ---- report ----
    let m = machine_description();
    let mut md = String::new();
    writeln!(
        md,
        "# nDB sustained ingest and background maintenance (`ndb-maint-bench`)\n"
    )?;
    writeln!(md, "- Command: `{command}`")?;
    writeln!(
        md,
        "- Data: {} random vectors × {} dims (uniform in [-1, 1), seed {}), `insert_batch` of {}; default collection config (cosine, HNSW m 16 / ef_construction 200, index for segments ≥ 10k rows), flush threshold {}",
        args.n, args.dim, args.seed, args.batch,
        match args.flush_mib { Some(m) => format!("{m} MiB (set by --flush-mib)"), None => "64 MiB (default)".to_string() }
    )?;
    writeln!(
        md,
        "- Ingest: {}; reader: {} (`Search::new(&q).top_k(10).threads(1)`, back to back, one thread)",
        match args.rate { Some(r) => format!("paced at {r:.0} docs/s offered"), None => "as fast as insert_batch returns".to_string() },
        if args.reader {
            "on during the whole run"
        } else {
            "off"
        }
    )?;
    writeln!(
        md,
        "- Machine: {} × {}, {} GiB; load average (1/5/15 min) at start {load_start}, at end {load_end}; other benchmarks ran at the same time, so figures are noisy",
        m["nproc"],
        m["cpu_model"].as_str().unwrap_or("?"),
        m["mem_total_gib"]
    )?;
    writeln!(
        md,
        "- Idle = segment count, flushes and merges unchanged for {} s with < {IDLE_CORES} core of background CPU; then {} s of idle searches\n",
        args.stable_secs, args.idle_secs
    )?;
    writeln!(md, "## Ingest\n")?;
    writeln!(md, "| Maintenance | docs/s (until last insert_batch returns) | Ingest s | flush() s | Last insert → idle s | Total to idle s | insert_batch p50 / p99 / max ms | Writer stalls (count, total s) | Segments at end of ingest | Segments when idle | Flushes | Merges | Load avg start → end |")?;
    writeln!(
        md,
        "|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---|"
    )?;
    for r in &results {
        let b = Latency::of(&r.batch_ms);
        writeln!(
            md,
            "| {} | {:.0} | {:.1} | {:.1} | {:.1}{} | {:.1} | {} / {} / {} | {}, {:.2} | {} | {} | {} | {} | {} → {} |",
            mode_name(r.on),
            r.docs_per_s(args.n),
            r.ingest_s,
            r.flush_s,
            r.drain_s,
            if r.idle_timeout { " (timeout)" } else { "" },
            r.ingest_s + r.drain_s,
            f2(b.p50_ms),
            f2(b.p99_ms),
            f2(b.max_ms),
            r.final_stats["write_stalls"],
            r.final_stats["write_stall_s"].as_f64().unwrap_or(f64::NAN),
            r.end_of_ingest.segments,
            r.final_stats["segments"],
            r.final_stats["flushes"],
            r.final_stats["merges"],
            r.loadavg_start,
            r.loadavg_end
        )?;
    }
    let on_r = results.iter().find(|r| r.on);
    let off_r = results.iter().find(|r| !r.on);
    let mut goals = json!({});
    if let (Some(a), Some(b)) = (on_r, off_r) {
        let ratio = a.docs_per_s(args.n) / b.docs_per_s(args.n);
        let total_ratio = (b.ingest_s + b.drain_s) / (a.ingest_s + a.drain_s);
        writeln!(
            md,
            "\nIngest rate with maintenance on / off: **{:.2}** (goal ≥ 0.70: **{}**). Time to idle, off / on: {:.2}.",
            ratio,
            if ratio >= 0.7 { "met" } else { "not met" },
            total_ratio
        )?;
        goals["ingest_ratio_on_over_off"] = json!(ratio);
        goals["ingest_goal_met"] = json!(ratio >= 0.7);
    }

    writeln!(md, "\n## Search latency during ingest and merges vs idle\n")?;
    writeln!(
        md,
        "| Maintenance | Phase | Searches | p50 ms | p99 ms | max ms |"
    )?;
    writeln!(md, "|---|---|---:|---:|---:|---:|")?;
    for r in &results {
        for (name, l) in r.classes() {
            if l.count == 0 {
                continue;
            }
            writeln!(
                md,
                "| {} | {name} | {} | {} | {} | {} |",
                mode_name(r.on),
                l.count,
                f2(l.p50_ms),
                f2(l.p99_ms),
                f2(l.max_ms)
            )?;
        }
    }
    if let Some(a) = on_r {
        let idle = a.lat(|p| p.2 == PHASE_IDLE);
        let merging = a.lat(|p| a.merging_only(p));
        let ingest_busy = a.lat(|p| p.2 == PHASE_INGEST && a.bg_busy(p.0));
        let busy = a.lat(|p| p.2 <= PHASE_DRAIN);
        if idle.count > 0 {
            let ratio = |l: &Latency| {
                if l.count == 0 {
                    f64::NAN
                } else {
                    l.p99_ms / idle.p99_ms
                }
            };
            let (r1, r2, r3) = (ratio(&merging), ratio(&busy), ratio(&ingest_busy));
            writeln!(
                md,
                "\nMaintenance on: p99 while only background merges and graph builds run (after the final flush, {} merge(s), {} searches) / idle p99 = **{}** (goal ≤ 2: **{}**); during ingest with background builds/merges busy / idle: {}; whole busy period / idle: {}.",
                a.merges_after_flush,
                merging.count,
                f2(r1),
                if merging.count == 0 { "not measured" } else if r1 <= 2.0 { "met" } else { "not met" },
                f2(r3),
                f2(r2)
            )?;
            if merging.count == 0 {
                writeln!(
                    md,
                    "No background work ran after the final flush, so the merge figure is not measured in this run."
                )?;
            }
            goals["p99_merges_only_over_idle"] = json!(r1);
            goals["p99_ingest_bg_busy_over_idle"] = json!(r3);
            goals["p99_busy_over_idle"] = json!(r2);
            goals["search_goal_met"] = json!(merging.count > 0 && r1 <= 2.0);
        }
    }

    writeln!(md, "\n## Segment count over time\n")?;
    for r in &results {
        writeln!(
            md,
            "Maintenance {}: final flush() returned at {:.1} s; {} merge(s) completed after it\n",
            mode_name(r.on),
            r.flush_done_t,
            r.merges_after_flush
        )?;
        writeln!(md, "| t s | phase | docs inserted | segments | flushes | merges | memtable docs | indexed docs | background cores |")?;
        writeln!(md, "|---:|---|---:|---:|---:|---:|---:|---:|---:|")?;
        // About 60 rows at a round step (1 s for short runs), plus every row where the
        // segment layout changed; the JSON has one sample a second.
        let span = r.samples.last().map_or(0.0, |l| l.t);
        let every = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0]
            .into_iter()
            .find(|&e| span / e <= 60.0)
            .unwrap_or(120.0);
        let mut next_t = 0.0;
        let mut prev: Option<&Sample> = None;
        for s in &r.samples {
            let changed = prev.is_some_and(|p| {
                p.segments != s.segments || p.flushes != s.flushes || p.merges != s.merges
            });
            if s.t >= next_t || changed {
                writeln!(
                    md,
                    "| {:.1} | {} | {} | {} | {} | {} | {} | {} | {:.2} |",
                    s.t,
                    phase_name(s.phase),
                    s.docs,
                    s.segments,
                    s.flushes,
                    s.merges,
                    s.memtable_docs,
                    s.indexed_docs,
                    s.bg_cores
                )?;
                if s.t >= next_t {
                    next_t = (s.t / every).floor() * every + every;
                }
            }
            prev = Some(s);
        }
        writeln!(md)?;
    }

    let modes_json: Vec<Value> = results
        .iter()
        .map(|r| {
            let b = Latency::of(&r.batch_ms);
            // Per-second samples for the JSON (every 4th 250 ms sample).
            let per_s: Vec<Value> = r.samples.iter().step_by(4).map(Sample::json).collect();
            json!({
                "maintenance": mode_name(r.on),
                "docs_per_s": r.docs_per_s(args.n),
                "ingest_s": r.ingest_s,
                "flush_s": r.flush_s,
                "last_insert_to_idle_s": r.drain_s,
                "idle_timeout": r.idle_timeout,
                "insert_batch_ms": lat_json(&b),
                "end_of_ingest": r.end_of_ingest.json(),
                "final": r.final_stats,
                "final_flush_done_t_s": r.flush_done_t,
                "merges_after_final_flush": r.merges_after_flush,
                "search_latency": r.classes().iter().map(|(n, l)| json!({"phase": n, "latency": lat_json(l)})).collect::<Vec<_>>(),
                "samples_per_s": per_s,
                "loadavg_start": r.loadavg_start,
                "loadavg_end": r.loadavg_end,
                "rss_kib": r.rss_kib,
            })
        })
        .collect();
    let report = json!({
        "bench": "ndb-maint-bench",
        "command": command,
        "n": args.n, "dim": args.dim, "batch": args.batch, "seed": args.seed, "rate": args.rate, "flush_threshold_mib": args.flush_mib.unwrap_or(64),
        "reader": args.reader,
        "machine": m,
        "loadavg_start": load_start, "loadavg_end": load_end,
        "modes": modes_json,
        "goals": goals,
    });
    let json_text = serde_json::to_string_pretty(&report)?;
    print!("{md}");
    println!("\n```json\n{json_text}\n```");
    if let Some(p) = &args.json_out {
        ndb_bench::write_file(p, json_text.as_bytes())?;
    }
    if let Some(p) = &args.md_out {
        ndb_bench::write_file(p, md.as_bytes())?;
    }
    Ok(())
}
