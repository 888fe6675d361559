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
//! With `--dims LIST` it runs the exact-search dimension sweep instead (issue 14): per
//! dimension, seeded synthetic data of `--rows` vectors, nDB one query at a time on one thread
//! and faiss IndexFlat (`reference.py --engines faiss --repeat R`) side by side, the median of
//! `--reps` passes each, and their ratio.
//!
//! Output: a markdown report on stdout (and `--md FILE`), JSON with `--json FILE`; progress on
//! stderr.
//!
//! Modules: [`dataset`] (the data and its ground truth), [`timing`] (timed searches),
//! [`exact`] (the exact-search run and its report), [`hnsw`] (build, reopen, ef sweep),
//! [`hnsw_report`] (its report, plot and `--replot`), [`reference`] (the Python references),
//! [`dims`] (the dimension sweep).

mod dataset;
mod dims;
mod exact;
mod hnsw;
mod hnsw_report;
mod reference;
mod timing;

use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use ndb::{Database, IndexConfig};
use ndb_bench::cli::{self, List};
use ndb_bench::measure::Metric;
use ndb_bench::report::{self, Bench};
use ndb_bench::scratch::{self, scratch_root, ScratchDirs};
use ndb_bench::{bandwidth, Res};
use serde_json::Value;

use dataset::Dataset;

const BENCH: Bench = Bench::new("ndb-search-bench").with_tag("search-bench");

const BATCH: usize = 1_000;
const COLL: &str = "bench";

/// The ef values of the sweep when `--ef-sweep` is not given.
const DEFAULT_EF_SWEEP: [usize; 6] = [16, 32, 64, 128, 256, 512];

/// `--synthetic N,DIM`.
#[derive(Clone, Copy, Debug)]
struct Synthetic {
    n: usize,
    dim: usize,
}

fn synthetic(s: &str) -> Result<Synthetic, String> {
    let (n, dim) = s.split_once(',').ok_or("expected N,DIM")?;
    Ok(Synthetic {
        n: cli::positive_count(n)?,
        dim: cli::positive_count(dim)?,
    })
}

/// Exact-search latency, QPS, recall and bandwidth for nDB.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "ndb-search-bench",
    override_usage = "ndb-search-bench DATASET_DIR [OPTIONS]\n       ndb-search-bench --synthetic N,DIM [OPTIONS]",
    args_override_self = true
)]
struct Args {
    /// Holds base.fvecs, query.fvecs, gt.ivecs, gt_dist.fvecs (scripts/fetch-dataset.sh
    /// fashion-mnist|glove-50 DIR makes them).
    #[arg(value_name = "DATASET_DIR")]
    dataset: Option<PathBuf>,
    /// N random base vectors of DIM dimensions (uniform in [-1,1), seeded) and --queries random
    /// queries (default 1000); ground truth from nDB's exact search.
    #[arg(long, value_name = "N,DIM", value_parser = synthetic)]
    synthetic: Option<Synthetic>,
    /// l2 | cosine | dot (default: from the dataset's INFO.md, else l2).
    #[arg(long, value_name = "M", value_parser = cli::metric)]
    metric: Option<Metric>,
    /// Neighbours per query.
    #[arg(short = 'k', long = "k", value_name = "K", default_value_t = 10, value_parser = cli::positive_count)]
    k: usize,
    /// Use the first N queries (default: all; synthetic: 1000).
    #[arg(long, value_name = "N", value_parser = cli::positive_count)]
    queries: Option<usize>,
    /// Threads of the shared pool, the all-thread runs and the bandwidth probe (default: all
    /// logical CPUs).
    #[arg(long, alias = "threads", value_name = "T", value_parser = cli::positive_count)]
    threads_max: Option<usize>,
    /// Database directory (must not exist or be empty; default
    /// <workspace>/target/bench-tmp/search-db-<pid>); removed at the end unless --keep.
    #[arg(long, value_name = "DIR")]
    db: Option<PathBuf>,
    /// Write the results as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the markdown report (it is printed on stdout too).
    #[arg(long, value_name = "FILE")]
    md: Option<PathBuf>,
    /// Also run scripts/bench/reference.py (faiss IndexFlat, numpy) on the same data.
    #[arg(long)]
    reference: bool,
    /// Python for --reference (default: $NDB_BENCH_PYTHON, else
    /// <workspace>/target/bench-venv/bin/python, made by scripts/bench/setup-venv.sh).
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Synthetic data seed.
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// Untimed queries before each timed run.
    #[arg(long, value_name = "W", default_value_t = 10)]
    warmup: usize,
    /// Bandwidth probe buffer, MiB.
    #[arg(long, value_name = "M", default_value_t = 1024, value_parser = cli::positive_count)]
    bw_mib: usize,
    /// Bandwidth probe passes per figure.
    #[arg(long, value_name = "R", default_value_t = 5, value_parser = cli::positive_count)]
    bw_runs: usize,
    /// Skip the all-cores throughput run.
    #[arg(long)]
    skip_throughput: bool,
    /// Build no approximate (HNSW) index at flush: ingest measures storage only (searches are
    /// exact either way).
    #[arg(long)]
    no_index: bool,
    /// Run the bandwidth probe only (no DATASET_DIR needed) and exit.
    #[arg(long)]
    bandwidth_only: bool,
    /// Keep the database (and synthetic data) directories.
    #[arg(long)]
    keep: bool,

