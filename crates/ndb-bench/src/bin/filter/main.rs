//! `ndb-filter-bench`: filtered-search figures for nDB (issue 6, "Figures to report").
//!
//! One collection over a real dataset (one segment with one HNSW graph: the flush threshold is set
//! above the data size), payload per base row `i`: `{"category": i % 100, "bucket": i % 10,
//! "half": i % 2}`, integer payload indexes on the three fields. For the filters
//! `category == 7` (1%), `bucket == 3` (10%), `half == 1` (50%) and no filter:
//!
//! - the planner's recall@k against exact filtered search (`.approximate(false)` with the same
//!   filter, computed once per query; ties at the k-th distance count as hits), p50/p99 latency on
//!   one thread (`.threads(1)`) and results per query;
//! - plain post-filtering as the baseline: unfiltered HNSW `top_k(k * c)` (c = 10 by default),
//!   keep the matching rows, the first k; its recall and results per query;
//! - the same filtered searches after dropping the payload indexes (the segments then build
//!   in-memory indexes of the filtered fields on first use, ADR 0015).
//!
//! Every query runs every configuration in turn (interleaved), so load changes on the machine
//! touch all configurations alike.
//!
//! Usage: `ndb-filter-bench DATASET_DIR [--queries N] [--k 10] [--c 10] [--ef EF] [--base N]
//!   [--metric l2] [--dir DIR] [--json-out PATH] [--md-out PATH] [--keep]`
//!
//! Output: a markdown report on stdout followed by the JSON figures (also written to
//! `--json-out` / `--md-out` when given). Progress goes to stderr.
//!
//! Modules: [`measure`] (the filters, the exact answers, the timed passes and how they are
//! judged), [`report`] (markdown and JSON).

mod measure;
mod report;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use ndb::{Collection, CollectionConfig, Database, Document, IndexConfig, PayloadIndexKind};
use ndb_bench::cli::{self, ReportFiles, ScratchArgs};
use ndb_bench::data::insert_in_batches;
use ndb_bench::measure::Metric;
use ndb_bench::report::{command_line, load_average, Bench};
use ndb_bench::vecs::{read_fvecs, Vectors};
use ndb_bench::{scratch, Res};
use serde_json::json;

use measure::CASES;

const BENCH: Bench = Bench::new("ndb-filter-bench");

const COLL: &str = "filter";
const BATCH: usize = 1_000;

/// Filtered-search figures for nDB (issue 6).
#[derive(Clone, Debug, Parser)]
#[command(name = "ndb-filter-bench", args_override_self = true)]
struct Args {
    /// Directory with base.fvecs and query.fvecs (e.g. target/datasets/fashion-mnist).
    #[arg(value_name = "DATASET_DIR")]
    dataset: PathBuf,
    /// Queries measured.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = cli::positive::<usize>)]
    queries: usize,
    /// Results per query.
    #[arg(long, value_name = "K", default_value_t = 10, value_parser = cli::positive::<usize>)]
    k: usize,
    /// Post-filter baseline over-fetch factor: top_k(K*C) then filter.
    #[arg(long, value_name = "C", default_value_t = 10, value_parser = cli::positive::<usize>)]
    c: usize,
    /// HNSW search breadth (default: the collection's, 64).
    #[arg(long, value_name = "EF")]
    ef: Option<usize>,
    /// Use only the first N base rows (default all).
    #[arg(long, value_name = "N")]
    base: Option<usize>,
    /// l2 | cosine | dot.
    #[arg(long, value_name = "M", default_value = "l2", value_parser = cli::metric)]
    metric: Metric,
    #[command(flatten)]
    scratch: ScratchArgs,
    #[command(flatten)]
    out: ReportFiles,
}

/// The base vectors and the queries.
struct Data {
    base: Vectors<f32>,
    queries: Vectors<f32>,
}

fn load(args: &Args) -> Res<Data> {
    let t = Instant::now();
    let base = read_fvecs(args.dataset.join("base.fvecs"), args.base)?;
    let queries = read_fvecs(args.dataset.join("query.fvecs"), Some(args.queries))?;
    if base.dim != queries.dim {
        return Err(format!("base dim {} != query dim {}", base.dim, queries.dim).into());
    }
    BENCH.progress(format!(
        "loaded {} base rows and {} queries of dim {} in {:.1} s",
        base.rows(),
        queries.rows(),
        base.dim,
        t.elapsed().as_secs_f64()
    ));
    Ok(Data { base, queries })
}

