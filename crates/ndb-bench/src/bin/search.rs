//! `ndb-search-bench`: exact-search figures for nDB (issue 3, "Figures to report").
//!
//! Loads a dataset in TexMex format (`base.fvecs`, `query.fvecs`, `gt.ivecs`, `gt_dist.fvecs`, as
//! written by `scripts/fetch-dataset.sh`) or makes a seeded synthetic one (`--synthetic N,DIM`),
//! ingests the base vectors into a fresh nDB collection (ids = row numbers), and measures exact
//! search:
//!
//! 1. one query at a time on one thread (`Search::threads(1)`, as an embedded user calls it):
//!    per-query latency p50/p95/p99, QPS and recall@k;
//! 2. one query at a time with the default threads (the shared pool, all cores);
//! 3. throughput: the queries spread over all cores, each query on one thread.
//!
//! Beside them: a memory-bandwidth probe (sequential read, one thread and all threads), and nDB's
//! effective scan bandwidth (vector bytes scanned per query × QPS) as a fraction of it. With
//! `--reference`, `scripts/bench/reference.py` (faiss IndexFlat and numpy, one query at a time, one
//! thread) runs on the same files in the same run and its rows join the table.
//!
//! Recall@k: a result is a hit if its id is in the true top k, or if its exact distance (f64) is
//! at most the k-th ground-truth distance (fair with ties).
//!
//! With `--hnsw` (or `--ef-sweep LIST`) it measures approximate search instead (issue 5): the
//! base vectors go into one segment with one HNSW graph (M and ef_construction from the flags,
//! the flush threshold above the data size), and the run reports the build time (the flush that
//! builds the graph, then `rebuild_index` on a pool of 1 and of 2 threads), index bytes per
//! vector, the reopen time of the indexed collection, and for each `ef` of the sweep recall@k
//! and one-query-at-a-time single-thread QPS / p50 / p99, with the QPS at recall 0.90 / 0.95 /
//! 0.99 read off the curve. `--reference` runs hnswlib (and USearch, if installed) with the same
//! M / ef_construction / ef sweep through `scripts/bench/reference.py --hnsw`, and the curves of
//! every engine are drawn in one SVG (`--plot`, default `recall-qps.svg` beside `--md`).
//!
//! Output: a markdown report on stdout (and `--md FILE`), JSON with `--json FILE`; progress on
//! stderr.

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use ndb::{CollectionConfig, Database, Document, IndexConfig, Search};
use ndb_bench::bandwidth::{self, Bandwidth};
use ndb_bench::measure::{exact_ground_truth, Latency, Metric, RecallJudge};
use ndb_bench::plot::{recall_qps_svg, Curve};
use ndb_bench::sweep::{cpu_qps_at_recall, parse_ef_list, qps_at_recall, AtRecall, SweepPoint};
use ndb_bench::vecs::{read_fvecs, read_ivecs, write_fvecs, write_ivecs, VecsReader, Vectors};
use ndb_bench::{machine_description, Prng};
use rayon::prelude::*;
use serde_json::{json, Value};

type Res<T> = Result<T, Box<dyn StdError>>;

const BATCH: usize = 1_000;
const COLL: &str = "bench";

const USAGE: &str = "\
ndb-search-bench: exact-search latency, QPS, recall and bandwidth for nDB

usage: ndb-search-bench DATASET_DIR [options]
       ndb-search-bench --synthetic N,DIM [options]

  DATASET_DIR        holds base.fvecs, query.fvecs, gt.ivecs, gt_dist.fvecs
                     (scripts/fetch-dataset.sh fashion-mnist|glove-50 DIR makes them)
  --synthetic N,DIM  N random base vectors of DIM dimensions (uniform in [-1,1), seeded) and
                     --queries random queries (default 1000); ground truth from nDB's exact search
  --metric M         l2 | cosine | dot (default: from the dataset's INFO.md, else l2)
  --k K              neighbours per query (default 10)
  --queries N        use the first N queries (default: all; synthetic: 1000)
  --threads-max T    threads of the shared pool, the all-thread runs and the bandwidth probe
                     (default: all logical CPUs)
  --db DIR           database directory (must not exist or be empty; default
                     <workspace>/target/bench-tmp/search-<pid>); removed at the end unless --keep
  --json FILE        write the results as JSON
  --md FILE          write the markdown report (it is printed on stdout too)
  --reference        also run scripts/bench/reference.py (faiss IndexFlat, numpy) on the same data
  --python PATH      python for --reference (default: $NDB_BENCH_PYTHON, else
                     <workspace>/target/bench-venv/bin/python, made by scripts/bench/setup-venv.sh)
  --seed S           synthetic data seed (default 42)
  --warmup W         untimed queries before each timed run (default 10)
  --bw-mib M         bandwidth probe buffer, MiB (default 1024)
  --bw-runs R        bandwidth probe passes per figure (default 5)
  --skip-throughput  skip the all-cores throughput run
  --no-index         build no approximate (HNSW) index at flush: ingest measures storage only
                     (searches are exact either way)
  --bandwidth-only   run the bandwidth probe only (no DATASET_DIR needed) and exit
  --keep             keep the database (and synthetic data) directories

approximate search (HNSW):
  --hnsw             measure the HNSW index instead of exact search: build time, index bytes
                     per vector, reopen time, and an ef sweep (recall@k, 1-thread QPS, p50, p99)
  --ef-sweep LIST    ef values of the sweep (implies --hnsw; default 16,32,64,128,256,512)
  --m M              HNSW neighbours per node (default 16)
  --ef-construction N  HNSW build candidate list (default 200)
  --build-threads LIST thread counts of the timed index builds (default 1,2): the flush builds
                     the graph on a pool of the largest, then rebuild_index runs once per count
  --base-limit N     use only the first N base vectors (ground truth recomputed by brute force
                     in f64 and written with the data to a scratch folder the reference reads)
  --sweep-runs R     passes over the queries per ef, the fastest reported (default 3)
  --reopen-runs N    Database::open + get_collection timings, median taken (default 5)
  --plot FILE        recall-QPS SVG (default: recall-qps.svg beside --md, else
                     <workspace>/target/bench-results/recall-qps.svg)
  --replot JSON      only redraw the recall-QPS SVG (--plot, default beside JSON) from the
                     --json output of an earlier --hnsw run, and exit
  --ref-engines LIST reference engines for --hnsw --reference (default hnswlib,usearch;
                     one that is not installed is reported as skipped)
";

#[derive(Clone, Debug)]
struct Args {
    dataset: Option<PathBuf>,
    synthetic: Option<(usize, usize)>,
    metric: Option<Metric>,
    k: usize,
    queries: Option<usize>,
    threads_max: Option<usize>,
    db: Option<PathBuf>,
    json: Option<PathBuf>,
    md: Option<PathBuf>,
    reference: bool,
    python: Option<PathBuf>,
    seed: u64,
    warmup: usize,
    bw_mib: usize,
    bw_runs: usize,
    skip_throughput: bool,
    no_index: bool,
    bandwidth_only: bool,
    keep: bool,
    hnsw: bool,
    ef_sweep: Vec<usize>,
    m: usize,
    ef_construction: usize,
    build_threads: Vec<usize>,
    base_limit: Option<usize>,
    reopen_runs: usize,
    sweep_runs: usize,
    plot: Option<PathBuf>,
    replot: Option<PathBuf>,
    ref_engines: String,
}

fn parse_args() -> Res<Args> {
    let mut a = Args {
        dataset: None,
        synthetic: None,
        metric: None,
        k: 10,
        queries: None,
        threads_max: None,
        db: None,
        json: None,
        md: None,
        reference: false,
        python: None,
        seed: 42,
        warmup: 10,
        bw_mib: 1024,
        bw_runs: 5,
        skip_throughput: false,
        no_index: false,
        bandwidth_only: false,
        keep: false,
        hnsw: false,
        ef_sweep: vec![16, 32, 64, 128, 256, 512],
        m: IndexConfig::default().m,
        ef_construction: IndexConfig::default().ef_construction,
        build_threads: vec![1, 2],
        base_limit: None,
        reopen_runs: 5,
        sweep_runs: 3,
        plot: None,
        replot: None,
        ref_engines: "hnswlib,usearch".into(),
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
        fn positive(v: &str) -> Option<usize> {
            ndb_bench::parse_count(v)
                .filter(|&n| n > 0)
                .map(|n| n as usize)
        }
        match flag.as_str() {
            "--synthetic" => {
                let v = val("--synthetic")?;
                let (n, d) = v.split_once(',').ok_or_else(|| bad("--synthetic", &v))?;
                a.synthetic = Some((
                    positive(n).ok_or_else(|| bad("--synthetic", &v))?,
                    positive(d).ok_or_else(|| bad("--synthetic", &v))?,
                ));
            }
            "--metric" => {
                let v = val("--metric")?;
                a.metric = Some(Metric::parse(&v).ok_or_else(|| bad("--metric", &v))?);
            }
            "--k" | "-k" => {
                let v = val("--k")?;
                a.k = positive(&v).ok_or_else(|| bad("--k", &v))?;
            }
            "--queries" => {
                let v = val("--queries")?;
                a.queries = Some(positive(&v).ok_or_else(|| bad("--queries", &v))?);
            }
            "--threads-max" | "--threads" => {
                let v = val("--threads-max")?;
                a.threads_max = Some(positive(&v).ok_or_else(|| bad("--threads-max", &v))?);
            }
            "--db" => a.db = Some(PathBuf::from(val("--db")?)),
            "--json" => a.json = Some(PathBuf::from(val("--json")?)),
            "--md" => a.md = Some(PathBuf::from(val("--md")?)),
            "--reference" => a.reference = true,
            "--python" => a.python = Some(PathBuf::from(val("--python")?)),
            "--seed" => {
                let v = val("--seed")?;
                a.seed = v.parse().map_err(|_| bad("--seed", &v))?;
            }
            "--warmup" => {
                let v = val("--warmup")?;
                a.warmup = v.parse().map_err(|_| bad("--warmup", &v))?;
            }
            "--bw-mib" => {
                let v = val("--bw-mib")?;
                a.bw_mib = positive(&v).ok_or_else(|| bad("--bw-mib", &v))?;
            }
            "--bw-runs" => {
                let v = val("--bw-runs")?;
                a.bw_runs = positive(&v).ok_or_else(|| bad("--bw-runs", &v))?;
            }
            "--skip-throughput" => a.skip_throughput = true,
            "--bandwidth-only" => a.bandwidth_only = true,
            "--no-index" => a.no_index = true,
            "--keep" => a.keep = true,
            "--hnsw" => a.hnsw = true,
            "--ef-sweep" => {
                let v = val("--ef-sweep")?;
                a.ef_sweep = parse_ef_list(&v).ok_or_else(|| bad("--ef-sweep", &v))?;
                a.hnsw = true;
            }
            "--m" => {
                let v = val("--m")?;
                a.m = positive(&v).ok_or_else(|| bad("--m", &v))?;
            }
            "--ef-construction" => {
                let v = val("--ef-construction")?;
                a.ef_construction = positive(&v).ok_or_else(|| bad("--ef-construction", &v))?;
            }
            "--build-threads" => {
                let v = val("--build-threads")?;
                a.build_threads = parse_ef_list(&v).ok_or_else(|| bad("--build-threads", &v))?;
            }
            "--base-limit" => {
                let v = val("--base-limit")?;
                a.base_limit = Some(positive(&v).ok_or_else(|| bad("--base-limit", &v))?);
            }
            "--reopen-runs" => {
                let v = val("--reopen-runs")?;
                a.reopen_runs = positive(&v).ok_or_else(|| bad("--reopen-runs", &v))?;
            }
            "--sweep-runs" => {
                let v = val("--sweep-runs")?;
                a.sweep_runs = positive(&v).ok_or_else(|| bad("--sweep-runs", &v))?;
            }
            "--plot" => a.plot = Some(PathBuf::from(val("--plot")?)),
            "--replot" => a.replot = Some(PathBuf::from(val("--replot")?)),
            "--ref-engines" => a.ref_engines = val("--ref-engines")?,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other if other.starts_with('-') => {
                return Err(format!("unknown argument {other:?}\n\n{USAGE}").into())
            }
            other => {
                if a.dataset.is_some() {
                    return Err(format!("more than one DATASET_DIR ({other:?})\n\n{USAGE}").into());
                }
                a.dataset = Some(PathBuf::from(other));
            }
        }
    }
    match (&a.dataset, &a.synthetic) {
        _ if a.bandwidth_only || a.replot.is_some() => {}
        (None, None) => {
            return Err(format!("give a DATASET_DIR or --synthetic N,DIM\n\n{USAGE}").into())
        }
        (Some(_), Some(_)) => {
            return Err(
                format!("give either a DATASET_DIR or --synthetic, not both\n\n{USAGE}").into(),
            )
        }
        _ => {}
    }
    Ok(a)
}

fn progress(msg: impl AsRef<str>) {
    eprintln!("[search-bench] {}", msg.as_ref());
}

/// `<workspace>/` from the build-time manifest dir (crates/ndb-bench), if it still exists.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ws = manifest
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    if ws.join("scripts/bench/reference.py").exists() {
        return ws;
    }
    // Fall back on the current directory when run from a checkout elsewhere.
    PathBuf::from(".")
}

