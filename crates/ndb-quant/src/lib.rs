//! Vector quantization for nDB: compact codes of `f32` vectors and estimates of the distance
//! between an `f32` query and a code, to search on the codes and rescore the best candidates
//! with the exact vectors. Pure math: no I/O, no knowledge of segments or graphs.
//!
//! - [`Int8Quantizer`]: one byte per dimension on per-dimension ranges fitted by quantiles
//!   (4× smaller than `f32`); estimates through [`ndb_kernels::dot_u8_i8`].
//! - [`BinaryQuantizer`]: RaBitQ, one bit per dimension after a random rotation (32× smaller,
//!   plus 24 bytes of factors per vector); unbiased estimates with an error bound through
//!   [`ndb_kernels::dot_bit_planes`].
//!
//! Each quantizer is fitted on a sample, encodes vectors into caller-owned buffers (codes plus
//! a per-vector correction), prepares a query once ([`Int8Query`], [`BinaryQuery`]; hot loops
//! then allocate nothing) and serializes its parameters to checksummed, versioned bytes
//! (`to_bytes` / `from_bytes`; the layouts are in the [`int8`] and [`binary`] module docs).
//!
//! # Metrics
//! nDB's three distances map onto two [`Metric`]s: `DotProduct` is [`Metric::Dot`];
//! `Euclidean` is [`Metric::L2Squared`] (nDB reports `−‖q − v‖`, a monotone function of it);
//! `Cosine` is [`Metric::Dot`] on unit vectors (nDB stores cosine collections normalized and
//! normalizes the query). A cosine search of a collection stored unnormalized divides a
//! `Metric::Dot` estimate by `‖v‖`: the int8 correction is `‖v‖²`; binary factors give
//! `‖v‖² = ‖c‖² + 2·⟨c, r⟩ + ‖r‖²`.
//!
//! # Errors
//! Every fallible operation returns [`QuantError`]; nothing panics on any input, including
//! arbitrary bytes given to `from_bytes`.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::unwrap_used, clippy::indexing_slicing)]

pub mod binary;
mod codec;
mod error;
pub mod int8;
mod kmeans;
pub mod rotation;

pub use binary::{BinaryConfig, BinaryFactors, BinaryQuantizer, BinaryQuery, Estimate};
pub use error::{QuantError, Result};

/// Preparing queries, the same for every quantizer: the prepared form holds the quantized query
/// and the constants of the estimate, so estimating allocates nothing.
pub trait PrepareQuery {
    /// The prepared form of a query.
    type Query: Default;

    /// Prepare `query` for estimating `metric` against codes into `prepared`, reusing its
    /// buffers (no allocation once it has held a query of this quantizer).
    fn prepare_into(&self, query: &[f32], metric: Metric, prepared: &mut Self::Query)
        -> Result<()>;

    /// The prepared form of `query` for estimating `metric` against codes.
    fn prepare(&self, query: &[f32], metric: Metric) -> Result<Self::Query> {
        let mut prepared = Self::Query::default();
        self.prepare_into(query, metric, &mut prepared)?;
        Ok(prepared)
    }
}
pub use int8::{Int8Config, Int8Quantizer, Int8Query};

/// The largest dimension a quantizer accepts (nDB's own limit).
pub const DIM_MAX: usize = 65_536;

/// What an estimate estimates. See the crate documentation for nDB's distances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// The inner product `⟨q, v⟩` (higher is closer).
    Dot,
    /// The squared Euclidean distance `‖q − v‖²` (lower is closer).
    L2Squared,
}

fn check_dim(dim: usize) -> Result<()> {
    if (1..=DIM_MAX).contains(&dim) {
        Ok(())
    } else {
        Err(QuantError::InvalidDimension(dim))
    }
}

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(QuantError::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

/// The number of rows in a fitting sample of `dim`-value rows (`dim` already checked): errors
/// if the sample is empty, not whole rows, or holds a NaN or infinite value.
fn sample_rows(sample: &[f32], dim: usize) -> Result<usize> {
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
    Ok(sample.len() / dim)
}

/// The checks of every quantizer's `prepare_into`: `query` has `dim` values, all finite.
fn check_query(dim: usize, query: &[f32]) -> Result<()> {
    check_len("query", dim, query.len())?;
    check_finite(query, "the query")
}

fn check_finite(values: &[f32], what: &'static str) -> Result<()> {
    if values.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(QuantError::NonFinite(what))
    }
}
