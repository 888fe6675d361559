//! `ndb-quant-bench`: quantized codes against `f32` (issue 17), through the public API, one
//! thread, one query at a time, side by side in one run.
//!
//! Data: a dataset directory (`base.fvecs`, `query.fvecs`, `gt.ivecs`, `gt_dist.fvecs`, as
//! `scripts/fetch-dataset.sh` writes them) or `--synthetic ROWS:DIM[:RANK]` — a seeded clustered set
//! (see [`synthetic`]) whose exact ground truth is computed here and cached beside the database.
//!
//! The database (`--db`) holds one collection per quantization, each one segment with its HNSW
//! graph (built once, reused by later runs): `int8` and `binary`. `none` is the `int8`
//! collection searched with `Search::quantized(false)`: the same graph walked on the `f32`
//! vectors, so the comparison is the codes and nothing else. Reported per kind, `ef` and
//! oversampling: recall@10 against the ground truth and QPS; per kind, the bytes per vector that
//! searches read at random (`stats().resident_bytes_per_vector`). With `--exact`: `f32` exact
//! search (`approximate(false)`) against scans on the codes then rescoring (the graphs are
//! deleted first: a destructive last phase).
//!
//! Usage: `ndb-quant-bench (--data DIR | --synthetic 200000:768) --db DIR [--kinds none,int8,binary]
//!   [--ef 16,32,64,128] [--oversampling 1,2,4] [--queries 500] [--exact] [--build-only]
//!   [--ef-construction 200] [--no-base]
//!   [--json-out PATH]`. `scripts/bench/quant-memcap.sh` runs the search phases under a memory
//! cgroup.

mod synthetic;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use ndb::{CollectionConfig, Database, Document, IndexConfig, Quantization, Search};
use ndb_bench::measure::{exact_ground_truth, Metric, RecallJudge};
use ndb_bench::vecs::{read_fvecs, read_ivecs, Vectors};
use ndb_bench::{median, Res};
use serde_json::{json, Value};

/// Neighbours per query.
const K: usize = 10;

