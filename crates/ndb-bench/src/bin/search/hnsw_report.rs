//! The report of an HNSW run: nDB beside the reference engines (build, size, open; QPS at
//! recall; the ef sweep; ratios against hnswlib), the recall–QPS plot, and `--replot`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ndb_bench::report::fmt::{latency_ms, or_dash, percent, qps_ungrouped, r2, r4, thousands};
use ndb_bench::report::plot::{recall_qps_svg, Curve};
use ndb_bench::report::{self, Machine, Table};
use ndb_bench::scratch::workspace_root;
use ndb_bench::sweep::{cpu_qps_at_recall, qps_at_recall, AtRecall, SweepPoint};
use ndb_bench::Res;
use serde_json::{json, Map, Value};

use crate::dataset::Dataset;
use crate::hnsw::{Build, NdbHnsw};
use crate::{reference, Args, Ctx, BATCH, BENCH};

/// Recall targets whose QPS the report reads off each curve.
const RECALL_TARGETS: [f64; 3] = [0.90, 0.95, 0.99];

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
    /// QPS at each of [`RECALL_TARGETS`], by wall time and by on-CPU time.
    at: Vec<AtRecall>,
    at_cpu: Vec<AtRecall>,
}

impl EngineResult {
    /// Read the QPS at each recall target off the sweep.
    fn with_sweep(mut self, sweep: Vec<SweepPoint>) -> Self {
        self.at = RECALL_TARGETS
            .iter()
            .map(|&t| qps_at_recall(&sweep, t))
            .collect();
        self.at_cpu = RECALL_TARGETS
            .iter()
            .map(|&t| cpu_qps_at_recall(&sweep, t))
            .collect();
        self.sweep = sweep;
        self
    }

    /// nDB's figures.
    fn ndb(ndb: &NdbHnsw, n: usize) -> EngineResult {
        let b = &ndb.built;
        EngineResult {
            name: "nDB".into(),
            builds: b.builds.clone(),
            index_bytes_per_vector: Some(b.index_bytes as f64 / n as f64),
            graph_bytes_per_vector: Some(b.index_bytes as f64 / n as f64),
            open_ms: Some(ndb.reopen.median_ms),
            open_how: "Database::open + get_collection (graph used through mmap)".into(),
            sweep: Vec::new(),
            batch_qps: Vec::new(),
            note: format!(
                "Search::ef(ef).threads(1); build = rebuild_index on a pool of N threads (graph + index file + fsync); \
                 segment file {:.0} bytes/vector",
                b.segment_bytes as f64 / n as f64
            ),
            at: Vec::new(),
            at_cpu: Vec::new(),
        }
        .with_sweep(ndb.sweep.clone())
    }

    /// One quantized curve of nDB: the same collection and builds, its own sweep, and the
    /// bytes per vector searches read at random (graph plus codes).
    fn quantized(ndb: &NdbHnsw, curve: &crate::hnsw::QuantizedCurve, n: usize) -> EngineResult {
        let mut e = EngineResult::ndb(ndb, n).with_sweep(curve.sweep.clone());
        e.name = curve.name.clone();
        e.index_bytes_per_vector = Some(curve.resident_bytes_per_vector);
        e.note = "Search::ef(ef).oversampling(o).threads(1) after update_config(quantization) + \
                  rebuild_index; bytes/vector = graph + codes (the f32 vectors are read only to \
                  rescore); builds are the f32 collection's"
            .to_string();
        e
    }

