//! `ndb-merge-bench`: the graph of a merged segment, built from scratch or started from the
//! largest input's graph (issue 7: "rebuild, or insert the smaller segments' vectors into the
//! largest segment's graph — measure which is faster at equal recall").
//!
//! On a dataset directory (`base.fvecs`, `query.fvecs`, `gt.ivecs` over the whole base, as
//! `scripts/fetch-dataset.sh` writes them; l2), for each layout of input segments (row counts
//! that sum to the base size, the largest first): build the largest input's graph, then the
//! merged graph (a) from scratch with `ndb_hnsw::build` and (b) with `ndb_hnsw::build_seeded`
//! from the largest input's graph. Both are the exact calls a merge makes; the segment file
//! write around them is the same either way. Reported: build wall time (median of `--runs`),
//! recall@10 and single-thread QPS at each ef of `--ef-sweep`, both graphs measured in the same
//! run, side by side.
//!
//! Usage: `ndb-merge-bench DATASET_DIR [--layouts 15000x4,45000+5000x3] [--runs 1]
//!   [--ef-sweep 16,32,64,128] [--queries 1000] [--threads N] [--m 16] [--ef-construction 200]
//!   [--json-out PATH] [--md-out PATH]`

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use ndb_bench::cli::{self, List, ReportFiles};
use ndb_bench::report::{self, load_average, Bench, Machine, Table};
use ndb_bench::vecs::{read_fvecs, read_ivecs, Vectors};
use ndb_bench::{median, Res};
use ndb_hnsw::{FlatVectors, GraphView, Metric, Params, Scratch, Vectors as _};
use serde_json::{json, Value};

const BENCH: Bench = Bench::new("ndb-merge-bench");

/// Neighbours per query (recall@10 against the dataset's ground truth).
const K: usize = 10;
/// The seed of every graph build.
const BUILD_SEED: u64 = 7;

/// "15000x4" → [15000; 4]; "45000+5000x3" → [45000, 5000, 5000, 5000].
fn parse_layout(s: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.split('+') {
        let (rows, times): (usize, usize) = match part.split_once('x') {
            Some((r, t)) => (r.parse().ok()?, t.parse().ok()?),
            None => (part.parse().ok()?, 1),
        };
        out.extend(std::iter::repeat_n(rows, times));
    }
    (!out.is_empty()).then_some(out)
}

/// Layouts separated by commas.
fn layouts(s: &str) -> Result<List<Vec<usize>>, String> {
    s.split(',')
        .map(|l| parse_layout(l).ok_or(format!("bad layout {l:?}")))
        .collect()
}

/// The graph of a merged segment: rebuilt, or started from the largest input's graph.
#[derive(Clone, Debug, Parser)]
#[command(name = "ndb-merge-bench", args_override_self = true)]
struct Args {
    /// Directory with base.fvecs, query.fvecs and gt.ivecs (l2).
    #[arg(value_name = "DATASET_DIR")]
    dir: PathBuf,
    /// Input segment layouts: row counts, largest first, `ROWSxCOUNT` for repeats, `+`
    /// between inputs, `,` between layouts; each must sum to the base size.
    #[arg(long, value_name = "LIST", default_value = "15000x4,45000+5000x3", value_parser = layouts)]
    layouts: List<Vec<usize>>,
    /// Timed builds per method, the median reported.
    #[arg(long, value_name = "R", default_value_t = 1)]
    runs: usize,
    /// The ef values searched.
    #[arg(long = "ef-sweep", value_name = "LIST", default_value = "16,32,64,128", value_parser = cli::list::<usize>)]
    efs: List<usize>,
    /// Queries measured.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    queries: usize,
    /// Build threads (default: all logical CPUs).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// HNSW neighbours per node.
    #[arg(long, value_name = "M", default_value_t = 16)]
    m: usize,
    /// HNSW build candidate list.
    #[arg(long, value_name = "N", default_value_t = 200)]
    ef_construction: usize,
    #[command(flatten)]
    out: ReportFiles,
}

struct Point {
    ef: usize,
    recall: f64,
    qps: f64,
}

/// The queries and their true top [`K`].
struct Queries {
    rows: Vectors<f32>,
    gt: Vec<Vec<u32>>,
}

