//! The one error type of the crate.

use thiserror::Error;

/// What went wrong in fitting, encoding, preparing a query or decoding parameters.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum QuantError {
    /// A vector, code or sample does not have the length the quantizer's dimension implies.
    #[error("{what}: expected length {expected}, got {got}")]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// The length the quantizer needs.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// The dimension is 0 or above [`DIM_MAX`](crate::DIM_MAX).
    #[error("dimension {0} is outside 1..={max}", max = crate::DIM_MAX)]
    InvalidDimension(usize),
    /// Binary factors name a centroid the quantizer does not have.
    #[error("centroid {centroid} out of range: the quantizer has {centroids}")]
    CentroidOutOfRange {
        /// The index in the factors.
        centroid: u32,
        /// How many the quantizer has.
        centroids: usize,
    },
    /// A fit was given no vectors.
    #[error("the sample holds no vectors")]
    EmptySample,
    /// An input value is NaN or infinite.
    #[error("{0} holds a NaN or infinite value")]
    NonFinite(&'static str),
    /// A configuration value is out of its range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// Serialized parameters are damaged or not parameters of this kind: `offset` is the byte
    /// at fault (or the length, for a truncated input).
    #[error("corrupt quantizer parameters at byte {offset}: {reason}")]
    Corrupt {
        /// Byte offset of the fault.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The parameters' checksum does not match their bytes.
    #[error(
        "quantizer parameters checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
    )]
    ChecksumMismatch {
        /// The CRC-32C stored in the bytes.
        stored: u32,
        /// The CRC-32C of the bytes it covers.
        computed: u32,
    },
    /// The parameters were written by a format version this build does not know.
    #[error("unsupported quantizer parameters version {0}")]
    UnsupportedVersion(u8),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, QuantError>;
