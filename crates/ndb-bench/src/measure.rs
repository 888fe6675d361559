//! Search measurements: the benchmark metric, exact distances in `f64`, recall@k against ground
//! truth (fair with ties), and latency percentiles.

use crate::vecs::Vectors;

/// The metric a dataset's ground truth was computed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Euclidean; ground-truth distances are squared L2.
    L2,
    /// Cosine (angular); ground-truth distances are `1 - cos`.
    Cosine,
    /// Inner product; ground-truth "distances" are `-<q, b>`.
    Dot,
}

impl Metric {
    /// Parse `l2` / `euclidean`, `cosine` / `angular`, `dot` / `ip`.
    pub fn parse(s: &str) -> Option<Metric> {
        match s.to_ascii_lowercase().as_str() {
            "l2" | "euclidean" => Some(Metric::L2),
            "cosine" | "angular" | "cos" => Some(Metric::Cosine),
            "dot" | "ip" | "inner_product" | "dotproduct" => Some(Metric::Dot),
            _ => None,
        }
    }

    /// The metric a dataset's `INFO.md` names ("metric = **l2**", as `scripts/fetch-dataset.sh`
    /// writes it), if the file and the line are there.
    pub fn from_info(dir: &std::path::Path) -> Option<Metric> {
        let text = std::fs::read_to_string(dir.join("INFO.md")).ok()?;
        let i = text.find("metric = **")?;
        let rest = &text[i + "metric = **".len()..];
        let end = rest.find("**")?;
        Metric::parse(&rest[..end])
    }

    /// The short name (`l2`, `cosine`, `dot`), as the reference script takes it.
    pub fn name(self) -> &'static str {
        match self {
            Metric::L2 => "l2",
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
        }
    }

    /// The nDB distance for collections of this metric.
    pub fn ndb_distance(self) -> ndb::Distance {
        match self {
            Metric::L2 => ndb::Distance::Euclidean,
            Metric::Cosine => ndb::Distance::Cosine,
            Metric::Dot => ndb::Distance::DotProduct,
        }
    }

    /// The exact distance between `q` and `b` in `f64`, as the ground truth defines it (lower
    /// is nearer): squared L2, `1 - cos`, or `-<q, b>`.
    pub fn distance(self, q: &[f32], b: &[f32]) -> f64 {
        match self {
            Metric::L2 => lane_sum(q, b, |x, y| (x - y) * (x - y)),
            Metric::Cosine => {
                let dot = lane_sum(q, b, |x, y| x * y);
                let qq = lane_sum(q, q, |x, y| x * y);
                let bb = lane_sum(b, b, |x, y| x * y);
                if qq == 0.0 || bb == 0.0 {
                    1.0
                } else {
                    1.0 - dot / (qq.sqrt() * bb.sqrt())
                }
            }
            Metric::Dot => -lane_sum(q, b, |x, y| x * y),
        }
    }
}

/// `sum f(q[i], b[i])` in `f64`, accumulated in 8 independent lanes (element `i` into lane
/// `i % 8`, the lanes added in order at the end): a fixed order, so every caller gets the same
/// distance, and one the compiler vectorizes (a single running sum is a chain of dependent adds,
/// 8x slower on a 1,000,000 x 768 ground truth).
#[inline]
fn lane_sum(q: &[f32], b: &[f32], f: impl Fn(f64, f64) -> f64) -> f64 {
    const LANES: usize = 8;
    let mut acc = [0f64; LANES];
    let (qc, bc) = (q.chunks_exact(LANES), b.chunks_exact(LANES));
    let (qr, br) = (qc.remainder(), bc.remainder());
    for (x, y) in qc.zip(bc) {
        for i in 0..LANES {
            acc[i] += f(f64::from(x[i]), f64::from(y[i]));
        }
    }
    for (i, (&x, &y)) in qr.iter().zip(br).enumerate() {
        acc[i] += f(f64::from(x), f64::from(y));
    }
    acc.iter().sum()
}

/// Tolerance when comparing an exact `f64` distance with a ground-truth distance stored as `f32`.
#[inline]
pub fn tie_tolerance(kth: f64) -> f64 {
    1e-6 * kth.abs() + 1e-7
}

/// Recall@k of result lists against ground truth.
///
/// A returned row counts as a hit if it is among the true top `k` (`gt`), or, to be fair with
/// ties, if its exact distance to the query is at most the `k`-th ground-truth distance
/// (`gt_dist`, within [`tie_tolerance`]). Each query contributes `k` possible hits (duplicates in a
/// result list count once).
pub struct RecallJudge<'a> {
    /// Metric of the ground truth.
    pub metric: Metric,
    /// k.
    pub k: usize,
    /// Base vectors (row numbers are the ids).
    pub base: &'a Vectors<f32>,
    /// Queries.
    pub queries: &'a Vectors<f32>,
    /// True neighbours per query (at least `k` per row).
    pub gt: &'a Vectors<i32>,
    /// Their distances (at least `k` per row).
    pub gt_dist: &'a Vectors<f32>,
}

