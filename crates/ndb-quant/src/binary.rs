//! Binary quantization after RaBitQ (Gao and Long, SIGMOD 2024): one bit per dimension of the
//! randomly rotated residual from a centroid, with per-vector factors that make the distance
//! estimate unbiased and give it a confidence interval.
//!
//! # Codes
//! `D` is the dimension rounded up to a multiple of 64 (vectors are padded with zeros), `P` the
//! seeded orthogonal transform of [`rotation`](crate::rotation), and `c` the centroid nearest
//! to the vector among [`BinaryConfig::centroids`] centroids (k-means on the sample; one
//! centroid is the sample's mean). Several centroids shorten the residuals of clustered data,
//! and the error of every estimate is proportional to the residual's length (as in RaBitQ's
//! IVF setting, where each cluster has its own centroid). A vector `v` has the residual
//! `r = v − c`, the rotated unit residual `o = P·r / ‖r‖`, and the code `bᵢ = [oᵢ > 0]` (`D`
//! bits in `D/64` words, coordinate `i` at bit `i % 64` of word `i / 64`). Its quantized direction is `x̄ = (2b − 1)/√D`, and
//! `⟨x̄, o⟩ = Σ|oᵢ|/√D` (about 0.8 for large `D`).
//!
//! # Estimates
//! For any vector `x`, RaBitQ estimates `⟨x, r⟩ ≈ ‖r‖/⟨x̄, o⟩ · ⟨x̄, P·x⟩`, unbiased over the
//! random rotation, with the error bound
//! `|err| ≤ ε · ‖r‖·‖x‖ · √(1 − ⟨x̄,o⟩²) / (⟨x̄,o⟩·√(D − 1))` with high probability (ε = 1.9 by
//! default: the paper's choice; 98-99% of estimates fall inside in our tests, see
//! `tests/binary.rs`). Then
//!
//! ```text
//! x = q − c (c: the vector's centroid)
//! Metric::Dot:        ⟨q, v⟩   = ⟨q, c⟩ + ⟨c, r⟩ + ⟨x, r⟩
//! Metric::L2Squared:  ‖q − v‖² = ‖x‖² + ‖r‖² − 2·⟨x, r⟩
//! ```
//!
//! Both use `x = q − c` rather than `q` for the inner product, so the error is proportional to
//! `‖q − c‖`: small for the vectors of the query's own clusters, the ones that matter.
//!
//! The query side `y = P·x` is quantized to 4 bits: `uᵢ = ⌊(yᵢ − lo)/Δ + δᵢ⌋` clamped to
//! `0..=15`, with `lo = min y`, `Δ = (max y − lo)/15` and a fixed pseudo-random dither
//! `δᵢ ∈ [0, 1)` (randomized rounding: `lo + Δ·uᵢ` is `yᵢ` on average). With `ŷᵢ = lo + Δ·uᵢ`,
//! `bd = Σ bᵢ·uᵢ` ([`ndb_kernels::dot_bit_planes`] over the 4 bit planes of `u`) and
//! `pc = Σ bᵢ`:
//!
//! ```text
//! ⟨x̄, ŷ⟩ = (2Δ/√D)·bd + lo·(2·pc − D)/√D − (Δ/√D)·Σuᵢ
//! ⟨x, r⟩ ≈ F·(A·bd + C) + G·lo,   A = 2Δ/√D, C = −(Δ/√D)·Σuᵢ  (per query)
//!                                  F = ‖r‖/⟨x̄,o⟩, G = F·(2·pc − D)/√D  (per vector)
//! ```
//!
//! The 4-bit query adds an error of standard deviation at most `F·Δ/2`, which the reported
//! bound adds (times ε) to RaBitQ's: `bound = ε·(E·‖x‖ + F·Δ/2)` for [`Metric::Dot`], twice that
//! for [`Metric::L2Squared`] (whose estimate holds `−2·⟨x, r⟩`).
//!
//! Per vector [`BinaryFactors`] stores the centroid's index, `‖r‖²`, `⟨c, r⟩`, `F`, `G` and
//! `E = ‖r‖·√(1 − ⟨x̄,o⟩²) / (⟨x̄,o⟩·√(D − 1))`: 24 bytes ([`BinaryFactors::to_le_bytes`]).
//! A prepared query holds, per centroid, the bit planes of `P·(q − c) = P·q − P·c` and its
//! constants, so preparing costs one rotation and `O(centroids · D)`.
//!
//! # Parameter bytes (version 1), all integers and floats little-endian
//! ```text
//! offset      size   field
//! 0           4      magic "NQB1" (4E 51 42 31)
//! 4           1      version = 1
//! 5           1      query_bits = 4
//! 6           1      rotation rounds = 3 (see `rotation`)
//! 7           1      zero
//! 8           4      dim: u32, 1..=DIM_MAX (padded dimension D = dim rounded up to 64)
//! 12          4      k: u32, 1..=CENTROIDS_MAX, the number of centroids
//! 16          8      seed: u64 (the rotation's signs and the query dither derive from it)
//! 24          4      epsilon: f32, finite, > 0 (the error bound's confidence multiplier)
//! 28          4·k·dim  centroids: k rows of dim f32, finite
//! 28 + 4·k·dim  4    CRC-32C (Castagnoli) of bytes 0..28 + 4·k·dim
//! ```
//! Total `32 + 4·k·dim` bytes. [`BinaryQuantizer::from_bytes`] checks the length, the checksum,
//! the magic, the version, then every field, and returns an error (never panics) on any fault.

