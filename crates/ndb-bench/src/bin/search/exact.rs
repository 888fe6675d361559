//! The exact-search run: the bandwidth probe, ingest, nDB one query at a time on one thread and
//! on the shared pool, throughput, the Python references, and the report.

use std::fmt::Write as _;

use ndb::{CollectionConfig, IndexConfig};
use ndb_bench::bandwidth::{self, Bandwidth};
use ndb_bench::measure::{Latency, RecallJudge};
use ndb_bench::report::fmt::{ms as fmt_ms, or_dash, percent, qps_ungrouped, r2, r4, thousands};
use ndb_bench::report::{self, Machine, Table};
use ndb_bench::scratch::ScratchDirs;
use ndb_bench::Res;
use serde_json::{json, Map, Value};

use crate::dataset::Dataset;
use crate::timing::{run_sequential, run_throughput, Stopwatch, Timed};
use crate::{reference, Args, Ctx, BATCH, BENCH, COLL};

/// The bandwidth a row's scan rate is judged against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BwRef {
    /// One thread.
    Single,
    /// All threads.
    Multi,
}

impl BwRef {
    fn name(self) -> &'static str {
        match self {
            BwRef::Single => "1-thread",
            BwRef::Multi => "all-thread",
        }
    }
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
    bw_ref: Option<(f64, BwRef)>,
    /// Time the run's threads waited for a CPU (other processes), as a fraction of the run's
    /// wall time x its threads.
    sched_wait: Option<f64>,
    note: String,
}

impl Row {
    /// An nDB row from a timed run, judged against the bandwidth `bw_ref`.
    fn ndb(
        mode: &str,
        threads: usize,
        t: &Timed,
        judge: &RecallJudge<'_>,
        bw_ref: (f64, BwRef),
        note: &str,
    ) -> Row {
        let nq = t.ms.len();
        Row {
            engine: "nDB".into(),
            mode: mode.into(),
            threads,
            latency: Some(Latency::of(&t.ms)),
            qps: nq as f64 / t.wall_s,
            recall: Some(judge.recall(&t.rows)),
            bw_ref: Some(bw_ref),
            sched_wait: Some(t.wait_s / (t.wall_s * threads as f64)),
            note: note.into(),
        }
    }

    /// A row of the reference script's JSON.
    fn from_reference(rr: &Value) -> Row {
        let f = |key: &str| rr[key].as_f64().unwrap_or(f64::NAN);
        Row {
            engine: rr["engine"].as_str().unwrap_or("?").to_string(),
            mode: rr["mode"]
                .as_str()
                .unwrap_or("one query at a time")
                .to_string(),
            threads: rr["threads"].as_u64().unwrap_or(1) as usize,
            latency: Some(Latency {
                count: rr["queries"].as_u64().unwrap_or(0) as usize,
                p50_ms: f("p50_ms"),
                p95_ms: f("p95_ms"),
                p99_ms: f("p99_ms"),
                mean_ms: f("mean_ms"),
                max_ms: f("max_ms"),
            }),
            qps: f("qps"),
            recall: rr["recall"].as_f64(),
            bw_ref: None,
            sched_wait: rr["sched_wait"].as_f64(),
            note: rr["note"].as_str().unwrap_or("").to_string(),
        }
    }

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
            "bandwidth_ref": self.bw_ref.map(|(g, which)| json!({"gbs": r2(g), "which": which.name()})),
            "bandwidth_fraction": self.bw_ref.map(|(g, _)| r4(scan / g)),
            "sched_wait": self.sched_wait.map(r4),
            "note": self.note,
        })
    }

    /// The row in the report's table.
    fn cells(&self, vector_bytes: f64) -> Vec<String> {
        let scan = self.scan_gbs(vector_bytes);
        let (p50, p95, p99) = self
            .latency
            .map(|l| (fmt_ms(l.p50_ms), fmt_ms(l.p95_ms), fmt_ms(l.p99_ms)))
            .unwrap_or(("-".into(), "-".into(), "-".into()));
        vec![
            self.engine.clone(),
            self.mode.clone(),
            self.threads.to_string(),
            p50,
            p95,
            p99,
            qps_ungrouped(self.qps),
            or_dash(self.recall, |x| format!("{x:.4}")),
            format!("{scan:.1}"),
            or_dash(self.bw_ref, |(g, which)| {
                format!("{:.0}% of {}", 100.0 * scan / g, which.name())
            }),
            or_dash(self.sched_wait, percent),
        ]
    }
}

