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
//! - the same filtered searches after dropping the payload indexes (the planner then estimates
//!   selectivity by sampling and checks payloads per visited row).
//!
//! Every query runs every configuration in turn (interleaved), so load changes on the machine
//! touch all configurations alike.
//!
//! Usage: `ndb-filter-bench DATASET_DIR [--queries N] [--k 10] [--c 10] [--ef EF] [--base N]
//!   [--metric l2] [--dir DIR] [--json-out PATH] [--md-out PATH] [--keep]`
//!
//! Output: a markdown report on stdout followed by the JSON figures (also written to
//! `--json-out` / `--md-out` when given). Progress goes to stderr.

#![allow(clippy::needless_range_loop)]

use std::collections::HashSet;
use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndb::{CollectionConfig, Database, Document, Filter, IndexConfig, PayloadIndexKind, Search};
use ndb_bench::measure::{tie_tolerance, Latency, Metric};
use ndb_bench::vecs::{read_fvecs, Vectors};
use ndb_bench::{machine_description, ms, read_mem};
use serde_json::{json, Value};

type Res<T> = Result<T, Box<dyn StdError>>;

const COLL: &str = "filter";
const BATCH: usize = 1_000;
const WARMUP_QUERIES: usize = 50;

const USAGE: &str = "\
ndb-filter-bench: filtered-search figures for nDB (issue 6)

  DATASET_DIR       directory with base.fvecs and query.fvecs (e.g. target/datasets/fashion-mnist)
  --queries N       queries measured (default 1000)
  --k K             results per query (default 10)
  --c C             post-filter baseline over-fetch factor: top_k(K*C) then filter (default 10)
  --ef EF           HNSW search breadth (default: the collection's, 64)
  --base N          use only the first N base rows (default all)
  --metric M        l2 (default) | cosine | dot
  --dir DIR         scratch directory (default <workspace>/target/bench-tmp)
  --json-out PATH   also write the JSON figures here
  --md-out PATH     also write the markdown report here
  --keep            keep the database directory (default: removed)
";

#[derive(Debug)]
struct Args {
    dataset: PathBuf,
    queries: usize,
    k: usize,
    c: usize,
    ef: Option<usize>,
    base: Option<usize>,
    metric: Metric,
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
        dataset: PathBuf::new(),
        queries: 1000,
        k: 10,
        c: 10,
        ef: None,
        base: None,
        metric: Metric::L2,
        dir: default_dir(),
        json_out: None,
        md_out: None,
        keep: false,
    };
    let mut dataset = None;
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
            "--queries" => a.queries = val("--queries")?.parse()?,
            "--k" => a.k = val("--k")?.parse()?,
            "--c" => a.c = val("--c")?.parse()?,
            "--ef" => a.ef = Some(val("--ef")?.parse()?),
            "--base" => a.base = Some(val("--base")?.parse()?),
            "--metric" => {
                let m = val("--metric")?;
                a.metric = Metric::parse(&m).ok_or_else(|| format!("unknown metric {m:?}"))?;
            }
            "--dir" => a.dir = PathBuf::from(val("--dir")?),
            "--json-out" => a.json_out = Some(PathBuf::from(val("--json-out")?)),
            "--md-out" => a.md_out = Some(PathBuf::from(val("--md-out")?)),
            "--keep" => a.keep = true,
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n\n{USAGE}").into()),
            s => {
                if dataset.is_some() {
                    return Err(format!("unexpected argument {s}").into());
                }
                dataset = Some(PathBuf::from(s));
            }
        }
    }
    a.dataset = dataset.ok_or_else(|| format!("DATASET_DIR is required\n\n{USAGE}"))?;
    if a.k == 0 || a.c == 0 || a.queries == 0 {
        return Err("--k, --c and --queries must be at least 1".into());
    }
    Ok(a)
}