use crate::codec::{self, Writer};
use crate::error::{QuantError, Result};
use crate::kmeans::{kmeans, nearest};
use crate::rotation::{Rotation, ROUNDS};
use crate::{check_dim, check_finite, check_len, check_query, sample_rows, Metric};

const MAGIC: [u8; 4] = *b"NQB1";
const VERSION: u8 = 1;
/// Bytes before the centroids.
const FIXED_LEN: usize = 28;

/// The most centroids a quantizer may have.
pub const CENTROIDS_MAX: usize = 4096;

/// Bits per query value (bit planes handed to [`ndb_kernels::dot_bit_planes`]).
pub const QUERY_BITS: usize = 4;
/// Largest query value.
const QUERY_LEVELS: f32 = ((1 << QUERY_BITS) - 1) as f32;

/// How [`BinaryQuantizer::fit`] makes its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BinaryConfig {
    /// Seed of the random rotation, the query dither and the k-means seeding. Default
    /// `0x6E44_425F_5261_4251`.
    pub seed: u64,
    /// Confidence multiplier ε of the error bound (RaBitQ's ε₀). Default `1.9`.
    pub epsilon: f32,
    /// Centroids fitted by k-means on the sample, `1..=CENTROIDS_MAX` (fewer if the sample has
    /// fewer rows). Default 16. More centroids shorten the residuals of clustered data (and so
    /// every error) at the cost of `O(centroids · D)` work per prepared query; the index costs
    /// nothing per vector beyond the factors' 4 bytes. Recall figures in `tests/recall.rs`.
    pub centroids: usize,
}

impl Default for BinaryConfig {
    fn default() -> Self {
        BinaryConfig {
            seed: 0x6E44_425F_5261_4251,
            epsilon: 1.9,
            centroids: 16,
        }
    }
}

impl BinaryConfig {
    fn check(&self) -> Result<()> {
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(QuantError::InvalidConfig(
                "epsilon must be finite and positive",
            ));
        }
        if !(1..=CENTROIDS_MAX).contains(&self.centroids) {
            return Err(QuantError::InvalidConfig(
                "centroids must be in 1..=CENTROIDS_MAX",
            ));
        }
        Ok(())
    }
}

/// The per-vector factors of the estimate (see the module documentation): 24 bytes to store
/// beside each code.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BinaryFactors {
    /// Index of the vector's centroid.
    pub centroid: u32,
    /// `‖r‖²`, the squared distance to the centroid.
    pub residual_norm_squared: f32,
    /// `⟨c, r⟩`, the residual's inner product with the centroid.
    pub centroid_dot: f32,
    /// `F = ‖r‖ / ⟨x̄, o⟩`.
    pub scale: f32,
    /// `G = F·(2·popcount(code) − D)/√D`.
    pub offset: f32,
    /// `E = ‖r‖·√(1 − ⟨x̄,o⟩²) / (⟨x̄,o⟩·√(D − 1))`, the error bound per unit of `ε·‖x‖`.
    pub error: f32,
}

impl BinaryFactors {
    /// Bytes in [`BinaryFactors::to_le_bytes`].
    pub const BYTES: usize = 24;

