//! `--dims LIST`: the exact-search dimension sweep (issue 14, "Exact search at low dimension").
//!
//! For each dimension: seeded synthetic data (`--rows` base vectors, `--queries` queries,
//! default 200), ingested into one segment without an HNSW index; then, side by side in the same
//! run, nDB exact search one query at a time on one thread (`Search::threads(1)`) and faiss
//! IndexFlat through `scripts/bench/reference.py --engines faiss --repeat R` on the same files.
//! The engines take turns, `--reps` times: one timed nDB pass over the queries, then one faiss
//! pass (a fresh reference process), so that a slow spell of the shared machine lands on both
//! alike. The table shows the median pass of each, the ratio of those medians, and the median
//! of the per-turn ratios (each nDB pass over the faiss pass that followed it).

use std::fmt::Write as _;

use ndb::{CollectionConfig, IndexConfig};
use ndb_bench::report::fmt::{qps_ungrouped, r2, r4, thousands};
use ndb_bench::report::Machine;
use ndb_bench::scratch::{scratch_root, ScratchDirs};
use ndb_bench::Res;
use serde_json::{json, Value};

use crate::dataset::Dataset;
use crate::timing::{run_sequential, Stopwatch};
use crate::{reference, Args, Ctx, BENCH};

/// Queries per dimension when `--queries` is not given.
const DEFAULT_QUERIES: usize = 200;

/// One dimension's figures.
struct DimRow {
    dim: usize,
    rows: usize,
    ndb_runs: Vec<f64>,
    faiss_runs: Vec<f64>,
    /// Queries per CPU second of each pass (the time the engine's thread ran; waits for a CPU
    /// taken by other processes excluded).
    ndb_cpu_runs: Vec<f64>,
    faiss_cpu_runs: Vec<f64>,
    faiss_engine: String,
    recall: f64,
    ingest_s: f64,
}

impl DimRow {
    fn ndb_qps(&self) -> f64 {
        median(&self.ndb_runs)
    }

    fn faiss_qps(&self) -> f64 {
        median(&self.faiss_runs)
    }

    fn ratio(&self) -> f64 {
        self.ndb_qps() / self.faiss_qps()
    }

    /// The median of the per-turn ratios.
    fn turn_ratio(&self) -> f64 {
        turn_ratio(&self.ndb_runs, &self.faiss_runs)
    }

    /// The median of the per-turn ratios of queries per CPU second.
    fn cpu_turn_ratio(&self) -> f64 {
        turn_ratio(&self.ndb_cpu_runs, &self.faiss_cpu_runs)
    }

    fn to_json(&self) -> Value {
        json!({
            "dim": self.dim,
            "rows": self.rows,
            "ndb_qps": r2(self.ndb_qps()),
            "faiss_qps": r2(self.faiss_qps()),
            "ratio": r4(self.ratio()),
            "turn_ratio": r4(self.turn_ratio()),
            "cpu_turn_ratio": r4(self.cpu_turn_ratio()),
            "ndb_cpu_qps_runs": self.ndb_cpu_runs.iter().map(|&q| r2(q)).collect::<Vec<_>>(),
            "faiss_cpu_qps_runs": self.faiss_cpu_runs,
            "ndb_qps_runs": self.ndb_runs.iter().map(|&q| r2(q)).collect::<Vec<_>>(),
            "faiss_qps_runs": self.faiss_runs,
            "faiss_engine": self.faiss_engine,
            "ndb_recall": r4(self.recall),
            "ingest_s": r4(self.ingest_s),
        })
    }
}

/// The median of `ndb[i] / faiss[i]`.
fn turn_ratio(ndb: &[f64], faiss: &[f64]) -> f64 {
    let ratios: Vec<f64> = ndb.iter().zip(faiss).map(|(n, f)| n / f).collect();
    median(&ratios)
}

/// The median of `v` (the mean of the middle two for an even count); NaN if empty.
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// One timed nDB pass (one query at a time, one thread) over the queries: its QPS, queries per
/// CPU second and recall.
fn ndb_pass(args: &Args, coll: &ndb::Collection, ds: &Dataset) -> Res<(f64, f64, f64)> {
    let judge = ds.judge(args.k)?;
    let t = run_sequential(coll, ds, args.k, Some(1), None, args.warmup)?;
    let nq = t.ms.len() as f64;
    Ok((nq / t.wall_s, nq / t.cpu_s, judge.recall(&t.rows)))
}

