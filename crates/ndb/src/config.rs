//! Collection configuration: dimension, metric, durability, flush threshold.

use crate::limits::{DIM_MAX, FLUSH_THRESHOLD_BYTES_DEFAULT, FLUSH_THRESHOLD_BYTES_MIN};
use crate::{Error, Result};

/// The smallest dimension binary quantization accepts: below it one bit per dimension keeps
/// too little to rank by.
pub(crate) const BINARY_DIM_MIN: usize = 32;
use serde::{Deserialize, Serialize};

/// How similarity is measured. Scores are always "higher is better".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distance {
    /// Inner product `<q, v>`.
    DotProduct,
    /// Cosine similarity in `[-1, 1]`. Vectors are stored normalized to unit length, so a search
    /// is a dot product and [`Collection::get`](crate::Collection::get) returns the unit vector.
    #[default]
    Cosine,
    /// Euclidean distance, reported negated (`-‖q - v‖`) so that higher is better.
    Euclidean,
}

impl Distance {
    pub(crate) fn code(self) -> u32 {
        match self {
            Distance::DotProduct => 1,
            Distance::Cosine => 2,
            Distance::Euclidean => 3,
        }
    }

    /// The distance whose [`Distance::code`] is `code`.
    pub(crate) fn from_code(code: u32) -> Option<Self> {
        [Distance::DotProduct, Distance::Cosine, Distance::Euclidean]
            .into_iter()
            .find(|d| d.code() == code)
    }
}

/// When an acknowledged write becomes durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// Each write is appended to the WAL (the OS page cache) before it is acknowledged; it
    /// survives a crash of the process but not a power loss or kernel crash until the next
    /// [`Collection::sync`](crate::Collection::sync), flush, or WAL rotation.
    #[default]
    Buffered,
    /// Each `insert`, `insert_batch` and `delete` returns only after its WAL record is on stable
    /// storage (`fdatasync`). Concurrent writers share one `fdatasync` (group commit).
    FdatasyncEachBatch,
}

/// The fixed properties of a collection, chosen at creation.
///
/// ```
/// use ndb::{CollectionConfig, Distance, Durability};
/// let config = CollectionConfig::new(384)
///     .with_distance(Distance::Euclidean)
///     .with_durability(Durability::FdatasyncEachBatch);
/// assert_eq!(config.dim(), 384);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionConfig {
    dim: usize,
    #[serde(default)]
    distance: Distance,
    #[serde(default)]
    durability: Durability,
    #[serde(default = "default_flush_threshold")]
    flush_threshold_bytes: usize,
    #[serde(default)]
    index: IndexConfig,
    #[serde(default)]
    quantization: Quantization,
}

/// Compressed codes that searches traverse instead of the `f32` vectors, rescoring the best
/// candidates with the `f32` vectors (see [`Search::oversampling`](crate::Search::oversampling)).
/// Codes are built per segment when it is written (flush, merge) or by
/// [`Collection::rebuild_index`](crate::Collection::rebuild_index).
///
/// ```
/// use ndb::{CollectionConfig, Quantization};
/// let config = CollectionConfig::new(768).with_quantization(Quantization::Int8);
/// assert_eq!(config.quantization(), Quantization::Int8);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantization {
    /// No codes: searches read the `f32` vectors.
    #[default]
    None,
    /// One byte per dimension on per-dimension ranges fitted to the data (outliers clipped by
    /// quantile): 4× smaller than `f32`.
    Int8,
    /// One bit per dimension after a random rotation (RaBitQ, with per-vector correction
    /// factors and an error bound): 32× smaller than `f32`, plus 24 bytes per vector. Best at
    /// 384 dimensions or more; at low dimensions it needs a large oversampling.
    Binary,
}

impl Quantization {
    /// The name used by settings, the command line and the language packages.
    pub fn name(self) -> &'static str {
        match self {
            Quantization::None => "none",
            Quantization::Int8 => "int8",
            Quantization::Binary => "binary",
        }
    }

    /// The quantization named `name` (`none`, `int8`, `binary`).
    pub fn from_name(name: &str) -> Result<Self> {
        match name.trim() {
            "none" => Ok(Quantization::None),
            "int8" => Ok(Quantization::Int8),
            "binary" => Ok(Quantization::Binary),
            other => Err(Error::invalid(format!(
                "quantization {other:?} is not none, int8 or binary"
            ))),
        }
    }
}