#[derive(Parser, Debug)]
#[command(
    name = "ndb-quant-bench",
    about = "Quantized codes against f32, side by side"
)]
struct Args {
    /// Dataset directory (base.fvecs, query.fvecs, gt.ivecs, gt_dist.fvecs).
    #[arg(long, conflicts_with = "synthetic")]
    data: Option<PathBuf>,
    /// A seeded clustered set ROWS:DIM (Euclidean, isotropic noise), e.g. 1000000:768, or
    /// ROWS:DIM:RANK (noise along RANK directions per cluster, like text embeddings).
    #[arg(long)]
    synthetic: Option<String>,
    /// Metric of --data [default: read from INFO.md: l2 or cosine].
    #[arg(long)]
    metric: Option<String>,
    /// Database directory (collections are built there once and reused).
    #[arg(long)]
    db: PathBuf,
    /// Kinds to measure: none, int8, binary.
    #[arg(long, default_value = "none,int8,binary", value_delimiter = ',')]
    kinds: Vec<String>,
    /// HNSW beam widths.
    #[arg(long, default_value = "16,32,64,128", value_delimiter = ',')]
    ef: Vec<usize>,
    /// Candidates per result rescored with f32 (quantized kinds).
    #[arg(long, default_value = "1,2,4", value_delimiter = ',')]
    oversampling: Vec<f32>,
    /// Queries measured.
    #[arg(long, default_value_t = 500)]
    queries: usize,
    /// Timed passes per point (the median QPS is reported).
    #[arg(long, default_value_t = 3)]
    passes: usize,
    /// Also measure exact search: f32 against scans on codes (deletes the graphs: last phase).
    #[arg(long)]
    exact: bool,
    /// HNSW build beam of the collections built by this run.
    #[arg(long, default_value_t = 200)]
    ef_construction: usize,
    /// Build the collections and stop.
    #[arg(long)]
    build_only: bool,
    /// Do not load the base vectors (the collections must exist): recall counts the ground
    /// truth's ids only, not ties. For runs under a memory cap, where the base would count.
    #[arg(long)]
    no_base: bool,
    /// Write the results as JSON here.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

/// Base vectors, queries and ground truth.
struct Data {
    metric: Metric,
    /// Base rows (`base` is empty with `--no-base`).
    rows: usize,
    base: Vectors<f32>,
    queries: Vectors<f32>,
    gt: Vectors<i32>,
    gt_dist: Vectors<f32>,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(a: Args) -> Res<()> {
    let data = load(&a)?;
    std::fs::create_dir_all(&a.db)?;
    let db = Database::open(&a.db)?;
    let mut out = json!({"rows": data.rows, "dim": data.queries.dim,
        "metric": data.metric.name(), "queries": data.queries.rows(), "points": []});
    for kind in ["int8", "binary"].into_iter().filter(|_| !a.no_base) {
        if a.kinds
            .iter()
            .any(|k| k == kind || (kind == "int8" && k == "none"))
        {
            let built = build(&db, kind, &data, a.ef_construction)?;
            out[format!("build_seconds_{kind}")] = json!(built);
        }
    }
    if a.build_only {
        return finish(&a, &out);
    }
    let judge = RecallJudge {
        metric: data.metric,
        k: K,
        base: &data.base,
        queries: &data.queries,
        gt: &data.gt,
        gt_dist: &data.gt_dist,
    };
    println!("| kind | ef | oversampling | recall@10 | QPS | bytes/vector searched |");
    println!("|---|---|---|---|---|---|");
    for kind in &a.kinds {
        let coll = db.get_collection(if kind == "binary" { "binary" } else { "int8" })?;
        let stats = coll.stats()?;
        let bytes = if kind == "none" {
            (stats.graph_bytes + stats.vector_bytes) as f64 / data.rows as f64
        } else {
            stats.resident_bytes_per_vector
        };
        let overs: Vec<f32> = if kind == "none" {
            vec![1.0]
        } else {
            a.oversampling.clone()
        };
        for &ef in &a.ef {
            for &o in &overs {
                let search = |q: &[f32]| -> Res<Vec<usize>> {
                    let s = Search::new(q).top_k(K).ef(ef).threads(1);
                    let s = if kind == "none" {
                        s.quantized(false)
                    } else {
                        s.oversampling(o)
                    };
                    rows_of(&coll.search(s)?)
                };
                let (recall, qps) = sweep(&data, &judge, a.queries, a.passes, search)?;
                println!("| {kind} | {ef} | {o} | {recall:.4} | {qps:.0} | {bytes:.0} |");
                push_point(
                    &mut out,
                    json!({"kind": kind, "ef": ef, "oversampling": o,
                    "recall": recall, "qps": qps, "bytes_per_vector": bytes}),
                );
            }
        }
    }
    if a.exact {
        exact_phase(&a, &db, &data, &judge, &mut out)?;
    }
    finish(&a, &out)
}

/// Exact search on f32 against scans on codes then rescoring (graphs deleted first).
fn exact_phase(
    a: &Args,
    db: &Database,
    data: &Data,
    judge: &RecallJudge<'_>,
    out: &mut Value,
) -> Res<()> {
    let queries = a.queries.min(100);
    println!("\n| exact search | oversampling | recall@10 | QPS |");
    println!("|---|---|---|---|");
    let int8 = db.get_collection("int8")?;
    let f32_exact =
        |q: &[f32]| rows_of(&int8.search(Search::new(q).top_k(K).approximate(false).threads(1))?);
    let (recall, qps) = sweep(data, judge, queries, a.passes, f32_exact)?;
    println!("| f32 exact | - | {recall:.4} | {qps:.1} |");
    push_point(
        out,
        json!({"kind": "exact-f32", "recall": recall, "qps": qps}),
    );
    for kind in ["int8", "binary"]
        .into_iter()
        .filter(|k| a.kinds.iter().any(|x| x == k))
    {
        let coll = db.get_collection(kind)?;
        coll.delete_index()?;
        for &o in &a.oversampling {
            let scan = |q: &[f32]| {
                rows_of(&coll.search(Search::new(q).top_k(K).oversampling(o).threads(1))?)
            };
            let (recall, qps) = sweep(data, judge, queries, a.passes, scan)?;
            println!("| {kind} codes scan + rescoring | {o} | {recall:.4} | {qps:.1} |");
            push_point(
                out,
                json!({"kind": format!("exact-{kind}"), "oversampling": o, "recall": recall, "qps": qps}),
            );
        }
    }
    Ok(())
}

fn push_point(out: &mut Value, point: Value) {
    if let Some(points) = out["points"].as_array_mut() {
        points.push(point);
    }
}

fn finish(a: &Args, out: &Value) -> Res<()> {
    if let Some(path) = &a.json_out {
        std::fs::write(path, serde_json::to_string_pretty(out)?)?;
    }
    Ok(())
}

/// Recall@10 and the median QPS over `passes` timed passes (after one warm-up pass) of the
/// first `queries` queries, one at a time.
fn sweep(
    data: &Data,
    judge: &RecallJudge<'_>,
    queries: usize,
    passes: usize,
    search: impl Fn(&[f32]) -> Res<Vec<usize>>,
) -> Res<(f64, f64)> {
    let n = queries.min(data.queries.rows());
    let mut results = Vec::with_capacity(n);
    for q in 0..n {
        results.push(search(data.queries.row(q))?);
    }
    let mut qps = Vec::with_capacity(passes);
    for _ in 0..passes.max(1) {
        let started = Instant::now();
        for q in 0..n {
            std::hint::black_box(search(data.queries.row(q))?);
        }
        qps.push(n as f64 / started.elapsed().as_secs_f64());
    }
    let hits: usize = results
        .iter()
        .enumerate()
        .map(|(q, r)| judge.hits(q, r))
        .sum();
    Ok((hits as f64 / (n * K) as f64, median(&qps)))
}

/// The base row numbers of the hits (ids are row numbers).
fn rows_of(hits: &[ndb::Match]) -> Res<Vec<usize>> {
    hits.iter()
        .map(|m| {
            m.id.parse::<usize>()
                .map_err(|e| format!("id {:?}: {e}", m.id).into())
        })
        .collect()
}

/// Build collection `kind` (one segment, graph and codes) unless it exists. Returns the
/// seconds from the first insert to the end of `flush()` (0 when it existed).
fn build(db: &Database, kind: &str, data: &Data, ef_construction: usize) -> Res<f64> {
    if db.collection_names()?.iter().any(|n| n == kind) {
        return Ok(0.0);
    }
    let q = if kind == "binary" {
        Quantization::Binary
    } else {
        Quantization::Int8
    };
    let bytes = data.base.rows() * (data.base.dim * 4 + 64);
    let config = CollectionConfig::new(data.base.dim)
        .with_distance(data.metric.ndb_distance())
        .with_flush_threshold_bytes(bytes.next_power_of_two())
        .with_index(
            IndexConfig::default()
                .with_min_rows(1_000)
                .with_ef_construction(ef_construction),
        )
        .with_quantization(q);
    let coll = db.create_collection(kind, config)?;
    let started = Instant::now();
    let rows = data.base.rows();
    for start in (0..rows).step_by(10_000) {
        let docs: Vec<Document> = (start..rows.min(start + 10_000))
            .map(|i| Document::new(i.to_string(), data.base.row(i).to_vec()))
            .collect();
        coll.insert_batch(docs)?;
    }
    coll.flush()?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!("built {kind}: {rows} rows in {secs:.1} s");
    Ok(secs)
}

fn load(a: &Args) -> Res<Data> {
    if let Some(spec) = &a.synthetic {
        let parts: Vec<usize> = spec
            .split(':')
            .map(|p| p.parse().ok().filter(|&n| n > 0))
            .collect::<Option<_>>()
            .filter(|p: &Vec<usize>| (2..=3).contains(&p.len()))
            .ok_or("--synthetic takes ROWS:DIM or ROWS:DIM:RANK (positive numbers)")?;
        let rank = parts.get(2).copied();
        return synthetic_data(parts[0], parts[1], rank, a.queries, &a.db, !a.no_base);
    }
    let dir = a
        .data
        .as_ref()
        .ok_or("give --data DIR or --synthetic ROWS:DIM[:RANK]")?;
    let metric = match &a.metric {
        Some(m) => Metric::parse(m).ok_or("--metric: l2, cosine or dot")?,
        None => Metric::from_info(dir).unwrap_or(Metric::L2),
    };
    let base_path = dir.join("base.fvecs");
    let rows = ndb_bench::vecs::VecsReader::<f32>::open(&base_path)?.rows();
    Ok(Data {
        metric,
        rows,
        base: match a.no_base {
            true => Vectors::new(1, Vec::new()),
            false => read_fvecs(&base_path, None)?,
        },
        queries: read_fvecs(dir.join("query.fvecs"), None)?,
        gt: read_ivecs(dir.join("gt.ivecs"), None)?,
        gt_dist: read_fvecs(dir.join("gt_dist.fvecs"), None)?,
    })
}

/// The synthetic set and its ground truth (computed once, cached beside `db_dir`).
fn synthetic_data(
    rows: usize,
    dim: usize,
    rank: Option<usize>,
    queries: usize,
    db_dir: &Path,
    with_base: bool,
) -> Res<Data> {
    let set = synthetic::clustered(rows, dim, rank, queries.max(1), with_base);
    // Beside the database directory, not in it: nDB opens only its own directories.
    let shape = rank.map_or(String::new(), |r| format!("r{r}"));
    let cache = db_dir.with_extension(format!("gt-{rows}x{dim}{shape}-{}.bin", set.queries.rows()));
    let (gt, gt_dist) = match std::fs::read(&cache) {
        Ok(bytes) => synthetic::decode_gt(&bytes, K)?,
        Err(_) if !with_base => return Err("--no-base needs the cached ground truth".into()),
        Err(_) => {
            let started = Instant::now();
            let (gt, d) = exact_ground_truth(Metric::L2, &set.base, &set.queries, K);
            eprintln!("ground truth in {:.1} s", started.elapsed().as_secs_f64());
            std::fs::write(&cache, synthetic::encode_gt(&gt, &d))?;
            (gt, d)
        }
    };
    Ok(Data {
        metric: Metric::L2,
        rows,
        base: set.base,
        queries: set.queries,
        gt,
        gt_dist,
    })
}