impl RecallJudge<'_> {
    /// Hits of one query's result rows (at most `k` are looked at).
    pub fn hits(&self, query: usize, result_rows: &[usize]) -> usize {
        let k = self.k;
        let truth = &self.gt.row(query)[..k];
        let kth = self.gt_dist.row(query)[k - 1] as f64;
        let q = self.queries.row(query);
        let mut seen: Vec<usize> = Vec::with_capacity(k);
        let mut hits = 0;
        for &r in result_rows.iter().take(k) {
            if seen.contains(&r) {
                continue;
            }
            seen.push(r);
            if truth.iter().any(|&t| t as i64 == r as i64) {
                hits += 1;
            } else if r < self.base.rows() {
                let d = self.metric.distance(q, self.base.row(r));
                if d <= kth + tie_tolerance(kth) {
                    hits += 1;
                }
            }
        }
        hits
    }

    /// Recall over all queries: total hits / (queries × k).
    pub fn recall(&self, results: &[Vec<usize>]) -> f64 {
        if results.is_empty() {
            return f64::NAN;
        }
        let hits: usize = results
            .iter()
            .enumerate()
            .map(|(q, r)| self.hits(q, r))
            .sum();
        hits as f64 / (results.len() * self.k) as f64
    }
}

/// Exact ground truth by brute force in `f64` (the same distances as [`Metric::distance`]):
/// for every query the `k` nearest base rows (ties broken by the lower row number) and their
/// distances, computed over the queries in parallel on the current rayon pool.
pub fn exact_ground_truth(
    metric: Metric,
    base: &Vectors<f32>,
    queries: &Vectors<f32>,
    k: usize,
) -> (Vectors<i32>, Vectors<f32>) {
    use rayon::prelude::*;
    let k = k.min(base.rows());
    // Queries in tiles of TILE: each base row is read from memory once per tile (it stays in
    // L1 while the tile's queries score it), not once per query.
    const TILE: usize = 16;
    let tiles: Vec<Vec<Vec<(f64, usize)>>> = (0..queries.rows().div_ceil(TILE))
        .into_par_iter()
        .map(|t| {
            let tile = t * TILE..queries.rows().min((t + 1) * TILE);
            // Per query, a max-heap of the k best (distance, row): the worst on top.
            let mut best: Vec<std::collections::BinaryHeap<(OrdF64, usize)>> = tile
                .clone()
                .map(|_| std::collections::BinaryHeap::with_capacity(k + 1))
                .collect();
            for (r, b) in base.iter().enumerate() {
                for (heap, qi) in best.iter_mut().zip(tile.clone()) {
                    let d = OrdF64(metric.distance(queries.row(qi), b));
                    if heap.len() < k {
                        heap.push((d, r));
                    } else if heap.peek().is_some_and(|top| (d, r) < *top) {
                        heap.pop();
                        heap.push((d, r));
                    }
                }
            }
            best.into_iter()
                .map(|heap| {
                    let mut v: Vec<(f64, usize)> =
                        heap.into_iter().map(|(d, r)| (d.0, r)).collect();
                    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    v
                })
                .collect()
        })
        .collect();
    let per_query = tiles.into_iter().flatten();
    let mut ids = Vec::with_capacity(queries.rows() * k);
    let mut dists = Vec::with_capacity(queries.rows() * k);
    for v in per_query {
        for (d, r) in v {
            ids.push(r as i32);
            dists.push(d as f32);
        }
    }
    (Vectors::new(k, ids), Vectors::new(k, dists))
}

/// `f64` ordered by `total_cmp`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct OrdF64(f64);

impl Eq for OrdF64 {}

impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Latency percentiles of a set of per-query times.
#[derive(Clone, Copy, Debug, Default)]
pub struct Latency {
    /// Queries measured.
    pub count: usize,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Mean, ms.
    pub mean_ms: f64,
    /// Largest, ms.
    pub max_ms: f64,
}

impl Latency {
    /// Percentiles (nearest rank) of `ms` (per-query latencies in milliseconds).
    pub fn of(ms: &[f64]) -> Latency {
        if ms.is_empty() {
            return Latency::default();
        }
        let mut v = ms.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        Latency {
            count: v.len(),
            p50_ms: percentile(&v, 50.0),
            p95_ms: percentile(&v, 95.0),
            p99_ms: percentile(&v, 99.0),
            mean_ms: v.iter().sum::<f64>() / v.len() as f64,
            max_ms: v[v.len() - 1],
        }
    }

