//! Helpers shared by the quantizer tests: seeded data, exact distances, recall after rescoring,
//! and a reader of the cached real datasets.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of these helpers"
)]
#![allow(clippy::indexing_slicing, reason = "test code indexes what it built")]

use ndb_quant::PrepareQuery;
use std::path::PathBuf;

use ndb_quant::{BinaryConfig, BinaryQuantizer, Int8Config, Int8Quantizer, Metric};
use ndb_rand::SplitMix;

/// A seeded source of test data.
pub struct Rng(SplitMix);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(SplitMix::new(seed))
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        self.0.next_unit()
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = (f64::from(self.unit()) + 1e-12).min(1.0);
        let u2 = f64::from(self.unit());
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }

    pub fn normal_vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.normal()).collect()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n as u64) as usize
    }
}

/// `rows` vectors of `dim` around `clusters` centres: centres drawn `N(0, 1)` per coordinate
/// (shifted by a common offset of 0.5 so the data is not centred at 0), points = centre +
/// `N(0, spread²)` per coordinate, centres picked uniformly; row-major.
pub fn clustered(rng: &mut Rng, rows: usize, dim: usize, clusters: usize, spread: f32) -> Vec<f32> {
    let centres: Vec<Vec<f32>> = (0..clusters)
        .map(|_| rng.normal_vec(dim).iter().map(|x| x + 0.5).collect())
        .collect();
    let mut out = Vec::with_capacity(rows * dim);
    for _ in 0..rows {
        let centre = &centres[rng.below(clusters)];
        out.extend(centre.iter().map(|&c| c + spread * rng.normal()));
    }
    out
}

/// Scales every row of `data` to unit length (zero rows stay zero).
pub fn normalize_rows(data: &mut [f32], dim: usize) {
    for row in data.chunks_exact_mut(dim) {
        ndb_kernels::normalize(row);
    }
}

/// The exact metric in f64.
pub fn exact(metric: Metric, q: &[f32], v: &[f32]) -> f64 {
    let pairs = q.iter().zip(v).map(|(&a, &b)| (f64::from(a), f64::from(b)));
    match metric {
        Metric::Dot => pairs.map(|(a, b)| a * b).sum(),
        Metric::L2Squared => pairs.map(|(a, b)| (a - b) * (a - b)).sum(),
    }
}

/// Turns a metric value into "lower is closer".
pub fn rank_key(metric: Metric, value: f64) -> f64 {
    match metric {
        Metric::Dot => -value,
        Metric::L2Squared => value,
    }
}

/// The quantizers' estimates of every base row against one query, as "lower is closer" keys.
pub trait Estimator {
    fn name(&self) -> &'static str;
    fn keys(&self, query: &[f32], metric: Metric, out: &mut Vec<f64>);
}

/// Int8 codes of a base set.
pub struct Int8Index {
    pub quantizer: Int8Quantizer,
    pub codes: Vec<u8>,
    pub corrections: Vec<f32>,
}

impl Int8Index {
    pub fn build(base: &[f32], dim: usize, sample_rows: usize) -> Self {
        let sample = &base[..sample_rows.min(base.len() / dim) * dim];
        let quantizer = Int8Quantizer::fit(sample, dim, Int8Config::default()).expect("fit");
        let mut codes = vec![0u8; base.len()];
        let corrections = base
            .chunks_exact(dim)
            .zip(codes.chunks_exact_mut(dim))
            .map(|(v, c)| quantizer.encode(v, c).expect("encode"))
            .collect();
        Int8Index {
            quantizer,
            codes,
            corrections,
        }
    }
}

impl Estimator for Int8Index {
    fn name(&self) -> &'static str {
        "int8"
    }
    fn keys(&self, query: &[f32], metric: Metric, out: &mut Vec<f64>) {
        let prepared = self.quantizer.prepare(query, metric).expect("prepare");
        let dim = self.quantizer.dim();
        out.clear();
        out.extend(
            self.codes
                .chunks_exact(dim)
                .zip(&self.corrections)
                .map(|(c, &k)| {
                    rank_key(
                        metric,
                        f64::from(prepared.estimate(c, k).expect("estimate")),
                    )
                }),
        );
    }
}

/// Binary codes of a base set.
pub struct BinaryIndex {
    pub quantizer: BinaryQuantizer,
    pub codes: Vec<u64>,
    pub factors: Vec<ndb_quant::BinaryFactors>,
}

