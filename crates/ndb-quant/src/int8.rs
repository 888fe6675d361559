//! Int8 scalar quantization: one `u8` per dimension on a per-dimension range fitted to the data,
//! asymmetric distance estimates against an `f32` query.
//!
//! # Codes and estimates
//! Dimension `i` has a range `[lowᵢ, lowᵢ + 255·stepᵢ]` fitted to a sample by quantiles (values
//! outside are clipped). A vector `v` is stored as codes `cᵢ = round((clamp(vᵢ) − lowᵢ) / stepᵢ)`
//! and one `f32` correction, `‖v‖²` (exact). Its reconstruction is `v̂ᵢ = lowᵢ + stepᵢ·cᵢ`.
//!
//! A query `q` is prepared once ([`PrepareQuery::prepare`](crate::PrepareQuery::prepare)): `wᵢ = qᵢ·stepᵢ` is quantized to
//! `i8` values `q8ᵢ ∈ [−64, 64]` (the contract of [`ndb_kernels::dot_u8_i8`]) with scale
//! `s = max|wᵢ| / 64`, so that `⟨q, v̂⟩ = Σ qᵢ·lowᵢ + Σ wᵢ·cᵢ ≈ Σ qᵢ·lowᵢ + s · dot_u8_i8(c, q8)`.
//! Then every estimate is one kernel call and one multiply-add:
//!
//! ```text
//! estimate = constant + scale · dot_u8_i8(codes, q8) + weight · correction
//!   Metric::Dot:        constant = Σ qᵢ·lowᵢ,            scale = s,    weight = 0   (≈ ⟨q, v⟩)
//!   Metric::L2Squared:  constant = ‖q‖² − 2·Σ qᵢ·lowᵢ,   scale = −2s,  weight = 1   (≈ ‖q − v‖²)
//! ```
//!
//! The L2 estimate uses the exact `‖v‖²`, so its only errors are those of `⟨q, v⟩`: the codes'
//! rounding (at most `stepᵢ/2` per dimension, plus clipping of outliers) and the query's
//! (at most `s/2` per dimension, times the code).
//!
//! # Parameter bytes (version 1), all integers and floats little-endian
//! ```text
//! offset      size   field
//! 0           4      magic "NQI8" (4E 51 49 38)
//! 4           1      version = 1
//! 5           3      zero
//! 8           4      dim: u32, 1..=DIM_MAX
//! 12          4      lower_quantile: f32 (the fit's configuration, kept for reference)
//! 16          4      upper_quantile: f32
//! 20          4·dim  low[0..dim]: f32, finite
//! 20 + 4·dim  4·dim  step[0..dim]: f32, finite, ≥ 0
//! 20 + 8·dim  4      CRC-32C (Castagnoli) of bytes 0..20 + 8·dim
//! ```
//! Total `24 + 8·dim` bytes. [`Int8Quantizer::from_bytes`] checks the length, the checksum,
//! the magic, the version, then every field, and returns an error (never panics) on any fault.

use crate::codec::{self, Writer};
use crate::error::{QuantError, Result};
use crate::{check_dim, check_finite, check_len, check_query, sample_rows, Metric};

const MAGIC: [u8; 4] = *b"NQI8";
const VERSION: u8 = 1;
/// Bytes before the per-dimension arrays.
const FIXED_LEN: usize = 20;
/// Largest code.
const CODE_MAX: f32 = 255.0;
/// Largest magnitude of a prepared query value (the kernel's contract).
const QUERY_MAX: f32 = ndb_kernels::DOT_U8_I8_QUERY_MAX as f32;

/// How [`Int8Quantizer::fit`] chooses each dimension's range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Int8Config {
    /// The sample quantile that becomes the low end of a dimension's range (values below are
    /// clipped). Default `0.001`.
    pub lower_quantile: f32,
    /// The sample quantile that becomes the high end. Default `0.999`.
    pub upper_quantile: f32,
}

impl Default for Int8Config {
    fn default() -> Self {
        Int8Config {
            lower_quantile: 0.001,
            upper_quantile: 0.999,
        }
    }
}

impl Int8Config {
    fn check(&self) -> Result<()> {
        let (lo, hi) = (self.lower_quantile, self.upper_quantile);
        if (0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi) && lo <= hi {
            Ok(())
        } else {
            Err(QuantError::InvalidConfig(
                "quantiles must satisfy 0 <= lower_quantile <= upper_quantile <= 1",
            ))
        }
    }
}

