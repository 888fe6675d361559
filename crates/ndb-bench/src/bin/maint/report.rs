//! The report of all modes: ingest, search latency by phase, the segment count over time; as
//! markdown and as JSON.

use std::fmt::Write as _;

use ndb_bench::measure::Latency;
use ndb_bench::report::fmt::{met, small};
use ndb_bench::report::{Machine, Table};
use serde_json::{json, Value};

use crate::run::{
    phase_name, ModeResult, Sample, IDLE_CORES, PHASE_DRAIN, PHASE_IDLE, PHASE_INGEST,
};
use crate::{mode_name, Args};

/// Maintenance on / off: the ingest rate ratio that is the goal.
const INGEST_GOAL: f64 = 0.7;
/// p99 during background merges / idle p99: the goal.
const SEARCH_GOAL: f64 = 2.0;

/// The search-latency ratios of the run with maintenance on, against idle.
struct SearchRatios {
    merging_count: usize,
    merges_after_flush: u64,
    merging_only: f64,
    ingest_busy: f64,
    busy: f64,
}

pub struct Report<'a> {
    pub args: &'a Args,
    pub command: String,
    pub load_start: String,
    pub load_end: String,
    pub results: Vec<ModeResult>,
}

impl Report<'_> {
    fn on(&self) -> Option<&ModeResult> {
        self.results.iter().find(|r| r.on)
    }

    fn off(&self) -> Option<&ModeResult> {
        self.results.iter().find(|r| !r.on)
    }

    /// Ingest rate on / off, and time to idle off / on.
    fn ingest_ratios(&self) -> Option<(f64, f64)> {
        let (a, b) = (self.on()?, self.off()?);
        let n = self.args.n;
        Some((
            a.docs_per_s(n) / b.docs_per_s(n),
            (b.ingest_s + b.drain_s) / (a.ingest_s + a.drain_s),
        ))
    }

    fn search_ratios(&self) -> Option<SearchRatios> {
        let a = self.on()?;
        let idle = a.lat(|p| p.2 == PHASE_IDLE);
        if idle.count == 0 {
            return None;
        }
        let ratio = |l: &Latency| {
            if l.count == 0 {
                f64::NAN
            } else {
                l.p99_ms / idle.p99_ms
            }
        };
        let merging = a.lat(|p| a.merging_only(p));
        Some(SearchRatios {
            merging_count: merging.count,
            merges_after_flush: a.merges_after_flush,
            merging_only: ratio(&merging),
            ingest_busy: ratio(&a.lat(|p| p.2 == PHASE_INGEST && a.bg_busy(p.0))),
            busy: ratio(&a.lat(|p| p.2 <= PHASE_DRAIN)),
        })
    }

    pub fn markdown(&self) -> String {
        let mut md = self.preamble();
        md.push_str(&self.ingest_section());
        md.push_str(&self.search_section());
        md.push_str("\n## Segment count over time\n\n");
        for r in &self.results {
            md.push_str(&segments_over_time(r));
        }
        md
    }

    fn preamble(&self) -> String {
        let (args, m) = (self.args, Machine::describe());
        let flush = match args.flush_mib {
            Some(m) => format!("{m} MiB (set by --flush-mib)"),
            None => "64 MiB (default)".to_string(),
        };
        let rate = match args.rate {
            Some(r) => format!("paced at {r:.0} docs/s offered"),
            None => "as fast as insert_batch returns".to_string(),
        };
        let reader = if args.no_reader {
            "off"
        } else {
            "on during the whole run"
        };
        format!(
            "# nDB sustained ingest and background maintenance (`ndb-maint-bench`)\n\n\
             - Command: `{}`\n\
             - Data: {} random vectors × {} dims (uniform in [-1, 1), seed {}), `insert_batch` of {}; default collection config (cosine, HNSW m 16 / ef_construction 200, index for segments ≥ 10k rows), flush threshold {flush}\n\
             - Ingest: {rate}; reader: {reader} (`Search::new(&q).top_k(10).threads(1)`, back to back, one thread)\n\
             - Machine: {}, {} GiB; load average (1/5/15 min) at start {}, at end {}; other benchmarks ran at the same time, so figures are noisy\n\
             - Idle = segment count, flushes and merges unchanged for {} s with < {IDLE_CORES} core of background CPU; then {} s of idle searches\n\n",
            self.command,
            args.n,
            args.dim,
            args.seed,
            args.batch,
            m.cpus(),
            m.mem_gib(),
            self.load_start,
            self.load_end,
            args.stable_secs,
            args.idle_secs
        )
    }

    fn ingest_section(&self) -> String {
        let mut t = Table::new()
            .left("Maintenance")
            .rights([
                "docs/s (until last insert_batch returns)",
                "Ingest s",
                "flush() s",
            ])
            .rights(["Last insert → idle s", "Total to idle s"])
            .lefts([
                "insert_batch p50 / p99 / max ms",
                "Writer stalls (count, total s)",
            ])
            .rights([
                "Segments at end of ingest",
                "Segments when idle",
                "Flushes",
                "Merges",
            ])
            .left("Load avg start → end");
        for r in &self.results {
            let b = Latency::of(&r.batch_ms);
            let st = &r.final_stats;
            t.row([
                mode_name(r.on).to_string(),
                format!("{:.0}", r.docs_per_s(self.args.n)),
                format!("{:.1}", r.ingest_s),
                format!("{:.1}", r.flush_s),
                format!(
                    "{:.1}{}",
                    r.drain_s,
                    if r.idle_timeout { " (timeout)" } else { "" }
                ),
                format!("{:.1}", r.ingest_s + r.drain_s),
                format!(
                    "{} / {} / {}",
                    small(b.p50_ms),
                    small(b.p99_ms),
                    small(b.max_ms)
                ),
                format!(
                    "{}, {:.2}",
                    st.write_stalls,
                    st.write_stall_time.as_secs_f64()
                ),
                r.end_of_ingest.segments.to_string(),
                st.segment_count.to_string(),
                st.flushes.to_string(),
                st.merges.to_string(),
                format!("{} → {}", r.loadavg_start, r.loadavg_end),
            ]);
        }
        let mut md = format!("## Ingest\n\n{t}");
        if let Some((ratio, total_ratio)) = self.ingest_ratios() {
            let _ = writeln!(
                md,
                "\nIngest rate with maintenance on / off: **{ratio:.2}** (goal ≥ 0.70: **{}**). Time to idle, off / on: {total_ratio:.2}.",
                met(ratio >= INGEST_GOAL)
            );
        }
        md
    }

    fn search_section(&self) -> String {
        let mut t = Table::new()
            .lefts(["Maintenance", "Phase"])
            .rights(["Searches", "p50 ms", "p99 ms", "max ms"]);
        for r in &self.results {
            for (name, l) in r.classes().into_iter().filter(|(_, l)| l.count > 0) {
                t.row([
                    mode_name(r.on).to_string(),
                    name.to_string(),
                    l.count.to_string(),
                    small(l.p50_ms),
                    small(l.p99_ms),
                    small(l.max_ms),
                ]);
            }
        }
        let mut md = format!("\n## Search latency during ingest and merges vs idle\n\n{t}");
        if let Some(s) = self.search_ratios() {
            let goal = if s.merging_count == 0 {
                "not measured"
            } else {
                met(s.merging_only <= SEARCH_GOAL)
            };
            let _ = writeln!(
                md,
                "\nMaintenance on: p99 while only background merges and graph builds run (after the final flush, {} merge(s), {} searches) / idle p99 = **{}** (goal ≤ 2: **{goal}**); during ingest with background builds/merges busy / idle: {}; whole busy period / idle: {}.",
                s.merges_after_flush,
                s.merging_count,
                small(s.merging_only),
                small(s.ingest_busy),
                small(s.busy)
            );
            if s.merging_count == 0 {
                md.push_str("No background work ran after the final flush, so the merge figure is not measured in this run.\n");
            }
        }
        md
    }

    fn goals(&self) -> Value {
        let mut goals = json!({});
        if let Some((ratio, _)) = self.ingest_ratios() {
            goals["ingest_ratio_on_over_off"] = json!(ratio);
            goals["ingest_goal_met"] = json!(ratio >= INGEST_GOAL);
        }
        if let Some(s) = self.search_ratios() {
            goals["p99_merges_only_over_idle"] = json!(s.merging_only);
            goals["p99_ingest_bg_busy_over_idle"] = json!(s.ingest_busy);
            goals["p99_busy_over_idle"] = json!(s.busy);
            goals["search_goal_met"] = json!(s.merging_count > 0 && s.merging_only <= SEARCH_GOAL);
        }
        goals
    }

    pub fn to_json(&self) -> Value {
        let args = self.args;
        let modes: Vec<Value> = self.results.iter().map(|r| mode_json(r, args.n)).collect();
        json!({
            "bench": "ndb-maint-bench",
            "command": self.command,
            "n": args.n, "dim": args.dim, "batch": args.batch, "seed": args.seed, "rate": args.rate,
            "flush_threshold_mib": args.flush_mib.unwrap_or(64),
            "reader": !args.no_reader,
            "machine": Machine::describe().to_json(),
            "loadavg_start": self.load_start, "loadavg_end": self.load_end,
            "modes": modes,
            "goals": self.goals(),
        })
    }
}