impl BinaryIndex {
    pub fn build(base: &[f32], dim: usize, sample_rows: usize, centroids: usize) -> Self {
        let sample = &base[..sample_rows.min(base.len() / dim) * dim];
        let config = BinaryConfig {
            centroids,
            ..BinaryConfig::default()
        };
        let quantizer = BinaryQuantizer::fit(sample, dim, config).expect("fit");
        let words = quantizer.code_words();
        let mut codes = vec![0u64; base.len() / dim * words];
        let factors = base
            .chunks_exact(dim)
            .zip(codes.chunks_exact_mut(words))
            .map(|(v, c)| quantizer.encode(v, c).expect("encode"))
            .collect();
        BinaryIndex {
            quantizer,
            codes,
            factors,
        }
    }
}

impl Estimator for BinaryIndex {
    fn name(&self) -> &'static str {
        match self.quantizer.config().centroids {
            1 => "binary, 1 centroid",
            16 => "binary, 16 centroids",
            64 => "binary, 64 centroids",
            _ => "binary",
        }
    }
    fn keys(&self, query: &[f32], metric: Metric, out: &mut Vec<f64>) {
        let prepared = self.quantizer.prepare(query, metric).expect("prepare");
        let words = self.quantizer.code_words();
        out.clear();
        out.extend(
            self.codes
                .chunks_exact(words)
                .zip(&self.factors)
                .map(|(c, f)| {
                    rank_key(
                        metric,
                        f64::from(prepared.estimate(c, f).expect("estimate").value),
                    )
                }),
        );
    }
}

/// Indices of the `m` smallest keys (any order).
fn smallest(keys: &[f64], m: usize) -> Vec<usize> {
    let mut ids: Vec<usize> = (0..keys.len()).collect();
    let m = m.min(ids.len());
    if m > 0 && m < ids.len() {
        ids.select_nth_unstable_by(m - 1, |&a, &b| keys[a].total_cmp(&keys[b]));
    }
    ids.truncate(m);
    ids
}

/// Mean recall@k over `queries` of: the `oversampling · k` best rows by `estimator`, rescored
/// exactly, best `k` kept; against the exact best `k`. A returned row counts if its exact key
/// is no worse than the exact k-th best's (ties count, as the datasets' integer distances
/// have many).
pub fn recall_at(
    estimator: &dyn Estimator,
    base: &[f32],
    queries: &[f32],
    dim: usize,
    metric: Metric,
    k: usize,
    oversamplings: &[usize],
) -> Vec<f64> {
    let mut hits = vec![0usize; oversamplings.len()];
    let mut estimates = Vec::new();
    let mut exact_keys = Vec::new();
    let n_queries = queries.len() / dim;
    for q in queries.chunks_exact(dim) {
        exact_keys.clear();
        exact_keys.extend(
            base.chunks_exact(dim)
                .map(|v| rank_key(metric, exact(metric, q, v))),
        );
        let truth = smallest(&exact_keys, k);
        let kth = truth
            .iter()
            .map(|&i| exact_keys[i])
            .fold(f64::NEG_INFINITY, f64::max);
        estimator.keys(q, metric, &mut estimates);
        for (hit, &over) in hits.iter_mut().zip(oversamplings) {
            let candidates = smallest(&estimates, over * k);
            let rescored: Vec<f64> = candidates.iter().map(|&i| exact_keys[i]).collect();
            let best = smallest(&rescored, k);
            *hit += best
                .iter()
                .filter(|&&j| rescored[j] <= kth + 1e-9 * kth.abs())
                .count();
        }
    }
    hits.iter()
        .map(|&h| h as f64 / (n_queries * k) as f64)
        .collect()
}

/// A cached real dataset under `target/datasets/NAME` (`base.fvecs`, `query.fvecs`), if
/// present: (dim, base, queries), the first `base_rows` / `query_rows` rows.
pub fn dataset(
    name: &str,
    base_rows: usize,
    query_rows: usize,
) -> Option<(usize, Vec<f32>, Vec<f32>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/datasets")
        .join(name);
    let (dim, base) = read_fvecs(&dir.join("base.fvecs"), base_rows)?;
    let (query_dim, queries) = read_fvecs(&dir.join("query.fvecs"), query_rows)?;
    (dim == query_dim).then_some((dim, base, queries))
}

/// The first `rows` rows of a `.fvecs` file (per row an `i32` LE dimension, then that many
/// `f32` LE).
fn read_fvecs(path: &std::path::Path, rows: usize) -> Option<(usize, Vec<f32>)> {
    let bytes = std::fs::read(path).ok()?;
    let dim = i32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let row_bytes = 4 + 4 * dim;
    let mut out = Vec::new();
    for row in bytes.chunks_exact(row_bytes).take(rows) {
        out.extend(
            row[4..]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    Some((dim, out))
}