/// Recall@10 against the ground truth and single-thread QPS (one query at a time).
fn sweep(words: &[u32], v: &FlatVectors<'_>, q: &Queries, efs: &[usize]) -> Res<Vec<Point>> {
    let view = GraphView::parse(words, v.len() as u32)?;
    let kern = ndb_kernels::active();
    let mut scratch = Scratch::new();
    let mut out = Vec::new();
    for &ef in efs {
        let mut hits = 0usize;
        let t = Instant::now();
        for (query, want) in q.rows.iter().zip(&q.gt) {
            let got = view.search(
                v,
                Metric::NegL2Squared,
                &kern,
                query,
                K,
                ef,
                &|_| true,
                &mut scratch,
            );
            hits += got.iter().filter(|(_, i)| want.contains(i)).count();
        }
        let secs = t.elapsed().as_secs_f64();
        out.push(Point {
            ef,
            recall: hits as f64 / (K * q.rows.rows()) as f64,
            qps: q.rows.rows() as f64 / secs,
        });
    }
    Ok(out)
}

/// One method's builds and the sweep of its last graph.
struct Method {
    build_s: Vec<f64>,
    points: Vec<Point>,
}

impl Method {
    fn median_s(&self) -> f64 {
        median(&self.build_s)
    }

    fn to_json(&self) -> Value {
        let sweep: Vec<Value> = self
            .points
            .iter()
            .map(|p| json!({"ef": p.ef, "recall_at_10": p.recall, "qps": p.qps}))
            .collect();
        json!({"build_s": self.build_s, "median_s": self.median_s(), "sweep": sweep})
    }
}

/// Both methods on one layout: `--runs` timed builds each, then the sweep of each.
fn measure_layout(
    args: &Args,
    base: &Vectors<f32>,
    q: &Queries,
    layout: &[usize],
) -> Res<(Method, Method)> {
    let (dim, n) = (base.dim, base.rows());
    let total: usize = layout.iter().sum();
    if total != n {
        return Err(format!("layout {layout:?} sums to {total}, the base has {n} rows").into());
    }
    let params = Params {
        m: args.m,
        ef_construction: args.ef_construction,
        seed: BUILD_SEED,
    };
    let all = FlatVectors::new(&base.data, dim);
    // The largest input: the first `layout[0]` rows (inputs are merged oldest first).
    let largest = layout[0];
    BENCH.progress(format!(
        "layout {layout:?}: building the largest input's graph ({largest} rows)"
    ));
    let seed_graph = ndb_hnsw::build(
        &FlatVectors::new(&base.data[..largest * dim], dim),
        Metric::NegL2Squared,
        params,
    );
    let seed = GraphView::parse(&seed_graph.words, largest as u32)?;
    let map: Vec<u32> = (0..largest as u32).collect();
    let (mut rebuild_s, mut seeded_s) = (Vec::new(), Vec::new());
    let (mut rebuilt, mut seeded) = (None, None);
    for run in 0..args.runs.max(1) {
        BENCH.progress(format!("  run {}: rebuild", run + 1));
        let t = Instant::now();
        rebuilt = Some(ndb_hnsw::build(&all, Metric::NegL2Squared, params));
        rebuild_s.push(t.elapsed().as_secs_f64());
        BENCH.progress(format!("  run {}: seeded", run + 1));
        let t = Instant::now();
        seeded = Some(ndb_hnsw::build_seeded(
            &all,
            Metric::NegL2Squared,
            params,
            &seed,
            &map,
        )?);
        seeded_s.push(t.elapsed().as_secs_f64());
    }
    let (rebuilt, seeded) = (rebuilt.ok_or("no run")?, seeded.ok_or("no run")?);
    let rebuild = Method {
        build_s: rebuild_s,
        points: sweep(&rebuilt.words, &all, q, &args.efs)?,
    };
    let seeded = Method {
        build_s: seeded_s,
        points: sweep(&seeded.words, &all, q, &args.efs)?,
    };
    Ok((rebuild, seeded))
}

fn main() {
    let args = Args::parse();
    BENCH.run(|| real_main(&args));
}