    /// The fields in declaration order, little-endian: `centroid` as `u32`, then the five
    /// `f32`s.
    pub fn to_le_bytes(&self) -> [u8; Self::BYTES] {
        let mut out = [0u8; Self::BYTES];
        let fields = [
            self.centroid.to_le_bytes(),
            self.residual_norm_squared.to_le_bytes(),
            self.centroid_dot.to_le_bytes(),
            self.scale.to_le_bytes(),
            self.offset.to_le_bytes(),
            self.error.to_le_bytes(),
        ];
        for (chunk, field) in out.chunks_exact_mut(4).zip(fields) {
            chunk.copy_from_slice(&field);
        }
        out
    }

    /// The inverse of [`BinaryFactors::to_le_bytes`]. Any bytes decode (the factors come from a
    /// checksummed file): a centroid index out of range makes [`BinaryQuery::estimate`] fail,
    /// non-finite values give non-finite estimates; nothing panics.
    pub fn from_le_bytes(bytes: [u8; Self::BYTES]) -> Self {
        let word = |i: usize| -> [u8; 4] {
            bytes
                .get(4 * i..4 * i + 4)
                .and_then(|w| w.try_into().ok())
                .unwrap_or_default()
        };
        BinaryFactors {
            centroid: u32::from_le_bytes(word(0)),
            residual_norm_squared: f32::from_le_bytes(word(1)),
            centroid_dot: f32::from_le_bytes(word(2)),
            scale: f32::from_le_bytes(word(3)),
            offset: f32::from_le_bytes(word(4)),
            error: f32::from_le_bytes(word(5)),
        }
    }
}

/// An estimate and its error bound: the exact value lies in `value ± bound` with high
/// probability (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The estimated `⟨q, v⟩` or `‖q − v‖²`.
    pub value: f32,
    /// Half-width of the confidence interval, `≥ 0`.
    pub bound: f32,
}

impl Estimate {
    /// `value − bound`.
    pub fn lower(&self) -> f32 {
        self.value - self.bound
    }

    /// `value + bound`.
    pub fn upper(&self) -> f32 {
        self.value + self.bound
    }
}

/// RaBitQ parameters: centroids, rotation, dither (see the module documentation).
#[derive(Clone, Debug)]
pub struct BinaryQuantizer {
    config: BinaryConfig,
    dim: usize,
    /// `k` rows of `dim`.
    centroids: Vec<f32>,
    /// `P·c` of every centroid: `k` rows of `D`.
    rotated_centroids: Vec<f32>,
    rotation: Rotation,
}

impl PartialEq for BinaryQuantizer {
    /// Equal parameters (the rotation is a function of the seed and dimension).
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.dim == other.dim && self.centroids == other.centroids
    }
}

impl BinaryQuantizer {
    /// Parameters for vectors like `sample` (`sample.len() / dim` vectors of `dim` values, row
    /// after row): [`BinaryConfig::centroids`] centroids by k-means (one: the sample's mean).
    ///
    /// Errors: a dimension outside `1..=DIM_MAX`, a sample that is empty or not whole rows, a
    /// NaN or infinite value, a configuration out of range.
    pub fn fit(sample: &[f32], dim: usize, config: BinaryConfig) -> Result<Self> {
        check_dim(dim)?;
        config.check()?;
        let rows = sample_rows(sample, dim)?;
        let centroids = if config.centroids == 1 {
            let mut sum = vec![0.0f64; dim];
            for row in sample.chunks_exact(dim) {
                sum.iter_mut()
                    .zip(row)
                    .for_each(|(s, &x)| *s += f64::from(x));
            }
            sum.iter().map(|&s| (s / rows as f64) as f32).collect()
        } else {
            kmeans(sample, dim, config.centroids, config.seed)
        };
        // k-means may find fewer centroids than asked (a small sample).
        let config = BinaryConfig {
            centroids: centroids.len() / dim,
            ..config
        };
        Self::with_centroids(dim, centroids, config)
    }