    /// Measure the HNSW index instead of exact search: build time, index bytes per vector,
    /// reopen time, and an ef sweep (recall@k, 1-thread QPS, p50, p99).
    #[arg(long, help_heading = "Approximate search (HNSW)")]
    hnsw: bool,
    /// The ef values of the sweep (implies --hnsw; default 16,32,64,128,256,512).
    #[arg(long, value_name = "LIST", value_parser = cli::ef_list, help_heading = "Approximate search (HNSW)")]
    ef_sweep: Option<List<usize>>,
    /// HNSW neighbours per node.
    #[arg(long, value_name = "M", default_value_t = IndexConfig::default().m, value_parser = cli::positive_count, help_heading = "Approximate search (HNSW)")]
    m: usize,
    /// HNSW build candidate list.
    #[arg(long, value_name = "N", default_value_t = IndexConfig::default().ef_construction, value_parser = cli::positive_count, help_heading = "Approximate search (HNSW)")]
    ef_construction: usize,
    /// Thread counts of the timed index builds: the flush builds the graph on a pool of the
    /// largest, then rebuild_index runs once per count.
    #[arg(long, value_name = "LIST", default_value = "1,2", value_parser = cli::ef_list, help_heading = "Approximate search (HNSW)")]
    build_threads: List<usize>,
    /// Use only the first N base vectors (ground truth recomputed by brute force in f64 and
    /// written with the data to a scratch folder the reference reads).
    #[arg(long, value_name = "N", value_parser = cli::positive_count, help_heading = "Approximate search (HNSW)")]
    base_limit: Option<usize>,
    /// Quantizations to sweep besides none (int8, binary): after the f32 sweep, the collection
    /// is switched to each (update_config + rebuild_index) and swept again at every
    /// --oversampling, one curve per pair.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        help_heading = "Approximate search (HNSW)"
    )]
    quantization: Vec<String>,
    /// Candidates per result rescored with f32, for the --quantization curves.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "2",
        help_heading = "Approximate search (HNSW)"
    )]
    oversampling: Vec<f32>,
    /// Passes over the queries per ef, the fastest reported.
    #[arg(long, value_name = "R", default_value_t = 3, value_parser = cli::positive_count, help_heading = "Approximate search (HNSW)")]
    sweep_runs: usize,
    /// Database::open + get_collection timings, median taken.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = cli::positive_count, help_heading = "Approximate search (HNSW)")]
    reopen_runs: usize,
    /// Recall-QPS SVG (default, also for a bare --plot: recall-qps.svg beside --md, else
    /// <workspace>/target/bench-results/recall-qps.svg).
    #[arg(long, value_name = "FILE", num_args = 0..=1, help_heading = "Approximate search (HNSW)")]
    plot: Option<Option<PathBuf>>,
    /// Only redraw the recall-QPS SVG (--plot, default beside JSON) from the --json output of
    /// an earlier --hnsw run, and exit.
    #[arg(long, value_name = "JSON", help_heading = "Approximate search (HNSW)")]
    replot: Option<PathBuf>,
    /// Reference engines for --hnsw --reference (one that is not installed is reported as
    /// skipped).
    #[arg(
        long,
        value_name = "LIST",
        default_value = "hnswlib,usearch",
        help_heading = "Approximate search (HNSW)"
    )]
    ref_engines: String,

    /// Sweep exact search over these dimensions (synthetic data, nDB and faiss side by side,
    /// one thread; no DATASET_DIR), e.g. 32,50,128,384,768,1536.
    #[arg(long, value_name = "LIST", value_parser = cli::ef_list, help_heading = "Dimension sweep")]
    dims: Option<List<usize>>,
    /// Base vectors per dimension of the sweep.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = cli::positive_count, help_heading = "Dimension sweep")]
    rows: usize,
    /// Timed passes over the queries per engine and dimension (the median is reported).
    #[arg(long, value_name = "R", default_value_t = 5, value_parser = cli::positive_count, help_heading = "Dimension sweep")]
    reps: usize,
}