/// Parameters of the approximate (HNSW) index.
///
/// ```
/// use ndb::{CollectionConfig, IndexConfig};
/// let index = IndexConfig::default().with_m(32).with_ef_search(128);
/// let config = CollectionConfig::new(768).with_index(index);
/// assert_eq!((config.index().m, config.index().ef_construction), (32, 200));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct IndexConfig {
    /// Neighbours per node (level 0 keeps twice as many). Default 16.
    pub m: usize,
    /// Candidate list size while building. Default 200.
    pub ef_construction: usize,
    /// Candidate list size while searching, unless [`Search::ef`](crate::Search::ef) says
    /// otherwise. Default 100 (recall@10 >= 0.95 on GloVe and fashion-mnist samples).
    pub ef_search: usize,
    /// Segments with at least this many rows get an index when they are written. Default 10,000.
    pub min_rows: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            m: 16,
            ef_construction: 200,
            ef_search: 100,
            min_rows: 10_000,
        }
    }
}

impl IndexConfig {
    /// Neighbours per node (level 0 keeps twice as many).
    pub fn with_m(mut self, m: usize) -> Self {
        self.m = m;
        self
    }

    /// Candidate list size while building.
    pub fn with_ef_construction(mut self, ef: usize) -> Self {
        self.ef_construction = ef;
        self
    }

    /// Candidate list size while searching (the default of [`Search::ef`](crate::Search::ef)).
    pub fn with_ef_search(mut self, ef: usize) -> Self {
        self.ef_search = ef;
        self
    }

    /// Segments with at least this many rows get an index when they are written.
    pub fn with_min_rows(mut self, rows: usize) -> Self {
        self.min_rows = rows;
        self
    }
}

fn default_flush_threshold() -> usize {
    FLUSH_THRESHOLD_BYTES_DEFAULT
}

impl CollectionConfig {
    /// A configuration for vectors of `dim` dimensions, cosine similarity, buffered durability
    /// and a 64 MiB memtable.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            distance: Distance::default(),
            durability: Durability::default(),
            flush_threshold_bytes: FLUSH_THRESHOLD_BYTES_DEFAULT,
            index: IndexConfig::default(),
            quantization: Quantization::None,
        }
    }

    /// Set the quantization of new segments' codes (default [`Quantization::None`]).
    pub fn with_quantization(mut self, quantization: Quantization) -> Self {
        self.quantization = quantization;
        self
    }

    /// The quantization of new segments' codes.
    pub fn quantization(&self) -> Quantization {
        self.quantization
    }

    /// Set the HNSW index parameters.
    pub fn with_index(mut self, index: IndexConfig) -> Self {
        self.index = index;
        self
    }

    /// The HNSW index parameters.
    pub fn index(&self) -> &IndexConfig {
        &self.index
    }

    /// Set the similarity metric.
    pub fn with_distance(mut self, distance: Distance) -> Self {
        self.distance = distance;
        self
    }

    /// Set the durability mode.
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Set the memtable size (bytes of vectors, ids and payloads) at which it is flushed to a
    /// new segment. This also bounds the WAL, and so the replay time at open.
    pub fn with_flush_threshold_bytes(mut self, bytes: usize) -> Self {
        self.flush_threshold_bytes = bytes;
        self
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Similarity metric.
    pub fn distance(&self) -> Distance {
        self.distance
    }

    /// Durability mode.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// Memtable flush threshold in bytes.
    pub fn flush_threshold_bytes(&self) -> usize {
        self.flush_threshold_bytes
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.dim == 0 || self.dim > DIM_MAX {
            return Err(Error::invalid(format!(
                "dimension must be in 1..={DIM_MAX}, got {}",
                self.dim
            )));
        }
        if self.flush_threshold_bytes < FLUSH_THRESHOLD_BYTES_MIN {
            return Err(Error::invalid(format!(
                "flush threshold must be at least {FLUSH_THRESHOLD_BYTES_MIN} bytes, got {}",
                self.flush_threshold_bytes
            )));
        }
        if self.quantization == Quantization::Binary && self.dim < BINARY_DIM_MIN {
            return Err(Error::invalid(format!(
                "binary quantization needs at least {BINARY_DIM_MIN} dimensions, got {}: use int8",
                self.dim
            )));
        }
        let ix = &self.index;
        if !(2..=ndb_hnsw::M_MAX).contains(&ix.m) {
            return Err(Error::invalid(format!(
                "index m must be in 2..={}, got {}",
                ndb_hnsw::M_MAX,
                ix.m
            )));
        }
        if ix.ef_construction == 0
            || ix.ef_search == 0
            || ix.ef_construction > 10_000
            || ix.ef_search > 100_000
        {
            return Err(Error::invalid(
                "index ef_construction must be in 1..=10000 and ef_search in 1..=100000",
            ));
        }
        Ok(())
    }
}