    /// A reference engine's figures from the reference script's JSON.
    fn from_json(e: &Value, n: usize, raw_vector_bytes: f64) -> EngineResult {
        let f = |v: &Value, key: &str| v[key].as_f64().unwrap_or(f64::NAN);
        let builds = e["builds"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| Build {
                threads: b["threads"].as_u64().unwrap_or(0) as usize,
                seconds: f(b, "seconds"),
                cpu_use: f(b, "cpu_use"),
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
                recall: f(p, "recall"),
                qps: f(p, "qps"),
                p50_ms: f(p, "p50_ms"),
                p99_ms: f(p, "p99_ms"),
                sched_wait: p["sched_wait"].as_f64(),
                cpu_qps: p["cpu_qps"].as_f64(),
            });
            batch.push(p["batch_qps"].as_f64());
        }
        let per_vector = index_bytes.map(|b| b / n as f64);
        EngineResult {
            name: e["engine"].as_str().unwrap_or("?").to_string(),
            builds,
            index_bytes_per_vector: per_vector,
            graph_bytes_per_vector: per_vector.map(|b| {
                if holds_vectors {
                    b - raw_vector_bytes
                } else {
                    b
                }
            }),
            open_ms: e["open_ms"].as_f64(),
            open_how: e["open_how"].as_str().unwrap_or("").to_string(),
            sweep: Vec::new(),
            batch_qps: batch,
            note: e["note"].as_str().unwrap_or("").to_string(),
            at: Vec::new(),
            at_cpu: Vec::new(),
        }
        .with_sweep(sweep)
    }

    fn build_with(&self, threads: usize) -> Option<&Build> {
        self.builds.iter().find(|b| b.threads == threads)
    }

    fn curve(&self) -> Curve {
        Curve {
            name: self.name.clone(),
            points: self.sweep.clone(),
        }
    }

    fn to_json(&self) -> Value {
        let at_json = |row: &[AtRecall]| -> Map<String, Value> {
            RECALL_TARGETS
                .iter()
                .zip(row)
                .map(|(t, x)| (format!("{t:.2}"), x.to_json()))
                .collect()
        };
        let sweep: Vec<Value> = self
            .sweep
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut v = p.to_json();
                if let Some(Some(b)) = self.batch_qps.get(i) {
                    v["batch_qps"] = json!(r2(*b));
                }
                v
            })
            .collect();
        json!({
            "engine": self.name,
            "builds": self.builds.iter().map(Build::to_json).collect::<Vec<_>>(),
            "index_bytes_per_vector": self.index_bytes_per_vector.map(r2),
            "index_bytes_less_vectors_per_vector": self.graph_bytes_per_vector.map(r2),
            "open_ms": self.open_ms.map(r4),
            "open_how": self.open_how,
            "sweep": sweep,
            "qps_at_recall": at_json(&self.at),
            "cpu_qps_at_recall": at_json(&self.at_cpu),
            "note": self.note,
        })
    }
}

/// The plot's title.
fn plot_title(name: &str, n: usize, dim: usize, metric: &str, m: &Value, efc: &Value) -> String {
    format!(
        "{name}: {} x {dim}, {metric}; HNSW M {m}, ef_construction {efc}",
        thousands(n as u64)
    )
}

/// Where the plot goes: `--plot`, else beside `--md`, else in `target/bench-results`.
fn plot_path(args: &Args) -> PathBuf {
    match (args.plot(), &args.md) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(md)) => md
            .parent()
            .map(|d| d.join("recall-qps.svg"))
            .unwrap_or_else(|| PathBuf::from("recall-qps.svg")),
        (None, None) => workspace_root().join("target/bench-results/recall-qps.svg"),
    }
}

/// Everything the HNSW report shows.
struct HnswReport<'a> {
    ctx: &'a Ctx<'a>,
    args: &'a Args,
    ds: &'a Dataset,
    ndb: NdbHnsw,
    engines: Vec<EngineResult>,
    skipped: Vec<(String, String)>,
    reference: Option<Value>,
    plot_path: PathBuf,
    machine: Machine,
}

/// The references (with `--reference`), the plot, and the report of the run.
pub fn report(ctx: &Ctx<'_>, ds: &Dataset, ndb: NdbHnsw) -> Res<()> {
    let (args, n) = (ctx.args, ds.base.rows());
    let mut engines = vec![EngineResult::ndb(&ndb, n)];
    for curve in &ndb.quantized {
        engines.push(EngineResult::quantized(&ndb, curve, n));
    }
    let mut reference = None;
    let mut skipped = Vec::new();
    if args.reference {
        let r = reference::hnsw(args, ds)?;
        let raw_vector_bytes = (ds.base.dim * 4) as f64;
        for e in r["engines"].as_array().into_iter().flatten() {
            engines.push(EngineResult::from_json(e, n, raw_vector_bytes));
        }
        for s in r["skipped"].as_array().into_iter().flatten() {
            skipped.push((
                s["engine"].as_str().unwrap_or("?").to_string(),
                s["reason"].as_str().unwrap_or("?").to_string(),
            ));
        }
        reference = Some(r);
    }
    let rep = HnswReport {
        ctx,
        args,
        ds,
        ndb,
        engines,
        skipped,
        reference,
        plot_path: plot_path(args),
        machine: Machine::describe(),
    };
    rep.plot()?;
    crate::publish(args, &rep.markdown(), &rep.to_json())
}

