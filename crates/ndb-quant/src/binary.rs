//! Binary quantization after RaBitQ (Gao and Long, SIGMOD 2024): one bit per dimension of the
//! randomly rotated residual from a centroid, with per-vector factors that make the distance
//! estimate unbiased and give it a confidence interval.
//!
//! # Codes
//! `D` is the dimension rounded up to a multiple of 64 (vectors are padded with zeros), `c` the
//! centroid (the sample's mean) and `P` the seeded orthogonal transform of
//! [`rotation`](crate::rotation). A vector `v` has the residual `r = v − c`, the rotated unit
//! residual `o = P·r / ‖r‖`, and the code `bᵢ = [oᵢ > 0]` (`D` bits in `D/64` words, coordinate
//! `i` at bit `i % 64` of word `i / 64`). Its quantized direction is `x̄ = (2b − 1)/√D`, and
//! `⟨x̄, o⟩ = Σ|oᵢ|/√D` (about 0.8 for large `D`).
//!
//! # Estimates
//! For any vector `x`, RaBitQ estimates `⟨x, r⟩ ≈ ‖r‖/⟨x̄, o⟩ · ⟨x̄, P·x⟩`, unbiased over the
//! random rotation, with the error bound
//! `|err| ≤ ε · ‖r‖·‖x‖ · √(1 − ⟨x̄,o⟩²) / (⟨x̄,o⟩·√(D − 1))` with high probability (ε = 1.9 by
//! default: the paper's choice; about 95% of estimates fall inside in our tests, see
//! `tests/binary.rs`). Then
//!
//! ```text
//! Metric::Dot:        ⟨q, v⟩   = ⟨q, c⟩ + ⟨x, r⟩                 with x = q
//! Metric::L2Squared:  ‖q − v‖² = ‖x‖² + ‖r‖² − 2·⟨x, r⟩          with x = q − c
//! ```
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
//! bound adds (times ε) to RaBitQ's.
//!
//! Per vector [`BinaryFactors`] stores `‖r‖²`, `F`, `G` and `E = ‖r‖·√(1 − ⟨x̄,o⟩²) /
//! (⟨x̄,o⟩·√(D − 1))`: 16 bytes ([`BinaryFactors::to_le_bytes`]).
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
//! 12          8      seed: u64 (the rotation's signs and the query dither derive from it)
//! 20          4      epsilon: f32, finite, > 0 (the error bound's confidence multiplier)
//! 24          4·dim  centroid[0..dim]: f32, finite
//! 24 + 4·dim  4      CRC-32C (Castagnoli) of bytes 0..24 + 4·dim
//! ```
//! Total `28 + 4·dim` bytes. [`BinaryQuantizer::from_bytes`] checks the length, the checksum,
//! the magic, the version, then every field, and returns an error (never panics) on any fault.

use crate::codec::{self, Writer};
use crate::error::{QuantError, Result};
use crate::rotation::{Rotation, ROUNDS};
use crate::{check_dim, check_finite, check_len, Metric};

const MAGIC: [u8; 4] = *b"NQB1";
const VERSION: u8 = 1;
/// Bytes before the centroid.
const FIXED_LEN: usize = 24;

/// Bits per query value (bit planes handed to [`ndb_kernels::dot_bit_planes`]).
pub const QUERY_BITS: usize = 4;
/// Largest query value.
const QUERY_LEVELS: f32 = ((1 << QUERY_BITS) - 1) as f32;

/// How [`BinaryQuantizer::fit`] makes its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BinaryConfig {
    /// Seed of the random rotation and the query dither. Default `0x6E44_425F_5261_4251`.
    pub seed: u64,
    /// Confidence multiplier ε of the error bound (RaBitQ's ε₀). Default `1.9`.
    pub epsilon: f32,
}

impl Default for BinaryConfig {
    fn default() -> Self {
        BinaryConfig {
            seed: 0x6E44_425F_5261_4251,
            epsilon: 1.9,
        }
    }
}

fn check_epsilon(epsilon: f32) -> Result<()> {
    if epsilon.is_finite() && epsilon > 0.0 {
        Ok(())
    } else {
        Err(QuantError::InvalidConfig(
            "epsilon must be finite and positive",
        ))
    }
}

