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
//!   [--json-out PATH]`

use std::error::Error as StdError;
use std::path::PathBuf;
use std::time::Instant;

use ndb_bench::vecs::{read_fvecs, read_ivecs};
use ndb_bench::{machine_description, median};
use ndb_hnsw::{FlatVectors, GraphView, Metric, Params, Scratch, Vectors as _};
use serde_json::json;

type Res<T> = Result<T, Box<dyn StdError>>;

struct Args {
    dir: PathBuf,
    layouts: Vec<Vec<usize>>,
    runs: usize,
    efs: Vec<usize>,
    queries: usize,
    threads: Option<usize>,
    m: usize,
    ef_construction: usize,
    json_out: Option<PathBuf>,
}

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

fn parse_args() -> Res<Args> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        dir: PathBuf::new(),
        layouts: vec![vec![15_000; 4], vec![45_000, 5_000, 5_000, 5_000]],
        runs: 1,
        efs: vec![16, 32, 64, 128],
        queries: 1000,
        threads: None,
        m: 16,
        ef_construction: 200,
        json_out: None,
    };
    let mut dir = None;
    while let Some(arg) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--layouts" => {
                a.layouts = val()?
                    .split(',')
                    .map(|s| parse_layout(s).ok_or(format!("bad layout {s:?}")))
                    .collect::<Result<_, _>>()?
            }
            "--runs" => a.runs = val()?.parse()?,
            "--ef-sweep" => {
                a.efs = val()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--queries" => a.queries = val()?.parse()?,
            "--threads" => a.threads = Some(val()?.parse()?),
            "--m" => a.m = val()?.parse()?,
            "--ef-construction" => a.ef_construction = val()?.parse()?,
            "--json-out" => a.json_out = Some(val()?.into()),
            "-h" | "--help" => {
                println!("usage: ndb-merge-bench DATASET_DIR [--layouts 15000x4,45000+5000x3] [--runs 1] [--ef-sweep 16,32,64,128] [--queries 1000] [--threads N] [--m 16] [--ef-construction 200] [--json-out PATH]");
                std::process::exit(0);
            }
            s if !s.starts_with('-') && dir.is_none() => dir = Some(PathBuf::from(s)),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    a.dir = dir.ok_or("missing DATASET_DIR")?;
    a.runs = a.runs.max(1);
    Ok(a)
}

struct Point {
    ef: usize,
    recall: f64,
    qps: f64,
}