/// The ingest: insert_batch of [`BATCH`] documents, then flush. Times rounded as the report
/// shows them.
struct Ingest {
    docs: usize,
    insert_s: f64,
    flush_s: f64,
    total_s: f64,
    docs_per_s: f64,
    sched_wait_s: f64,
    stats: ndb::CollectionStats,
}

impl Ingest {
    /// Ingest the base vectors (ids = row numbers), then flush.
    fn run(coll: &ndb::Collection, ds: &Dataset) -> Res<Ingest> {
        let n = ds.base.rows();
        let clock = Stopwatch::start();
        ds.insert_into(coll)?;
        let insert_s = clock.wall_s();
        let flush = Stopwatch::start();
        coll.flush()?;
        let flush_s = flush.wall_s();
        let total_s = clock.wall_s();
        let wait_s = clock.wait_s();
        let stats = coll.stats()?;
        if stats.doc_count != n as u64 {
            return Err(format!(
                "collection holds {} documents after ingest, expected {n}",
                stats.doc_count
            )
            .into());
        }
        Ok(Ingest {
            docs: n,
            insert_s: r4(insert_s),
            flush_s: r4(flush_s),
            total_s: r4(total_s),
            docs_per_s: (n as f64 / total_s).round(),
            sched_wait_s: r4(wait_s),
            stats,
        })
    }

    fn to_json(&self) -> Value {
        json!({
            "docs": self.docs,
            "batch": BATCH,
            "insert_s": self.insert_s,
            "flush_s": self.flush_s,
            "total_s": self.total_s,
            "docs_per_s": self.docs_per_s,
            "sched_wait_s": self.sched_wait_s,
            "segments": self.stats.segment_count,
            "memtable_docs": self.stats.memtable_docs,
            "disk_bytes": self.stats.disk_bytes,
        })
    }
}

/// The bandwidth probe, with progress lines.
fn probe(args: &Args, threads: usize) -> Bandwidth {
    let bw = bandwidth::probe(args.bw_mib << 20, threads, args.bw_runs);
    BENCH.progress(format!(
        "bandwidth: 1 thread {:.1} GB/s, {threads} threads {:.1} GB/s",
        bw.single_gbs, bw.multi_gbs
    ));
    bw
}

/// nDB one query at a time on one thread, then on the default threads, then (unless skipped)
/// the queries in parallel; and whether every run returned the same results.
fn measure_ndb(
    args: &Args,
    coll: &ndb::Collection,
    ds: &Dataset,
    judge: &RecallJudge<'_>,
    bw: &Bandwidth,
) -> Res<(Vec<Row>, bool)> {
    let (nq, threads) = (ds.queries.rows(), bw.threads);
    let single_bw = (bw.single_gbs, BwRef::Single);
    let multi_bw = (bw.multi_gbs, BwRef::Multi);
    BENCH.progress(format!("nDB: {nq} queries, one at a time, 1 thread"));
    let single = run_sequential(coll, ds, args.k, Some(1), None, args.warmup)?;
    let mode = "exact, one query at a time";
    let first = Row::ndb(mode, 1, &single, judge, single_bw, "Search::threads(1)");
    BENCH.progress(format!(
        "  p50 {:.3} ms, {:.1} QPS, recall {:.4}",
        first.latency.map(|l| l.p50_ms).unwrap_or(f64::NAN),
        first.qps,
        first.recall.unwrap_or(f64::NAN)
    ));
    let mut rows = vec![first];

    BENCH.progress(format!(
        "nDB: {nq} queries, one at a time, default threads ({threads})"
    ));
    let multi = run_sequential(coll, ds, args.k, None, None, args.warmup)?;
    let mut identical = multi.same_results(&single);
    rows.push(Row::ndb(
        mode,
        threads,
        &multi,
        judge,
        multi_bw,
        "default threads (shared pool)",
    ));
    BENCH.progress(format!("  {:.1} QPS", rows[1].qps));

    if !args.skip_throughput {
        BENCH.progress(format!(
            "nDB: {nq} queries spread over {threads} threads, 1 thread each"
        ));
        let tput = run_throughput(coll, ds, args.k, args.warmup)?;
        identical &= tput.same_results(&single);
        rows.push(Row::ndb(
            "exact, throughput (queries in parallel)",
            threads,
            &tput,
            judge,
            multi_bw,
            "rayon par_iter over queries, Search::threads(1)",
        ));
        BENCH.progress(format!("  {:.1} QPS", rows[2].qps));
    }
    Ok((rows, identical))
}