/// The data a run measures.
struct Dataset {
    /// Name for the report.
    name: String,
    /// Directory holding the .fvecs/.ivecs files (for the reference script).
    dir: PathBuf,
    synthetic: bool,
    metric: Metric,
    base: Vectors<f32>,
    queries: Vectors<f32>,
    /// Ground truth (synthetic: filled in after ingest by nDB's exact search).
    gt: Option<Vectors<i32>>,
    gt_dist: Option<Vectors<f32>>,
    /// Queries in the file (before --queries).
    queries_in_file: usize,
}

/// The metric named in a dataset's INFO.md ("metric = **l2**"), if any.
fn metric_from_info(dir: &Path) -> Option<Metric> {
    let text = std::fs::read_to_string(dir.join("INFO.md")).ok()?;
    let i = text.find("metric = **")?;
    let rest = &text[i + "metric = **".len()..];
    let end = rest.find("**")?;
    Metric::parse(&rest[..end])
}

fn load_dataset(args: &Args, dir: &Path) -> Res<Dataset> {
    for f in ["base.fvecs", "query.fvecs", "gt.ivecs", "gt_dist.fvecs"] {
        if !dir.join(f).is_file() {
            return Err(format!(
                "{} has no {f}; make the dataset with scripts/fetch-dataset.sh NAME {}",
                dir.display(),
                dir.display()
            )
            .into());
        }
    }
    let metric = match args.metric {
        Some(m) => m,
        None => metric_from_info(dir).unwrap_or_else(|| {
            progress("no metric given and none found in INFO.md: using l2");
            Metric::L2
        }),
    };
    let t = Instant::now();
    let base = read_fvecs(dir.join("base.fvecs"), None)?;
    let qr = VecsReader::<f32>::open(dir.join("query.fvecs"))?;
    let queries_in_file = qr.rows();
    let queries = qr.read_all(args.queries)?;
    let gt = read_ivecs(dir.join("gt.ivecs"), args.queries)?;
    let gt_dist = read_fvecs(dir.join("gt_dist.fvecs"), args.queries)?;
    if queries.dim != base.dim {
        return Err(format!(
            "query.fvecs has dimension {}, base.fvecs {}",
            queries.dim, base.dim
        )
        .into());
    }
    if gt.rows() < queries.rows() || gt_dist.rows() < queries.rows() {
        return Err(format!(
            "ground truth has {} rows (gt_dist {}), fewer than the {} queries",
            gt.rows(),
            gt_dist.rows(),
            queries.rows()
        )
        .into());
    }
    if gt.dim < args.k || gt_dist.dim < args.k {
        return Err(format!(
            "ground truth has {} neighbours per query (gt_dist {}): --k {} is too large",
            gt.dim, gt_dist.dim, args.k
        )
        .into());
    }
    if let Some(&bad) = gt
        .data
        .iter()
        .find(|&&i| i < 0 || i as usize >= base.rows())
    {
        return Err(format!("gt.ivecs holds id {bad}, outside 0..{}", base.rows()).into());
    }
    progress(format!(
        "loaded {}: {} base x {} dims, {} of {} queries, metric {} ({:.1} s)",
        dir.display(),
        base.rows(),
        base.dim,
        queries.rows(),
        queries_in_file,
        metric.name(),
        t.elapsed().as_secs_f64()
    ));
    let name = std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dataset".into());
    Ok(Dataset {
        name,
        dir: dir.to_path_buf(),
        synthetic: false,
        metric,
        base,
        queries,
        gt: Some(gt),
        gt_dist: Some(gt_dist),
        queries_in_file,
    })
}

/// Seeded random base and queries, written to `dir` as base.fvecs / query.fvecs so that the
/// reference script reads the very same data.
fn make_synthetic(args: &Args, n: usize, dim: usize, dir: &Path) -> Res<Dataset> {
    let nq = args.queries.unwrap_or(1000);
    let metric = args.metric.unwrap_or(Metric::L2);
    let t = Instant::now();
    let mut rng = Prng::new(args.seed);
    let mut base = Vec::with_capacity(n * dim);
    for _ in 0..n * dim {
        base.push(rng.next_f32());
    }
    let mut rng = Prng::new(args.seed.wrapping_add(1));
    let queries: Vec<f32> = (0..nq * dim).map(|_| rng.next_f32()).collect();
    let base = Vectors::new(dim, base);
    let queries = Vectors::new(dim, queries);
    std::fs::create_dir_all(dir)?;
    write_fvecs(dir.join("base.fvecs"), &base)?;
    write_fvecs(dir.join("query.fvecs"), &queries)?;
    progress(format!(
        "synthetic: {n} x {dim} base, {nq} queries, seed {}, written to {} ({:.1} s)",
        args.seed,
        dir.display(),
        t.elapsed().as_secs_f64()
    ));
    Ok(Dataset {
        name: format!("synthetic {n}x{dim} (uniform [-1,1), seed {})", args.seed),
        dir: dir.to_path_buf(),
        synthetic: true,
        metric,
        base,
        queries,
        gt: None,
        gt_dist: None,
        queries_in_file: nq,
    })
}

/// One measured configuration.
#[derive(Clone, Debug)]
struct Row {
    engine: String,
    mode: String,
    threads: usize,
    latency: Option<Latency>,
    qps: f64,
    recall: Option<f64>,
    /// Bandwidth this row is judged against (GB/s), and which.
    bw_ref: Option<(f64, &'static str)>,
    /// Time the run's threads waited for a CPU (other processes), as a fraction of the run's
    /// wall time x its threads.
    sched_wait: Option<f64>,
    note: String,
}

impl Row {
    fn scan_gbs(&self, bytes_per_query: f64) -> f64 {
        bytes_per_query * self.qps / 1e9
    }

