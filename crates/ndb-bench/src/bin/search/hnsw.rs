//! The approximate-search (HNSW) run: one segment with one graph, the timed builds, the index
//! size, the reopen time, and the ef sweep; the references and the report follow in
//! [`crate::hnsw_report`].

use std::path::Path;
use std::time::Instant;

use ndb::{
    CollectionConfig, CollectionStats, ConfigUpdate, Database, IndexConfig, Quantization, Search,
};
use ndb_bench::measure::Latency;
use ndb_bench::report::fmt::{or_dash, percent, qps_ungrouped, r2, r4};
use ndb_bench::scratch::ScratchDirs;
use ndb_bench::sweep::SweepPoint;
use ndb_bench::{bandwidth, files_under, median, Res};
use serde_json::{json, Value};

use crate::dataset::Dataset;
use crate::timing::run_sequential_with;
use crate::{hnsw_report, Args, Ctx, BENCH, COLL};

/// One timed index build.
#[derive(Clone, Debug)]
pub struct Build {
    pub threads: usize,
    pub seconds: f64,
    /// Process CPU time during the build as a share of threads x wall time.
    pub cpu_use: f64,
    /// Share of threads x wall time the build threads waited for a CPU (nDB: the pool's
    /// workers, from their schedstat; None where not measured).
    pub sched_wait: Option<f64>,
}

impl Build {
    pub fn to_json(&self) -> Value {
        json!({
            "threads": self.threads,
            "seconds": r4(self.seconds),
            "cpu_use": r4(self.cpu_use),
            "sched_wait": self.sched_wait.map(r4),
        })
    }

    /// CPU seconds the build used.
    pub fn cpu_s(&self) -> f64 {
        self.cpu_use * self.seconds * self.threads as f64
    }

    /// `27.1 (97% / 2%)`: CPU seconds, CPU use and wait.
    pub fn cpu_cell(&self) -> String {
        format!(
            "{:.1} ({} / {})",
            self.cpu_s(),
            percent(self.cpu_use),
            or_dash(self.sched_wait, percent)
        )
    }
}

/// Run `f` on a fresh pool of `threads` threads; the figures of that build.
fn timed_on_pool<T>(threads: usize, f: impl FnOnce() -> T + Send) -> Res<(T, Build)>
where
    T: Send,
{
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let wait = |pool: &rayon::ThreadPool| -> u64 {
        pool.broadcast(|_| bandwidth::thread_run_delay_ns())
            .iter()
            .sum()
    };
    let w0 = wait(&pool);
    let c0 = bandwidth::process_cpu_s();
    let t0 = Instant::now();
    let out = pool.install(f);
    let seconds = t0.elapsed().as_secs_f64();
    let cpu = bandwidth::process_cpu_s() - c0;
    let waited = wait(&pool).saturating_sub(w0) as f64 / 1e9;
    let slots = seconds * threads as f64;
    Ok((
        out,
        Build {
            threads,
            seconds,
            cpu_use: cpu / slots,
            sched_wait: Some(waited / slots),
        },
    ))
}

/// What nDB's build measured: the inserts, the flush that built the graph, the rebuilds, and
/// the files on disk after them.
pub struct Built {
    pub insert_s: f64,
    pub flush: Build,
    pub builds: Vec<Build>,
    pub stats: CollectionStats,
    pub index_bytes: u64,
    pub index_files: usize,
    pub segment_bytes: u64,
}

/// Reopen timings of the indexed collection, ms.
pub struct Reopen {
    /// `Database::open` + `get_collection`, each run.
    pub open_ms: Vec<f64>,
    pub median_ms: f64,
    /// The first search after each reopen.
    pub first_query_ms: Vec<f64>,
    /// The collection's own `open_duration`, each run.
    pub open_duration_ms: Vec<f64>,
}

/// nDB's figures of the HNSW run.
pub struct NdbHnsw {
    pub built: Built,
    pub reopen: Reopen,
    pub sweep: Vec<SweepPoint>,
    /// The `--quantization` × `--oversampling` curves.
    pub quantized: Vec<QuantizedCurve>,
}

/// One quantization and oversampling's ef sweep.
pub struct QuantizedCurve {
    pub name: String,
    /// Graph plus codes per vector (`stats().resident_bytes_per_vector`).
    pub resident_bytes_per_vector: f64,
    pub sweep: Vec<SweepPoint>,
}