/// The base vectors, and the queries with their true top [`K`].
fn load(args: &Args) -> Res<(Vectors<f32>, Queries)> {
    let base = read_fvecs(args.dir.join("base.fvecs"), None)?;
    let rows = read_fvecs(args.dir.join("query.fvecs"), Some(args.queries))?;
    let gt = read_ivecs(args.dir.join("gt.ivecs"), Some(args.queries))?
        .iter()
        .map(|r| r.iter().take(K).map(|&x| x as u32).collect())
        .collect();
    Ok((base, Queries { rows, gt }))
}

/// The table's rows of one layout: rebuilt, then started from the largest input's graph.
fn layout_rows(t: &mut Table, layout: &[usize], n: usize, rebuild: &Method, seeded: &Method) {
    let (rt, st) = (rebuild.median_s(), seeded.median_s());
    let inputs = layout
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" + ");
    let largest = layout.first().copied().unwrap_or(0);
    for (name, secs, inserted, speedup, m) in [
        ("rebuild", rt, n, 1.0, rebuild),
        ("start from largest graph", st, n - largest, rt / st, seeded),
    ] {
        let head = [
            inputs.clone(),
            name.to_string(),
            format!("{secs:.1}"),
            inserted.to_string(),
            format!("{speedup:.2}×"),
        ];
        let points = m
            .points
            .iter()
            .map(|p| format!("{:.3} / {:.0}", p.recall, p.qps));
        t.row(head.into_iter().chain(points));
    }
}

fn real_main(args: &Args) -> Res<()> {
    if let Some(t) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()?;
    }
    let (base, q) = load(args)?;
    let (n, threads, machine) = (
        base.rows(),
        rayon::current_num_threads(),
        Machine::describe(),
    );
    let mut md = format!(
        "# Merged-segment graph: rebuild vs start from the largest input's graph (`ndb-merge-bench`)\n\n\
         - Command: `{}`\n\
         - Data: {} ({} × {}, l2), {} queries, recall@10 against the dataset's ground truth\n\
         - Build: m {}, ef_construction {}, {threads} thread(s); search: one thread, one query at a time\n\
         - Machine: {}; load average at start {}\n\n",
        report::command_line(),
        args.dir.display(),
        n,
        base.dim,
        q.rows.rows(),
        args.m,
        args.ef_construction,
        machine.cpus(),
        load_average()
    );
    let mut t = Table::new()
        .lefts(["Inputs (rows)", "Method"])
        .rights(["Build s (median)", "Inserted rows", "Speed-up"])
        .lefts(args.efs.iter().map(|ef| format!("ef {ef} recall / QPS")));
    let mut layouts_json = Vec::new();
    for layout in &args.layouts {
        let (rebuild, seeded) = measure_layout(args, &base, &q, layout)?;
        layout_rows(&mut t, layout, n, &rebuild, &seeded);
        layouts_json.push(json!({
            "inputs": layout,
            "rebuild": rebuild.to_json(),
            "seeded": seeded.to_json(),
            "speedup": rebuild.median_s() / seeded.median_s(),
        }));
    }
    md.push_str(&t.to_string());
    let report = json!({
        "bench": "ndb-merge-bench",
        "dataset": args.dir,
        "m": args.m, "ef_construction": args.ef_construction, "threads": threads,
        "machine": machine.to_json(),
        "layouts": layouts_json,
    });
    args.out.publish(&md, &report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_and_documented_commands_parse() {
        assert_eq!(parse_layout("15000x4"), Some(vec![15_000; 4]));
        assert_eq!(
            parse_layout("45000+5000x3"),
            Some(vec![45_000, 5_000, 5_000, 5_000])
        );
        assert_eq!(parse_layout("x"), None);
        let a: Args = cli::parse_words("b target/datasets/fashion-mnist --runs 3").unwrap();
        assert_eq!((a.runs, a.efs.as_slice()), (3, &[16, 32, 64, 128][..]));
        assert_eq!(
            a.layouts,
            vec![vec![15_000; 4], vec![45_000, 5_000, 5_000, 5_000]]
        );
        assert!(cli::parse_words::<Args>("b d --layouts 1x").is_err());
    }
}
