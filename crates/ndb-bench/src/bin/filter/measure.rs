//! What the filter benchmark measures: the filters, the exact answer of every query under every
//! filter, and the timed passes (with payload indexes and post-filtering, then without the
//! indexes), each result judged against the exact answer.

use std::collections::HashSet;
use std::time::Instant;

use ndb::{Collection, CollectionStats, Filter, Search};
use ndb_bench::measure::{tie_tolerance, Latency, Metric};
use ndb_bench::report::load_average;
use ndb_bench::vecs::Vectors;
use ndb_bench::{ms, read_mem, Res};
use serde_json::{json, Value};

use crate::{Args, BuildTimes, Data, BENCH};

pub const WARMUP_QUERIES: usize = 50;
/// Progress is reported every this many queries.
const PROGRESS_EVERY: usize = 200;
/// Queries whose exact answers are checked against brute force.
const CHECKED_QUERIES: usize = 20;

/// A filter of the benchmark: rows with `row % modulus == value` in field `field`.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub label: &'static str,
    pub field: &'static str,
    modulus: usize,
    value: usize,
}

impl Case {
    fn filter(&self) -> Filter {
        Filter::eq(self.field, self.value as i64)
    }
    pub fn matches(&self, row: usize) -> bool {
        row % self.modulus == self.value
    }
    pub fn expr(&self) -> String {
        format!("{} == {}", self.field, self.value)
    }
}

pub const CASES: [Case; 3] = [
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

/// The filter slots: 0 is no filter, `i + 1` is `CASES[i]`.
const SLOTS: usize = CASES.len() + 1;

/// The filter of slot `ci` (None: unfiltered).
fn case(ci: usize) -> Option<&'static Case> {
    ci.checked_sub(1).and_then(|i| CASES.get(i))
}