/// One dimension: data, ingest, nDB and faiss passes.
fn measure_dim(args: &Args, db: &ndb::Database, dim: usize, dirs: &mut ScratchDirs) -> Res<DimRow> {
    let dir = scratch_root().join(format!("search-dims-{}-{dim}", std::process::id()));
    dirs.push(dir.clone());
    let mut ds = Dataset::synthetic(args, args.rows, dim, &dir)?;
    let name = format!("dims{dim}");
    let config = CollectionConfig::new(dim)
        .with_distance(ds.metric.ndb_distance())
        .with_index(IndexConfig::default().with_min_rows(usize::MAX));
    let coll = db.create_collection(&name, config)?;
    let clock = Stopwatch::start();
    ds.insert_into(&coll)?;
    coll.flush()?;
    let ingest_s = clock.wall_s();
    ds.ground_truth_from(&coll, args.k)?;

    let mut ndb_runs = Vec::with_capacity(args.reps);
    let mut faiss_runs = Vec::with_capacity(args.reps);
    let mut ndb_cpu_runs = Vec::with_capacity(args.reps);
    let mut faiss_cpu_runs = Vec::with_capacity(args.reps);
    let mut recall = f64::NAN;
    let mut faiss_engine = String::new();
    for _ in 0..args.reps {
        let (qps, cpu_qps, pass_recall) = ndb_pass(args, &coll, &ds)?;
        ndb_runs.push(qps);
        ndb_cpu_runs.push(cpu_qps);
        recall = pass_recall;
        let r = reference::exact_faiss(args, &ds, 1)?;
        let faiss = r["rows"]
            .as_array()
            .and_then(|rows| rows.first())
            .ok_or("the reference script returned no faiss row")?;
        let qps = faiss["qps_runs"]
            .as_array()
            .and_then(|v| v.first())
            .and_then(Value::as_f64)
            .ok_or("the reference script's faiss row has no qps_runs")?;
        faiss_runs.push(qps);
        let cpu_qps = faiss["cpu_qps_runs"]
            .as_array()
            .and_then(|v| v.first())
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN);
        faiss_cpu_runs.push(cpu_qps);
        faiss_engine = faiss["engine"].as_str().unwrap_or("faiss").to_string();
    }
    let row = DimRow {
        dim,
        rows: args.rows,
        ndb_runs,
        faiss_runs,
        ndb_cpu_runs,
        faiss_cpu_runs,
        faiss_engine,
        recall,
        ingest_s,
    };
    BENCH.progress(format!(
        "dim {dim}: nDB {:.1} QPS, faiss {:.1} QPS, ratio {:.2} (per turn {:.2}, per CPU second {:.2})",
        row.ndb_qps(),
        row.faiss_qps(),
        row.ratio(),
        row.turn_ratio(),
        row.cpu_turn_ratio()
    ));
    drop(coll);
    db.drop_collection(&name)?;
    Ok(row)
}

pub fn run(ctx: &Ctx<'_>, dims: &[usize], dirs: &mut ScratchDirs) -> Res<()> {
    let mut args = ctx.args.clone();
    args.queries.get_or_insert(DEFAULT_QUERIES);
    let (_, db) = crate::open_db(&args, dirs)?;
    let mut rows = Vec::with_capacity(dims.len());
    for &dim in dims {
        rows.push(measure_dim(&args, &db, dim, dirs)?);
    }
    let machine = Machine::describe();
    let isa = ndb_kernels::active_isa();
    let metric = args.metric.unwrap_or(ndb_bench::measure::Metric::L2);
    let nq = args.queries.unwrap_or(DEFAULT_QUERIES);

    let mut md = String::new();
    let _ = write!(
        md,
        "## nDB vs faiss exact search by dimension: {} rows, {metric_name}, k={}, {nq} queries\n\n",
        thousands(args.rows as u64),
        args.k,
        metric_name = metric.name(),
    );
    let _ = write!(md, "Command: `{}`\n\n", ctx.command);
    let _ = write!(
        md,
        "Machine: {}; nDB kernels: {isa}. One query at a time on one thread (nDB \
         `Search::threads(1)`, faiss `omp_set_num_threads(1)`, `index.search(q[i:i+1], k)`); \
         {} turns of one nDB pass then one faiss pass; QPS = median pass of each engine; \
         per turn = median of (nDB pass / the faiss pass after it); per CPU s = the same with \
         queries per CPU second of each pass (time spent waiting for a CPU taken by other \
         processes left out).\n\n",
        machine.summary(),
        args.reps
    );
    md.push_str(
        "| dim | nDB QPS | faiss QPS | nDB / faiss | per turn | per CPU s | nDB passes | faiss passes |\n",
    );
    md.push_str("|---:|---:|---:|---:|---:|---:|---|---|\n");
    let passes = |v: &[f64]| {
        v.iter()
            .map(|q| format!("{q:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for r in &rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | **{:.2}x** | {:.2}x | {:.2}x | {} | {} |",
            r.dim,
            qps_ungrouped(r.ndb_qps()),
            qps_ungrouped(r.faiss_qps()),
            r.ratio(),
            r.turn_ratio(),
            r.cpu_turn_ratio(),
            passes(&r.ndb_runs),
            passes(&r.faiss_runs),
        );
    }
    let worst = rows.iter().map(DimRow::ratio).fold(f64::INFINITY, f64::min);
    let _ = write!(
        md,
        "\n- Lowest nDB / faiss ratio: **{worst:.2}x** (goal >= 1.0x at every dimension).\n\
         - Data: uniform in [-1,1), seed {}; faiss: {}.\n",
        args.seed,
        rows.first().map(|r| r.faiss_engine.as_str()).unwrap_or("-"),
    );
    let json = json!({
        "bench": "ndb-search-bench --dims",
        "command": ctx.command,
        "machine": machine.to_json(),
        "isa": isa.name(),
        "metric": metric.name(),
        "k": args.k,
        "queries": nq,
        "reps": args.reps,
        "seed": args.seed,
        "dims": rows.iter().map(DimRow::to_json).collect::<Vec<_>>(),
    });
    crate::publish(&args, &md, &json)
}