/// Total size and count of the files under `dir` whose name ends in `.{ext}`.
fn files_with_ext(dir: &Path, ext: &str) -> (u64, usize) {
    files_under(dir, |p| p.extension().is_some_and(|x| x == ext))
}

/// Insert the base into one collection whose flush threshold is above the data, so that the
/// single flush at the end writes every row to one segment and builds its graph; then the timed
/// rebuilds.
fn build(args: &Args, ds: &Dataset, db: &Database, db_dir: &Path) -> Res<Built> {
    let (n, dim) = (ds.base.rows(), ds.base.dim);
    let max_threads = args.build_threads.iter().copied().max().unwrap_or(1);
    let index = IndexConfig::default()
        .with_m(args.m)
        .with_ef_construction(args.ef_construction)
        .with_ef_search(IndexConfig::default().ef_search)
        .with_min_rows(1);
    let flush_threshold = (n * (dim * 4 + 64) * 2).max(1 << 30);
    let config = CollectionConfig::new(dim)
        .with_distance(ds.metric.ndb_distance())
        .with_index(index)
        .with_flush_threshold_bytes(flush_threshold);
    let coll = db.create_collection(COLL, config)?;
    BENCH.progress(format!(
        "nDB: inserting {n} vectors into {} (M {}, ef_construction {}, flush threshold {} MiB)",
        db_dir.display(),
        args.m,
        args.ef_construction,
        flush_threshold >> 20
    ));
    let t0 = Instant::now();
    ds.insert_into(&coll)?;
    let insert_s = t0.elapsed().as_secs_f64();
    let pre = coll.stats()?;
    if pre.segment_count != 0 {
        BENCH.progress(format!(
            "  WARNING: {} segment(s) were flushed during the inserts: the graph is not one graph",
            pre.segment_count
        ));
    }
    BENCH.progress(format!(
        "  inserted in {insert_s:.2} s; flush (segment + graph) on a pool of {max_threads} threads"
    ));
    let (r, flush) = timed_on_pool(max_threads, || coll.flush())?;
    r?;
    let stats = coll.stats()?;
    BENCH.progress(format!(
        "  flush {:.2} s: {} segment(s), {} of {} docs indexed",
        flush.seconds, stats.segment_count, stats.indexed_docs, stats.doc_count
    ));
    if stats.doc_count != n as u64 || stats.indexed_docs != n as u64 {
        return Err(format!(
            "after the flush: {} docs, {} indexed, expected {n} of each",
            stats.doc_count, stats.indexed_docs
        )
        .into());
    }

    // Timed rebuilds on pools of each thread count (graph build + index file write + fsync).
    let mut builds = Vec::new();
    for &t in &args.build_threads {
        BENCH.progress(format!("nDB: rebuild_index on a pool of {t} thread(s)"));
        let (r, b) = timed_on_pool(t, || coll.rebuild_index())?;
        r?;
        BENCH.progress(format!(
            "  {:.2} s (CPU use / wait {})",
            b.seconds,
            b.cpu_cell()
        ));
        builds.push(b);
    }
    let (index_bytes, index_files) = files_with_ext(db_dir, "hnsw");
    Ok(Built {
        insert_s,
        flush,
        builds,
        stats: coll.stats()?,
        index_bytes,
        index_files,
        segment_bytes: files_with_ext(db_dir, "ndb").0,
    })
}

/// Reopen the indexed collection as it is on disk (`Database::open` + `get_collection`)
/// `--reopen-runs` times; the figures, and the database and collection of the last run.
fn reopen(args: &Args, ds: &Dataset, db_dir: &Path) -> Res<(Reopen, Database, ndb::Collection)> {
    let mut open_ms = Vec::new();
    let mut first_query_ms = Vec::new();
    let mut open_duration_ms = Vec::new();
    let mut kept = None;
    for r in 0..args.reopen_runs {
        let t = Instant::now();
        let db = Database::open(db_dir)?;
        let c = db.get_collection(COLL)?;
        open_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if !c.has_index() {
            return Err("the indexed collection reopened without its index".into());
        }
        let tq = Instant::now();
        c.search(Search::new(ds.queries.row(0)).top_k(args.k).threads(1))?;
        first_query_ms.push(tq.elapsed().as_secs_f64() * 1e3);
        open_duration_ms.push(c.stats()?.open_duration.as_secs_f64() * 1e3);
        if r + 1 == args.reopen_runs {
            kept = Some((db, c));
        }
    }
    let (db, coll) = kept.ok_or("no reopen run")?;
    let median_ms = median(&open_ms);
    BENCH.progress(format!(
        "nDB reopen (Database::open + get_collection): median {median_ms:.2} ms of {:?}",
        open_ms.iter().map(|x| r2(*x)).collect::<Vec<_>>()
    ));
    let reopen = Reopen {
        open_ms,
        median_ms,
        first_query_ms,
        open_duration_ms,
    };
    Ok((reopen, db, coll))
}