/// Per-dimension ranges for int8 codes (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct Int8Quantizer {
    config: Int8Config,
    low: Vec<f32>,
    step: Vec<f32>,
}

impl Int8Quantizer {
    /// Fits each dimension's range to the `[lower_quantile, upper_quantile]` quantiles of a
    /// sample: `sample` holds `sample.len() / dim` vectors of `dim` values, row after row.
    ///
    /// Errors: a dimension outside `1..=DIM_MAX`, a sample that is empty or not whole rows, a
    /// NaN or infinite value, quantiles out of order or outside `[0, 1]`.
    pub fn fit(sample: &[f32], dim: usize, config: Int8Config) -> Result<Self> {
        check_dim(dim)?;
        config.check()?;
        let rows = sample_rows(sample, dim)?;
        let last = (rows - 1) as f64;
        // Nearest ranks, rounded outwards so that a quantile of 0 or 1 is the min or max.
        let lower_rank = ((f64::from(config.lower_quantile) * last).floor() as usize).min(rows - 1);
        let upper_rank = ((f64::from(config.upper_quantile) * last).ceil() as usize).min(rows - 1);
        let mut column = Vec::with_capacity(rows);
        let mut low = Vec::with_capacity(dim);
        let mut step = Vec::with_capacity(dim);
        for i in 0..dim {
            column.clear();
            column.extend(sample.iter().skip(i).step_by(dim));
            let (_, &mut lo, above) = column.select_nth_unstable_by(lower_rank, f32::total_cmp);
            let hi = match upper_rank.checked_sub(lower_rank + 1) {
                // The upper rank lies in `above` (which holds the values ranked after `lo`).
                Some(rank) => *above.select_nth_unstable_by(rank, f32::total_cmp).1,
                None => lo,
            };
            // `hi - lo` may overflow to infinity for values near ±f32::MAX: clamp the step.
            let width = (f64::from(hi) - f64::from(lo)).max(0.0);
            low.push(lo);
            step.push(((width / f64::from(CODE_MAX)) as f32).min(f32::MAX));
        }
        Ok(Int8Quantizer { config, low, step })
    }

    /// The dimension of vectors and codes (one code byte per dimension).
    pub fn dim(&self) -> usize {
        self.low.len()
    }

    /// The configuration it was fitted with.
    pub fn config(&self) -> Int8Config {
        self.config
    }

    /// Writes the codes of `vector` into `codes` (both of length [`Int8Quantizer::dim`]) and
    /// returns its correction term `‖vector‖²`, to be stored beside the codes and passed to
    /// [`Int8Query::estimate`].
    pub fn encode(&self, vector: &[f32], codes: &mut [u8]) -> Result<f32> {
        check_len("vector", self.dim(), vector.len())?;
        check_len("codes", self.dim(), codes.len())?;
        check_finite(vector, "the vector")?;
        for (((code, &x), &lo), &step) in
            codes.iter_mut().zip(vector).zip(&self.low).zip(&self.step)
        {
            *code = if step > 0.0 {
                // Rounds half up without a libm call; `as` saturates below 0 and above 255 (and
                // maps NaN, which finite inputs cannot give, to 0).
                ((x - lo) / step + 0.5) as u8
            } else {
                0
            };
        }
        Ok(ndb_kernels::norm_squared(vector))
    }

    /// Writes the reconstruction `lowᵢ + stepᵢ·codesᵢ` of `codes` into `out`.
    pub fn decode(&self, codes: &[u8], out: &mut [f32]) -> Result<()> {
        check_len("codes", self.dim(), codes.len())?;
        check_len("output", self.dim(), out.len())?;
        for (((x, &c), &lo), &step) in out.iter_mut().zip(codes).zip(&self.low).zip(&self.step) {
            *x = lo + step * f32::from(c);
        }
        Ok(())
    }