/// Recall@10 against the ground truth and single-thread QPS (one query at a time).
fn sweep(
    words: &[u32],
    v: &FlatVectors<'_>,
    queries: &[&[f32]],
    gt: &[Vec<u32>],
    efs: &[usize],
) -> Res<Vec<Point>> {
    let view = GraphView::parse(words, v.len() as u32)?;
    let kern = ndb_kernels::active();
    let mut scratch = Scratch::new();
    let mut out = Vec::new();
    for &ef in efs {
        let mut hits = 0usize;
        let t = Instant::now();
        for (q, want) in queries.iter().zip(gt) {
            let got = view.search(
                v,
                Metric::NegL2Squared,
                &kern,
                q,
                10,
                ef,
                &|_| true,
                &mut scratch,
            );
            hits += got.iter().filter(|(_, i)| want.contains(i)).count();
        }
        let secs = t.elapsed().as_secs_f64();
        out.push(Point {
            ef,
            recall: hits as f64 / (10 * queries.len()) as f64,
            qps: queries.len() as f64 / secs,
        });
    }
    Ok(out)
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("ndb-merge-bench: error: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Res<()> {
    let args = parse_args()?;
    if let Some(t) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()?;
    }
    let base = read_fvecs(args.dir.join("base.fvecs"), None)?;
    let queries_v = read_fvecs(args.dir.join("query.fvecs"), Some(args.queries))?;
    let gt_v = read_ivecs(args.dir.join("gt.ivecs"), Some(args.queries))?;
    let dim = base.dim;
    let n = base.rows();
    let queries: Vec<&[f32]> = queries_v.iter().collect();
    let gt: Vec<Vec<u32>> = gt_v
        .iter()
        .map(|r| r.iter().take(10).map(|&x| x as u32).collect())
        .collect();
    let params = Params {
        m: args.m,
        ef_construction: args.ef_construction,
        seed: 7,
    };
    let threads = rayon::current_num_threads();
    let mut md = String::new();
    md.push_str(&format!(
        "# Merged-segment graph: rebuild vs start from the largest input's graph (`ndb-merge-bench`)\n\n- Command: `{}`\n- Data: {} ({} × {}, l2), {} queries, recall@10 against the dataset's ground truth\n- Build: m {}, ef_construction {}, {} thread(s); search: one thread, one query at a time\n- Machine: {} × {}; load average at start {}\n\n",
        std::env::args().collect::<Vec<_>>().join(" "),
        args.dir.display(), n, dim, queries.len(), args.m, args.ef_construction, threads,
        machine_description()["nproc"], machine_description()["cpu_model"].as_str().unwrap_or("?"),
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    ));
    md.push_str("| Inputs (rows) | Method | Build s (median) | Inserted rows | Speed-up | ");
    for ef in &args.efs {
        md.push_str(&format!("ef {ef} recall / QPS | "));
    }
    md.push_str("\n|---|---|---:|---:|---:|");
    md.push_str(&"---|".repeat(args.efs.len()));
    md.push('\n');
    let all = FlatVectors::new(&base.data, dim);
    let mut layouts_json = Vec::new();
    for layout in &args.layouts {
        let total: usize = layout.iter().sum();
        if total != n {
            return Err(format!("layout {layout:?} sums to {total}, the base has {n} rows").into());
        }
        // The largest input: the first `layout[0]` rows (inputs are merged oldest first).
        let largest = layout[0];
        eprintln!("[ndb-merge-bench] layout {layout:?}: building the largest input's graph ({largest} rows)");
        let seed_graph = ndb_hnsw::build(
            &FlatVectors::new(&base.data[..largest * dim], dim),
            Metric::NegL2Squared,
            params,
        );
        let seed = GraphView::parse(&seed_graph.words, largest as u32)?;
        let map: Vec<u32> = (0..largest as u32).collect();
        let mut rebuild_times = Vec::new();
        let mut seeded_times = Vec::new();
        let mut rebuilt = None;
        let mut seeded = None;
        for run in 0..args.runs {
            eprintln!("[ndb-merge-bench]   run {}: rebuild", run + 1);
            let t = Instant::now();
            let g = ndb_hnsw::build(&all, Metric::NegL2Squared, params);
            rebuild_times.push(t.elapsed().as_secs_f64());
            rebuilt = Some(g);
            eprintln!("[ndb-merge-bench]   run {}: seeded", run + 1);
            let t = Instant::now();
            let g = ndb_hnsw::build_seeded(&all, Metric::NegL2Squared, params, &seed, &map)?;
            seeded_times.push(t.elapsed().as_secs_f64());
            seeded = Some(g);
        }
        let (rebuilt, seeded) = (rebuilt.ok_or("no run")?, seeded.ok_or("no run")?);
        let r_points = sweep(&rebuilt.words, &all, &queries, &gt, &args.efs)?;
        let s_points = sweep(&seeded.words, &all, &queries, &gt, &args.efs)?;
        let (rt, st) = (median(&rebuild_times), median(&seeded_times));
        let inputs = layout
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(" + ");
        for (name, secs, inserted, speedup, points) in [
            ("rebuild", rt, n, 1.0, &r_points),
            (
                "start from largest graph",
                st,
                n - largest,
                rt / st,
                &s_points,
            ),
        ] {
            md.push_str(&format!(
                "| {inputs} | {name} | {secs:.1} | {inserted} | {speedup:.2}× | "
            ));
            for p in points {
                md.push_str(&format!("{:.3} / {:.0} | ", p.recall, p.qps));
            }
            md.push('\n');
        }
        let pts = |v: &[Point]| {
            v.iter()
                .map(|p| json!({"ef": p.ef, "recall_at_10": p.recall, "qps": p.qps}))
                .collect::<Vec<_>>()
        };
        layouts_json.push(json!({
            "inputs": layout,
            "rebuild": {"build_s": rebuild_times, "median_s": rt, "sweep": pts(&r_points)},
            "seeded": {"build_s": seeded_times, "median_s": st, "sweep": pts(&s_points)},
            "speedup": rt / st,
        }));
    }
    print!("{md}");
    let report = json!({
        "bench": "ndb-merge-bench",
        "dataset": args.dir,
        "m": args.m, "ef_construction": args.ef_construction, "threads": threads,
        "machine": machine_description(),
        "layouts": layouts_json,
    });
    let text = serde_json::to_string_pretty(&report)?;
    println!("\n```json\n{text}\n```");
    if let Some(p) = &args.json_out {
        ndb_bench::write_file(p, text.as_bytes())?;
    }
    Ok(())
}