    /// Parameters with given centroids (`config.centroids` rows of `dim`, e.g. one zero row,
    /// or the centroids of a clustering).
    pub fn with_centroids(dim: usize, centroids: Vec<f32>, config: BinaryConfig) -> Result<Self> {
        check_dim(dim)?;
        config.check()?;
        check_len(
            "centroids (k rows of dim)",
            config.centroids * dim,
            centroids.len(),
        )?;
        check_finite(&centroids, "the centroids")?;
        let rotation = Rotation::new(dim.next_multiple_of(64), config.seed);
        let padded = rotation.dim();
        let mut rotated_centroids = Vec::with_capacity(config.centroids * padded);
        for centroid in centroids.chunks_exact(dim) {
            let start = rotated_centroids.len();
            rotated_centroids.extend_from_slice(centroid);
            rotated_centroids.resize(start + padded, 0.0);
            if let Some(row) = rotated_centroids.get_mut(start..) {
                rotation.apply(row);
            }
        }
        Ok(BinaryQuantizer {
            config,
            dim,
            centroids,
            rotated_centroids,
            rotation,
        })
    }

    /// The dimension of vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The padded dimension `D`: bits per code.
    pub fn padded_dim(&self) -> usize {
        self.rotation.dim()
    }

    /// `u64` words per code (`D / 64`).
    pub fn code_words(&self) -> usize {
        self.padded_dim() / 64
    }

    /// The configuration (`centroids` is the number actually fitted).
    pub fn config(&self) -> BinaryConfig {
        self.config
    }

    /// The centroids, `config().centroids` rows of [`BinaryQuantizer::dim`] values.
    pub fn centroids(&self) -> &[f32] {
        &self.centroids
    }

    /// `v` padded with zeros and rotated, into `out` (of `D` values).
    fn rotate(&self, v: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(v);
        out.resize(self.padded_dim(), 0.0);
        self.rotation.apply(out);
    }

    /// Row `i` of `rows` of `len` values (empty if out of range).
    fn row(rows: &[f32], len: usize, i: usize) -> &[f32] {
        rows.get(i * len..(i + 1) * len).unwrap_or_default()
    }

    /// Writes the code of `vector` (length [`BinaryQuantizer::dim`]) into `code` (length
    /// [`BinaryQuantizer::code_words`]) and returns its factors, to be stored beside the code.
    pub fn encode(&self, vector: &[f32], code: &mut [u64]) -> Result<BinaryFactors> {
        check_len("vector", self.dim(), vector.len())?;
        check_len("code", self.code_words(), code.len())?;
        check_finite(vector, "the vector")?;
        let (centroid, _) = nearest(&self.centroids, self.dim, vector);
        let mut rotated = Vec::with_capacity(self.padded_dim());
        // P·r = P·v − P·c: `o` up to the positive factor 1/‖r‖, which neither the signs nor
        // ⟨x̄, o⟩'s formula below need.
        self.rotate(vector, &mut rotated);
        let rotated_centroid = Self::row(&self.rotated_centroids, self.padded_dim(), centroid);
        rotated
            .iter_mut()
            .zip(rotated_centroid)
            .for_each(|(y, &c)| *y -= c);
        let mut popcount = 0u32;
        for (word, chunk) in code.iter_mut().zip(rotated.chunks_exact(64)) {
            *word = chunk
                .iter()
                .enumerate()
                .fold(0u64, |w, (bit, &y)| w | (u64::from(y > 0.0) << bit));
            popcount += word.count_ones();
        }
        let norm_squared: f64 = rotated.iter().map(|&y| f64::from(y) * f64::from(y)).sum();
        let abs_sum: f64 = rotated.iter().map(|&y| f64::from(y).abs()).sum();
        let norm = norm_squared.sqrt();
        let d = self.padded_dim() as f64;
        let centroid_dot: f64 = Self::row(&self.centroids, self.dim, centroid)
            .iter()
            .zip(vector)
            .map(|(&c, &v)| f64::from(c) * (f64::from(v) - f64::from(c)))
            .sum();
        // `centroid < k <= CENTROIDS_MAX` fits `u32`.
        let centroid = centroid as u32;
        if norm == 0.0 || abs_sum == 0.0 {
            // The vector is its centroid: every estimate of ⟨x, r⟩ = 0 is exact.
            return Ok(BinaryFactors {
                centroid,
                centroid_dot: centroid_dot as f32,
                ..BinaryFactors::default()
            });
        }
        // ⟨x̄, o⟩ = Σ|oᵢ|/√D, in (0, 1].
        let code_dot = (abs_sum / norm / d.sqrt()).min(1.0);
        let scale = norm / code_dot;
        let offset = scale * (2.0 * f64::from(popcount) - d) / d.sqrt();
        let error = norm * (1.0 - code_dot * code_dot).max(0.0).sqrt()
            / (code_dot * (d - 1.0).max(1.0).sqrt());
        Ok(BinaryFactors {
            centroid,
            residual_norm_squared: norm_squared as f32,
            centroid_dot: centroid_dot as f32,
            scale: scale as f32,
            offset: offset as f32,
            error: error as f32,
        })
    }