    /// The parameters as bytes (layout in the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let dim = self.dim();
        let mut w = Writer::new(MAGIC, VERSION, FIXED_LEN + 8 * dim + codec::CHECKSUM_LEN);
        (0..3).for_each(|_| w.u8(0));
        // `dim <= DIM_MAX` (checked when the quantizer was made) fits `u32`.
        w.u32(dim as u32);
        w.f32(self.config.lower_quantile);
        w.f32(self.config.upper_quantile);
        w.f32s(&self.low);
        w.f32s(&self.step);
        w.finish()
    }

    /// Parameters written by [`Int8Quantizer::to_bytes`]; any damage is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = codec::open(bytes, MAGIC, VERSION)?;
        for _ in 0..3 {
            let offset = r.offset();
            if r.u8()? != 0 {
                return Err(QuantError::Corrupt {
                    offset,
                    reason: "reserved byte is not zero",
                });
            }
        }
        let offset = r.offset();
        let dim = r.u32()? as usize;
        check_dim(dim).map_err(|_| QuantError::Corrupt {
            offset,
            reason: "dimension out of range",
        })?;
        if r.remaining() != 8 + 8 * dim {
            return Err(QuantError::Corrupt {
                offset: bytes.len(),
                reason: "length does not match the dimension",
            });
        }
        let offset = r.offset();
        let config = Int8Config {
            lower_quantile: r.f32()?,
            upper_quantile: r.f32()?,
        };
        config.check().map_err(|_| QuantError::Corrupt {
            offset,
            reason: "quantiles out of range",
        })?;
        let low = r.f32s(dim)?;
        let offset = r.offset();
        let step = r.f32s(dim)?;
        if step.iter().any(|&s| s < 0.0) {
            return Err(QuantError::Corrupt {
                offset,
                reason: "a negative step",
            });
        }
        r.finish()?;
        Ok(Int8Quantizer { config, low, step })
    }
}

impl crate::PrepareQuery for Int8Quantizer {
    type Query = Int8Query;

    fn prepare_into(&self, query: &[f32], metric: Metric, prepared: &mut Int8Query) -> Result<()> {
        check_query(self.dim(), query)?;
        // max |qᵢ·stepᵢ| in eight independent lanes.
        let mut lanes = [0.0f32; 8];
        let (q_blocks, q_tail) = query.as_chunks::<8>();
        let (step_blocks, step_tail) = self.step.as_chunks::<8>();
        for (q, step) in q_blocks.iter().zip(step_blocks) {
            for ((m, &qi), &si) in lanes.iter_mut().zip(q).zip(step) {
                *m = m.max((qi * si).abs());
            }
        }
        for (&qi, &si) in q_tail.iter().zip(step_tail) {
            lanes[0] = lanes[0].max((qi * si).abs());
        }
        let max_weighted = lanes.iter().fold(0.0f32, |a, &b| a.max(b));
        let low_dot = f64::from(ndb_kernels::dot(query, &self.low));
        let s = f64::from(max_weighted) / f64::from(QUERY_MAX);
        let inv_s = if s > 0.0 { (1.0 / s) as f32 } else { 0.0 };
        prepared.codes.clear();
        prepared
            .codes
            .extend(query.iter().zip(&self.step).map(|(&q, &step)| {
                // `q·step/s ∈ [-64, 64]` by the choice of `s`: shifted by 64.5, truncation
                // rounds half up without a libm call; the clamp guards the last rounding.
                let shifted = (q * step * inv_s + (QUERY_MAX + 0.5)).clamp(0.0, 2.0 * QUERY_MAX);
                (shifted as i32 - 64) as i8
            }));
        let (constant, scale, weight) = match metric {
            Metric::Dot => (low_dot, s, 0.0),
            Metric::L2Squared => {
                let norm = f64::from(ndb_kernels::norm_squared(query));
                (norm - 2.0 * low_dot, -2.0 * s, 1.0)
            }
        };
        prepared.constant = constant as f32;
        prepared.scale = scale as f32;
        prepared.weight = weight;
        Ok(())
    }
}

/// A query prepared by [`PrepareQuery::prepare`](crate::PrepareQuery::prepare): its `i8` codes and the constants of the
/// estimate. Estimating allocates nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Int8Query {
    codes: Vec<i8>,
    constant: f32,
    scale: f32,
    weight: f32,
}

impl Int8Query {
    /// The estimate of the prepared metric between the query and the vector stored as `codes`
    /// with `correction` (what [`Int8Quantizer::encode`] returned): `⟨q, v⟩` for
    /// [`Metric::Dot`], `‖q − v‖²` for [`Metric::L2Squared`].
    ///
    /// Errors only if `codes` does not have the query's dimension.
    #[inline]
    pub fn estimate(&self, codes: &[u8], correction: f32) -> Result<f32> {
        check_len("codes", self.codes.len(), codes.len())?;
        let dot = ndb_kernels::dot_u8_i8(codes, &self.codes);
        Ok(self.constant + self.scale * dot as f32 + self.weight * correction)
    }

    /// The query's `i8` values (each in `[-64, 64]`).
    pub fn codes(&self) -> &[i8] {
        &self.codes
    }
}