fn progress(msg: impl AsRef<str>) {
    eprintln!("[ndb-filter-bench] {}", msg.as_ref());
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// A filter of the benchmark: rows with `row % modulus == value` in field `field`.
#[derive(Clone, Copy, Debug)]
struct Case {
    label: &'static str,
    field: &'static str,
    modulus: usize,
    value: usize,
}

impl Case {
    fn filter(&self) -> Filter {
        Filter::eq(self.field, self.value as i64)
    }
    fn matches(&self, row: usize) -> bool {
        row % self.modulus == self.value
    }
    fn expr(&self) -> String {
        format!("{} == {}", self.field, self.value)
    }
}

const CASES: [Case; 3] = [
    Case {
        label: "1%",
        field: "category",
        modulus: 100,
        value: 7,
    },
    Case {
        label: "10%",
        field: "bucket",
        modulus: 10,
        value: 3,
    },
    Case {
        label: "50%",
        field: "half",
        modulus: 2,
        value: 1,
    },
];

/// Exact answer of one query under one filter.
struct Truth {
    rows: HashSet<usize>,
    /// k-th smallest exact distance (f64, measure::Metric definition); +inf when fewer than k match.
    kth: f64,
    /// How many results the exact search returned (min(k, matches)).
    len: usize,
}

/// Accumulated figures of one (configuration, filter) cell.
#[derive(Default)]
struct Cell {
    lat_ms: Vec<f64>,
    hits: usize,
    possible: usize,
    results: usize,
    /// Queries answered with fewer results than the exact search returned.
    short: usize,
    /// Results that do not satisfy the filter (must be 0).
    violations: usize,
}

impl Cell {
    fn recall(&self) -> f64 {
        if self.possible == 0 {
            f64::NAN
        } else {
            self.hits as f64 / self.possible as f64
        }
    }
    fn results_per_query(&self, queries: usize) -> f64 {
        self.results as f64 / queries as f64
    }
    fn json(&self, queries: usize) -> Value {
        let l = Latency::of(&self.lat_ms);
        json!({
            "recall": self.recall(),
            "results_per_query": self.results_per_query(queries),
            "short_queries": self.short,
            "violations": self.violations,
            "latency_ms": {"p50": l.p50_ms, "p95": l.p95_ms, "p99": l.p99_ms, "mean": l.mean_ms, "max": l.max_ms, "count": l.count},
        })
    }
}

fn row_of(id: &str) -> Res<usize> {
    id.parse::<usize>()
        .map_err(|_| format!("unexpected document id {id:?}").into())
}

struct Ctx<'a> {
    metric: Metric,
    base: &'a Vectors<f32>,
    k: usize,
}

impl Ctx<'_> {
    /// Score `rows` (a result list, best first) against `truth`; `case` None = unfiltered.
    fn judge(
        &self,
        q: &[f32],
        truth: &Truth,
        case: Option<&Case>,
        rows: &[usize],
        cell: &mut Cell,
    ) {
        let mut seen: Vec<usize> = Vec::with_capacity(self.k);
        let mut hits = 0;
        for &r in rows.iter().take(self.k) {
            if seen.contains(&r) {
                continue;
            }
            seen.push(r);
            if case.is_some_and(|c| !c.matches(r)) {
                cell.violations += 1;
                continue;
            }
            if truth.rows.contains(&r) {
                hits += 1;
            } else if truth.kth.is_finite() {
                let d = self.metric.distance(q, self.base.row(r));
                if d <= truth.kth + tie_tolerance(truth.kth) {
                    hits += 1;
                }
            }
        }
        let returned = rows.len().min(self.k);
        cell.hits += hits.min(truth.len);
        cell.possible += truth.len;
        cell.results += returned;
        if returned < truth.len {
            cell.short += 1;
        }
    }
}

fn timed_search(coll: &ndb::Collection, s: Search<'_>) -> Res<(f64, Vec<usize>)> {
    let t = Instant::now();
    let hits = coll.search(s)?;
    let el = ms(t.elapsed());
    let rows = hits
        .iter()
        .map(|m| row_of(&m.id))
        .collect::<Res<Vec<usize>>>()?;
    Ok((el, rows))
}

fn approx<'q>(q: &'q [f32], k: usize, ef: Option<usize>) -> Search<'q> {
    let s = Search::new(q).top_k(k).approximate(true).threads(1);
    match ef {
        Some(ef) => s.ef(ef),
        None => s,
    }
}