/// The per-vector factors of the estimate (see the module documentation): 16 bytes to store
/// beside each code.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BinaryFactors {
    /// `‖r‖²`, the squared distance to the centroid.
    pub residual_norm_squared: f32,
    /// `F = ‖r‖ / ⟨x̄, o⟩`.
    pub scale: f32,
    /// `G = F·(2·popcount(code) − D)/√D`.
    pub offset: f32,
    /// `E = ‖r‖·√(1 − ⟨x̄,o⟩²) / (⟨x̄,o⟩·√(D − 1))`, the error bound per unit of `ε·‖x‖`.
    pub error: f32,
}

impl BinaryFactors {
    /// Bytes in [`BinaryFactors::to_le_bytes`].
    pub const BYTES: usize = 16;

    /// The four fields in declaration order, each an `f32` little-endian.
    pub fn to_le_bytes(&self) -> [u8; Self::BYTES] {
        let mut out = [0u8; Self::BYTES];
        let fields = [
            self.residual_norm_squared,
            self.scale,
            self.offset,
            self.error,
        ];
        for (chunk, field) in out.chunks_exact_mut(4).zip(fields) {
            chunk.copy_from_slice(&field.to_le_bytes());
        }
        out
    }

    /// The inverse of [`BinaryFactors::to_le_bytes`]. Any bytes decode (the factors come from a
    /// checksummed file; non-finite values give non-finite estimates, never a panic).
    pub fn from_le_bytes(bytes: [u8; Self::BYTES]) -> Self {
        let [a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3] = bytes;
        BinaryFactors {
            residual_norm_squared: f32::from_le_bytes([a0, a1, a2, a3]),
            scale: f32::from_le_bytes([b0, b1, b2, b3]),
            offset: f32::from_le_bytes([c0, c1, c2, c3]),
            error: f32::from_le_bytes([d0, d1, d2, d3]),
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

/// RaBitQ parameters: centroid, rotation, dither (see the module documentation).
#[derive(Clone, Debug)]
pub struct BinaryQuantizer {
    config: BinaryConfig,
    centroid: Vec<f32>,
    rotation: Rotation,
}

impl PartialEq for BinaryQuantizer {
    /// Equal parameters (the rotation is a function of the seed and dimension).
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config && self.centroid == other.centroid
    }
}

impl BinaryQuantizer {
    /// Parameters for vectors like `sample` (`sample.len() / dim` vectors of `dim` values, row
    /// after row): the centroid is the sample's mean.
    ///
    /// Errors: a dimension outside `1..=DIM_MAX`, a sample that is empty or not whole rows, a
    /// NaN or infinite value, an epsilon that is not finite and positive.
    pub fn fit(sample: &[f32], dim: usize, config: BinaryConfig) -> Result<Self> {
        check_dim(dim)?;
        check_epsilon(config.epsilon)?;
        if sample.is_empty() {
            return Err(QuantError::EmptySample);
        }
        if !sample.len().is_multiple_of(dim) {
            return Err(QuantError::LengthMismatch {
                what: "sample (whole rows of dim values)",
                expected: sample.len() / dim * dim,
                got: sample.len(),
            });
        }
        check_finite(sample, "the sample")?;
        let rows = sample.len() / dim;
        let mut sum = vec![0.0f64; dim];
        for row in sample.chunks_exact(dim) {
            sum.iter_mut()
                .zip(row)
                .for_each(|(s, &x)| *s += f64::from(x));
        }
        let centroid = sum.iter().map(|&s| (s / rows as f64) as f32).collect();
        Self::with_centroid(centroid, config)
    }

    /// Parameters with a given centroid (e.g. zero, or one from a clustering).
    pub fn with_centroid(centroid: Vec<f32>, config: BinaryConfig) -> Result<Self> {
        check_dim(centroid.len())?;
        check_epsilon(config.epsilon)?;
        check_finite(&centroid, "the centroid")?;
        let rotation = Rotation::new(centroid.len().next_multiple_of(64), config.seed);
        Ok(BinaryQuantizer {
            config,
            centroid,
            rotation,
        })
    }

    /// The dimension of vectors.
    pub fn dim(&self) -> usize {
        self.centroid.len()
    }

    /// The padded dimension `D`: bits per code.
    pub fn padded_dim(&self) -> usize {
        self.rotation.dim()
    }

    /// `u64` words per code (`D / 64`).
    pub fn code_words(&self) -> usize {
        self.padded_dim() / 64
    }

    /// The configuration.
    pub fn config(&self) -> BinaryConfig {
        self.config
    }

    /// The centroid.
    pub fn centroid(&self) -> &[f32] {
        &self.centroid
    }

    /// `v − c`, padded with zeros and rotated, into `out` (of `D` values).
    fn rotate_residual(&self, v: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(v.iter().zip(&self.centroid).map(|(&x, &c)| x - c));
        out.resize(self.padded_dim(), 0.0);
        self.rotation.apply(out);
    }

    /// Writes the code of `vector` (length [`BinaryQuantizer::dim`]) into `code` (length
    /// [`BinaryQuantizer::code_words`]) and returns its factors, to be stored beside the code.
    pub fn encode(&self, vector: &[f32], code: &mut [u64]) -> Result<BinaryFactors> {
        check_len("vector", self.dim(), vector.len())?;
        check_len("code", self.code_words(), code.len())?;
        check_finite(vector, "the vector")?;
        let mut rotated = Vec::with_capacity(self.padded_dim());
        // `o` up to the positive factor 1/‖r‖, which neither the signs nor ⟨x̄, o⟩'s formula
        // below need.
        self.rotate_residual(vector, &mut rotated);
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
        if norm == 0.0 || abs_sum == 0.0 {
            // The vector is the centroid: every estimate of ⟨x, r⟩ = 0 is exact.
            return Ok(BinaryFactors::default());
        }
        // ⟨x̄, o⟩ = Σ|oᵢ|/√D, in (0, 1].
        let code_dot = (abs_sum / norm / d.sqrt()).min(1.0);
        let scale = norm / code_dot;
        let offset = scale * (2.0 * f64::from(popcount) - d) / d.sqrt();
        let error = norm * (1.0 - code_dot * code_dot).max(0.0).sqrt()
            / (code_dot * (d - 1.0).max(1.0).sqrt());
        Ok(BinaryFactors {
            residual_norm_squared: (norm * norm) as f32,
            scale: scale as f32,
            offset: offset as f32,
            error: error as f32,
        })
    }

    /// The prepared form of `query` for estimating `metric` against codes.
    pub fn prepare(&self, query: &[f32], metric: Metric) -> Result<BinaryQuery> {
        let mut prepared = BinaryQuery::default();
        self.prepare_into(query, metric, &mut prepared)?;
        Ok(prepared)
    }

    /// Like [`BinaryQuantizer::prepare`], reusing `prepared`'s buffers (no allocation once it
    /// has held a query of this dimension).
    pub fn prepare_into(
        &self,
        query: &[f32],
        metric: Metric,
        prepared: &mut BinaryQuery,
    ) -> Result<()> {
        check_len("query", self.dim(), query.len())?;
        check_finite(query, "the query")?;
        // x = q − c for L2; x = q for Dot (rotate q − 0: reuse the residual path with c = 0).
        let mut y = std::mem::take(&mut prepared.scratch);
        match metric {
            Metric::L2Squared => self.rotate_residual(query, &mut y),
            Metric::Dot => {
                y.clear();
                y.extend_from_slice(query);
                y.resize(self.padded_dim(), 0.0);
                self.rotation.apply(&mut y);
            }
        }
        let x_norm_squared: f64 = y.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        let (lo, hi) = y
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let delta = (f64::from(hi) - f64::from(lo)) / f64::from(QUERY_LEVELS);
        let words = self.code_words();
        prepared.planes.clear();
        prepared.planes.resize(QUERY_BITS * words, 0);
        let mut value_sum = 0u64;
        for (i, (&v, &dither)) in y.iter().zip(self.rotation.dither()).enumerate() {
            let u = if delta > 0.0 {
                ((f64::from(v) - f64::from(lo)) / delta + f64::from(dither))
                    .floor()
                    .clamp(0.0, f64::from(QUERY_LEVELS)) as u64
            } else {
                0
            };
            value_sum += u;
            for j in 0..QUERY_BITS {
                if let Some(word) = prepared.planes.get_mut(j * words + i / 64) {
                    *word |= ((u >> j) & 1) << (i % 64);
                }
            }
        }
        let sqrt_d = (self.padded_dim() as f64).sqrt();
        let epsilon = f64::from(self.config.epsilon);
        prepared.a = (2.0 * delta / sqrt_d) as f32;
        prepared.c = (-delta / sqrt_d * value_sum as f64) as f32;
        prepared.lo = lo;
        let (k0, k1, k2): (f64, f32, f32) = match metric {
            Metric::Dot => {
                let qc: f64 = query
                    .iter()
                    .zip(&self.centroid)
                    .map(|(&q, &c)| f64::from(q) * f64::from(c))
                    .sum();
                (qc, 1.0, 0.0)
            }
            Metric::L2Squared => (x_norm_squared, -2.0, 1.0),
        };
        prepared.constant = k0 as f32;
        prepared.sign = k1;
        prepared.weight = k2;
        let sign = f64::from(k1.abs());
        prepared.error_norm = (sign * epsilon * x_norm_squared.sqrt()) as f32;
        prepared.error_rounding = (sign * epsilon * delta / 2.0) as f32;
        prepared.scratch = y;
        Ok(())
    }

    /// The parameters as bytes (layout in the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let dim = self.dim();
        let mut w = Writer::new(MAGIC, VERSION, FIXED_LEN + 4 * dim + codec::CHECKSUM_LEN);
        w.u8(QUERY_BITS as u8);
        w.u8(ROUNDS as u8);
        w.u8(0);
        // `dim <= DIM_MAX` (checked when the quantizer was made) fits `u32`.
        w.u32(dim as u32);
        w.u64(self.config.seed);
        w.f32(self.config.epsilon);
        w.f32s(&self.centroid);
        w.finish()
    }

    /// Parameters written by [`BinaryQuantizer::to_bytes`]; any damage is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = codec::open(bytes, MAGIC, VERSION)?;
        let offset = r.offset();
        if usize::from(r.u8()?) != QUERY_BITS {
            return Err(QuantError::Corrupt {
                offset,
                reason: "query bits is not 4",
            });
        }
        let offset = r.offset();
        if usize::from(r.u8()?) != ROUNDS {
            return Err(QuantError::Corrupt {
                offset,
                reason: "rotation rounds is not 3",
            });
        }
        let offset = r.offset();
        if r.u8()? != 0 {
            return Err(QuantError::Corrupt {
                offset,
                reason: "reserved byte is not zero",
            });
        }
        let offset = r.offset();
        let dim = r.u32()? as usize;
        check_dim(dim).map_err(|_| QuantError::Corrupt {
            offset,
            reason: "dimension out of range",
        })?;
        if r.remaining() != 12 + 4 * dim {
            return Err(QuantError::Corrupt {
                offset: bytes.len(),
                reason: "length does not match the dimension",
            });
        }
        let seed = r.u64()?;
        let offset = r.offset();
        let epsilon = r.f32()?;
        check_epsilon(epsilon).map_err(|_| QuantError::Corrupt {
            offset,
            reason: "epsilon is not positive",
        })?;
        let centroid = r.f32s(dim)?;
        r.finish()?;
        Self::with_centroid(centroid, BinaryConfig { seed, epsilon })
    }
}