    /// The percentiles as JSON (unrounded).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "count": self.count, "p50_ms": self.p50_ms, "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms, "mean_ms": self.mean_ms, "max_ms": self.max_ms,
        })
    }
}

/// Nearest-rank percentile `p` (0..=100) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(|x| x as f64).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        let l = Latency::of(&[2.0, 1.0, 3.0]);
        assert_eq!((l.p50_ms, l.max_ms, l.mean_ms), (2.0, 3.0, 2.0));
    }

    #[test]
    fn recall_counts_ties() {
        // Base: 0 at distance 1, 1 at distance 1 (tie), 2 at distance 4.
        let base = Vectors::new(1, vec![1.0, -1.0, 2.0]);
        let queries = Vectors::new(1, vec![0.0]);
        let gt = Vectors::new(1, vec![0]);
        let gt_dist = Vectors::new(1, vec![1.0]);
        let j = RecallJudge {
            metric: Metric::L2,
            k: 1,
            base: &base,
            queries: &queries,
            gt: &gt,
            gt_dist: &gt_dist,
        };
        assert_eq!(j.hits(0, &[0]), 1);
        assert_eq!(j.hits(0, &[1]), 1); // tie at the k-th distance
        assert_eq!(j.hits(0, &[2]), 0);
        assert_eq!(j.recall(&[vec![2]]), 0.0);
    }

    #[test]
    fn ground_truth_brute_force() {
        let base = Vectors::new(1, vec![5.0, 1.0, -1.0, 3.0, 1.0]);
        let queries = Vectors::new(1, vec![0.0, 4.0]);
        let (gt, gd) = exact_ground_truth(Metric::L2, &base, &queries, 3);
        // Ties (rows 1 and 4 at distance 1) in row order.
        assert_eq!(gt.row(0), &[1, 2, 4]);
        assert_eq!(gd.row(0), &[1.0, 1.0, 1.0]);
        assert_eq!(gt.row(1), &[0, 3, 1]);
        assert_eq!(gd.row(1), &[1.0, 1.0, 9.0]);
    }

    #[test]
    fn ground_truth_over_several_tiles_matches_sorting_every_row() {
        // 37 queries (more than two tiles), 13 dims (not a multiple of the lanes).
        let mut x = 7u64;
        let mut draw = move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
        let base = Vectors::new(13, (0..300 * 13).map(|_| draw()).collect());
        let queries = Vectors::new(13, (0..37 * 13).map(|_| draw()).collect());
        for metric in [Metric::L2, Metric::Cosine, Metric::Dot] {
            let (gt, gd) = exact_ground_truth(metric, &base, &queries, 10);
            for qi in 0..queries.rows() {
                let q = queries.row(qi);
                let naive = |b: &[f32]| -> f64 {
                    let (mut dot, mut qq, mut bb, mut l2) = (0f64, 0f64, 0f64, 0f64);
                    for (&x, &y) in q.iter().zip(b) {
                        let (x, y) = (f64::from(x), f64::from(y));
                        (dot, qq, bb, l2) =
                            (dot + x * y, qq + x * x, bb + y * y, l2 + (x - y) * (x - y));
                    }
                    match metric {
                        Metric::L2 => l2,
                        Metric::Cosine => 1.0 - dot / (qq.sqrt() * bb.sqrt()),
                        Metric::Dot => -dot,
                    }
                };
                let mut all: Vec<(f64, usize)> = base
                    .iter()
                    .enumerate()
                    .map(|(r, b)| (naive(b), r))
                    .collect();
                all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                let want: Vec<i32> = all[..10].iter().map(|&(_, r)| r as i32).collect();
                assert_eq!(gt.row(qi), &want[..], "{metric:?} query {qi}");
                for (d, (w, _)) in gd.row(qi).iter().zip(&all) {
                    assert!((f64::from(*d) - w).abs() <= 1e-6 * w.abs() + 1e-7);
                }
            }
        }
    }

    #[test]
    fn distances() {
        assert_eq!(Metric::L2.distance(&[0.0, 3.0], &[4.0, 0.0]), 25.0);
        assert!((Metric::Cosine.distance(&[1.0, 0.0], &[0.0, 2.0]) - 1.0).abs() < 1e-12);
        assert_eq!(Metric::Dot.distance(&[1.0, 2.0], &[3.0, 4.0]), -11.0);
    }
}