/// How long the build took, seconds.
struct BuildTimes {
    index_create_s: f64,
    insert_s: f64,
    flush_s: f64,
}

/// One collection, one segment with one graph: the payload indexes first, then every base row
/// with its payload, then the flush that builds the graph.
fn build(args: &Args, data: &Data, db: &Database) -> Res<(Collection, BuildTimes)> {
    let (n, dim) = (data.base.rows(), data.base.dim);
    let data_bytes = n * (dim * 4 + 64);
    let threshold = (2 * data_bytes).max(64 << 20);
    let config = CollectionConfig::new(dim)
        .with_distance(args.metric.ndb_distance())
        .with_flush_threshold_bytes(threshold)
        .with_index(IndexConfig::default());
    let coll = db.create_collection(COLL, config)?;
    let t = Instant::now();
    for case in &CASES {
        coll.create_payload_index(case.field, PayloadIndexKind::Integer)?;
    }
    let index_create_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    insert_in_batches(&coll, n, BATCH, |i| {
        Document::new(i.to_string(), data.base.row(i).to_vec()).with_payload(json!({
            "category": i % 100,
            "bucket": i % 10,
            "half": i % 2,
        }))
    })?;
    let insert_s = t.elapsed().as_secs_f64();
    BENCH.progress(format!(
        "inserted {n} documents in {insert_s:.1} s; flushing (HNSW build)..."
    ));
    let t = Instant::now();
    coll.flush()?;
    let flush_s = t.elapsed().as_secs_f64();
    let times = BuildTimes {
        index_create_s,
        insert_s,
        flush_s,
    };
    Ok((coll, times))
}

/// A fresh database directory in the scratch folder.
fn fresh_db_dir(args: &Args) -> Res<PathBuf> {
    std::fs::create_dir_all(&args.scratch.dir)?;
    let db_dir = args
        .scratch
        .dir
        .join(format!("filter-bench-{}", std::process::id()));
    if db_dir.exists() {
        std::fs::remove_dir_all(&db_dir)?;
    }
    Ok(db_dir)
}

fn main() {
    let args = Args::parse();
    BENCH.run(|| real_main(&args));
}

fn real_main(args: &Args) -> Res<()> {
    let load_start = load_average();
    let command = command_line();
    BENCH.progress(format!("load average at start: {load_start}"));
    let data = load(args)?;
    let post_k = args.k * args.c;
    if post_k > ndb::TOP_K_MAX {
        return Err(format!("k * c = {post_k} exceeds {}", ndb::TOP_K_MAX).into());
    }
    let db_dir = fresh_db_dir(args)?;
    let run = measure_in(args, &data, &db_dir);
    scratch::remove(&BENCH, &db_dir, args.scratch.keep);
    let run = run?;
    let rep = report::Report {
        args,
        command,
        n: data.base.rows(),
        dim: data.base.dim,
        nq: data.queries.rows(),
        run,
        load_start,
    };
    args.out.publish(&rep.markdown(), &rep.to_json())
}

/// Build the collection in `db_dir` and measure it (the database is closed on return).
fn measure_in(args: &Args, data: &Data, db_dir: &Path) -> Res<measure::Run> {
    let db = Database::open(db_dir)?;
    let (coll, times) = build(args, data, &db)?;
    measure::run(args, data, &coll, times)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_commands_parse() {
        let parse = cli::parse_words::<Args>;
        let a = parse("b target/datasets/fashion-mnist --queries 500").unwrap();
        assert_eq!((a.queries, a.k, a.c, a.metric), (500, 10, 10, Metric::L2));
        let a = parse("b d --metric cosine --ef 32 --base 3000 --dir /x --keep").unwrap();
        assert_eq!(
            (a.metric, a.ef, a.base),
            (Metric::Cosine, Some(32), Some(3000))
        );
        assert!(parse("b").is_err());
        assert!(parse("b d --k 0").is_err());
        assert!(parse("b d --metric manhattan").is_err());
    }
}