impl HnswReport<'_> {
    /// Draw every engine's curve in one SVG.
    fn plot(&self) -> Res<()> {
        report::create_parent(&self.plot_path)?;
        let (ds, args) = (self.ds, self.args);
        let title = plot_title(
            &ds.name,
            ds.base.rows(),
            ds.base.dim,
            ds.metric.name(),
            &json!(args.m),
            &json!(args.ef_construction),
        );
        let curves: Vec<Curve> = self.engines.iter().map(EngineResult::curve).collect();
        recall_qps_svg(&self.plot_path, &title, args.k, &curves, &RECALL_TARGETS)?;
        BENCH.progress(format!("plot: {}", self.plot_path.display()));
        Ok(())
    }

    /// How the markdown names the plot: relative to the report where it is beside it.
    fn plot_link(&self) -> String {
        match &self.args.md {
            Some(md) if md.parent() == self.plot_path.parent() => self
                .plot_path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            _ => self.plot_path.display().to_string(),
        }
    }

    fn markdown(&self) -> String {
        let (ds, args, m) = (self.ds, self.args, &self.machine);
        let k = args.k;
        let mut md = String::new();
        let _ = write!(
            md,
            "## nDB HNSW: {}, k={k}, {} queries, M {}, ef_construction {}\n\n",
            ds.describe(),
            thousands(ds.queries.rows() as u64),
            args.m,
            args.ef_construction
        );
        let _ = write!(md, "Command: `{}`\n\n", self.ctx.command);
        let _ = write!(
            md,
            "Machine: {}. Load average at start {}, at end {}.\n\n",
            m.summary(),
            self.ctx.load_start,
            report::load_average()
        );
        let _ = write!(md, "![recall@{k} vs QPS]({})\n\n", self.plot_link());
        md.push_str(&self.build_section());
        md.push_str(&self.at_recall_section());
        md.push_str(&self.sweep_section());
        md.push_str(&self.findings());
        md
    }

    /// Build, size, open: a row per engine, and nDB's ingest in detail.
    fn build_section(&self) -> String {
        let threads = &self.args.build_threads;
        let mut t = Table::new()
            .left("engine")
            .rights(
                threads
                    .iter()
                    .map(|&n| format!("build, {n} thread{} s", if n == 1 { "" } else { "s" })),
            )
            .left("build CPU s (use / wait)")
            .rights([
                "index file bytes/vector",
                "less raw vectors",
                "reopen / load ms",
            ])
            .left("how opened");
        for e in &self.engines {
            let mut cells = vec![e.name.clone()];
            for n in threads {
                cells.push(or_dash(e.build_with(*n), |b| format!("{:.2}", b.seconds)));
            }
            let waits: Vec<String> = e.builds.iter().map(Build::cpu_cell).collect();
            cells.push(if waits.is_empty() {
                "-".into()
            } else {
                waits.join("; ")
            });
            cells.push(or_dash(e.index_bytes_per_vector, |b| format!("{b:.0}")));
            cells.push(or_dash(e.graph_bytes_per_vector, |b| format!("{b:.0}")));
            cells.push(or_dash(e.open_ms, |m| format!("{m:.2}")));
            cells.push(e.open_how.clone());
            t.row(cells);
        }
        let (b, r) = (&self.ndb.built, &self.ndb.reopen);
        let n = self.ds.base.rows();
        let list = |v: &[f64]| format!("{:?}", v.iter().map(|x| r2(*x)).collect::<Vec<_>>());
        format!(
            "### Build, size, open\n\n{t}\n\
             nDB ingest: insert_batch of {BATCH} {:.2} s, then one flush (segment write + graph build, pool of {} threads) \
             {:.2} s (CPU use / wait {}); {} segment, {} of {} docs indexed, {} index file(s), {:.0} bytes/vector of segment \
             file; reopen runs {} ms, first search after reopen {} ms, open_duration {} ms.\n\n",
            b.insert_s,
            b.flush.threads,
            b.flush.seconds,
            b.flush.cpu_cell(),
            b.stats.segment_count,
            thousands(b.stats.indexed_docs),
            thousands(b.stats.doc_count),
            b.index_files,
            b.segment_bytes as f64 / n as f64,
            list(&r.open_ms),
            list(&r.first_query_ms),
            list(&r.open_duration_ms),
        )
    }

    /// QPS at each recall target, by wall time and (where measured) by on-CPU time.
    fn at_recall_section(&self) -> String {
        let mut t = Table::new()
            .lefts(["engine", "QPS of"])
            .rights(RECALL_TARGETS.map(|r| format!("recall {r:.2}")))
            .right("best recall (ef)");
        for e in &self.engines {
            let best = e
                .sweep
                .iter()
                .max_by(|a, b| a.recall.total_cmp(&b.recall))
                .map(|p| format!("{:.4} ({})", p.recall, p.ef))
                .unwrap_or_else(|| "-".into());
            let cells = |how: &str, row: &[AtRecall], last: String| {
                [e.name.clone(), how.to_string()]
                    .into_iter()
                    .chain(row.iter().map(AtRecall::cell))
                    .chain([last])
                    .collect::<Vec<_>>()
            };
            t.row(cells("wall time", &e.at, best));
            if e.sweep.iter().any(|p| p.cpu_qps.is_some()) {
                t.row(cells("on-CPU time", &e.at_cpu, String::new()));
            }
        }
        format!(
            "### QPS at recall@{} (one thread, one query at a time; interpolated between sweep points)\n\n{t}\n",
            self.args.k
        )
    }

    /// Every point of every engine's sweep.
    fn sweep_section(&self) -> String {
        let k = self.args.k;
        let mut t = Table::new()
            .left("engine")
            .rights(["ef".to_string(), format!("recall@{k}"), "QPS".into()])
            .rights(["QPS per CPU s", "p50 ms", "p99 ms", "CPU wait", "batch QPS"]);
        for e in &self.engines {
            for (i, p) in e.sweep.iter().enumerate() {
                t.row([
                    e.name.clone(),
                    p.ef.to_string(),
                    format!("{:.4}", p.recall),
                    qps_ungrouped(p.qps),
                    or_dash(p.cpu_qps, qps_ungrouped),
                    latency_ms(p.p50_ms),
                    latency_ms(p.p99_ms),
                    or_dash(p.sched_wait, percent),
                    or_dash(e.batch_qps.get(i).copied().flatten(), qps_ungrouped),
                ]);
            }
        }
        format!("### ef sweep: recall@{k} and QPS (one thread, one query at a time)\n\n{t}\n")
    }

    /// nDB against hnswlib: QPS at recall 0.95 (wall time, on-CPU time) and build time per
    /// thread count; as markdown bullets and as the JSON's ratios.
    fn ratios(&self) -> (String, Map<String, Value>) {
        let mut md = String::new();
        let mut ratios = Map::new();
        let ndb = &self.engines[0];
        let Some(h) = self.engines.iter().find(|e| e.name.starts_with("hnswlib")) else {
            return (md, ratios);
        };
        if let (Some(a), Some(b)) = (ndb.at[1].qps(), h.at[1].qps()) {
            let cpu = match (ndb.at_cpu[1].qps(), h.at_cpu[1].qps()) {
                (Some(c), Some(d)) => {
                    ratios.insert("ndb_over_hnswlib_cpu_qps_at_0.95".into(), json!(r4(c / d)));
                    format!("; by on-CPU time **{:.2}x**", c / d)
                }
                _ => String::new(),
            };
            let _ = writeln!(
                md,
                "- nDB / hnswlib QPS at recall 0.95: **{:.2}x** by wall time{cpu} (goal >= 1.3x)",
                a / b
            );
            ratios.insert("ndb_over_hnswlib_qps_at_0.95".into(), json!(r4(a / b)));
        }
        for t in &self.args.build_threads {
            if let (Some(nb), Some(hb)) = (ndb.build_with(*t), h.build_with(*t)) {
                let _ = writeln!(
                    md,
                    "- nDB / hnswlib build time, {t} thread(s): **{:.2}x** by wall time, {:.2}x by CPU time (goal <= 1.0x)",
                    nb.seconds / hb.seconds,
                    nb.cpu_s() / hb.cpu_s()
                );
                ratios.insert(
                    format!("ndb_over_hnswlib_build_{t}t"),
                    json!(r4(nb.seconds / hb.seconds)),
                );
            }
        }
        (md, ratios)
    }

    /// The bullets under the tables: ratios, skipped references, notes, how to read it all.
    fn findings(&self) -> String {
        let (k, args) = (self.args.k, self.args);
        let mut md = self.ratios().0;
        let reachable = self.engines[0].at[2].qps().is_some();
        let _ = writeln!(
            md,
            "- nDB recall 0.99 reachable: {}",
            if reachable { "yes" } else { "**no**" }
        );
        for (name, why) in &self.skipped {
            let _ = writeln!(md, "- Reference {name} skipped: {why}");
        }
        for e in self.engines.iter().filter(|e| !e.note.is_empty()) {
            let _ = writeln!(md, "- {}: {}", e.name, e.note);
        }
        let _ = writeln!(
            md,
            "- Recall@{k}: a result is a hit if it is in the true top {k} or its exact distance is <= the {k}-th true \
             distance (ties), as in the exact-search harness. QPS = queries / wall time of the fastest of {} passes over the \
             queries per ef (after {} warm-up queries; the results are checked identical across passes); latency per query, wall clock around the call (for the references: the Python call).",
            args.sweep_runs,
            args.warmup
        );
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
        md
    }

    fn to_json(&self) -> Value {
        let (ds, args) = (self.ds, self.args);
        let (b, r) = (&self.ndb.built, &self.ndb.reopen);
        let list = |v: &[f64]| v.iter().map(|x| r4(*x)).collect::<Vec<_>>();
        json!({
            "bench": "ndb-search-bench --hnsw",
            "command": self.ctx.command,
            "dataset": {
                "name": ds.name,
                "dir": ds.dir.display().to_string(),
                "synthetic": ds.synthetic,
                "n": ds.base.rows(),
                "dim": ds.base.dim,
                "queries": ds.queries.rows(),
                "metric": ds.metric.name(),
            },
            "k": args.k,
            "m": args.m,
            "ef_construction": args.ef_construction,
            "ef_sweep": args.ef_sweep(),
            "machine": self.machine.to_json(),
            "ndb": {
                "insert_s": r4(b.insert_s),
                "flush": b.flush.to_json(),
                "rebuilds": b.builds.iter().map(Build::to_json).collect::<Vec<_>>(),
                "index_bytes": b.index_bytes,
                "index_files": b.index_files,
                "segment_bytes": b.segment_bytes,
                "segments": b.stats.segment_count,
                "indexed_docs": b.stats.indexed_docs,
                "reopen_ms": list(&r.open_ms),
                "reopen_ms_median": r4(r.median_ms),
                "first_search_after_reopen_ms": list(&r.first_query_ms),
                "open_duration_ms": list(&r.open_duration_ms),
            },
            "engines": self.engines.iter().map(EngineResult::to_json).collect::<Vec<_>>(),
            "ratios": self.ratios().1,
            "plot": self.plot_path.display().to_string(),
            "reference": self.reference,
        })
    }
}

/// `--replot`: the recall-QPS SVG again from an earlier run's `--json` output.
pub fn replot(json_path: &Path, plot: Option<&Path>) -> Res<()> {
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
        .map(|e| EngineResult::from_json(e, n.max(1), (dim * 4) as f64).curve())
        .collect();
    let title = plot_title(
        j["dataset"]["name"].as_str().unwrap_or("?"),
        n,
        dim,
        j["dataset"]["metric"].as_str().unwrap_or("?"),
        &j["m"],
        &j["ef_construction"],
    );
    let out = plot
        .map(Path::to_path_buf)
        .unwrap_or_else(|| json_path.with_extension("svg"));
    let k = j["k"].as_u64().unwrap_or(10) as usize;
    recall_qps_svg(&out, &title, k, &curves, &RECALL_TARGETS)?;
    println!("{}", out.display());
    Ok(())
}
