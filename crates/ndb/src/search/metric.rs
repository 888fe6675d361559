//! Turning a query and a metric into scores over blocks of stored rows.

use crate::config::Distance;
use crate::{Error, Result};

/// How a block of rows is scored. Every score is "higher is better".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `<q, v>` (also cosine when both sides are unit vectors).
    Dot,
    /// `-‖q - v‖`.
    NegEuclidean,
    /// `<q̂, v> / ‖v‖` for rows that are not stored normalized.
    CosineOfRawRows,
}

/// A prepared query.
#[derive(Clone, Debug)]
pub(crate) struct Scorer {
    kind: Kind,
    query: Vec<f32>,
}

impl Scorer {
    /// Prepare `query` for searching a collection whose metric is `stored` with metric `wanted`.
    pub fn new(query: &[f32], stored: Distance, wanted: Distance) -> Result<Self> {
        let mut q = query.to_vec();
        let kind = match wanted {
            Distance::DotProduct => Kind::Dot,
            Distance::Euclidean => Kind::NegEuclidean,
            Distance::Cosine => {
                if !ndb_kernels::normalize(&mut q) {
                    return Err(Error::invalid(
                        "a zero query vector has no direction: cosine similarity is undefined",
                    ));
                }
                if stored == Distance::Cosine {
                    Kind::Dot
                } else {
                    Kind::CosineOfRawRows
                }
            }
        };
        Ok(Self { kind, query: q })
    }

    pub fn dim(&self) -> usize {
        self.query.len()
    }

    /// The prepared query (unit length for cosine).
    pub fn query(&self) -> &[f32] {
        &self.query
    }

    /// Whether the collection's HNSW graph ranks exactly like this scorer (so the index may
    /// answer this search).
    pub fn graph_compatible(&self, stored: Distance) -> bool {
        match self.kind {
            Kind::Dot => stored != Distance::Euclidean,
            Kind::NegEuclidean => stored == Distance::Euclidean,
            Kind::CosineOfRawRows => false,
        }
    }

    /// Turn a graph score (dot, or negated squared L2) into this scorer's score.
    pub fn score_of_graph(&self, s: f32) -> f32 {
        match self.kind {
            Kind::NegEuclidean => -(-s).max(0.0).sqrt(),
            _ => s,
        }
    }

    /// Score one stored vector.
    pub fn score_one(&self, row: &[f32]) -> f32 {
        let mut out = [0f32];
        self.score_block(row, &mut out);
        out[0]
    }

    /// Score every row of `rows` (row-major, `out.len()` rows) into `out`. NaN (only possible
    /// from overflowing values) becomes `-inf` so it ranks last.
    pub fn score_block(&self, rows: &[f32], out: &mut [f32]) {
        match self.kind {
            Kind::Dot => ndb_kernels::dot_batch(&self.query, rows, out),
            Kind::NegEuclidean => {
                ndb_kernels::l2_squared_batch(&self.query, rows, out);
                for s in out.iter_mut() {
                    *s = -s.sqrt();
                }
            }
            Kind::CosineOfRawRows => {
                ndb_kernels::dot_batch(&self.query, rows, out);
                for (s, row) in out.iter_mut().zip(rows.chunks_exact(self.query.len())) {
                    let norm = ndb_kernels::norm_squared(row).sqrt();
                    *s = if norm > 0.0 { *s / norm } else { 0.0 };
                }
            }
        }
        for s in out.iter_mut() {
            if s.is_nan() {
                *s = f32::NEG_INFINITY;
            }
        }
    }
}