/// `s` with the filter of slot `ci`.
fn filtered(s: Search<'_>, ci: usize) -> Search<'_> {
    match case(ci) {
        Some(c) => s.filter(c.filter()),
        None => s,
    }
}

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
pub struct Cell {
    pub lat_ms: Vec<f64>,
    hits: usize,
    possible: usize,
    results: usize,
    /// Queries answered with fewer results than the exact search returned.
    pub short: usize,
    /// Results that do not satisfy the filter (must be 0).
    pub violations: usize,
}

impl Cell {
    pub fn recall(&self) -> f64 {
        if self.possible == 0 {
            f64::NAN
        } else {
            self.hits as f64 / self.possible as f64
        }
    }
    pub fn results_per_query(&self, queries: usize) -> f64 {
        self.results as f64 / queries as f64
    }
    pub fn latency(&self) -> Latency {
        Latency::of(&self.lat_ms)
    }
    pub fn json(&self, queries: usize) -> Value {
        let l = self.latency();
        json!({
            "recall": self.recall(),
            "results_per_query": self.results_per_query(queries),
            "short_queries": self.short,
            "violations": self.violations,
            "latency_ms": {"p50": l.p50_ms, "p95": l.p95_ms, "p99": l.p99_ms, "mean": l.mean_ms, "max": l.max_ms, "count": l.count},
        })
    }
}

/// One cell per filter slot.
fn cells(count: usize) -> Vec<Cell> {
    (0..count).map(|_| Cell::default()).collect()
}

fn row_of(id: &str) -> Res<usize> {
    id.parse::<usize>()
        .map_err(|_| format!("unexpected document id {id:?}").into())
}

/// The rows of a search's results.
fn rows_of(coll: &Collection, s: Search<'_>) -> Res<Vec<usize>> {
    coll.search(s)?.iter().map(|m| row_of(&m.id)).collect()
}

fn timed_search(coll: &Collection, s: Search<'_>) -> Res<(f64, Vec<usize>)> {
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

/// What a run needs to search and judge.
struct Ctx<'a> {
    metric: Metric,
    base: &'a Vectors<f32>,
    queries: &'a Vectors<f32>,
    coll: &'a Collection,
    k: usize,
    ef: Option<usize>,
    /// truths[slot][query].
    truths: Vec<Vec<Truth>>,
}

impl Ctx<'_> {
    /// Score `rows` (a result list, best first) against the exact answer of query `qi` under
    /// the filter of slot `ci`.
    fn judge(&self, qi: usize, ci: usize, rows: &[usize], cell: &mut Cell) {
        let (q, truth, case) = (self.queries.row(qi), &self.truths[ci][qi], case(ci));
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

    /// The exact answers, once per query and filter.
    fn exact_answers(&mut self) -> Res<()> {
        let (k, nq) = (self.k, self.queries.rows());
        let mut truths: Vec<Vec<Truth>> = (0..SLOTS).map(|_| Vec::with_capacity(nq)).collect();
        for qi in 0..nq {
            let q = self.queries.row(qi);
            for (ci, slot) in truths.iter_mut().enumerate() {
                let s = filtered(Search::new(q).top_k(k).approximate(false), ci);
                let rows = rows_of(self.coll, s)?;
                let kth = if rows.len() == k {
                    rows.iter()
                        .map(|&r| self.metric.distance(q, self.base.row(r)))
                        .fold(f64::NEG_INFINITY, f64::max)
                } else {
                    f64::INFINITY
                };
                slot.push(Truth {
                    len: rows.len(),
                    rows: rows.into_iter().collect(),
                    kth,
                });
            }
            if (qi + 1) % PROGRESS_EVERY == 0 {
                BENCH.progress(format!("ground truth: {}/{nq} queries", qi + 1));
            }
        }
        self.truths = truths;
        Ok(())
    }

    /// Cross-check the exact answers of the first queries against brute force in f64: the
    /// checks made and how many disagreed.
    fn cross_check(&self) -> (usize, usize) {
        let (k, n) = (self.k, self.base.rows());
        let check_q = self.queries.rows().min(CHECKED_QUERIES);
        let mut mismatches = 0;
        for qi in 0..check_q {
            let q = self.queries.row(qi);
            for ci in 0..SLOTS {
                let mut d: Vec<f64> = (0..n)
                    .filter(|&r| case(ci).is_none_or(|c| c.matches(r)))
                    .map(|r| self.metric.distance(q, self.base.row(r)))
                    .collect();
                d.sort_by(f64::total_cmp);
                let kth = d.get(k - 1).copied().unwrap_or(f64::INFINITY);
                let tr = &self.truths[ci][qi];
                let ok = tr.len == d.len().min(k)
                    && (kth.is_infinite() && tr.kth.is_infinite()
                        || (tr.kth - kth).abs() <= tie_tolerance(kth) * 10.0);
                if !ok {
                    mismatches += 1;
                }
            }
        }
        (check_q, mismatches)
    }

    /// The planner's search of query `qi` under every filter; recorded in `cells` if given.
    fn planner(&self, qi: usize, mut cells: Option<&mut [Cell]>) -> Res<()> {
        let q = self.queries.row(qi);
        for ci in 0..SLOTS {
            let (el, rows) = timed_search(self.coll, filtered(approx(q, self.k, self.ef), ci))?;
            if let Some(cells) = cells.as_deref_mut() {
                cells[ci].lat_ms.push(el);
                self.judge(qi, ci, &rows, &mut cells[ci]);
            }
        }
        Ok(())
    }

    /// The post-filter baseline of query `qi`: one unfiltered top-(k*c) search, filtered per
    /// case; recorded in `cells` (one per case) if given.
    fn post_filter(&self, qi: usize, post_k: usize, cells: Option<&mut [Cell]>) -> Res<()> {
        let (el, rows) = timed_search(self.coll, approx(self.queries.row(qi), post_k, self.ef))?;
        let Some(cells) = cells else { return Ok(()) };
        for (ci, (case, cell)) in CASES.iter().zip(cells).enumerate() {
            let kept: Vec<usize> = rows
                .iter()
                .copied()
                .filter(|&r| case.matches(r))
                .take(self.k)
                .collect();
            cell.lat_ms.push(el);
            self.judge(qi, ci + 1, &kept, cell);
        }
        Ok(())
    }

    /// One pass over the queries (after the warm-up queries): the planner under every filter,
    /// and with `post_k` the post-filter baseline; the planner's and the baseline's cells and
    /// the pass's seconds.
    fn pass(
        &self,
        (name, what): (&str, &str),
        post_k: Option<usize>,
    ) -> Res<(Vec<Cell>, Vec<Cell>, f64)> {
        let nq = self.queries.rows();
        BENCH.progress(format!("{name} ({what}): warm-up"));
        for qi in 0..nq.min(WARMUP_QUERIES) {
            self.planner(qi, None)?;
            if let Some(pk) = post_k {
                self.post_filter(qi, pk, None)?;
            }
        }
        let mut planner = cells(SLOTS);
        let mut post = cells(CASES.len());
        let t = Instant::now();
        for qi in 0..nq {
            self.planner(qi, Some(&mut planner))?;
            if let Some(pk) = post_k {
                self.post_filter(qi, pk, Some(&mut post))?;
            }
            if (qi + 1) % PROGRESS_EVERY == 0 {
                BENCH.progress(format!("{name}: {}/{nq} queries", qi + 1));
            }
        }
        Ok((planner, post, t.elapsed().as_secs_f64()))
    }
}

/// Everything a run measured.
pub struct Run {
    pub times: BuildTimes,
    /// The collection after the flush.
    pub stats: CollectionStats,
    pub gt_s: f64,
    /// Queries cross-checked against brute force, and the disagreements.
    pub check_q: usize,
    pub gt_mismatch: usize,
    /// Pass A (payload indexes): the planner per slot, post-filtering per case.
    pub cells_idx: Vec<Cell>,
    pub cells_post: Vec<Cell>,
    pub pass_a_s: f64,
    /// Pass B (no payload indexes): the planner per slot.
    pub cells_noidx: Vec<Cell>,
    pub pass_b_s: f64,
    pub notes: Vec<String>,
    pub load_end: String,
    pub rss_kib: u64,
}

/// Measure the built collection: exact answers, pass A, drop the payload indexes, pass B.
pub fn run(args: &Args, data: &Data, coll: &Collection, times: BuildTimes) -> Res<Run> {
    let n = data.base.rows();
    let stats = coll.stats()?;
    BENCH.progress(format!(
        "flushed in {:.1} s: {} segment(s), {} indexed docs, {} disk bytes",
        times.flush_s, stats.segment_count, stats.indexed_docs, stats.disk_bytes
    ));
    let mut notes: Vec<String> = Vec::new();
    if stats.segment_count != 1 || stats.indexed_docs != n as u64 {
        notes.push(format!(
            "expected one indexed segment, got {} segment(s) with {} of {n} rows indexed",
            stats.segment_count, stats.indexed_docs
        ));
    }
    let mut ctx = Ctx {
        metric: args.metric,
        base: &data.base,
        queries: &data.queries,
        coll,
        k: args.k,
        ef: args.ef,
        truths: Vec::new(),
    };
    let t = Instant::now();
    ctx.exact_answers()?;
    let gt_s = t.elapsed().as_secs_f64();
    BENCH.progress(format!("exact ground truth in {gt_s:.1} s"));
    let (check_q, gt_mismatch) = ctx.cross_check();
    if gt_mismatch > 0 {
        notes.push(format!(
            "exact search disagreed with brute force (k-th distance) in {gt_mismatch} of {} checks",
            check_q * SLOTS
        ));
    }
    let post_k = args.k * args.c;
    let (cells_idx, cells_post, pass_a_s) =
        ctx.pass(("pass A", "payload indexes"), Some(post_k))?;
    for case in &CASES {
        coll.drop_payload_index(case.field)?;
    }
    if !coll.payload_indexes().is_empty() {
        notes.push(format!(
            "payload indexes still declared after drop: {:?}",
            coll.payload_indexes()
        ));
    }
    let (cells_noidx, _, pass_b_s) = ctx.pass(("pass B", "no payload indexes"), None)?;
    Ok(Run {
        times,
        stats,
        gt_s,
        check_q,
        gt_mismatch,
        cells_idx,
        cells_post,
        pass_a_s,
        cells_noidx,
        pass_b_s,
        notes,
        load_end: load_average(),
        rss_kib: read_mem().vm_rss_kib,
    })
}