/// The segment layout over time of one mode: about 60 rows at a round step (1 s for short
/// runs), plus every row where the segment layout changed; the JSON has one sample a second.
fn segments_over_time(r: &ModeResult) -> String {
    let mut md = format!(
        "Maintenance {}: final flush() returned at {:.1} s; {} merge(s) completed after it\n\n",
        mode_name(r.on),
        r.flush_done_t,
        r.merges_after_flush
    );
    let mut t = Table::new()
        .right("t s")
        .left("phase")
        .rights([
            "docs inserted",
            "segments",
            "flushes",
            "merges",
            "memtable docs",
        ])
        .rights(["indexed docs", "background cores"]);
    let span = r.samples.last().map_or(0.0, |l| l.t);
    let every = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0]
        .into_iter()
        .find(|&e| span / e <= 60.0)
        .unwrap_or(120.0);
    let mut next_t = 0.0;
    let mut prev: Option<&Sample> = None;
    for s in &r.samples {
        let changed = prev.is_some_and(|p| {
            p.segments != s.segments || p.flushes != s.flushes || p.merges != s.merges
        });
        if s.t >= next_t || changed {
            t.row([
                format!("{:.1}", s.t),
                phase_name(s.phase).to_string(),
                s.docs.to_string(),
                s.segments.to_string(),
                s.flushes.to_string(),
                s.merges.to_string(),
                s.memtable_docs.to_string(),
                s.indexed_docs.to_string(),
                format!("{:.2}", s.bg_cores),
            ]);
            if s.t >= next_t {
                next_t = (s.t / every).floor() * every + every;
            }
        }
        prev = Some(s);
    }
    let _ = writeln!(md, "{t}");
    md
}

fn mode_json(r: &ModeResult, n: usize) -> Value {
    // Per-second samples for the JSON (every 4th 250 ms sample).
    let per_s: Vec<Value> = r.samples.iter().step_by(4).map(Sample::json).collect();
    let search: Vec<Value> = r
        .classes()
        .iter()
        .map(|(name, l)| json!({"phase": name, "latency": l.to_json()}))
        .collect();
    json!({
        "maintenance": mode_name(r.on),
        "docs_per_s": r.docs_per_s(n),
        "ingest_s": r.ingest_s,
        "flush_s": r.flush_s,
        "last_insert_to_idle_s": r.drain_s,
        "idle_timeout": r.idle_timeout,
        "insert_batch_ms": Latency::of(&r.batch_ms).to_json(),
        "end_of_ingest": r.end_of_ingest.json(),
        "final": r.final_json(),
        "final_flush_done_t_s": r.flush_done_t,
        "merges_after_final_flush": r.merges_after_flush,
        "search_latency": search,
        "samples_per_s": per_s,
        "loadavg_start": r.loadavg_start,
        "loadavg_end": r.loadavg_end,
        "rss_kib": r.rss_kib,
    })
}
