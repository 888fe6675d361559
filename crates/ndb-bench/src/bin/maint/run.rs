//! One mode of the benchmark: a fresh database with background maintenance on or off, the
//! ingest, a sampler and a reader thread beside it, the wait until the collection is idle, and
//! idle searches.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ndb::Search;
use ndb::{Collection, CollectionConfig, CollectionStats, Database, DatabaseOptions, Document};
use ndb_bench::measure::Latency;
use ndb_bench::report::load_average;
use ndb_bench::{doc_id, ms, read_mem, scratch, Prng, Res};
use serde_json::{json, Value};

use crate::{mode_name, Args, BENCH};

const COLL: &str = "maint";
const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// Linux clock ticks per second (`USER_HZ`), the unit of `/proc/*/stat` CPU times.
const CLK_TCK: f64 = 100.0;
/// Background threads using less than this many cores count as idle.
pub const IDLE_CORES: f64 = 0.1;
/// A sample interval with background threads using more than this many cores is "busy".
const BUSY_CORES: f64 = 0.3;
/// Give up waiting for idle after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
const READER_QUERIES: usize = 256;

pub const PHASE_INGEST: u8 = 0;
pub const PHASE_DRAIN: u8 = 1;
pub const PHASE_IDLE: u8 = 2;
const PHASE_DONE: u8 = 3;

pub fn phase_name(p: u8) -> &'static str {
    match p {
        PHASE_INGEST => "ingest",
        PHASE_DRAIN => "drain",
        PHASE_IDLE => "idle",
        _ => "done",
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

/// What the ingest, sampler and reader threads share.
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

    /// CPU ticks of the background threads (all but the ingest, reader and sampler threads).
    fn background_ticks(&self) -> u64 {
        cpu_ticks_except(&self.excluded())
    }

    fn now_s(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    fn phase(&self) -> u8 {
        self.phase.load(Ordering::Acquire)
    }

    fn set_phase(&self, phase: u8) {
        self.phase.store(phase, Ordering::Release);
    }
}

#[derive(Clone, Debug)]
pub struct Sample {
    pub t: f64,
    pub docs: u64,
    pub segments: usize,
    pub flushes: u64,
    pub merges: u64,
    pub memtable_docs: u64,
    pub indexed_docs: u64,
    pub disk_bytes: u64,
    /// Cores used by background threads (all but the ingest, reader and sampler threads) since
    /// the previous sample.
    pub bg_cores: f64,
    pub phase: u8,
}

impl Sample {
    fn of(t: f64, docs: u64, st: &CollectionStats, bg_cores: f64, phase: u8) -> Sample {
        Sample {
            t,
            docs,
            segments: st.segment_count,
            flushes: st.flushes,
            merges: st.merges,
            memtable_docs: st.memtable_docs,
            indexed_docs: st.indexed_docs,
            disk_bytes: st.disk_bytes,
            bg_cores,
            phase,
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "t_s": (self.t * 1000.0).round() / 1000.0, "docs": self.docs, "segments": self.segments,
            "flushes": self.flushes, "merges": self.merges, "memtable_docs": self.memtable_docs,
            "indexed_docs": self.indexed_docs, "disk_bytes": self.disk_bytes,
            "bg_cores": (self.bg_cores * 100.0).round() / 100.0, "phase": phase_name(self.phase),
        })
    }
}