/// A query prepared by [`BinaryQuantizer::prepare`]: its 4-bit bit planes and the constants
/// of the estimate. Estimating allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct BinaryQuery {
    /// `QUERY_BITS` planes of `D/64` words (layout of [`ndb_kernels::dot_bit_planes`]).
    planes: Vec<u64>,
    a: f32,
    c: f32,
    lo: f32,
    constant: f32,
    /// −2 for L2, 1 for Dot.
    sign: f32,
    /// Weight of `‖r‖²`: 1 for L2, 0 for Dot.
    weight: f32,
    /// `|sign|·ε·‖x‖`, times `E` in the bound.
    error_norm: f32,
    /// `|sign|·ε·Δ/2`, times `F` in the bound.
    error_rounding: f32,
    /// The rotated query, kept to reuse its allocation.
    scratch: Vec<f32>,
}

impl BinaryQuery {
    /// The estimate of the prepared metric between the query and the vector stored as `code`
    /// with `factors` (what [`BinaryQuantizer::encode`] returned), with its error bound.
    ///
    /// Errors only if `code` does not have the quantizer's [`BinaryQuantizer::code_words`].
    #[inline]
    pub fn estimate(&self, code: &[u64], factors: &BinaryFactors) -> Result<Estimate> {
        let words = self.planes.len() / QUERY_BITS;
        check_len("code", words, code.len())?;
        let bd = ndb_kernels::dot_bit_planes(code, &self.planes) as f32;
        let inner = factors.scale * (self.a * bd + self.c) + factors.offset * self.lo;
        Ok(Estimate {
            value: self.constant + self.sign * inner + self.weight * factors.residual_norm_squared,
            bound: factors.error * self.error_norm + factors.scale * self.error_rounding,
        })
    }

    /// The query's bit planes (see [`ndb_kernels::dot_bit_planes`]).
    pub fn planes(&self) -> &[u64] {
        &self.planes
    }
}