    /// The parameters as bytes (layout in the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(
            MAGIC,
            VERSION,
            FIXED_LEN + 4 * self.centroids.len() + codec::CHECKSUM_LEN,
        );
        w.u8(QUERY_BITS as u8);
        w.u8(ROUNDS as u8);
        w.u8(0);
        // `dim <= DIM_MAX` and `k <= CENTROIDS_MAX` (checked when the quantizer was made) fit
        // `u32`.
        w.u32(self.dim as u32);
        w.u32(self.config.centroids as u32);
        w.u64(self.config.seed);
        w.f32(self.config.epsilon);
        w.f32s(&self.centroids);
        w.finish()
    }

    /// Parameters written by [`BinaryQuantizer::to_bytes`]; any damage is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let corrupt = |offset, reason| QuantError::Corrupt { offset, reason };
        let mut r = codec::open(bytes, MAGIC, VERSION)?;
        let offset = r.offset();
        if usize::from(r.u8()?) != QUERY_BITS {
            return Err(corrupt(offset, "query bits is not 4"));
        }
        let offset = r.offset();
        if usize::from(r.u8()?) != ROUNDS {
            return Err(corrupt(offset, "rotation rounds is not 3"));
        }
        let offset = r.offset();
        if r.u8()? != 0 {
            return Err(corrupt(offset, "reserved byte is not zero"));
        }
        let offset = r.offset();
        let dim = r.u32()? as usize;
        check_dim(dim).map_err(|_| corrupt(offset, "dimension out of range"))?;
        let offset = r.offset();
        let k = r.u32()? as usize;
        if !(1..=CENTROIDS_MAX).contains(&k) {
            return Err(corrupt(offset, "number of centroids out of range"));
        }
        let values = k * dim; // at most 4096 · 65,536: no overflow
        if Some(r.remaining()) != values.checked_mul(4).and_then(|n| n.checked_add(12)) {
            return Err(corrupt(bytes.len(), "length does not match the dimension"));
        }
        let seed = r.u64()?;
        let offset = r.offset();
        let epsilon = r.f32()?;
        let centroids = r.f32s(values)?;
        r.finish()?;
        let config = BinaryConfig {
            seed,
            epsilon,
            centroids: k,
        };
        config
            .check()
            .map_err(|_| corrupt(offset, "epsilon is not positive"))?;
        Self::with_centroids(dim, centroids, config)
    }
}

impl crate::PrepareQuery for BinaryQuantizer {
    type Query = BinaryQuery;

    fn prepare_into(
        &self,
        query: &[f32],
        metric: Metric,
        prepared: &mut BinaryQuery,
    ) -> Result<()> {
        check_query(self.dim(), query)?;
        let padded = self.padded_dim();
        let words = self.code_words();
        let epsilon = f64::from(self.config.epsilon);
        let mut rotated_query = std::mem::take(&mut prepared.rotated_query);
        let mut x = std::mem::take(&mut prepared.scratch);
        self.rotate(query, &mut rotated_query);
        prepared.words = words;
        prepared.planes.clear();
        prepared.parts.clear();
        for (centroid, rotated_centroid) in self
            .centroids
            .chunks_exact(self.dim)
            .zip(self.rotated_centroids.chunks_exact(padded))
        {
            // x = q − c, so P·x = P·q − P·c.
            x.clear();
            x.extend(
                rotated_query
                    .iter()
                    .zip(rotated_centroid)
                    .map(|(&q, &c)| q - c),
            );
            let start = prepared.planes.len();
            prepared.planes.resize(start + QUERY_BITS * words, 0);
            let planes = prepared.planes.get_mut(start..).unwrap_or_default();
            let mut part = quantize(&x, self.rotation.dither(), words, planes, start, epsilon);
            let abs_sign = match metric {
                Metric::Dot => {
                    let qc = ndb_kernels::dot(query, centroid);
                    part.constant = qc;
                    part.sign = 1.0;
                    part.residual_weight = 0.0;
                    part.centroid_dot_weight = 1.0;
                    1.0
                }
                Metric::L2Squared => {
                    part.constant = part.x_norm_squared;
                    part.sign = -2.0;
                    part.residual_weight = 1.0;
                    part.centroid_dot_weight = 0.0;
                    2.0
                }
            };
            part.error_norm = (abs_sign * epsilon * f64::from(part.x_norm_squared).sqrt()) as f32;
            part.error_rounding = (abs_sign * f64::from(part.error_rounding)) as f32;
            prepared.parts.push(part);
        }
        prepared.rotated_query = rotated_query;
        prepared.scratch = x;
        Ok(())
    }
}