/// Everything the exact-search report shows.
struct ExactReport<'a> {
    ctx: &'a Ctx<'a>,
    args: &'a Args,
    ds: &'a Dataset,
    threads: usize,
    llc: Option<u64>,
    bw_start: Bandwidth,
    bw_end: Bandwidth,
    ingest: Ingest,
    index_note: String,
    rows: Vec<Row>,
    identical: bool,
    reference: Option<Value>,
    machine: Machine,
}

pub fn run(ctx: &Ctx<'_>, ds: &mut Dataset, dirs: &mut ScratchDirs) -> Res<()> {
    let args = ctx.args;
    let threads = rayon::current_num_threads();
    // Bandwidth probe first, while the machine is otherwise idle and before the data is resident.
    BENCH.progress(format!(
        "bandwidth probe: {} MiB buffer, {} runs, 1 and {threads} threads",
        args.bw_mib, args.bw_runs
    ));
    let bw_start = probe(args, threads);

    let (db_dir, db) = crate::open_db(args, dirs)?;
    let mut config = CollectionConfig::new(ds.base.dim).with_distance(ds.metric.ndb_distance());
    let index_note = if args.no_index {
        config = config.with_index(IndexConfig::default().with_min_rows(usize::MAX));
        "no HNSW index (--no-index)".to_string()
    } else {
        let ic = config.index();
        format!(
            "includes building the HNSW index of segments >= {} rows (M {}, ef_construction {}; --no-index skips it)",
            ic.min_rows, ic.m, ic.ef_construction
        )
    };
    let coll = db.create_collection(COLL, config)?;
    BENCH.progress(format!(
        "ingesting {} vectors into {}",
        ds.base.rows(),
        db_dir.display()
    ));
    let ingest = Ingest::run(&coll, ds)?;
    BENCH.progress(format!(
        "ingest: {:.0} docs/s ({:.2} s), {} segments",
        ingest.docs_per_s, ingest.total_s, ingest.stats.segment_count
    ));
    if ds.synthetic {
        ds.ground_truth_from(&coll, args.k)?;
    }
    let judge = ds.judge(args.k)?;
    // Provisional bandwidth figures; replaced by the best of the start and end probes below.
    let (mut rows, identical) = measure_ndb(args, &coll, ds, &judge, &bw_start)?;
    let mut reference = None;
    if args.reference {
        let r = reference::exact(args, ds)?;
        for rr in r["rows"].as_array().into_iter().flatten() {
            let mut row = Row::from_reference(rr);
            row.bw_ref = Some((bw_start.single_gbs, BwRef::Single));
            rows.push(row);
        }
        reference = Some(r);
    }

    // Second bandwidth probe after the searches: the machine may be shared, so the yardstick is
    // the better of the two (a conservative fraction).
    BENCH.progress("bandwidth probe again (end of run)");
    let bw_end = probe(args, threads);
    let rep = ExactReport {
        ctx,
        args,
        ds,
        threads,
        llc: bandwidth::llc_bytes(),
        bw_start,
        bw_end,
        ingest,
        index_note,
        rows,
        identical,
        reference,
        machine: Machine::describe(),
    }
    .with_best_bandwidth();
    crate::publish(args, &rep.markdown(), &rep.to_json())
}