fn sampler(coll: Collection, sh: Arc<Shared>) -> Vec<Sample> {
    sh.sampler_tid.store(current_tid(), Ordering::Relaxed);
    let mut out = Vec::new();
    let mut last_ticks = sh.background_ticks();
    let mut last_t = sh.now_s();
    let mut next = Instant::now();
    loop {
        let phase = sh.phase();
        if phase == PHASE_DONE {
            break;
        }
        let Ok(st) = coll.stats() else { break };
        let ticks = sh.background_ticks();
        let t = sh.now_s();
        let dt = (t - last_t).max(1e-3);
        let bg_cores = ticks.saturating_sub(last_ticks) as f64 / CLK_TCK / dt;
        let docs = sh.docs.load(Ordering::Relaxed);
        out.push(Sample::of(t, docs, &st, bg_cores, phase));
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
pub type Probe = (f64, f64, u8);

fn reader(coll: Collection, sh: Arc<Shared>, dim: usize, seed: u64) -> Res<Vec<Probe>> {
    sh.reader_tid.store(current_tid(), Ordering::Relaxed);
    let mut rng = Prng::new(seed ^ 0x5EA2C4);
    let queries: Vec<Vec<f32>> = (0..READER_QUERIES).map(|_| rng.vector(dim)).collect();
    let mut out = Vec::new();
    let mut i = 0usize;
    // Searches of an empty collection would only flatter the figures: wait for the first batch.
    while sh.docs.load(Ordering::Relaxed) == 0 && sh.phase() == PHASE_INGEST {
        std::thread::sleep(Duration::from_millis(1));
    }
    loop {
        let phase = sh.phase();
        if phase == PHASE_DONE {
            break;
        }
        let q = &queries[i % READER_QUERIES];
        i += 1;
        let start = sh.now_s();
        let t = Instant::now();
        let hits = coll.search(Search::new(q).top_k(10).threads(1))?;
        let lat = ms(t.elapsed());
        std::hint::black_box(hits);
        out.push((start, lat, phase));
    }
    Ok(out)
}

pub struct ModeResult {
    pub on: bool,
    pub ingest_s: f64,
    pub flush_s: f64,
    pub drain_s: f64,
    pub idle_timeout: bool,
    pub batch_ms: Vec<f64>,
    pub samples: Vec<Sample>,
    pub probes: Vec<Probe>,
    /// When `flush()` after the last insert returned (seconds from the start): from then on
    /// nothing is written and only background merges can run.
    pub flush_done_t: f64,
    /// Merges completed between `flush_done_t` and idle.
    pub merges_after_flush: u64,
    pub end_of_ingest: Sample,
    pub final_stats: CollectionStats,
    pub loadavg_start: String,
    pub loadavg_end: String,
    pub rss_kib: u64,
}

impl ModeResult {
    pub fn docs_per_s(&self, n: usize) -> f64 {
        n as f64 / self.ingest_s
    }

    pub fn lat(&self, pred: impl Fn(&Probe) -> bool) -> Latency {
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
    pub fn merging_only(&self, p: &Probe) -> bool {
        p.2 == PHASE_DRAIN && p.0 >= self.flush_done_t && self.bg_busy(p.0)
    }

    pub fn bg_busy(&self, t: f64) -> bool {
        // The sample interval containing t: the first sample at or after t.
        let i = self.samples.partition_point(|s| s.t < t);
        self.samples.get(i).is_some_and(|s| s.bg_cores > BUSY_CORES)
    }

    pub fn classes(&self) -> Vec<(&'static str, Latency)> {
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

    /// The collection's figures at the end, as JSON.
    pub fn final_json(&self) -> Value {
        let st = &self.final_stats;
        json!({
            "doc_count": st.doc_count, "segments": st.segment_count, "flushes": st.flushes,
            "merges": st.merges, "indexed_docs": st.indexed_docs, "disk_bytes": st.disk_bytes,
            "memtable_docs": st.memtable_docs,
            "write_stalls": st.write_stalls, "write_stall_s": st.write_stall_time.as_secs_f64(),
        })
    }
}

/// The sampler and (unless `--no-reader`) the reader thread.
struct Watchers {
    sampler: JoinHandle<Vec<Sample>>,
    reader: Option<JoinHandle<Result<Vec<Probe>, String>>>,
}

impl Watchers {
    fn start(args: &Args, coll: &Collection, sh: &Arc<Shared>) -> Res<Watchers> {
        let sampler = {
            let (c, s) = (coll.clone(), Arc::clone(sh));
            std::thread::Builder::new()
                .name("bench-sampler".into())
                .spawn(move || sampler(c, s))?
        };
        let reader = if args.no_reader {
            None
        } else {
            let (c, s) = (coll.clone(), Arc::clone(sh));
            let (dim, seed) = (args.dim, args.seed);
            Some(
                std::thread::Builder::new()
                    .name("bench-reader".into())
                    .spawn(move || reader(c, s, dim, seed).map_err(|e| e.to_string()))?,
            )
        };
        Ok(Watchers { sampler, reader })
    }

    /// Wait for both (after the phase is set to done): the samples and the searches.
    fn join(self) -> Res<(Vec<Sample>, Vec<Probe>)> {
        let probes = match self.reader {
            Some(h) => h
                .join()
                .map_err(|_| "reader thread panicked")?
                .map_err(|e| format!("reader: {e}"))?,
            None => Vec::new(),
        };
        let samples = self.sampler.join().map_err(|_| "sampler thread panicked")?;
        Ok((samples, probes))
    }
}

/// Insert every vector of `data` with insert_batch, paced by `--rate` if given; the latency of
/// each batch, ms.
fn ingest(args: &Args, coll: &Collection, sh: &Shared, data: &[f32]) -> Res<Vec<f64>> {
    let (dim, n) = (args.dim, args.n);
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
            BENCH.progress(format!(
                "  {:.0} s: {end} docs, {} segments, {} flushes, {} merges",
                t_ingest.elapsed().as_secs_f64(),
                st.segment_count,
                st.flushes,
                st.merges
            ));
        }
    }
    Ok(batch_ms)
}

/// How the drain went: the final flush, then the wait for idle.
struct Drain {
    flush_s: f64,
    flush_done_t: f64,
    merges_at_flush: u64,
    drain_s: f64,
    idle_timeout: bool,
}

/// `flush()`, then wait until the segment layout holds still for `--stable-secs` with the
/// background threads (nearly) idle.
fn drain(args: &Args, coll: &Collection, sh: &Shared) -> Res<Drain> {
    sh.set_phase(PHASE_DRAIN);
    let t_drain = Instant::now();
    coll.flush()?;
    let flush_s = t_drain.elapsed().as_secs_f64();
    let flush_done_t = sh.now_s();
    let merges_at_flush = coll.stats()?.merges;
    let key = |s: &CollectionStats| (s.segment_count, s.flushes, s.merges, s.indexed_docs);
    let mut last_key = key(&coll.stats()?);
    let mut stable_since = Instant::now();
    let mut ticks_since = sh.background_ticks();
    let mut idle_timeout = false;
    loop {
        std::thread::sleep(SAMPLE_EVERY);
        let st = coll.stats()?;
        let ticks = sh.background_ticks();
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
            BENCH.progress("  warning: gave up waiting for idle");
            break;
        }
    }
    // Idle counts from the start of the stable span that proved it.
    let drain_s = (t_drain.elapsed().as_secs_f64() - args.stable_secs).max(flush_s);
    Ok(Drain {
        flush_s,
        flush_done_t,
        merges_at_flush,
        drain_s,
        idle_timeout,
    })
}

/// A fresh database in `dir` with background maintenance `on`, and its collection.
fn open(args: &Args, on: bool, dir: &Path) -> Res<(Database, Collection)> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let db = Database::open_with_options(
        dir,
        DatabaseOptions::default().with_background_maintenance(on),
    )?;
    let mut config = CollectionConfig::new(args.dim);
    if let Some(mib) = args.flush_mib {
        config = config.with_flush_threshold_bytes(mib << 20);
    }
    let coll = db.create_collection(COLL, config)?;
    Ok((db, coll))
}