/// The ef sweep: one thread, one query at a time, the fastest of `--sweep-runs` passes per ef
/// (the shared machine's noise only ever slows a pass).
fn sweep(
    args: &Args,
    ds: &Dataset,
    coll: &ndb::Collection,
    oversampling: Option<f32>,
) -> Res<Vec<SweepPoint>> {
    let (k, nq) = (args.k, ds.queries.rows());
    let judge = ds.judge(k)?;
    let mut points = Vec::new();
    let run =
        |ef, warmup| run_sequential_with(coll, ds, k, Some(1), Some(ef), warmup, oversampling);
    for &ef in args.ef_sweep() {
        let mut tm = run(ef, args.warmup)?;
        for _ in 1..args.sweep_runs {
            let again = run(ef, 0)?;
            if again.rows != tm.rows {
                return Err(format!("ef {ef}: results differ between passes").into());
            }
            if again.wall_s < tm.wall_s {
                tm = again;
            }
        }
        let lat = Latency::of(&tm.ms);
        let p = SweepPoint {
            ef,
            recall: judge.recall(&tm.rows),
            qps: nq as f64 / tm.wall_s,
            p50_ms: lat.p50_ms,
            p99_ms: lat.p99_ms,
            sched_wait: Some(tm.wait_s / tm.wall_s),
            cpu_qps: (tm.cpu_s > 0.0).then(|| nq as f64 / tm.cpu_s),
        };
        BENCH.progress(format!(
            "nDB{} ef {ef}: recall@{k} {:.4}",
            oversampling.map_or(String::new(), |o| format!(" (oversampling {o})")),
            p.recall
        ));
        BENCH.progress(format!(
            "  recall@{k} {:.4}, {} QPS ({} per CPU second), p50 {:.3} ms, p99 {:.3} ms, CPU wait {:.0}%",
            p.recall,
            qps_ungrouped(p.qps),
            or_dash(p.cpu_qps, qps_ungrouped),
            p.p50_ms,
            p.p99_ms,
            100.0 * p.sched_wait.unwrap_or(0.0)
        ));
        points.push(p);
    }
    Ok(points)
}

/// The quantization axis: for each `--quantization`, switch the collection to it
/// (`update_config` + `rebuild_index`: graph and codes), then sweep ef at each oversampling.
fn quantized_sweeps(args: &Args, ds: &Dataset, coll: &ndb::Collection) -> Res<Vec<QuantizedCurve>> {
    let mut curves = Vec::new();
    for q in &args.quantization {
        let quantization = Quantization::from_name(q)?;
        if quantization == Quantization::None {
            continue;
        }
        BENCH.progress(format!("nDB: rebuilding the index with {q} codes"));
        coll.update_config(&ConfigUpdate::new().quantization(quantization))?;
        coll.rebuild_index()?;
        let resident = coll.stats()?.resident_bytes_per_vector;
        for &o in &args.oversampling {
            curves.push(QuantizedCurve {
                name: format!("nDB {q} ×{o}"),
                resident_bytes_per_vector: resident,
                sweep: sweep(args, ds, coll, Some(o))?,
            });
        }
    }
    Ok(curves)
}

pub fn run(ctx: &Ctx<'_>, ds: &mut Dataset, dirs: &mut ScratchDirs) -> Res<()> {
    let args = ctx.args;
    ds.ensure_ground_truth(args.k)?;
    let (db_dir, db) = crate::open_db(args, dirs)?;
    let built = build(args, ds, &db, &db_dir)?;
    drop(db);
    let (reopen, db, coll) = reopen(args, ds, &db_dir)?;
    let sweep = sweep(args, ds, &coll, None)?;
    let quantized = quantized_sweeps(args, ds, &coll)?;
    drop(coll);
    drop(db);
    let ndb = NdbHnsw {
        built,
        reopen,
        sweep,
        quantized,
    };
    hnsw_report::report(ctx, ds, ndb)
}