impl Args {
    /// The command line, checked (see [`Args::check`]); exits with a usage error if it is not
    /// right.
    fn from_command_line() -> Args {
        Args::check(Args::parse()).unwrap_or_else(|e| e.exit())
    }

    /// `a` checked: data from one place unless only the bandwidth probe or a replot is asked
    /// for; `--ef-sweep` implies `--hnsw`.
    fn check(mut a: Args) -> Result<Args, clap::Error> {
        a.hnsw |= a.ef_sweep.is_some();
        if a.bandwidth_only || a.replot.is_some() || a.dims.is_some() {
            return Ok(a);
        }
        let (kind, msg) = match (&a.dataset, &a.synthetic) {
            (None, None) => (
                ErrorKind::MissingRequiredArgument,
                "give a DATASET_DIR or --synthetic N,DIM",
            ),
            (Some(_), Some(_)) => (
                ErrorKind::ArgumentConflict,
                "give either a DATASET_DIR or --synthetic, not both",
            ),
            _ => return Ok(a),
        };
        Err(Args::command().error(kind, msg))
    }

    /// The ef values of the sweep.
    fn ef_sweep(&self) -> &[usize] {
        self.ef_sweep.as_deref().unwrap_or(&DEFAULT_EF_SWEEP)
    }

    /// `--plot FILE`, if a file was named.
    fn plot(&self) -> Option<&Path> {
        self.plot.as_ref().and_then(|p| p.as_deref())
    }
}

/// What every part of a run shares: the arguments, the command line and the load average at
/// the start.
struct Ctx<'a> {
    args: &'a Args,
    command: String,
    load_start: String,
}

/// Print the markdown report, and write it and the JSON report where `--md` and `--json` say.
fn publish(args: &Args, md: &str, json: &Value) -> Res<()> {
    print!("{md}");
    report::write_report(args.md.as_deref(), md)?;
    if let Some(p) = &args.json {
        report::write_report(Some(p), &(report::json_text(json)? + "\n"))?;
    }
    Ok(())
}

fn main() {
    let args = Args::from_command_line();
    BENCH.run(|| real_main(&args));
}

/// The database directory of the run (`--db`, else a fresh one in the scratch folder), created
/// empty and removed at the end with the other scratch directories.
fn open_db(args: &Args, dirs: &mut ScratchDirs) -> Res<(PathBuf, Database)> {
    let db_dir = args
        .db
        .clone()
        .unwrap_or_else(|| scratch_root().join(format!("search-db-{}", std::process::id())));
    scratch::empty_dir(&db_dir, "--db")?;
    dirs.push(db_dir.clone());
    let db = Database::open(&db_dir)?;
    Ok((db_dir, db))
}

/// `--bandwidth-only`: the probe's figures, a line for people and a line of JSON.
fn bandwidth_only(args: &Args) -> Res<()> {
    let bw = bandwidth::probe(
        args.bw_mib << 20,
        rayon::current_num_threads(),
        args.bw_runs,
    );
    println!(
        "memory bandwidth, sequential read of {} MiB, median of {}: 1 thread {:.2} GB/s, {} threads {:.2} GB/s",
        bw.buffer_bytes >> 20,
        bw.runs,
        bw.single_gbs,
        bw.threads,
        bw.multi_gbs
    );
    println!("{}", serde_json::to_string(&bw.to_json())?);
    Ok(())
}