/// Quantizes `x` (the rotated query side, `D` values) to 4 bits with randomized rounding into
/// `planes` (zeroed, `QUERY_BITS · words` words, starting at word `start` of the query's
/// planes), and returns the part's constants except the metric's.
fn quantize(
    x: &[f32],
    dither: &[f32],
    words: usize,
    planes: &mut [u64],
    start: usize,
    epsilon: f64,
) -> QueryPart {
    let x_norm_squared = ndb_kernels::norm_squared(x);
    let (lo, hi) = min_max(x);
    let delta = (f64::from(hi) - f64::from(lo)).max(0.0) / f64::from(QUERY_LEVELS);
    let inv_delta = if delta > 0.0 {
        (1.0 / delta) as f32
    } else {
        0.0
    };
    let mut value_sum = 0u64;
    let mut values = [0u8; 64];
    for (chunk, (xs, offsets)) in x.chunks(64).zip(dither.chunks(64)).enumerate() {
        // A short last chunk: values past the vector stay 0 and add nothing.
        values.fill(0);
        for (u, (&v, &offset)) in values.iter_mut().zip(xs.iter().zip(offsets)) {
            // `(v − lo)/Δ + δ ≥ 0` (and NaN-free for finite input), so truncation floors it.
            *u = ((v - lo) * inv_delta + offset).clamp(0.0, QUERY_LEVELS) as u8;
        }
        value_sum += values.iter().map(|&u| u64::from(u)).sum::<u64>();
        for j in 0..QUERY_BITS {
            if let Some(word) = planes.get_mut(j * words + chunk) {
                *word = bit_plane(&values, j);
            }
        }
    }
    let sqrt_d = (x.len() as f64).sqrt();
    QueryPart {
        planes_start: start,
        a: (2.0 * delta / sqrt_d) as f32,
        c: (-delta / sqrt_d * value_sum as f64) as f32,
        lo,
        x_norm_squared,
        error_rounding: (epsilon * delta / 2.0) as f32,
        ..QueryPart::default()
    }
}

/// The smallest and largest of `x` (0 and 0 if it is empty), in eight independent lanes.
fn min_max(x: &[f32]) -> (f32, f32) {
    let mut lo = [f32::INFINITY; 8];
    let mut hi = [f32::NEG_INFINITY; 8];
    let (blocks, tail) = x.as_chunks::<8>();
    for block in blocks {
        for ((l, h), &v) in lo.iter_mut().zip(hi.iter_mut()).zip(block) {
            *l = l.min(v);
            *h = h.max(v);
        }
    }
    for &v in tail {
        lo[0] = lo[0].min(v);
        hi[0] = hi[0].max(v);
    }
    let lo = lo.iter().fold(f32::INFINITY, |a, &b| a.min(b));
    let hi = hi.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 0.0)
    }
}

/// Bit `j` of each of the 64 `values` (each `< 16`), value `i` at bit `i`: eight values at a
/// time, their bits `j` isolated in the low bit of each byte and gathered into one byte by a
/// multiplication (`0x0102040810204080` moves byte `i`'s low bit to bit `56 + i`, and no two
/// partial products meet in bits 56..63).
fn bit_plane(values: &[u8; 64], j: usize) -> u64 {
    let (groups, _) = values.as_chunks::<8>();
    groups.iter().enumerate().fold(0u64, |word, (g, group)| {
        let bits = (u64::from_le_bytes(*group) >> j) & 0x0101_0101_0101_0101;
        word | ((bits.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * g))
    })
}