pub fn run_mode(args: &Args, on: bool, data: &[f32]) -> Res<ModeResult> {
    let loadavg_start = load_average();
    let dir = args.scratch.dir.join(format!(
        "maint-bench-{}-{}",
        mode_name(on),
        std::process::id()
    ));
    BENCH.progress(format!(
        "maintenance {}: {} docs into {} (load average {loadavg_start})",
        mode_name(on),
        args.n,
        dir.display()
    ));
    let (db, coll) = open(args, on, &dir)?;
    let sh = Arc::new(Shared {
        t0: Instant::now(),
        docs: AtomicU64::new(0),
        phase: AtomicU8::new(PHASE_INGEST),
        main_tid: current_tid(),
        reader_tid: AtomicU64::new(0),
        sampler_tid: AtomicU64::new(0),
    });
    let watchers = Watchers::start(args, &coll, &sh)?;

    let t_ingest = Instant::now();
    let batch_ms = ingest(args, &coll, &sh, data)?;
    let ingest_s = t_ingest.elapsed().as_secs_f64();
    let n = args.n as u64;
    let end_of_ingest = Sample::of(sh.now_s(), n, &coll.stats()?, f64::NAN, PHASE_INGEST);
    BENCH.progress(format!(
        "  ingest done in {ingest_s:.1} s ({:.0} docs/s); flushing and waiting for idle",
        n as f64 / ingest_s
    ));

    let d = drain(args, &coll, &sh)?;
    BENCH.progress(format!(
        "  idle after {:.1} s (flush {:.1} s); {} s of idle searches",
        d.drain_s, d.flush_s, args.idle_secs
    ));
    sh.set_phase(PHASE_IDLE);
    std::thread::sleep(Duration::from_secs_f64(args.idle_secs));
    sh.set_phase(PHASE_DONE);
    let (samples, probes) = watchers.join()?;
    let final_stats = coll.stats()?;
    if final_stats.doc_count != n {
        BENCH.progress(format!(
            "  warning: doc_count {} != {}",
            final_stats.doc_count, args.n
        ));
    }
    let rss_kib = read_mem().vm_rss_kib;
    drop(coll);
    drop(db);
    scratch::remove(&BENCH, &dir, args.scratch.keep);
    Ok(ModeResult {
        on,
        ingest_s,
        flush_s: d.flush_s,
        drain_s: d.drain_s,
        idle_timeout: d.idle_timeout,
        batch_ms,
        samples,
        probes,
        flush_done_t: d.flush_done_t,
        merges_after_flush: final_stats.merges.saturating_sub(d.merges_at_flush),
        end_of_ingest,
        final_stats,
        loadavg_start,
        loadavg_end: load_average(),
        rss_kib,
    })
}