/// The data of the run: the dataset directory, or synthetic data written to a scratch folder
/// (removed at the end); cut to `--base-limit` rows.
fn load_data(args: &Args, dirs: &mut ScratchDirs) -> Res<Dataset> {
    let mut ds = match (&args.dataset, args.synthetic) {
        (Some(dir), _) => Dataset::load(args, dir)?,
        (None, Some(Synthetic { n, dim })) => {
            let dir = scratch_root().join(format!("search-synthetic-{}", std::process::id()));
            dirs.push(dir.clone());
            Dataset::synthetic(args, n, dim, &dir)?
        }
        (None, None) => return Err("give a DATASET_DIR or --synthetic N,DIM".into()),
    };
    let n = ds.base.rows();
    if args.k > n {
        return Err(format!("--k {} is larger than the {n} base vectors", args.k).into());
    }
    if let Some(limit) = args.base_limit {
        if limit < n {
            let dir = scratch_root().join(format!("search-limited-{}", std::process::id()));
            dirs.push(dir.clone());
            ds.limit_base(limit, args.k, &dir)?;
        } else {
            BENCH.progress(format!(
                "--base-limit {limit}: the dataset has only {n} base vectors, all used"
            ));
        }
    }
    Ok(ds)
}

fn real_main(args: &Args) -> Res<()> {
    let command = report::command_line();
    if let Some(t) = args.threads_max {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| format!("cannot size the thread pool: {e}"))?;
    }
    if let Some(json_path) = &args.replot {
        return hnsw_report::replot(json_path, args.plot());
    }
    let load_start = report::load_average();
    if args.bandwidth_only {
        return bandwidth_only(args);
    }
    // Removes the scratch directories at the end, also on an error (dropped after the database).
    let mut dirs = ScratchDirs::new(BENCH, args.keep);
    if let Some(dims) = &args.dims {
        let ctx = Ctx {
            args,
            command,
            load_start,
        };
        return dims::run(&ctx, dims, &mut dirs);
    }
    let mut ds = load_data(args, &mut dirs)?;
    let ctx = Ctx {
        args,
        command,
        load_start,
    };
    if args.hnsw {
        hnsw::run(&ctx, &mut ds, &mut dirs)
    } else {
        exact::run(&ctx, &mut ds, &mut dirs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Args, clap::Error> {
        Args::check(cli::parse_words(line)?)
    }

    /// The commands of the README, the Python and Node benchmarks and the quickstart.
    #[test]
    fn documented_commands_parse() {
        for line in [
            "b target/datasets/fashion-mnist --queries 1000 --reference",
            "b --synthetic 100000,768 --reference",
            "b target/datasets/fashion-mnist --hnsw --reference --plot",
            "b d --hnsw --ef-sweep 10,20 --base-limit 100000 --queries 1000 --build-threads 1 --json f",
            "b d --hnsw --ef-sweep 8,10 --queries 1000 --build-threads 2 --reopen-runs 1 --json f --md g",
            "b d --queries 1000 --skip-throughput --bw-mib 256",
            "b --bandwidth-only",
            "b --replot r.json --plot p.svg",
            "b --dims 32,50,128,384,768,1536 --reps 5 --rows 100000",
        ] {
            parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        }
    }

    #[test]
    fn flags_mean_what_they_did() {
        let a = parse("b d --ef-sweep 64,16,16 -k 5 --k 7 --threads 3 --md=r.md --plot").unwrap();
        assert!(a.hnsw);
        assert_eq!(a.ef_sweep(), [16, 64]);
        assert_eq!((a.k, a.threads_max), (7, Some(3)));
        assert_eq!(a.md.as_deref(), Some(Path::new("r.md")));
        assert_eq!((a.plot.is_some(), a.plot()), (true, None));
        let a = parse("b --synthetic 2k,32 --queries 1k").unwrap();
        assert!(!a.hnsw);
        assert_eq!(a.ef_sweep(), DEFAULT_EF_SWEEP);
        assert_eq!(a.synthetic.map(|s| (s.n, s.dim)), Some((2_000, 32)));
        assert_eq!(
            (a.queries, a.build_threads.as_slice()),
            (Some(1_000), &[1, 2][..])
        );
        assert!(parse("b").is_err());
        assert!(parse("b d --synthetic 10,2").is_err());
        assert!(parse("b d --k 0").is_err());
        assert!(parse("b d --ef-sweep 0").is_err());
    }
}