/// The constants of a prepared query for the vectors of one centroid.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct QueryPart {
    /// First word of this part's planes in [`BinaryQuery::planes`].
    planes_start: usize,
    a: f32,
    c: f32,
    lo: f32,
    /// `‖x‖²` (rotations preserve it).
    x_norm_squared: f32,
    constant: f32,
    /// −2 for L2, 1 for Dot.
    sign: f32,
    /// Weight of `‖r‖²`: 1 for L2, 0 for Dot.
    residual_weight: f32,
    /// Weight of `⟨c, r⟩`: 0 for L2, 1 for Dot.
    centroid_dot_weight: f32,
    /// `|sign|·ε·‖x‖`, times `E` in the bound.
    error_norm: f32,
    /// `|sign|·ε·Δ/2`, times `F` in the bound.
    error_rounding: f32,
}

/// A query prepared by [`PrepareQuery::prepare`](crate::PrepareQuery::prepare): its 4-bit bit planes and the constants of
/// the estimate, per centroid. Estimating allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct BinaryQuery {
    /// Code words (`D/64`).
    words: usize,
    /// `QUERY_BITS` planes of `words` words per distinct part (layout of
    /// [`ndb_kernels::dot_bit_planes`]).
    planes: Vec<u64>,
    /// One per centroid.
    parts: Vec<QueryPart>,
    /// `P·q`, kept to reuse its allocation.
    rotated_query: Vec<f32>,
    /// `P·x` of the current part, kept to reuse its allocation.
    scratch: Vec<f32>,
}

impl BinaryQuery {
    /// The estimate of the prepared metric between the query and the vector stored as `code`
    /// with `factors` (what [`BinaryQuantizer::encode`] returned), with its error bound.
    ///
    /// Errors only if `code` does not have the quantizer's [`BinaryQuantizer::code_words`] or
    /// `factors.centroid` is not one of its centroids.
    #[inline]
    pub fn estimate(&self, code: &[u64], factors: &BinaryFactors) -> Result<Estimate> {
        check_len("code", self.words, code.len())?;
        let part =
            self.parts
                .get(factors.centroid as usize)
                .ok_or(QuantError::CentroidOutOfRange {
                    centroid: factors.centroid,
                    centroids: self.parts.len(),
                })?;
        let planes = self
            .planes
            .get(part.planes_start..part.planes_start + QUERY_BITS * self.words)
            .unwrap_or_default();
        let bd = ndb_kernels::dot_bit_planes(code, planes) as f32;
        let inner = factors.scale * (part.a * bd + part.c) + factors.offset * part.lo;
        Ok(Estimate {
            value: part.constant
                + part.sign * inner
                + part.residual_weight * factors.residual_norm_squared
                + part.centroid_dot_weight * factors.centroid_dot,
            bound: factors.error * part.error_norm + factors.scale * part.error_rounding,
        })
    }

    /// The bit planes of the query's part for `centroid` (see
    /// [`ndb_kernels::dot_bit_planes`]); empty if there is no such centroid.
    pub fn planes(&self, centroid: u32) -> &[u64] {
        self.parts
            .get(centroid as usize)
            .and_then(|part| {
                self.planes
                    .get(part.planes_start..part.planes_start + QUERY_BITS * self.words)
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, reason = "test code indexes what it built")]
mod tests {
    use super::*;

    #[test]
    fn bit_plane_gathers_bit_j_of_every_value() {
        let mut values = [0u8; 64];
        let mut state = 12345u64;
        for v in values.iter_mut() {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *v = (state >> 60) as u8;
        }
        for j in 0..QUERY_BITS {
            let naive = (0..64).fold(0u64, |w, i| w | (u64::from((values[i] >> j) & 1) << i));
            assert_eq!(bit_plane(&values, j), naive, "plane {j}");
        }
        assert_eq!(bit_plane(&[15; 64], 3), u64::MAX);
        assert_eq!(bit_plane(&[0; 64], 0), 0);
    }

    #[test]
    fn min_max_of_any_length() {
        assert_eq!(min_max(&[]), (0.0, 0.0));
        assert_eq!(min_max(&[3.0]), (3.0, 3.0));
        let x: Vec<f32> = (0..77).map(|i| ((i * 37) % 101) as f32 - 50.0).collect();
        let lo = x.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(min_max(&x), (lo, hi));
    }
}