fn fmt_ms(x: f64) -> String {
    if x.is_nan() {
        "-".into()
    } else if x < 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.2}")
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "**no**"
    }
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("ndb-filter-bench: error: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Res<()> {
    let args = parse_args()?;
    let load_start = loadavg();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    progress(format!("load average at start: {load_start}"));

    // ---- data -------------------------------------------------------------------------------
    let t = Instant::now();
    let base = read_fvecs(args.dataset.join("base.fvecs"), args.base)?;
    let queries = read_fvecs(args.dataset.join("query.fvecs"), Some(args.queries))?;
    if base.dim != queries.dim {
        return Err(format!("base dim {} != query dim {}", base.dim, queries.dim).into());
    }
    let n = base.rows();
    let nq = queries.rows();
    let dim = base.dim;
    progress(format!(
        "loaded {n} base rows and {nq} queries of dim {dim} in {:.1} s",
        t.elapsed().as_secs_f64()
    ));
    let k = args.k;
    let post_k = k * args.c;
    if post_k > ndb::TOP_K_MAX {
        return Err(format!("k * c = {post_k} exceeds {}", ndb::TOP_K_MAX).into());
    }

    // ---- build --------------------------------------------------------------------------------
    std::fs::create_dir_all(&args.dir)?;
    let db_dir = args
        .dir
        .join(format!("filter-bench-{}", std::process::id()));
    if db_dir.exists() {
        std::fs::remove_dir_all(&db_dir)?;
    }
    let db = Database::open(&db_dir)?;
    let data_bytes = n * (dim * 4 + 64);
    let threshold = (2 * data_bytes).max(64 << 20);
    let index = IndexConfig::default();
    let config = CollectionConfig::new(dim)
        .with_distance(args.metric.ndb_distance())
        .with_flush_threshold_bytes(threshold)
        .with_index(index);
    let coll = db.create_collection(COLL, config)?;
    let t = Instant::now();
    for case in &CASES {
        coll.create_payload_index(case.field, PayloadIndexKind::Integer)?;
    }
    let index_create_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for start in (0..n).step_by(BATCH) {
        let end = (start + BATCH).min(n);
        let docs: Vec<Document> = (start..end)
            .map(|i| {
                Document::new(i.to_string(), base.row(i).to_vec()).with_payload(json!({
                    "category": i % 100,
                    "bucket": i % 10,
                    "half": i % 2,
                }))
            })
            .collect();
        coll.insert_batch(docs)?;
    }
    let insert_s = t.elapsed().as_secs_f64();
    progress(format!(
        "inserted {n} documents in {insert_s:.1} s; flushing (HNSW build)..."
    ));
    let t = Instant::now();
    coll.flush()?;
    let flush_s = t.elapsed().as_secs_f64();
    let st = coll.stats()?;
    progress(format!(
        "flushed in {flush_s:.1} s: {} segment(s), {} indexed docs, {} disk bytes",
        st.segment_count, st.indexed_docs, st.disk_bytes
    ));
    let mut notes: Vec<String> = Vec::new();
    if st.segment_count != 1 || st.indexed_docs != n as u64 {
        notes.push(format!(
            "expected one indexed segment, got {} segment(s) with {} of {n} rows indexed",
            st.segment_count, st.indexed_docs
        ));
    }

    // ---- exact ground truth, once per query and filter -----------------------------------------
    let ctx = Ctx {
        metric: args.metric,
        base: &base,
        k,
    };
    let t = Instant::now();
    // truths[case_index + 1][query]; index 0 = unfiltered.
    let mut truths: Vec<Vec<Truth>> = (0..=CASES.len()).map(|_| Vec::with_capacity(nq)).collect();
    for qi in 0..nq {
        let q = queries.row(qi);
        for ci in 0..=CASES.len() {
            let mut s = Search::new(q).top_k(k).approximate(false);
            if ci > 0 {
                s = s.filter(CASES[ci - 1].filter());
            }
            let rows = coll
                .search(s)?
                .iter()
                .map(|m| row_of(&m.id))
                .collect::<Res<Vec<usize>>>()?;
            let kth = if rows.len() == k {
                rows.iter()
                    .map(|&r| args.metric.distance(q, base.row(r)))
                    .fold(f64::NEG_INFINITY, f64::max)
            } else {
                f64::INFINITY
            };
            truths[ci].push(Truth {
                len: rows.len(),
                rows: rows.into_iter().collect(),
                kth,
            });
        }
        if (qi + 1) % 200 == 0 {
            progress(format!("ground truth: {}/{nq} queries", qi + 1));
        }
    }
    let gt_s = t.elapsed().as_secs_f64();
    progress(format!("exact ground truth in {gt_s:.1} s"));

    // Cross-check the exact search on a few queries against brute force in f64.
    let check_q = nq.min(20);
    let mut gt_mismatch = 0usize;
    for qi in 0..check_q {
        let q = queries.row(qi);
        for ci in 0..=CASES.len() {
            let mut d: Vec<f64> = (0..n)
                .filter(|&r| ci == 0 || CASES[ci - 1].matches(r))
                .map(|r| args.metric.distance(q, base.row(r)))
                .collect();
            d.sort_by(f64::total_cmp);
            let kth = if d.len() >= k {
                d[k - 1]
            } else {
                f64::INFINITY
            };
            let tr = &truths[ci][qi];
            let ok = tr.len == d.len().min(k)
                && (kth.is_infinite() && tr.kth.is_infinite()
                    || (tr.kth - kth).abs() <= tie_tolerance(kth) * 10.0);
            if !ok {
                gt_mismatch += 1;
            }
        }
    }
    if gt_mismatch > 0 {
        notes.push(format!(
            "exact search disagreed with brute force (k-th distance) in {gt_mismatch} of {} checks",
            check_q * (CASES.len() + 1)
        ));
    }

    // ---- pass A: with payload indexes ----------------------------------------------------------
    let ef = args.ef;
    let run_planner = |pass_cells: &mut Vec<Cell>, qi: usize, record: bool| -> Res<()> {
        let q = queries.row(qi);
        for ci in 0..=CASES.len() {
            let mut s = approx(q, k, ef);
            if ci > 0 {
                s = s.filter(CASES[ci - 1].filter());
            }
            let (el, rows) = timed_search(&coll, s)?;
            if record {
                let cell = &mut pass_cells[ci];
                cell.lat_ms.push(el);
                ctx.judge(
                    q,
                    &truths[ci][qi],
                    (ci > 0).then(|| &CASES[ci - 1]),
                    &rows,
                    cell,
                );
            }
        }
        Ok(())
    };
    progress("pass A (payload indexes): warm-up");
    let mut cells_idx: Vec<Cell> = (0..=CASES.len()).map(|_| Cell::default()).collect();
    // Post-filter cells per filtered case (index ci - 1).
    let mut cells_post: Vec<Cell> = (0..CASES.len()).map(|_| Cell::default()).collect();
    for qi in 0..nq.min(WARMUP_QUERIES) {
        run_planner(&mut cells_idx, qi, false)?;
        timed_search(&coll, approx(queries.row(qi), post_k, ef))?;
    }
    let t = Instant::now();
    for qi in 0..nq {
        run_planner(&mut cells_idx, qi, true)?;
        // Post-filter baseline: one unfiltered top-(k*c) search, filtered per case.
        let q = queries.row(qi);
        let (el, rows) = timed_search(&coll, approx(q, post_k, ef))?;
        for (ci, case) in CASES.iter().enumerate() {
            let kept: Vec<usize> = rows
                .iter()
                .copied()
                .filter(|&r| case.matches(r))
                .take(k)
                .collect();
            let cell = &mut cells_post[ci];
            cell.lat_ms.push(el);
            ctx.judge(q, &truths[ci + 1][qi], Some(case), &kept, cell);
        }
        if (qi + 1) % 200 == 0 {
            progress(format!("pass A: {}/{nq} queries", qi + 1));
        }
    }
    let pass_a_s = t.elapsed().as_secs_f64();

    // ---- pass B: without payload indexes -------------------------------------------------------
    for case in &CASES {
        coll.drop_payload_index(case.field)?;
    }
    if !coll.payload_indexes().is_empty() {
        notes.push(format!(
            "payload indexes still declared after drop: {:?}",
            coll.payload_indexes()
        ));
    }
    progress("pass B (no payload indexes): warm-up");
    let mut cells_noidx: Vec<Cell> = (0..=CASES.len()).map(|_| Cell::default()).collect();
    for qi in 0..nq.min(WARMUP_QUERIES) {
        run_planner(&mut cells_noidx, qi, false)?;
    }
    let t = Instant::now();
    for qi in 0..nq {
        run_planner(&mut cells_noidx, qi, true)?;
        if (qi + 1) % 200 == 0 {
            progress(format!("pass B: {}/{nq} queries", qi + 1));
        }
    }
    let pass_b_s = t.elapsed().as_secs_f64();
    let load_end = loadavg();
    let mem = read_mem();

    drop(coll);
    drop(db);
    if !args.keep {
        if let Err(e) = std::fs::remove_dir_all(&db_dir) {
            progress(format!(
                "warning: could not remove {}: {e}",
                db_dir.display()
            ));
        }
    }

    // ---- report -------------------------------------------------------------------------------
    let unf_a = Latency::of(&cells_idx[0].lat_ms);
    let unf_b = Latency::of(&cells_noidx[0].lat_ms);
    let ef_used = ef.unwrap_or(index.ef_search);
    let mut md = String::new();
    use std::fmt::Write as _;
    writeln!(md, "# nDB filtered search (`ndb-filter-bench`)\n")?;
    writeln!(md, "- Command: `{command}`")?;
    writeln!(
        md,
        "- Dataset: `{}` — {n} base rows × {dim} dims, metric {}, {nq} queries, k = {k}",
        args.dataset.display(),
        args.metric.name()
    )?;
    writeln!(
        md,
        "- Collection: one segment ({} segment(s), {} rows indexed), HNSW m = {}, ef_construction = {}, search ef = {ef_used} (graph searches widen it for filters); payload `{{category: i % 100, bucket: i % 10, half: i % 2}}`, integer payload indexes on the three fields",
        st.segment_count, st.indexed_docs, index.m, index.ef_construction
    )?;
    writeln!(
        md,
        "- Build: insert {insert_s:.1} s, flush + HNSW build {flush_s:.1} s; exact ground truth {gt_s:.1} s; pass A {pass_a_s:.1} s, pass B {pass_b_s:.1} s"
    )?;
    let m = machine_description();
    writeln!(
        md,
        "- Machine: {} × {}, {} GiB; load average (1/5/15 min) at start {load_start}, at end {load_end} (other benchmarks were running: latencies are noisy)",
        m["nproc"], m["cpu_model"].as_str().unwrap_or("?"), m["mem_total_gib"]
    )?;
    writeln!(
        md,
        "- Latency: one search on one thread (`.threads(1)`), wall time of `Collection::search` including payload decoding of the results; every query runs every configuration in turn; {WARMUP_QUERIES} warm-up queries per pass\n"
    )?;
    writeln!(md, "## With payload indexes (planner) vs post-filtering (unfiltered HNSW top-{post_k}, then filter)\n")?;
    writeln!(md, "| Selectivity | Filter | Planner recall@{k} | p50 ms | p99 ms | Results/query | Post-filter recall@{k} | Post-filter results/query | Post-filter p50 ms | p50 unfiltered ms | p50 / unfiltered p50 | Goal met (recall ≥ 0.95, p50 ≤ 2×) |")?;
    writeln!(
        md,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )?;
    let c0 = &cells_idx[0];
    writeln!(
        md,
        "| 100% (unfiltered) | — | {:.4} | {} | {} | {:.2} | — | — | — | {} | 1.00 | — |",
        c0.recall(),
        fmt_ms(unf_a.p50_ms),
        fmt_ms(unf_a.p99_ms),
        c0.results_per_query(nq),
        fmt_ms(unf_a.p50_ms)
    )?;
    let mut goal_all = true;
    let mut rows_json = Vec::new();
    for (ci, case) in CASES.iter().enumerate().rev() {
        let c = &cells_idx[ci + 1];
        let p = &cells_post[ci];
        let l = Latency::of(&c.lat_ms);
        let lp = Latency::of(&p.lat_ms);
        let ratio = l.p50_ms / unf_a.p50_ms;
        let met = c.recall() >= 0.95 && ratio <= 2.0;
        goal_all &= met;
        writeln!(
            md,
            "| {} | `{}` | {:.4} | {} | {} | {:.2} | {:.4} | {:.2} | {} | {} | {:.2} | {} |",
            case.label,
            case.expr(),
            c.recall(),
            fmt_ms(l.p50_ms),
            fmt_ms(l.p99_ms),
            c.results_per_query(nq),
            p.recall(),
            p.results_per_query(nq),
            fmt_ms(lp.p50_ms),
            fmt_ms(unf_a.p50_ms),
            ratio,
            yes_no(met)
        )?;
        let cb = &cells_noidx[ci + 1];
        rows_json.push(json!({
            "selectivity": case.label,
            "filter": case.expr(),
            "matching_rows": (0..n).filter(|&r| case.matches(r)).count(),
            "planner_indexed": c.json(nq),
            "post_filter": p.json(nq),
            "planner_no_index": cb.json(nq),
            "p50_over_unfiltered_p50_indexed": ratio,
            "p50_over_unfiltered_p50_no_index": Latency::of(&cb.lat_ms).p50_ms / unf_b.p50_ms,
            "goal_met_indexed": met,
        }));
    }
    writeln!(md)?;
    writeln!(md, "## Without payload indexes (indexes dropped; selectivity estimated from a sample, payloads checked per row)\n")?;
    writeln!(md, "| Selectivity | Filter | Planner recall@{k} | p50 ms | p99 ms | Results/query | p50 unfiltered ms (same pass) | p50 / unfiltered p50 | Goal met |")?;
    writeln!(md, "|---|---|---:|---:|---:|---:|---:|---:|---|")?;
    writeln!(
        md,
        "| 100% (unfiltered) | — | {:.4} | {} | {} | {:.2} | {} | 1.00 | — |",
        cells_noidx[0].recall(),
        fmt_ms(unf_b.p50_ms),
        fmt_ms(unf_b.p99_ms),
        cells_noidx[0].results_per_query(nq),
        fmt_ms(unf_b.p50_ms)
    )?;
    let mut goal_noidx = true;
    for (ci, case) in CASES.iter().enumerate().rev() {
        let c = &cells_noidx[ci + 1];
        let l = Latency::of(&c.lat_ms);
        let ratio = l.p50_ms / unf_b.p50_ms;
        let met = c.recall() >= 0.95 && ratio <= 2.0;
        goal_noidx &= met;
        writeln!(
            md,
            "| {} | `{}` | {:.4} | {} | {} | {:.2} | {} | {:.2} | {} |",
            case.label,
            case.expr(),
            c.recall(),
            fmt_ms(l.p50_ms),
            fmt_ms(l.p99_ms),
            c.results_per_query(nq),
            fmt_ms(unf_b.p50_ms),
            ratio,
            yes_no(met)
        )?;
    }
    let violations: usize = cells_idx
        .iter()
        .chain(&cells_noidx)
        .map(|c| c.violations)
        .sum();
    let short: usize = cells_idx.iter().chain(&cells_noidx).map(|c| c.short).sum();
    writeln!(md)?;
    writeln!(
        md,
        "Goal (recall ≥ 0.95 at every selectivity with p50 ≤ 2× unfiltered p50): with payload indexes **{}**; without indexes **{}**.",
        if goal_all { "met" } else { "not met" },
        if goal_noidx { "met" } else { "not met" }
    )?;
    writeln!(
        md,
        "Planner answers with fewer than min(k, matches) results: {short}; results violating the filter: {violations}. Exact search cross-checked against f64 brute force on {check_q} queries: {gt_mismatch} disagreements."
    )?;
    writeln!(md, "Recall counts a result as a hit when it is in the exact answer or its exact distance ties the k-th exact distance (integer pixel data has ties).")?;
    for n in &notes {
        writeln!(md, "- note: {n}")?;
    }

    let report = json!({
        "bench": "ndb-filter-bench",
        "command": command,
        "dataset": args.dataset.display().to_string(),
        "n": n, "dim": dim, "metric": args.metric.name(), "queries": nq, "k": k, "post_filter_fetch": post_k,
        "index": {"m": index.m, "ef_construction": index.ef_construction, "ef_search": ef_used},
        "segments": st.segment_count, "indexed_docs": st.indexed_docs, "disk_bytes": st.disk_bytes,
        "build_s": {"payload_index_create": index_create_s, "insert": insert_s, "flush_hnsw": flush_s, "ground_truth": gt_s},
        "machine": m,
        "loadavg_start": load_start, "loadavg_end": load_end,
        "rss_kib": mem.vm_rss_kib,
        "unfiltered": {"indexed_pass": cells_idx[0].json(nq), "no_index_pass": cells_noidx[0].json(nq)},
        "filters": rows_json,
        "goal_met_indexed": goal_all,
        "goal_met_no_index": goal_noidx,
        "short_answers": short,
        "violations": violations,
        "ground_truth_mismatches": gt_mismatch,
        "notes": notes,
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