impl ExactReport<'_> {
    fn bw_single(&self) -> f64 {
        self.bw_start.single_gbs.max(self.bw_end.single_gbs)
    }

    fn bw_multi(&self) -> f64 {
        self.bw_start.multi_gbs.max(self.bw_end.multi_gbs)
    }

    /// Judge every row against the better of the two probes.
    fn with_best_bandwidth(mut self) -> Self {
        let (single, multi) = (self.bw_single(), self.bw_multi());
        for r in &mut self.rows {
            if let Some((g, which)) = &mut r.bw_ref {
                *g = if *which == BwRef::Single {
                    single
                } else {
                    multi
                };
            }
        }
        self
    }

    fn vector_bytes(&self) -> f64 {
        (self.ds.base.rows() * self.ds.base.dim * 4) as f64
    }

    /// QPS of the first faiss row of the references.
    fn faiss_qps(&self) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.engine.starts_with("faiss"))
            .map(|r| r.qps)
    }

    /// The headline ratios, as the JSON names them.
    fn ratios(&self) -> Map<String, Value> {
        let mut ratios = Map::new();
        if let Some(f) = self.faiss_qps() {
            ratios.insert(
                "ndb_over_faiss_qps_1t".into(),
                json!(r4(self.rows[0].qps / f)),
            );
        }
        let frac = self.rows[0].scan_gbs(self.vector_bytes()) / self.bw_single();
        ratios.insert("ndb_1t_bandwidth_fraction".into(), json!(r4(frac)));
        let speedup = self.rows[1].qps / self.rows[0].qps;
        ratios.insert("ndb_one_query_speedup".into(), json!(r4(speedup)));
        ratios
    }

    fn markdown(&self) -> String {
        let mut md = self.preamble();
        let mut t = Table::new()
            .lefts(["engine", "mode"])
            .rights(["threads", "p50 ms", "p95 ms", "p99 ms", "QPS"])
            .right(format!("recall@{}", self.args.k))
            .rights(["scan GB/s", "of bandwidth", "CPU wait"]);
        for r in &self.rows {
            t.row(r.cells(self.vector_bytes()));
        }
        md.push_str(&t.to_string());
        md.push('\n');
        md.push_str(&self.findings());
        md
    }

    /// Title, command, machine, bandwidth and ingest paragraphs.
    fn preamble(&self) -> String {
        let (ds, k, m) = (self.ds, self.args.k, &self.machine);
        let (n, nq) = (ds.base.rows(), ds.queries.rows());
        let vector_bytes = self.vector_bytes();
        let mut md = String::new();
        let _ = write!(
            md,
            "## nDB exact search: {}, k={k}, {} queries\n\n",
            ds.describe(),
            thousands(nq as u64)
        );
        let _ = write!(md, "Command: `{}`\n\n", self.ctx.command);
        let _ = write!(
            md,
            "Machine: {}, LLC {}; base vectors {:.1} MB{}.\n\n",
            m.summary(),
            self.llc
                .map(|b| format!("{} MiB", b >> 20))
                .unwrap_or_else(|| "unknown".into()),
            vector_bytes / 1e6,
            self.llc
                .map(|b| format!(" ({:.1}x the LLC)", vector_bytes / b as f64))
                .unwrap_or_default()
        );
        let (s, e) = (&self.bw_start, &self.bw_end);
        let _ = write!(
            md,
            "Memory bandwidth (sequential read of a {} MiB buffer, median of {} passes less those disturbed by \
             other processes, better of a probe at the start and one at the end of the run): **1 thread {:.1} GB/s**, \
             **{} threads {:.1} GB/s** (start {:.1} / {:.1}, end {:.1} / {:.1}).\n\n",
            s.buffer_bytes >> 20,
            s.runs,
            self.bw_single(),
            self.threads,
            self.bw_multi(),
            s.single_gbs,
            s.multi_gbs,
            e.single_gbs,
            e.multi_gbs
        );
        let i = &self.ingest;
        let _ = write!(
            md,
            "Ingest: {} docs in {:.2} s = **{} docs/s** (insert_batch of {BATCH}: {:.2} s, flush: {:.2} s), {} segments; \
             threads waited {:.1} s for a CPU; {}.\n\n",
            thousands(n as u64),
            i.total_s,
            thousands(i.docs_per_s as u64),
            i.insert_s,
            i.flush_s,
            i.stats.segment_count,
            i.sched_wait_s,
            self.index_note
        );
        md
    }

    /// The bullets under the table: ratios against the goals, and how to read the figures.
    fn findings(&self) -> String {
        let (k, threads) = (self.args.k, self.threads);
        let mut md = String::new();
        if let Some(f) = self.faiss_qps() {
            let ratio = self.rows[0].qps / f;
            let _ = writeln!(
                md,
                "- nDB / faiss single-thread QPS: **{ratio:.2}x** (goal >= 1.0x)"
            );
        }
        let scan = self.rows[0].scan_gbs(self.vector_bytes());
        let _ = writeln!(
            md,
            "- nDB single-thread scan: {scan:.1} GB/s = **{:.0}% of single-thread bandwidth** (goal >= 70% for data larger than the cache{})",
            100.0 * scan / self.bw_single(),
            match self.llc {
                Some(b) if (b as f64) < self.vector_bytes() => "; this data is larger",
                Some(_) => "; NOTE: this data fits in the LLC",
                None => "",
            }
        );
        let speedup = self.rows[1].qps / self.rows[0].qps;
        let _ = writeln!(
            md,
            "- nDB one-query speed-up, 1 -> {threads} threads: **{speedup:.2}x**"
        );
        let identical = if self.identical { "yes" } else { "**NO**" };
        let _ = writeln!(
            md,
            "- nDB results identical across thread counts: {identical}"
        );
        if let Some(r) = &self.reference {
            let s = |key: &str| r[key].as_str().unwrap_or("?");
            let _ = writeln!(
                md,
                "- Reference: python {}, numpy {}, faiss {} ({}); BLAS: {}",
                s("python"),
                s("numpy"),
                s("faiss"),
                s("faiss_simd"),
                s("blas")
            );
        }
        let _ = writeln!(
            md,
            "- Recall@{k}: a result is a hit if it is in the true top {k} or its exact distance is <= the {k}-th true distance (ties){}.",
            if self.ds.synthetic { "; synthetic ground truth is nDB's own exact search, so recall is 1.0 by construction" } else { "" }
        );
        md.push_str("- Latency: per query, wall clock around the call; QPS = queries / wall time of the run. Scan GB/s = base vector bytes x QPS.\n");
        if !self.args.skip_throughput {
            md.push_str(
                "- Throughput: concurrent queries scan the same vectors at about the same time and share the \
                 LLC, so their combined scan rate can exceed the measured memory bandwidth.\n",
            );
        }
        let _ = writeln!(
            md,
            "- CPU wait: time the run's threads were runnable but waiting for a CPU taken by other processes \
             (/proc schedstat), per thread, as a share of the run; above a few % the figures are disturbed. \
             Load average at start {}, at end {}.",
            self.ctx.load_start,
            report::load_average()
        );
        md
    }

    fn to_json(&self) -> Value {
        let (ds, args) = (self.ds, self.args);
        json!({
            "bench": "ndb-search-bench",
            "command": self.ctx.command,
            "dataset": {
                "name": ds.name,
                "dir": ds.dir.display().to_string(),
                "synthetic": ds.synthetic,
                "seed": if ds.synthetic { Some(args.seed) } else { None },
                "n": ds.base.rows(),
                "dim": ds.base.dim,
                "queries": ds.queries.rows(),
                "queries_in_file": ds.queries_in_file,
                "metric": ds.metric.name(),
                "vector_bytes": self.vector_bytes(),
            },
            "k": args.k,
            "machine": self.machine.to_json(),
            "llc_bytes": self.llc,
            "bandwidth": {
                "single_thread_gbs": r2(self.bw_single()),
                "all_threads_gbs": r2(self.bw_multi()),
                "rule": "better of the start and end probes",
                "start": self.bw_start.to_json(),
                "end": self.bw_end.to_json(),
            },
            "ingest": self.ingest.to_json(),
            "ingest_index": self.index_note,
            "rows": self.rows.iter().map(|r| r.to_json(self.vector_bytes())).collect::<Vec<_>>(),
            "identical_across_threads": self.identical,
            "ratios": self.ratios(),
            "reference": self.reference,
        })
    }
}