    fn to_json(&self, bytes_per_query: f64) -> Value {
        let scan = self.scan_gbs(bytes_per_query);
        json!({
            "engine": self.engine,
            "mode": self.mode,
            "threads": self.threads,
            "queries": self.latency.map(|l| l.count),
            "p50_ms": self.latency.map(|l| r4(l.p50_ms)),
            "p95_ms": self.latency.map(|l| r4(l.p95_ms)),
            "p99_ms": self.latency.map(|l| r4(l.p99_ms)),
            "mean_ms": self.latency.map(|l| r4(l.mean_ms)),
            "max_ms": self.latency.map(|l| r4(l.max_ms)),
            "qps": r2(self.qps),
            "recall": self.recall.map(r4),
            "scan_gbs": r2(scan),
            "bandwidth_ref": self.bw_ref.map(|(g, which)| json!({"gbs": r2(g), "which": which})),
            "bandwidth_fraction": self.bw_ref.map(|(g, _)| r4(scan / g)),
            "sched_wait": self.sched_wait.map(r4),
            "note": self.note,
        })
    }
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
fn r4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Results of one run over the queries: per-query latencies (ms), result rows, wall time.
struct Timed {
    ms: Vec<f64>,
    rows: Vec<Vec<usize>>,
    scores: Vec<Vec<f32>>,
    wall_s: f64,
    /// Run-queue wait of all the process's threads during the run, seconds.
    wait_s: f64,
    /// On-CPU time of the calling thread during the run, seconds (sequential runs only).
    cpu_s: f64,
}

/// One search: exact (`ef` None) or approximate with that `ef`.
fn search_once(
    coll: &ndb::Collection,
    q: &[f32],
    k: usize,
    threads: Option<usize>,
    ef: Option<usize>,
) -> Res<(Vec<usize>, Vec<f32>)> {
    let mut s = Search::new(q).top_k(k);
    s = match ef {
        Some(ef) => s.approximate(true).ef(ef),
        None => s.approximate(false),
    };
    if let Some(t) = threads {
        s = s.threads(t);
    }
    let hits = coll.search(s)?;
    let mut rows = Vec::with_capacity(hits.len());
    let mut scores = Vec::with_capacity(hits.len());
    for h in hits {
        rows.push(
            h.id.parse::<usize>()
                .map_err(|_| format!("unexpected id {:?} in results", h.id))?,
        );
        scores.push(h.score);
    }
    Ok((rows, scores))
}

/// One query's latency (ms), result rows and scores.
type OneQuery = (f64, Vec<usize>, Vec<f32>);

/// Every query one after another on this thread (`threads`: the search's own thread setting;
/// `ef`: approximate search with that ef, else exact).
fn run_sequential(
    coll: &ndb::Collection,
    ds: &Dataset,
    k: usize,
    threads: Option<usize>,
    ef: Option<usize>,
    warmup: usize,
) -> Res<Timed> {
    let nq = ds.queries.rows();
    for i in 0..warmup.min(nq) {
        search_once(coll, ds.queries.row(i), k, threads, ef)?;
    }
    let mut ms = Vec::with_capacity(nq);
    let mut rows = Vec::with_capacity(nq);
    let mut scores = Vec::with_capacity(nq);
    let d0 = bandwidth::process_run_delay_ns();
    let c0 = bandwidth::thread_cpu_ns();
    let t0 = Instant::now();
    for i in 0..nq {
        let t = Instant::now();
        let (r, s) = search_once(coll, ds.queries.row(i), k, threads, ef)?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        rows.push(r);
        scores.push(s);
    }
    let wall_s = t0.elapsed().as_secs_f64();
    let cpu_s = bandwidth::thread_cpu_ns().saturating_sub(c0) as f64 / 1e9;
    Ok(Timed {
        ms,
        rows,
        scores,
        wall_s,
        wait_s: bandwidth::process_run_delay_ns().saturating_sub(d0) as f64 / 1e9,
        cpu_s,
    })
}

/// The queries spread over the shared pool, each search on one thread.
fn run_throughput(coll: &ndb::Collection, ds: &Dataset, k: usize, warmup: usize) -> Res<Timed> {
    let nq = ds.queries.rows();
    (0..warmup.min(nq)).into_par_iter().try_for_each(|i| {
        search_once(coll, ds.queries.row(i), k, Some(1), None)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    let d0 = bandwidth::process_run_delay_ns();
    let t0 = Instant::now();
    let out: Vec<Result<OneQuery, String>> = (0..nq)
        .into_par_iter()
        .map(|i| {
            let t = Instant::now();
            let (r, s) = search_once(coll, ds.queries.row(i), k, Some(1), None)
                .map_err(|e| e.to_string())?;
            Ok((t.elapsed().as_secs_f64() * 1e3, r, s))
        })
        .collect();
    let wall_s = t0.elapsed().as_secs_f64();
    let wait_s = bandwidth::process_run_delay_ns().saturating_sub(d0) as f64 / 1e9;
    let mut timed = Timed {
        ms: Vec::with_capacity(nq),
        rows: Vec::with_capacity(nq),
        scores: Vec::with_capacity(nq),
        wall_s,
        wait_s,
        cpu_s: f64::NAN,
    };
    for o in out {
        let (ms, r, s) = o?;
        timed.ms.push(ms);
        timed.rows.push(r);
        timed.scores.push(s);
    }
    Ok(timed)
}

/// Ingest the base vectors: insert_batch of BATCH documents (ids = row numbers), then flush.
fn ingest(coll: &ndb::Collection, base: &Vectors<f32>) -> Res<Value> {
    let n = base.rows();
    let d0 = bandwidth::process_run_delay_ns();
    let t0 = Instant::now();
    let mut row = 0;
    while row < n {
        let end = (row + BATCH).min(n);
        let docs: Vec<Document> = (row..end)
            .map(|i| Document::new(i.to_string(), base.row(i).to_vec()))
            .collect();
        coll.insert_batch(docs)?;
        row = end;
    }
    let insert_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    coll.flush()?;
    let flush_s = t1.elapsed().as_secs_f64();
    let total_s = t0.elapsed().as_secs_f64();
    let wait_s = bandwidth::process_run_delay_ns().saturating_sub(d0) as f64 / 1e9;
    let stats = coll.stats()?;
    if stats.doc_count != n as u64 {
        return Err(format!(
            "collection holds {} documents after ingest, expected {n}",
            stats.doc_count
        )
        .into());
    }
    Ok(json!({
        "docs": n,
        "batch": BATCH,
        "insert_s": r4(insert_s),
        "flush_s": r4(flush_s),
        "total_s": r4(total_s),
        "docs_per_s": (n as f64 / total_s).round(),
        "sched_wait_s": r4(wait_s),
        "segments": stats.segment_count,
        "memtable_docs": stats.memtable_docs,
        "disk_bytes": stats.disk_bytes,
    }))
}

/// Ground truth for synthetic data from nDB's exact search (default threads); distances
/// recomputed exactly in f64.
fn synthetic_ground_truth(coll: &ndb::Collection, ds: &mut Dataset, k: usize) -> Res<()> {
    let t = Instant::now();
    let nq = ds.queries.rows();
    let results: Vec<Result<Vec<usize>, String>> = (0..nq)
        .map(|i| {
            search_once(coll, ds.queries.row(i), k, None, None)
                .map(|(r, _)| r)
                .map_err(|e| e.to_string())
        })
        .collect();
    let mut gt = Vec::with_capacity(nq * k);
    let mut gd = Vec::with_capacity(nq * k);
    for (i, r) in results.into_iter().enumerate() {
        let r = r?;
        if r.len() != k {
            return Err(format!("query {i}: {} results, expected {k}", r.len()).into());
        }
        let q = ds.queries.row(i);
        for &row in &r {
            gt.push(row as i32);
            gd.push(ds.metric.distance(q, ds.base.row(row)) as f32);
        }
    }
    let gt = Vectors::new(k, gt);
    let gd = Vectors::new(k, gd);
    write_ivecs(ds.dir.join("gt.ivecs"), &gt)?;
    write_fvecs(ds.dir.join("gt_dist.fvecs"), &gd)?;
    ds.gt = Some(gt);
    ds.gt_dist = Some(gd);
    progress(format!(
        "synthetic ground truth: nDB exact search, default threads, k={k} ({:.1} s)",
        t.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Run the reference script on the same files; its JSON.
fn run_reference(args: &Args, ds: &Dataset) -> Res<Value> {
    let ws = workspace_root();
    let script = ws.join("scripts/bench/reference.py");
    if !script.is_file() {
        return Err(format!("reference script not found at {}", script.display()).into());
    }
    let python = reference_python(args)?;
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .arg(&ds.dir)
        .args(["--metric", ds.metric.name()])
        .args(["--k", &args.k.to_string()])
        .args(["--queries", &ds.queries.rows().to_string()])
        .args(["--warmup", &args.warmup.to_string()])
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
    progress(format!(
        "reference: {} {} {} --metric {} --k {} --queries {}",
        python.display(),
        script.display(),
        ds.dir.display(),
        ds.metric.name(),
        args.k,
        ds.queries.rows()
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

/// Scratch directories removed when dropped, unless kept.
struct Cleanup {
    dirs: Vec<PathBuf>,
    keep: bool,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for d in &self.dirs {
            if self.keep {
                progress(format!("kept {}", d.display()));
            } else {
                let _ = std::fs::remove_dir_all(d);
            }
        }
    }
}

/// The 1, 5 and 15-minute load averages, as /proc/loadavg shows them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn fmt_ms(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// Latency with three significant-ish digits (HNSW latencies are tens of microseconds).
fn fmt_lat(x: f64) -> String {
    if x >= 1.0 {
        fmt_ms(x)
    } else {
        format!("{x:.3}")
    }
}

fn fmt_qps(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

fn fmt_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("ndb-search-bench: error: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Res<()> {
    let args = parse_args()?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    if let Some(t) = args.threads_max {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| format!("cannot size the thread pool: {e}"))?;
    }
    if let Some(json_path) = &args.replot {
        return replot(json_path, args.plot.as_deref());
    }
    let threads = rayon::current_num_threads();
    let load_start = load_average();
    if args.bandwidth_only {
        let bw = bandwidth::probe(args.bw_mib << 20, threads, args.bw_runs);
        println!(
            "memory bandwidth, sequential read of {} MiB, median of {}: 1 thread {:.2} GB/s, {} threads {:.2} GB/s",
            bw.buffer_bytes >> 20,
            bw.runs,
            bw.single_gbs,
            bw.threads,
            bw.multi_gbs
        );
        println!("{}", serde_json::to_string(&bw.to_json())?);
        return Ok(());
    }
    let ws = workspace_root();
    let scratch = ws.join("target").join("bench-tmp");

    // Data.
    let synth_dir = scratch.join(format!("search-synthetic-{}", std::process::id()));
    // Removes the scratch directories at the end, also on an error (dropped after the database).
    let mut cleanup = Cleanup {
        dirs: Vec::new(),
        keep: args.keep,
    };
    if args.synthetic.is_some() {
        cleanup.dirs.push(synth_dir.clone());
    }
    let mut ds = match (&args.dataset, args.synthetic) {
        (Some(dir), _) => load_dataset(&args, dir)?,
        (None, Some((n, dim))) => make_synthetic(&args, n, dim, &synth_dir)?,
        (None, None) => unreachable!("checked in parse_args"),
    };
    let n = ds.base.rows();
    let dim = ds.base.dim;
    let nq = ds.queries.rows();
    if args.k > n {
        return Err(format!("--k {} is larger than the {n} base vectors", args.k).into());
    }
    if let Some(limit) = args.base_limit {
        if limit < n {
            let dir = scratch.join(format!("search-limited-{}", std::process::id()));
            cleanup.dirs.push(dir.clone());
            limit_base(&mut ds, limit, args.k, &dir)?;
        } else {
            progress(format!(
                "--base-limit {limit}: the dataset has only {n} base vectors, all used"
            ));
        }
    }
    let n = ds.base.rows();
    if args.hnsw {
        let r = hnsw_main(
            &args,
            &command,
            &mut ds,
            &scratch,
            &mut cleanup,
            &load_start,
        );
        drop(cleanup);
        return r;
    }
    let vector_bytes = (n * dim * 4) as f64;
    let llc = bandwidth::llc_bytes();

    // Bandwidth probe first, while the machine is otherwise idle and before the data is resident.
    progress(format!(
        "bandwidth probe: {} MiB buffer, {} runs, 1 and {threads} threads",
        args.bw_mib, args.bw_runs
    ));
    let bw_start: Bandwidth = bandwidth::probe(args.bw_mib << 20, threads, args.bw_runs);
    progress(format!(
        "bandwidth: 1 thread {:.1} GB/s, {threads} threads {:.1} GB/s",
        bw_start.single_gbs, bw_start.multi_gbs
    ));
    // Provisional reference figures; replaced by the best of the start and end probes below.
    let bw = &bw_start;

    // Database.
    let db_dir = args
        .db
        .clone()
        .unwrap_or_else(|| scratch.join(format!("search-db-{}", std::process::id())));
    if db_dir.exists() && std::fs::read_dir(&db_dir)?.next().is_some() {
        return Err(format!("--db {} exists and is not empty", db_dir.display()).into());
    }
    std::fs::create_dir_all(&db_dir)?;
    cleanup.dirs.push(db_dir.clone());
    let db = Database::open(&db_dir)?;
    let mut config = CollectionConfig::new(dim).with_distance(ds.metric.ndb_distance());
    if args.no_index {
        config = config.with_index(IndexConfig {
            min_rows: usize::MAX,
            ..IndexConfig::default()
        });
    }
    let index_note = if args.no_index {
        "no HNSW index (--no-index)".to_string()
    } else {
        let ic = config.index();
        format!(
            "includes building the HNSW index of segments >= {} rows (M {}, ef_construction {}; --no-index skips it)",
            ic.min_rows, ic.m, ic.ef_construction
        )
    };
    let coll = db.create_collection(COLL, config)?;
    progress(format!("ingesting {n} vectors into {}", db_dir.display()));
    let ingest = ingest(&coll, &ds.base)?;
    progress(format!(
        "ingest: {:.0} docs/s ({:.2} s), {} segments",
        ingest["docs_per_s"].as_f64().unwrap_or(f64::NAN),
        ingest["total_s"].as_f64().unwrap_or(f64::NAN),
        ingest["segments"]
    ));
    if ds.synthetic {
        synthetic_ground_truth(&coll, &mut ds, args.k)?;
    }
    let (gt, gt_dist) = match (&ds.gt, &ds.gt_dist) {
        (Some(a), Some(b)) => (a, b),
        _ => unreachable!("ground truth loaded or computed"),
    };
    let judge = RecallJudge {
        metric: ds.metric,
        k: args.k,
        base: &ds.base,
        queries: &ds.queries,
        gt,
        gt_dist,
    };

    // nDB runs.
    let mut rows: Vec<Row> = Vec::new();
    progress(format!("nDB: {nq} queries, one at a time, 1 thread"));
    let single = run_sequential(&coll, &ds, args.k, Some(1), None, args.warmup)?;
    let single_recall = judge.recall(&single.rows);
    rows.push(Row {
        engine: "nDB".into(),
        mode: "exact, one query at a time".into(),
        threads: 1,
        latency: Some(Latency::of(&single.ms)),
        qps: nq as f64 / single.wall_s,
        recall: Some(single_recall),
        bw_ref: Some((bw.single_gbs, "1-thread")),
        sched_wait: Some(single.wait_s / single.wall_s),
        note: "Search::threads(1)".into(),
    });
    progress(format!(
        "  p50 {:.3} ms, {:.1} QPS, recall {:.4}",
        rows[0].latency.map(|l| l.p50_ms).unwrap_or(f64::NAN),
        rows[0].qps,
        single_recall
    ));

    progress(format!(
        "nDB: {nq} queries, one at a time, default threads ({threads})"
    ));
    let multi = run_sequential(&coll, &ds, args.k, None, None, args.warmup)?;
    let multi_same = multi.rows == single.rows && multi.scores == single.scores;
    rows.push(Row {
        engine: "nDB".into(),
        mode: "exact, one query at a time".into(),
        threads,
        latency: Some(Latency::of(&multi.ms)),
        qps: nq as f64 / multi.wall_s,
        recall: Some(judge.recall(&multi.rows)),
        bw_ref: Some((bw.multi_gbs, "all-thread")),
        sched_wait: Some(multi.wait_s / (multi.wall_s * threads as f64)),
        note: "default threads (shared pool)".into(),
    });
    progress(format!("  {:.1} QPS", rows[1].qps));

    let mut tput_same = None;
    if !args.skip_throughput {
        progress(format!(
            "nDB: {nq} queries spread over {threads} threads, 1 thread each"
        ));
        let tput = run_throughput(&coll, &ds, args.k, args.warmup)?;
        tput_same = Some(tput.rows == single.rows && tput.scores == single.scores);
        rows.push(Row {
            engine: "nDB".into(),
            mode: "exact, throughput (queries in parallel)".into(),
            threads,
            latency: Some(Latency::of(&tput.ms)),
            qps: nq as f64 / tput.wall_s,
            recall: Some(judge.recall(&tput.rows)),
            bw_ref: Some((bw.multi_gbs, "all-thread")),
            sched_wait: Some(tput.wait_s / (tput.wall_s * threads as f64)),
            note: "rayon par_iter over queries, Search::threads(1)".into(),
        });
        progress(format!("  {:.1} QPS", rows[2].qps));
    }
    let ndb_single_qps = rows[0].qps;
    let ndb_multi_qps = rows[1].qps;

    // Reference.
    let mut reference: Option<Value> = None;
    let mut faiss_qps: Option<f64> = None;
    if args.reference {
        let r = run_reference(&args, &ds)?;
        if let Some(list) = r["rows"].as_array() {
            for rr in list {
                let lat = Latency {
                    count: rr["queries"].as_u64().unwrap_or(0) as usize,
                    p50_ms: rr["p50_ms"].as_f64().unwrap_or(f64::NAN),
                    p95_ms: rr["p95_ms"].as_f64().unwrap_or(f64::NAN),
                    p99_ms: rr["p99_ms"].as_f64().unwrap_or(f64::NAN),
                    mean_ms: rr["mean_ms"].as_f64().unwrap_or(f64::NAN),
                    max_ms: rr["max_ms"].as_f64().unwrap_or(f64::NAN),
                };
                let engine = rr["engine"].as_str().unwrap_or("?").to_string();
                let qps = rr["qps"].as_f64().unwrap_or(f64::NAN);
                if engine.starts_with("faiss") && faiss_qps.is_none() {
                    faiss_qps = Some(qps);
                }
                rows.push(Row {
                    engine,
                    mode: rr["mode"]
                        .as_str()
                        .unwrap_or("one query at a time")
                        .to_string(),
                    threads: rr["threads"].as_u64().unwrap_or(1) as usize,
                    latency: Some(lat),
                    qps,
                    recall: rr["recall"].as_f64(),
                    bw_ref: Some((bw.single_gbs, "1-thread")),
                    sched_wait: rr["sched_wait"].as_f64(),
                    note: rr["note"].as_str().unwrap_or("").to_string(),
                });
            }
        }
        reference = Some(r);
    }

    // Second bandwidth probe after the searches: the machine may be shared, so the yardstick is
    // the better of the two (a conservative fraction).
    progress("bandwidth probe again (end of run)");
    let bw_end: Bandwidth = bandwidth::probe(args.bw_mib << 20, threads, args.bw_runs);
    progress(format!(
        "bandwidth: 1 thread {:.1} GB/s, {threads} threads {:.1} GB/s",
        bw_end.single_gbs, bw_end.multi_gbs
    ));
    let bw_single = bw_start.single_gbs.max(bw_end.single_gbs);
    let bw_multi = bw_start.multi_gbs.max(bw_end.multi_gbs);
    for r in &mut rows {
        if let Some((g, which)) = &mut r.bw_ref {
            *g = if *which == "1-thread" {
                bw_single
            } else {
                bw_multi
            };
        }
    }

    // Report.
    let machine = machine_description();
    let k = args.k;
    let mut md = String::new();
    md.push_str(&format!(
        "## nDB exact search: {} ({} x {}, {}), k={k}, {} queries\n\n",
        ds.name,
        fmt_thousands(n as u64),
        dim,
        ds.metric.name(),
        fmt_thousands(nq as u64)
    ));
    md.push_str(&format!("Command: `{command}`\n\n"));
    md.push_str(&format!(
        "Machine: {} ({} logical CPUs, {} GiB), LLC {}; base vectors {:.1} MB{}.\n\n",
        machine["cpu_model"].as_str().unwrap_or("?"),
        machine["nproc"],
        machine["mem_total_gib"],
        llc.map(|b| format!("{} MiB", b >> 20))
            .unwrap_or_else(|| "unknown".into()),
        vector_bytes / 1e6,
        llc.map(|b| format!(" ({:.1}x the LLC)", vector_bytes / b as f64))
            .unwrap_or_default()
    ));
    md.push_str(&format!(
        "Memory bandwidth (sequential read of a {} MiB buffer, median of {} passes less those disturbed by \
         other processes, better of a probe at the start and one at the end of the run): **1 thread {:.1} GB/s**, \
         **{} threads {:.1} GB/s** (start {:.1} / {:.1}, end {:.1} / {:.1}).\n\n",
        bw_start.buffer_bytes >> 20,
        bw_start.runs,
        bw_single,
        threads,
        bw_multi,
        bw_start.single_gbs,
        bw_start.multi_gbs,
        bw_end.single_gbs,
        bw_end.multi_gbs
    ));
    md.push_str(&format!(
        "Ingest: {} docs in {:.2} s = **{} docs/s** (insert_batch of {BATCH}: {:.2} s, flush: {:.2} s), {} segments; \
         threads waited {:.1} s for a CPU; {index_note}.\n\n",
        fmt_thousands(n as u64),
        ingest["total_s"].as_f64().unwrap_or(f64::NAN),
        fmt_thousands(ingest["docs_per_s"].as_f64().unwrap_or(0.0) as u64),
        ingest["insert_s"].as_f64().unwrap_or(f64::NAN),
        ingest["flush_s"].as_f64().unwrap_or(f64::NAN),
        ingest["segments"],
        ingest["sched_wait_s"].as_f64().unwrap_or(f64::NAN)
    ));
    md.push_str(&format!(
        "| engine | mode | threads | p50 ms | p95 ms | p99 ms | QPS | recall@{k} | scan GB/s | of bandwidth | CPU wait |\n"
    ));
    md.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in &rows {
        let scan = r.scan_gbs(vector_bytes);
        let (p50, p95, p99) = r
            .latency
            .map(|l| (fmt_ms(l.p50_ms), fmt_ms(l.p95_ms), fmt_ms(l.p99_ms)))
            .unwrap_or(("-".into(), "-".into(), "-".into()));
        md.push_str(&format!(
            "| {} | {} | {} | {p50} | {p95} | {p99} | {} | {} | {:.1} | {} | {} |\n",
            r.engine,
            r.mode,
            r.threads,
            fmt_qps(r.qps),
            r.recall
                .map(|x| format!("{x:.4}"))
                .unwrap_or_else(|| "-".into()),
            scan,
            r.bw_ref
                .map(|(g, which)| format!("{:.0}% of {which}", 100.0 * scan / g))
                .unwrap_or_else(|| "-".into()),
            r.sched_wait
                .map(|w| format!("{:.0}%", 100.0 * w))
                .unwrap_or_else(|| "-".into()),
        ));
    }
    md.push('\n');
    let mut ratios = serde_json::Map::new();
    if let Some(f) = faiss_qps {
        let ratio = ndb_single_qps / f;
        md.push_str(&format!(
            "- nDB / faiss single-thread QPS: **{ratio:.2}x** (goal >= 1.0x)\n"
        ));
        ratios.insert("ndb_over_faiss_qps_1t".into(), json!(r4(ratio)));
    }
    let frac = rows[0].scan_gbs(vector_bytes) / bw_single;
    md.push_str(&format!(
        "- nDB single-thread scan: {:.1} GB/s = **{:.0}% of single-thread bandwidth** (goal >= 70% for data larger than the cache{})\n",
        rows[0].scan_gbs(vector_bytes),
        100.0 * frac,
        match llc {
            Some(b) if (b as f64) < vector_bytes => "; this data is larger",
            Some(_) => "; NOTE: this data fits in the LLC",
            None => "",
        }
    ));
    ratios.insert("ndb_1t_bandwidth_fraction".into(), json!(r4(frac)));
    let speedup = ndb_multi_qps / ndb_single_qps;
    md.push_str(&format!(
        "- nDB one-query speed-up, 1 -> {threads} threads: **{speedup:.2}x**\n"
    ));
    ratios.insert("ndb_one_query_speedup".into(), json!(r4(speedup)));
    md.push_str(&format!(
        "- nDB results identical across thread counts: {}\n",
        if multi_same && tput_same != Some(false) {
            "yes"
        } else {
            "**NO**"
        }
    ));
    if let Some(r) = &reference {
        md.push_str(&format!(
            "- Reference: python {}, numpy {}, faiss {} ({}); BLAS: {}\n",
            r["python"].as_str().unwrap_or("?"),
            r["numpy"].as_str().unwrap_or("?"),
            r["faiss"].as_str().unwrap_or("?"),
            r["faiss_simd"].as_str().unwrap_or("?"),
            r["blas"].as_str().unwrap_or("?"),
        ));
    }
    md.push_str(&format!(
        "- Recall@{k}: a result is a hit if it is in the true top {k} or its exact distance is <= the {k}-th true distance (ties){}.\n",
        if ds.synthetic { "; synthetic ground truth is nDB's own exact search, so recall is 1.0 by construction" } else { "" }
    ));
    md.push_str("- Latency: per query, wall clock around the call; QPS = queries / wall time of the run. Scan GB/s = base vector bytes x QPS.\n");
    if !args.skip_throughput {
        md.push_str(
            "- Throughput: concurrent queries scan the same vectors at about the same time and share the \
             LLC, so their combined scan rate can exceed the measured memory bandwidth.\n",
        );
    }
    md.push_str(&format!(
        "- CPU wait: time the run's threads were runnable but waiting for a CPU taken by other processes \
         (/proc schedstat), per thread, as a share of the run; above a few % the figures are disturbed. \
         Load average at start {load_start}, at end {}.\n",
        load_average()
    ));

    print!("{md}");
    if let Some(p) = &args.md {
        ndb_bench::write_file(p, md.as_bytes()).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if let Some(p) = &args.json {
        let j = json!({
            "bench": "ndb-search-bench",
            "command": command,
            "dataset": {
                "name": ds.name,
                "dir": ds.dir.display().to_string(),
                "synthetic": ds.synthetic,
                "seed": if ds.synthetic { Some(args.seed) } else { None },
                "n": n,
                "dim": dim,
                "queries": nq,
                "queries_in_file": ds.queries_in_file,
                "metric": ds.metric.name(),
                "vector_bytes": vector_bytes,
            },
            "k": k,
            "machine": machine,
            "llc_bytes": llc,
            "bandwidth": {
                "single_thread_gbs": r2(bw_single),
                "all_threads_gbs": r2(bw_multi),
                "rule": "better of the start and end probes",
                "start": bw_start.to_json(),
                "end": bw_end.to_json(),
            },
            "ingest": ingest,
            "ingest_index": index_note,
            "rows": rows.iter().map(|r| r.to_json(vector_bytes)).collect::<Vec<_>>(),
            "identical_across_threads": multi_same && tput_same != Some(false),
            "ratios": ratios,
            "reference": reference,
        });
        ndb_bench::write_file(p, (serde_json::to_string_pretty(&j)? + "\n").as_bytes())
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }

    drop(coll);
    drop(db);
    drop(cleanup);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Approximate search (HNSW): build, size, reopen, ef sweep, references, plot.

/// Recall targets whose QPS the report reads off each curve.
const RECALL_TARGETS: [f64; 3] = [0.90, 0.95, 0.99];

/// `--base-limit`: keep the first `limit` base vectors, recompute the ground truth by brute
/// force (f64), and write the data this run uses to `dir`, where the reference script reads it.
fn limit_base(ds: &mut Dataset, limit: usize, k: usize, dir: &Path) -> Res<()> {
    let n0 = ds.base.rows();
    ds.base.truncate(limit);
    let t = Instant::now();
    progress(format!(
        "--base-limit {limit}: first {limit} of {n0} base vectors; ground truth by brute force (f64, {} threads)",
        rayon::current_num_threads()
    ));
    let (gt, gd) = exact_ground_truth(ds.metric, &ds.base, &ds.queries, k);
    std::fs::create_dir_all(dir)?;
    write_fvecs(dir.join("base.fvecs"), &ds.base)?;
    write_fvecs(dir.join("query.fvecs"), &ds.queries)?;
    write_ivecs(dir.join("gt.ivecs"), &gt)?;
    write_fvecs(dir.join("gt_dist.fvecs"), &gd)?;
    progress(format!(
        "  ground truth done ({:.1} s), data written to {}",
        t.elapsed().as_secs_f64(),
        dir.display()
    ));
    ds.gt = Some(gt);
    ds.gt_dist = Some(gd);
    ds.dir = dir.to_path_buf();
    ds.queries_in_file = ds.queries.rows();
    ds.name = format!(
        "{} (first {} base vectors)",
        ds.name,
        fmt_thousands(limit as u64)
    );
    Ok(())
}

/// Total size and count of the files under `dir` whose name ends in `.{ext}`.
fn files_with_ext(dir: &Path, ext: &str) -> (u64, usize) {
    let mut bytes = 0;
    let mut count = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            match e.metadata() {
                Ok(m) if m.is_dir() => {
                    let (b, c) = files_with_ext(&p, ext);
                    bytes += b;
                    count += c;
                }
                Ok(m) if p.extension().is_some_and(|x| x == ext) => {
                    bytes += m.len();
                    count += 1;
                }
                _ => {}
            }
        }
    }
    (bytes, count)
}

/// One timed index build.
#[derive(Clone, Debug)]
struct Build {
    threads: usize,
    seconds: f64,
    /// Process CPU time during the build as a share of threads x wall time.
    cpu_use: f64,
    /// Share of threads x wall time the build threads waited for a CPU (nDB: the pool's
    /// workers, from their schedstat; None where not measured).
    sched_wait: Option<f64>,
}

impl Build {
    fn to_json(&self) -> Value {
        json!({
            "threads": self.threads,
            "seconds": r4(self.seconds),
            "cpu_use": r4(self.cpu_use),
            "sched_wait": self.sched_wait.map(r4),
        })
    }

    /// `27.1 (97% / 2%)`: CPU seconds, CPU use and wait.
    fn cpu_cell(&self) -> String {
        format!(
            "{:.1} ({:.0}% / {})",
            self.cpu_use * self.seconds * self.threads as f64,
            100.0 * self.cpu_use,
            self.sched_wait
                .map(|w| format!("{:.0}%", 100.0 * w))
                .unwrap_or_else(|| "-".into())
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

/// An engine's figures for the report (nDB or a reference).
struct EngineResult {
    name: String,
    builds: Vec<Build>,
    /// Index file bytes per vector, and the same less the raw f32 vectors where the file holds
    /// them (nDB's graph file holds none: the vectors stay in the segment).
    index_bytes_per_vector: Option<f64>,
    graph_bytes_per_vector: Option<f64>,
    /// Reopen / load time, ms (median), and how it was measured.
    open_ms: Option<f64>,
    open_how: String,
    sweep: Vec<SweepPoint>,
    /// Reference only: QPS of one batched call over all queries on one thread, per ef.
    batch_qps: Vec<Option<f64>>,
    note: String,
}

fn hnsw_main(
    args: &Args,
    command: &str,
    ds: &mut Dataset,
    scratch: &Path,
    cleanup: &mut Cleanup,
    load_start: &str,
) -> Res<()> {
    let n = ds.base.rows();
    let dim = ds.base.dim;
    let nq = ds.queries.rows();
    let k = args.k;
    if ds.gt.is_none() {
        let t = Instant::now();
        let (gt, gd) = exact_ground_truth(ds.metric, &ds.base, &ds.queries, k);
        write_ivecs(ds.dir.join("gt.ivecs"), &gt)?;
        write_fvecs(ds.dir.join("gt_dist.fvecs"), &gd)?;
        ds.gt = Some(gt);
        ds.gt_dist = Some(gd);
        progress(format!(
            "ground truth by brute force (f64): {:.1} s",
            t.elapsed().as_secs_f64()
        ));
    }
    let max_threads = args.build_threads.iter().copied().max().unwrap_or(1);

    // A fresh database.
    let db_dir = args
        .db
        .clone()
        .unwrap_or_else(|| scratch.join(format!("search-db-{}", std::process::id())));
    if db_dir.exists() && std::fs::read_dir(&db_dir)?.next().is_some() {
        return Err(format!("--db {} exists and is not empty", db_dir.display()).into());
    }
    std::fs::create_dir_all(&db_dir)?;
    cleanup.dirs.push(db_dir.clone());

    // One segment, one graph: the flush threshold is set above the data, so the single flush
    // at the end writes every row to one segment and builds its graph.
    let index = IndexConfig {
        m: args.m,
        ef_construction: args.ef_construction,
        ef_search: IndexConfig::default().ef_search,
        min_rows: 1,
    };
    let flush_threshold = (n * (dim * 4 + 64) * 2).max(1 << 30);
    let config = CollectionConfig::new(dim)
        .with_distance(ds.metric.ndb_distance())
        .with_index(index)
        .with_flush_threshold_bytes(flush_threshold);
    let db = Database::open(&db_dir)?;
    let coll = db.create_collection(COLL, config)?;
    progress(format!(
        "nDB: inserting {n} vectors into {} (M {}, ef_construction {}, flush threshold {} MiB)",
        db_dir.display(),
        args.m,
        args.ef_construction,
        flush_threshold >> 20
    ));
    let t0 = Instant::now();
    let mut row = 0;
    while row < n {
        let end = (row + BATCH).min(n);
        let docs: Vec<Document> = (row..end)
            .map(|i| Document::new(i.to_string(), ds.base.row(i).to_vec()))
            .collect();
        coll.insert_batch(docs)?;
        row = end;
    }
    let insert_s = t0.elapsed().as_secs_f64();
    let pre = coll.stats()?;
    if pre.segment_count != 0 {
        progress(format!(
            "  WARNING: {} segment(s) were flushed during the inserts: the graph is not one graph",
            pre.segment_count
        ));
    }
    progress(format!(
        "  inserted in {insert_s:.2} s; flush (segment + graph) on a pool of {max_threads} threads"
    ));
    let (r, flush) = timed_on_pool(max_threads, || coll.flush())?;
    r?;
    let stats = coll.stats()?;
    progress(format!(
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
        progress(format!("nDB: rebuild_index on a pool of {t} thread(s)"));
        let (r, b) = timed_on_pool(t, || coll.rebuild_index())?;
        r?;
        progress(format!(
            "  {:.2} s (CPU use / wait {})",
            b.seconds,
            b.cpu_cell()
        ));
        builds.push(b);
    }
    let stats = coll.stats()?;
    let (index_bytes, index_files) = files_with_ext(&db_dir, "hnsw");
    let (segment_bytes, _) = files_with_ext(&db_dir, "ndb");

    // Reopen: Database::open + get_collection, the indexed collection as it is on disk.
    drop(coll);
    drop(db);
    let mut reopen_ms = Vec::new();
    let mut first_query_ms = Vec::new();
    let mut open_duration_ms = Vec::new();
    let mut kept = None;
    for r in 0..args.reopen_runs {
        let t = Instant::now();
        let db = Database::open(&db_dir)?;
        let c = db.get_collection(COLL)?;
        reopen_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if !c.has_index() {
            return Err("the indexed collection reopened without its index".into());
        }
        let tq = Instant::now();
        c.search(Search::new(ds.queries.row(0)).top_k(k).threads(1))?;
        first_query_ms.push(tq.elapsed().as_secs_f64() * 1e3);
        open_duration_ms.push(c.stats()?.open_duration.as_secs_f64() * 1e3);
        if r + 1 == args.reopen_runs {
            kept = Some((db, c));
        }
    }
    let (db, coll) = kept.ok_or("no reopen run")?;
    let reopen_median = ndb_bench::median(&reopen_ms);
    progress(format!(
        "nDB reopen (Database::open + get_collection): median {reopen_median:.2} ms of {:?}",
        reopen_ms.iter().map(|x| r2(*x)).collect::<Vec<_>>()
    ));

    // The ef sweep: one thread, one query at a time.
    let gt = ds.gt.as_ref().ok_or("no ground truth")?;
    let gt_dist = ds.gt_dist.as_ref().ok_or("no ground truth distances")?;
    let judge = RecallJudge {
        metric: ds.metric,
        k,
        base: &ds.base,
        queries: &ds.queries,
        gt,
        gt_dist,
    };
    let mut points = Vec::new();
    for &ef in &args.ef_sweep {
        // Best of --sweep-runs passes (the shared machine's noise only ever slows a pass).
        let mut tm = run_sequential(&coll, ds, k, Some(1), Some(ef), args.warmup)?;
        for _ in 1..args.sweep_runs {
            let again = run_sequential(&coll, ds, k, Some(1), Some(ef), 0)?;
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
        progress(format!(
            "nDB ef {ef}: recall@{k} {:.4}, {} QPS ({} per CPU second), p50 {:.3} ms, p99 {:.3} ms, CPU wait {:.0}%",
            p.recall,
            fmt_qps(p.qps),
            p.cpu_qps.map(fmt_qps).unwrap_or_else(|| "-".into()),
            p.p50_ms,
            p.p99_ms,
            100.0 * p.sched_wait.unwrap_or(0.0)
        ));
        points.push(p);
    }
    drop(coll);
    drop(db);

    let raw_vector_bytes = (dim * 4) as f64;
    let mut engines = vec![EngineResult {
        name: "nDB".into(),
        builds: builds.clone(),
        index_bytes_per_vector: Some(index_bytes as f64 / n as f64),
        graph_bytes_per_vector: Some(index_bytes as f64 / n as f64),
        open_ms: Some(reopen_median),
        open_how: "Database::open + get_collection (graph used through mmap)".into(),
        sweep: points,
        batch_qps: Vec::new(),
        note: format!(
            "Search::ef(ef).threads(1); build = rebuild_index on a pool of N threads (graph + index file + fsync); \
             segment file {:.0} bytes/vector",
            segment_bytes as f64 / n as f64
        ),
    }];

    // References.
    let mut reference = None;
    let mut skipped: Vec<(String, String)> = Vec::new();
    if args.reference {
        let r = run_reference_hnsw(args, ds)?;
        for e in r["engines"].as_array().into_iter().flatten() {
            engines.push(engine_from_json(e, n, raw_vector_bytes));
        }
        for s in r["skipped"].as_array().into_iter().flatten() {
            skipped.push((
                s["engine"].as_str().unwrap_or("?").to_string(),
                s["reason"].as_str().unwrap_or("?").to_string(),
            ));
        }
        reference = Some(r);
    }

    // Plot.
    let plot_path = match (&args.plot, &args.md) {
        (Some(p), _) => p.clone(),
        (None, Some(md)) => md
            .parent()
            .map(|d| d.join("recall-qps.svg"))
            .unwrap_or_else(|| PathBuf::from("recall-qps.svg")),
        (None, None) => workspace_root().join("target/bench-results/recall-qps.svg"),
    };
    if let Some(d) = plot_path.parent() {
        if !d.as_os_str().is_empty() {
            std::fs::create_dir_all(d)?;
        }
    }
    let curves: Vec<Curve> = engines
        .iter()
        .map(|e| Curve {
            name: e.name.clone(),
            points: e.sweep.clone(),
        })
        .collect();
    let title = format!(
        "{}: {} x {}, {}; HNSW M {}, ef_construction {}",
        ds.name,
        fmt_thousands(n as u64),
        dim,
        ds.metric.name(),
        args.m,
        args.ef_construction,
    );
    recall_qps_svg(&plot_path, &title, k, &curves, &RECALL_TARGETS)?;
    progress(format!("plot: {}", plot_path.display()));
    // How the markdown names the plot: relative to the report where it is beside it.
    let plot_link = match &args.md {
        Some(md) if md.parent() == plot_path.parent() => plot_path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        _ => plot_path.display().to_string(),
    };

    // Report.
    let machine = machine_description();
    let mut md = String::new();
    md.push_str(&format!(
        "## nDB HNSW: {} ({} x {}, {}), k={k}, {} queries, M {}, ef_construction {}\n\n",
        ds.name,
        fmt_thousands(n as u64),
        dim,
        ds.metric.name(),
        fmt_thousands(nq as u64),
        args.m,
        args.ef_construction
    ));
    md.push_str(&format!("Command: `{command}`\n\n"));
    md.push_str(&format!(
        "Machine: {} ({} logical CPUs, {} GiB). Load average at start {load_start}, at end {}.\n\n",
        machine["cpu_model"].as_str().unwrap_or("?"),
        machine["nproc"],
        machine["mem_total_gib"],
        load_average()
    ));
    md.push_str(&format!("![recall@{k} vs QPS]({plot_link})\n\n"));

    // Build and open.
    md.push_str("### Build, size, open\n\n");
    md.push_str("| engine |");
    for t in &args.build_threads {
        md.push_str(&format!(
            " build, {t} thread{} s |",
            if *t == 1 { "" } else { "s" }
        ));
    }
    md.push_str(" build CPU s (use / wait) | index file bytes/vector | less raw vectors | reopen / load ms | how opened |\n");
    md.push_str("|---|");
    for _ in &args.build_threads {
        md.push_str("---:|");
    }
    md.push_str("---|---:|---:|---:|---|\n");
    for e in &engines {
        md.push_str(&format!("| {} |", e.name));
        for t in &args.build_threads {
            let cell = e
                .builds
                .iter()
                .find(|b| b.threads == *t)
                .map(|b| format!("{:.2}", b.seconds))
                .unwrap_or_else(|| "-".into());
            md.push_str(&format!(" {cell} |"));
        }
        let waits: Vec<String> = e.builds.iter().map(Build::cpu_cell).collect();
        md.push_str(&format!(
            " {} | {} | {} | {} | {} |\n",
            if waits.is_empty() {
                "-".into()
            } else {
                waits.join("; ")
            },
            e.index_bytes_per_vector
                .map(|b| format!("{b:.0}"))
                .unwrap_or_else(|| "-".into()),
            e.graph_bytes_per_vector
                .map(|b| format!("{b:.0}"))
                .unwrap_or_else(|| "-".into()),
            e.open_ms
                .map(|m| format!("{m:.2}"))
                .unwrap_or_else(|| "-".into()),
            e.open_how
        ));
    }
    md.push('\n');
    md.push_str(&format!(
        "nDB ingest: insert_batch of {BATCH} {:.2} s, then one flush (segment write + graph build, pool of {} threads) \
         {:.2} s (CPU use / wait {}); {} segment, {} of {} docs indexed, {} index file(s), {:.0} bytes/vector of segment \
         file; reopen runs {:?} ms, first search after reopen {:?} ms, open_duration {:?} ms.\n\n",
        insert_s,
        flush.threads,
        flush.seconds,
        flush.cpu_cell(),
        stats.segment_count,
        fmt_thousands(stats.indexed_docs),
        fmt_thousands(stats.doc_count),
        index_files,
        segment_bytes as f64 / n as f64,
        reopen_ms.iter().map(|x| r2(*x)).collect::<Vec<_>>(),
        first_query_ms.iter().map(|x| r2(*x)).collect::<Vec<_>>(),
        open_duration_ms.iter().map(|x| r2(*x)).collect::<Vec<_>>(),
    ));

    // QPS at recall.
    md.push_str(&format!(
        "### QPS at recall@{k} (one thread, one query at a time; interpolated between sweep points)\n\n"
    ));
    md.push_str("| engine | QPS of |");
    for t in RECALL_TARGETS {
        md.push_str(&format!(" recall {t:.2} |"));
    }
    md.push_str(" best recall (ef) |\n|---|---|");
    for _ in RECALL_TARGETS {
        md.push_str("---:|");
    }
    md.push_str("---:|\n");
    let mut at: Vec<Vec<AtRecall>> = Vec::new();
    let mut at_cpu: Vec<Vec<AtRecall>> = Vec::new();
    for e in &engines {
        let row: Vec<AtRecall> = RECALL_TARGETS
            .iter()
            .map(|&t| qps_at_recall(&e.sweep, t))
            .collect();
        let row_cpu: Vec<AtRecall> = RECALL_TARGETS
            .iter()
            .map(|&t| cpu_qps_at_recall(&e.sweep, t))
            .collect();
        let best = e
            .sweep
            .iter()
            .max_by(|a, b| a.recall.total_cmp(&b.recall))
            .map(|p| format!("{:.4} ({})", p.recall, p.ef))
            .unwrap_or_else(|| "-".into());
        md.push_str(&format!("| {} | wall time |", e.name));
        for a in &row {
            md.push_str(&format!(" {} |", a.cell()));
        }
        md.push_str(&format!(" {best} |\n"));
        if e.sweep.iter().any(|p| p.cpu_qps.is_some()) {
            md.push_str(&format!("| {} | on-CPU time |", e.name));
            for a in &row_cpu {
                md.push_str(&format!(" {} |", a.cell()));
            }
            md.push_str(" |\n");
        }
        at.push(row);
        at_cpu.push(row_cpu);
    }
    md.push('\n');

    // The sweep.
    md.push_str(&format!(
        "### ef sweep: recall@{k} and QPS (one thread, one query at a time)\n\n"
    ));
    md.push_str(&format!(
        "| engine | ef | recall@{k} | QPS | QPS per CPU s | p50 ms | p99 ms | CPU wait | batch QPS |\n"
    ));
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for e in &engines {
        for (i, p) in e.sweep.iter().enumerate() {
            md.push_str(&format!(
                "| {} | {} | {:.4} | {} | {} | {} | {} | {} | {} |\n",
                e.name,
                p.ef,
                p.recall,
                fmt_qps(p.qps),
                p.cpu_qps.map(fmt_qps).unwrap_or_else(|| "-".into()),
                fmt_lat(p.p50_ms),
                fmt_lat(p.p99_ms),
                p.sched_wait
                    .map(|w| format!("{:.0}%", 100.0 * w))
                    .unwrap_or_else(|| "-".into()),
                e.batch_qps
                    .get(i)
                    .copied()
                    .flatten()
                    .map(fmt_qps)
                    .unwrap_or_else(|| "-".into()),
            ));
        }
    }
    md.push('\n');

    // Ratios against hnswlib.
    let mut ratios = serde_json::Map::new();
    if let Some(hi) = engines.iter().position(|e| e.name.starts_with("hnswlib")) {
        let h = &engines[hi];
        if let (Some(a), Some(b)) = (at[0][1].qps(), at[hi][1].qps()) {
            let cpu = match (at_cpu[0][1].qps(), at_cpu[hi][1].qps()) {
                (Some(c), Some(d)) => {
                    ratios.insert("ndb_over_hnswlib_cpu_qps_at_0.95".into(), json!(r4(c / d)));
                    format!("; by on-CPU time **{:.2}x**", c / d)
                }
                _ => String::new(),
            };
            md.push_str(&format!(
                "- nDB / hnswlib QPS at recall 0.95: **{:.2}x** by wall time{cpu} (goal >= 1.2x)\n",
                a / b
            ));
            ratios.insert("ndb_over_hnswlib_qps_at_0.95".into(), json!(r4(a / b)));
        }
        for t in &args.build_threads {
            let nb = engines[0].builds.iter().find(|b| b.threads == *t);
            let hb = h.builds.iter().find(|b| b.threads == *t);
            if let (Some(nb), Some(hb)) = (nb, hb) {
                let cpu = |b: &Build| b.cpu_use * b.seconds * b.threads as f64;
                md.push_str(&format!(
                    "- nDB / hnswlib build time, {t} thread(s): **{:.2}x** by wall time, {:.2}x by CPU time (goal <= 1.0x)\n",
                    nb.seconds / hb.seconds,
                    cpu(nb) / cpu(hb)
                ));
                ratios.insert(
                    format!("ndb_over_hnswlib_build_{t}t"),
                    json!(r4(nb.seconds / hb.seconds)),
                );
            }
        }
    }
    if let Some(a) = at.first() {
        md.push_str(&format!(
            "- nDB recall 0.99 reachable: {}\n",
            if a[2].qps().is_some() {
                "yes"
            } else {
                "**no**"
            }
        ));
    }
    for (name, why) in &skipped {
        md.push_str(&format!("- Reference {name} skipped: {why}\n"));
    }
    for e in &engines {
        if !e.note.is_empty() {
            md.push_str(&format!("- {}: {}\n", e.name, e.note));
        }
    }
    md.push_str(&format!(
        "- Recall@{k}: a result is a hit if it is in the true top {k} or its exact distance is <= the {k}-th true \
         distance (ties), as in the exact-search harness. QPS = queries / wall time of the fastest of {} passes over the \
         queries per ef (after {} warm-up queries; the results are checked identical across passes); latency per query, wall clock around the call (for the references: the Python call).\n",
        args.sweep_runs,
        args.warmup
    ));
    md.push_str(
        "- QPS at a recall: log QPS interpolated linearly in recall between the last ef below the target and the \
         first at or above it; `>=` where the smallest ef already reaches it.\n",
    );
    md.push_str(
        "- Build: the same M / ef_construction for every engine; the last build of each engine is the graph the \
         sweep searches. Batch QPS (references): one call with all queries on one thread, i.e. without the \
         per-call Python overhead.\n",
    );
    md.push_str(
        "- QPS per CPU s: queries / on-CPU time of the searching thread(s) (/proc schedstat), i.e. the QPS with \
         the time other processes held the CPU taken out (they still share caches and memory bandwidth); on a \
         quiet machine it equals QPS.\n\
         - CPU wait: time this process's threads were runnable but waiting for a CPU taken by other processes \
         (/proc schedstat), as a share of the run x its threads; above a few % the figures are disturbed. \
         Build CPU use: process CPU time (user + system) / (wall x threads); below 100% the build threads were \
         waiting (for a CPU, a lock or I/O). Build wait is measured on nDB's pool workers only (the references' \
         build threads exit before they can be read).\n",
    );

    print!("{md}");
    if let Some(p) = &args.md {
        if let Some(d) = p.parent() {
            if !d.as_os_str().is_empty() {
                std::fs::create_dir_all(d)?;
            }
        }
        ndb_bench::write_file(p, md.as_bytes()).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if let Some(p) = &args.json {
        let engines_json: Vec<Value> = engines
            .iter()
            .zip(at.iter().zip(&at_cpu))
            .map(|(e, (a, c))| {
                json!({
                    "engine": e.name,
                    "builds": e.builds.iter().map(Build::to_json).collect::<Vec<_>>(),
                    "index_bytes_per_vector": e.index_bytes_per_vector.map(r2),
                    "index_bytes_less_vectors_per_vector": e.graph_bytes_per_vector.map(r2),
                    "open_ms": e.open_ms.map(r4),
                    "open_how": e.open_how,
                    "sweep": e.sweep.iter().enumerate().map(|(i, p)| {
                        let mut v = p.to_json();
                        if let Some(Some(b)) = e.batch_qps.get(i) {
                            v["batch_qps"] = json!(r2(*b));
                        }
                        v
                    }).collect::<Vec<_>>(),
                    "qps_at_recall": RECALL_TARGETS.iter().zip(a).map(|(t, x)| {
                        (format!("{t:.2}"), x.to_json())
                    }).collect::<serde_json::Map<_, _>>(),
                    "cpu_qps_at_recall": RECALL_TARGETS.iter().zip(c).map(|(t, x)| {
                        (format!("{t:.2}"), x.to_json())
                    }).collect::<serde_json::Map<_, _>>(),
                    "note": e.note,
                })
            })
            .collect();
        let j = json!({
            "bench": "ndb-search-bench --hnsw",
            "command": command,
            "dataset": {
                "name": ds.name,
                "dir": ds.dir.display().to_string(),
                "synthetic": ds.synthetic,
                "n": n,
                "dim": dim,
                "queries": nq,
                "metric": ds.metric.name(),
            },
            "k": k,
            "m": args.m,
            "ef_construction": args.ef_construction,
            "ef_sweep": args.ef_sweep,
            "machine": machine,
            "ndb": {
                "insert_s": r4(insert_s),
                "flush": flush.to_json(),
                "rebuilds": builds.iter().map(Build::to_json).collect::<Vec<_>>(),
                "index_bytes": index_bytes,
                "index_files": index_files,
                "segment_bytes": segment_bytes,
                "segments": stats.segment_count,
                "indexed_docs": stats.indexed_docs,
                "reopen_ms": reopen_ms.iter().map(|x| r4(*x)).collect::<Vec<_>>(),
                "reopen_ms_median": r4(reopen_median),
                "first_search_after_reopen_ms": first_query_ms.iter().map(|x| r4(*x)).collect::<Vec<_>>(),
                "open_duration_ms": open_duration_ms.iter().map(|x| r4(*x)).collect::<Vec<_>>(),
            },
            "engines": engines_json,
            "ratios": ratios,
            "plot": plot_path.display().to_string(),
            "reference": reference,
        });
        ndb_bench::write_file(p, (serde_json::to_string_pretty(&j)? + "\n").as_bytes())
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

/// `--replot`: the recall-QPS SVG again from an earlier run's `--json` output.
fn replot(json_path: &Path, plot: Option<&Path>) -> Res<()> {
    let text =
        std::fs::read_to_string(json_path).map_err(|e| format!("{}: {e}", json_path.display()))?;
    let j: Value = serde_json::from_str(&text)?;
    let engines = j["engines"]
        .as_array()
        .ok_or("no \"engines\" in the JSON: not the output of an --hnsw run")?;
    let n = j["dataset"]["n"].as_u64().unwrap_or(0) as usize;
    let dim = j["dataset"]["dim"].as_u64().unwrap_or(0) as usize;
    let curves: Vec<Curve> = engines
        .iter()
        .map(|e| {
            let r = engine_from_json(e, n.max(1), (dim * 4) as f64);
            Curve {
                name: r.name,
                points: r.sweep,
            }
        })
        .collect();
    let title = format!(
        "{}: {} x {}, {}; HNSW M {}, ef_construction {}",
        j["dataset"]["name"].as_str().unwrap_or("?"),
        fmt_thousands(n as u64),
        dim,
        j["dataset"]["metric"].as_str().unwrap_or("?"),
        j["m"],
        j["ef_construction"],
    );
    let out = plot
        .map(Path::to_path_buf)
        .unwrap_or_else(|| json_path.with_extension("svg"));
    let k = j["k"].as_u64().unwrap_or(10) as usize;
    recall_qps_svg(&out, &title, k, &curves, &RECALL_TARGETS)?;
    println!("{}", out.display());
    Ok(())
}

/// A reference engine's figures from the reference script's JSON.
fn engine_from_json(e: &Value, n: usize, raw_vector_bytes: f64) -> EngineResult {
    let builds = e["builds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| Build {
            threads: b["threads"].as_u64().unwrap_or(0) as usize,
            seconds: b["seconds"].as_f64().unwrap_or(f64::NAN),
            cpu_use: b["cpu_use"].as_f64().unwrap_or(f64::NAN),
            sched_wait: b["sched_wait"].as_f64(),
        })
        .collect();
    let index_bytes = e["index_file_bytes"].as_f64();
    let holds_vectors = e["file_holds_vectors"].as_bool().unwrap_or(true);
    let mut sweep = Vec::new();
    let mut batch = Vec::new();
    for p in e["sweep"].as_array().into_iter().flatten() {
        sweep.push(SweepPoint {
            ef: p["ef"].as_u64().unwrap_or(0) as usize,
            recall: p["recall"].as_f64().unwrap_or(f64::NAN),
            qps: p["qps"].as_f64().unwrap_or(f64::NAN),
            p50_ms: p["p50_ms"].as_f64().unwrap_or(f64::NAN),
            p99_ms: p["p99_ms"].as_f64().unwrap_or(f64::NAN),
            sched_wait: p["sched_wait"].as_f64(),
            cpu_qps: p["cpu_qps"].as_f64(),
        });
        batch.push(p["batch_qps"].as_f64());
    }
    EngineResult {
        name: e["engine"].as_str().unwrap_or("?").to_string(),
        builds,
        index_bytes_per_vector: index_bytes.map(|b| b / n as f64),
        graph_bytes_per_vector: index_bytes.map(|b| {
            if holds_vectors {
                b / n as f64 - raw_vector_bytes
            } else {
                b / n as f64
            }
        }),
        open_ms: e["open_ms"].as_f64(),
        open_how: e["open_how"].as_str().unwrap_or("").to_string(),
        sweep,
        batch_qps: batch,
        note: e["note"].as_str().unwrap_or("").to_string(),
    }
}

/// The reference script's python (the venv made by setup-venv.sh unless told otherwise).
fn reference_python(args: &Args) -> Res<PathBuf> {
    let ws = workspace_root();
    Ok(match (&args.python, std::env::var_os("NDB_BENCH_PYTHON")) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) => PathBuf::from(p),
        (None, None) => {
            // setup-venv.sh makes the venv, or adds what a venv made by an older version of
            // it lacks (hnswlib, USearch); it returns at once when everything is there.
            let p = ws.join("target/bench-venv/bin/python");
            {
                progress("scripts/bench/setup-venv.sh (checks target/bench-venv)");
                let st = Command::new("bash")
                    .arg(ws.join("scripts/bench/setup-venv.sh"))
                    .current_dir(&ws)
                    .stdout(Stdio::inherit())
                    .stderr(Stdio::inherit())
                    .status()?;
                if !st.success() {
                    return Err("scripts/bench/setup-venv.sh failed".into());
                }
            }
            p
        }
    })
}

/// `reference.py --hnsw` on the same files with the same M / ef_construction / ef sweep.
fn run_reference_hnsw(args: &Args, ds: &Dataset) -> Res<Value> {
    let ws = workspace_root();
    let script = ws.join("scripts/bench/reference.py");
    if !script.is_file() {
        return Err(format!("reference script not found at {}", script.display()).into());
    }
    let python = reference_python(args)?;
    let scratch = ws.join("target").join("bench-tmp");
    std::fs::create_dir_all(&scratch)?;
    let join = |v: &[usize]| {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .arg(&ds.dir)
        .arg("--hnsw")
        .args(["--metric", ds.metric.name()])
        .args(["--k", &args.k.to_string()])
        .args(["--queries", &ds.queries.rows().to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .args(["--m", &args.m.to_string()])
        .args(["--ef-construction", &args.ef_construction.to_string()])
        .args(["--ef-sweep", &join(&args.ef_sweep)])
        .args(["--build-threads", &join(&args.build_threads)])
        .args(["--reopen-runs", &args.reopen_runs.to_string()])
        .args(["--sweep-runs", &args.sweep_runs.to_string()])
        .args(["--engines", &args.ref_engines])
        .arg("--scratch")
        .arg(&scratch)
        .env("OMP_NUM_THREADS", "1")
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .env_remove("OPENBLAS_CORETYPE")
        .env_remove("OPENBLAS_L2_SIZE")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped());
    progress(format!(
        "reference: {} {} {} --hnsw --engines {} ...",
        python.display(),
        script.display(),
        ds.dir.display(),
        args.ref_engines
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
