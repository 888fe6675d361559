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
        self.raw_block(rows, out);
        for s in out.iter_mut() {
            *s = self.score_of_raw(*s);
        }
    }

    /// The kernel's values for every row of `rows` (row-major, `out.len()` rows): dot
    /// products, squared L2 distances for Euclidean, the final scores for cosine over raw
    /// rows. [`Scorer::score_of_raw`] turns one into its score; [`Scorer::raw_floor`] lets a
    /// scan skip the rows that cannot reach a floor without converting them.
    pub fn raw_block(&self, rows: &[f32], out: &mut [f32]) {
        match self.kind {
            Kind::Dot => ndb_kernels::dot_batch(&self.query, rows, out),
            Kind::NegEuclidean => ndb_kernels::l2_squared_batch(&self.query, rows, out),
            Kind::CosineOfRawRows => {
                ndb_kernels::dot_batch(&self.query, rows, out);
                for (s, row) in out.iter_mut().zip(rows.chunks_exact(self.query.len())) {
                    let norm = ndb_kernels::norm_squared(row).sqrt();
                    *s = if norm > 0.0 { *s / norm } else { 0.0 };
                }
            }
        }
    }

    /// The score of a row whose kernel value ([`Scorer::raw_block`]) is `raw`. NaN becomes
    /// `-inf`.
    #[inline]
    pub fn score_of_raw(&self, raw: f32) -> f32 {
        let score = match self.kind {
            Kind::NegEuclidean => -raw.sqrt(),
            Kind::Dot | Kind::CosineOfRawRows => raw,
        };
        if score.is_nan() {
            f32::NEG_INFINITY
        } else {
            score
        }
    }

    /// A bound on kernel values outside which no row scores `floor` or more, so a scan can
    /// skip those rows with one comparison of the kernel's value (the Euclidean square roots
    /// and the NaN check are paid only by the few rows that may enter the top k). Never
    /// excludes a row whose score could reach `floor` (the Euclidean bound is widened past
    /// any rounding of `floor²`), nor a NaN (it goes on to [`Scorer::score_of_raw`]).
    #[inline]
    pub fn raw_floor(&self, floor: f32) -> RawFloor {
        match self.kind {
            Kind::Dot | Kind::CosineOfRawRows => RawFloor {
                value: floor,
                lower_is_better: false,
            },
            Kind::NegEuclidean => RawFloor {
                // score = -sqrt(d²) >= floor  <=>  d² <= floor² (floor <= 0); the factor
                // covers the rounding of `floor * floor` and of the square root many times
                // over, an overflow to infinity excludes nothing, and `-inf` gives `inf`.
                value: if floor > 0.0 {
                    -1.0
                } else {
                    floor * floor * (1.0 + 1.0 / 65_536.0)
                },
                lower_is_better: true,
            },
        }
    }
}

/// See [`Scorer::raw_floor`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawFloor {
    value: f32,
    /// Kernel values are squared distances (lower is better).
    lower_is_better: bool,
}

impl RawFloor {
    /// Whether no row of `raw` can reach the floor: one branch-free pass the compiler turns
    /// into vector compares, so a scan skips a whole group of rows at once (false if any is
    /// NaN).
    #[inline]
    pub fn excludes_all(self, raw: &[f32]) -> bool {
        if self.lower_is_better {
            raw.iter().fold(true, |all, &r| all & (r > self.value))
        } else {
            raw.iter().fold(true, |all, &r| all & (r < self.value))
        }
    }

    /// Whether a row with kernel value `raw` cannot reach the floor. False for NaN.
    #[inline]
    pub fn excludes(self, raw: f32) -> bool {
        if self.lower_is_better {
            raw > self.value
        } else {
            raw < self.value
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scorers() -> Vec<Scorer> {
        let q = [0.5f32, -1.0, 2.0];
        vec![
            Scorer::new(&q, Distance::DotProduct, Distance::DotProduct).unwrap(),
            Scorer::new(&q, Distance::Euclidean, Distance::Euclidean).unwrap(),
            Scorer::new(&q, Distance::Euclidean, Distance::Cosine).unwrap(),
        ]
    }

    proptest! {
        /// A scan may skip a row on its kernel value only if the row's score is below the
        /// floor: whatever the floor (kept scores, `-inf`) and the value (NaN, infinities,
        /// neighbours of the floor's square).
        #[test]
        fn raw_floor_never_excludes_a_row_that_reaches_the_floor(
            floor_bits in any::<u32>(),
            raw_bits in any::<u32>(),
            near in -8i32..8,
        ) {
            for scorer in scorers() {
                let floor = match f32::from_bits(floor_bits) {
                    f if f.is_nan() => f32::NEG_INFINITY,
                    f => f,
                };
                let cut = scorer.raw_floor(floor);
                // Arbitrary values, and squares of the floor moved by a few ulps.
                let square = floor * floor;
                let nudged = f32::from_bits(square.to_bits().wrapping_add_signed(near));
                for raw in [f32::from_bits(raw_bits), nudged, square, 0.0, f32::NAN] {
                    let score = scorer.score_of_raw(raw);
                    if score >= floor {
                        prop_assert!(
                            !cut.excludes(raw),
                            "{scorer:?}: raw {raw} scores {score} >= floor {floor} but is excluded"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn raw_floor_excludes_most_rows_below_the_floor() {
        let [_, l2, _] = &scorers()[..] else {
            unreachable!()
        };
        // score -2 is the floor: a squared distance of 4.01 cannot reach it, 3.99 can.
        let cut = l2.raw_floor(-2.0);
        assert!(cut.excludes(4.01));
        assert!(!cut.excludes(3.99));
        assert!(!cut.excludes(f32::NAN));
        assert!(!l2.raw_floor(f32::NEG_INFINITY).excludes(f32::MAX));
    }
}
