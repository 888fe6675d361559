//! HNSW (hierarchical navigable small world) graphs for approximate nearest-neighbour search.
//!
//! This crate does no I/O. [`build`] turns a set of vectors into a [`Graph`]: a flat array of
//! `u32` words (the layout below) that the caller stores wherever it likes (nDB writes it to a
//! checksummed file next to a segment and maps it back). [`GraphView`] validates such words and
//! searches them, with a predicate that says which nodes may be returned (deleted or filtered
//! nodes are traversed but never returned).
//!
//! Layout (all `u32`, little-endian when stored):
//!
//! ```text
//! 0  magic   0x57534E48 ("HNSW")
//! 1  version 1
//! 2  n       nodes
//! 3  m       max neighbours on levels >= 1
//! 4  m0      max neighbours on level 0 (2m)
//! 5  levels  top level (0 if only level 0)
//! 6  entry   entry node (u32::MAX if n == 0)
//! 7  reserved
//! 8 ..       level offsets: for l in 1..=levels, the word offset of level l's block
//! level 0:   n records of (1 + m0) words: [count, neighbours..., padding]
//! level l:   [c, c sorted node ids, c records of (1 + m) words]
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod build;
mod links;
mod search;
mod view;

pub use build::{build, build_cancellable, build_seeded, build_seeded_cancellable};
pub use search::{ExactScore, NodeScore, Scratch};
pub use view::GraphView;

use ndb_kernels::Kernels;

/// Magic word at the start of every graph.
pub const MAGIC: u32 = 0x5753_4E48;
/// Layout version.
pub const VERSION: u32 = 1;
/// Words before the level offsets.
pub(crate) const HEADER_WORDS: usize = 8;
/// Highest level a node can get (bounds every descent).
pub const LEVEL_MAX: usize = 16;
/// Largest `m`.
pub const M_MAX: usize = 128;

/// The vectors a graph indexes: `len()` rows of `dim()` floats.
pub trait Vectors: Sync {
    /// Floats per vector.
    fn dim(&self) -> usize;
    /// Number of vectors.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Vector `i` (`i < len()`).
    fn vector(&self, i: u32) -> &[f32];
}

/// Row-major vectors in one slice.
#[derive(Clone, Copy, Debug)]
pub struct FlatVectors<'a> {
    data: &'a [f32],
    dim: usize,
}

impl<'a> FlatVectors<'a> {
    /// `data.len()` must be a multiple of `dim` (extra floats are ignored).
    pub fn new(data: &'a [f32], dim: usize) -> Self {
        Self { data, dim }
    }
}

impl Vectors for FlatVectors<'_> {
    #[inline]
    fn dim(&self) -> usize {
        self.dim
    }
    #[inline]
    fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }
    #[inline]
    fn vector(&self, i: u32) -> &[f32] {
        let start = i as usize * self.dim;
        &self.data[start..start + self.dim]
    }
}

/// How closeness is measured inside the graph; higher is closer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Inner product (cosine on unit vectors).
    Dot,
    /// Negated squared Euclidean distance.
    NegL2Squared,
}

impl Metric {
    #[inline]
    pub(crate) fn score(self, k: &Kernels, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::Dot => k.dot(a, b),
            Metric::NegL2Squared => -k.l2_squared(a, b),
        }
    }

    /// [`Metric::score`] of `a` against four rows, each equal to `score(k, a, row)`.
    #[inline]
    pub(crate) fn score4(self, k: &Kernels, a: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        match self {
            Metric::Dot => k.dot_x4(a, rows),
            Metric::NegL2Squared => k.l2_squared_x4(a, rows).map(|d| -d),
        }
    }
}

/// Build parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Neighbours per node on levels >= 1 (level 0 keeps `2m`). 2..=128; default 16.
    pub m: usize,
    /// Candidate list size while building. Default 200.
    pub ef_construction: usize,
    /// Seed of the level assignment.
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            m: 16,
            ef_construction: 200,
            seed: 0x6e64_6268_6e73_7731,
        }
    }
}

/// A built graph: the words of the layout above.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graph {
    /// The layout's words.
    pub words: Vec<u32>,
}
