//! Timed searches: one query, every query in turn on this thread, or the queries spread over
//! the shared pool; with the wall time and the time the run's threads waited for a CPU.

use std::time::Instant;

use ndb::Search;
use ndb_bench::{bandwidth, Res};
use rayon::prelude::*;

use crate::dataset::Dataset;

/// Wall time and scheduler wait (all the process's threads) since it was started.
pub struct Stopwatch {
    started: Instant,
    run_delay_ns: u64,
}

impl Stopwatch {
    pub fn start() -> Self {
        Stopwatch {
            run_delay_ns: bandwidth::process_run_delay_ns(),
            started: Instant::now(),
        }
    }

    /// Seconds since the start.
    pub fn wall_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Seconds the process's threads waited in the run queue since the start.
    pub fn wait_s(&self) -> f64 {
        bandwidth::process_run_delay_ns().saturating_sub(self.run_delay_ns) as f64 / 1e9
    }
}

/// Results of one run over the queries: per-query latencies (ms), result rows, wall time.
pub struct Timed {
    pub ms: Vec<f64>,
    pub rows: Vec<Vec<usize>>,
    pub scores: Vec<Vec<f32>>,
    pub wall_s: f64,
    /// Run-queue wait of all the process's threads during the run, seconds.
    pub wait_s: f64,
    /// On-CPU time of the calling thread during the run, seconds (sequential runs only).
    pub cpu_s: f64,
}

impl Timed {
    /// Whether `other` returned the same rows and scores.
    pub fn same_results(&self, other: &Timed) -> bool {
        self.rows == other.rows && self.scores == other.scores
    }
}

/// One search: exact (`ef` None) or approximate with that `ef`.
pub fn search_once(
    coll: &ndb::Collection,
    q: &[f32],
    k: usize,
    threads: Option<usize>,
    ef: Option<usize>,
) -> Res<(Vec<usize>, Vec<f32>)> {
    search_once_with(coll, q, k, threads, ef, None)
}

/// [`search_once`] with an oversampling for quantized collections.
pub fn search_once_with(
    coll: &ndb::Collection,
    q: &[f32],
    k: usize,
    threads: Option<usize>,
    ef: Option<usize>,
    oversampling: Option<f32>,
) -> Res<(Vec<usize>, Vec<f32>)> {
    let mut s = Search::new(q).top_k(k);
    if let Some(o) = oversampling {
        s = s.oversampling(o);
    }
    s = match ef {
        Some(ef) => s.approximate(true).ef(ef),
        None => s.approximate(false),
    };
    if let Some(t) = threads {
        s = s.threads(t);
    }
    let hits = coll.search(s)?;
    let mut rows = Vec::with_capacity(hits.len());
    let mut scores = Vec::with_capacity(hits.len());
    for h in hits {
        rows.push(
            h.id.parse::<usize>()
                .map_err(|_| format!("unexpected id {:?} in results", h.id))?,
        );
        scores.push(h.score);
    }
    Ok((rows, scores))
}

/// One query's latency (ms), result rows and scores.
type OneQuery = (f64, Vec<usize>, Vec<f32>);

/// Every query one after another on this thread (`threads`: the search's own thread setting;
/// `ef`: approximate search with that ef, else exact).
pub fn run_sequential(
    coll: &ndb::Collection,
    ds: &Dataset,
    k: usize,
    threads: Option<usize>,
    ef: Option<usize>,
    warmup: usize,
) -> Res<Timed> {
    run_sequential_with(coll, ds, k, threads, ef, warmup, None)
}

/// [`run_sequential`] with an oversampling for quantized collections.
pub fn run_sequential_with(
    coll: &ndb::Collection,
    ds: &Dataset,
    k: usize,
    threads: Option<usize>,
    ef: Option<usize>,
    warmup: usize,
    oversampling: Option<f32>,
) -> Res<Timed> {
    let nq = ds.queries.rows();
    for i in 0..warmup.min(nq) {
        search_once_with(coll, ds.queries.row(i), k, threads, ef, oversampling)?;
    }
    let mut ms = Vec::with_capacity(nq);
    let mut rows = Vec::with_capacity(nq);
    let mut scores = Vec::with_capacity(nq);
    let c0 = bandwidth::thread_cpu_ns();
    let clock = Stopwatch::start();
    for i in 0..nq {
        let t = Instant::now();
        let (r, s) = search_once_with(coll, ds.queries.row(i), k, threads, ef, oversampling)?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        rows.push(r);
        scores.push(s);
    }
    let wall_s = clock.wall_s();
    let cpu_s = bandwidth::thread_cpu_ns().saturating_sub(c0) as f64 / 1e9;
    Ok(Timed {
        ms,
        rows,
        scores,
        wall_s,
        wait_s: clock.wait_s(),
        cpu_s,
    })
}

/// The queries spread over the shared pool, each search on one thread.
pub fn run_throughput(coll: &ndb::Collection, ds: &Dataset, k: usize, warmup: usize) -> Res<Timed> {
    let nq = ds.queries.rows();
    (0..warmup.min(nq)).into_par_iter().try_for_each(|i| {
        search_once(coll, ds.queries.row(i), k, Some(1), None)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    let clock = Stopwatch::start();
    let out: Vec<Result<OneQuery, String>> = (0..nq)
        .into_par_iter()
        .map(|i| {
            let t = Instant::now();
            let (r, s) = search_once(coll, ds.queries.row(i), k, Some(1), None)
                .map_err(|e| e.to_string())?;
            Ok((t.elapsed().as_secs_f64() * 1e3, r, s))
        })
        .collect();
    let mut timed = Timed {
        ms: Vec::with_capacity(nq),
        rows: Vec::with_capacity(nq),
        scores: Vec::with_capacity(nq),
        wall_s: clock.wall_s(),
        wait_s: clock.wait_s(),
        cpu_s: f64::NAN,
    };
    for o in out {
        let (ms, r, s) = o?;
        timed.ms.push(ms);
        timed.rows.push(r);
        timed.scores.push(s);
    }
    Ok(timed)
}
