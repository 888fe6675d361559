//! The seeded random orthogonal transform of [`BinaryQuantizer`](crate::BinaryQuantizer).
//!
//! # Why sign flips and Walsh–Hadamard transforms, not a dense random matrix
//! RaBitQ needs a random rotation `P` so that the coordinates of a rotated unit vector look like
//! those of a uniformly random one. A dense Haar-random matrix does that exactly but costs
//! `D²` floats to store (9.4 MB at 1536-d; at nDB's 65,536-d limit, 17 GB), `D²` multiply-adds
//! per encoded vector and per query, and `D³` work to regenerate from a seed. A product of
//! random diagonal sign matrices and normalized Walsh–Hadamard transforms (`H·D` blocks, as in
//! fast Johnson–Lindenstrauss transforms and Andoni et al.'s "Practical and optimal LSH for
//! angular distance", where three `H·D` blocks behave like a random rotation) is orthogonal,
//! costs `O(D log D)` per vector, and regenerates from its 8-byte seed in `O(D)`. Its effect on
//! the estimator is checked empirically by the tests (unbiasedness, coverage of the error
//! bound, recall).
//!
//! # The transform, exactly (part of the parameter format: changing it needs a new version)
//! The padded dimension `D` is a multiple of 64; `h` is the largest power of two `≤ D`. The
//! transform applies, 3 times (`ROUNDS`): multiply by signs `s₀` (one per coordinate), normalized
//! Hadamard transform of coordinates `0..h`, multiply by signs `s₁`, normalized Hadamard
//! transform of coordinates `D−h..D` (when `D` is a power of two both blocks are the whole
//! vector). The two blocks overlap whenever `D` is not a power of two, so every output depends
//! on every input. The normalized Hadamard transform of length `h` is the in-place butterfly
//! `(a, b) → (a + b, a − b)` over strides `1, 2, 4, …, h/2`, then scaling by `1/√h`.
//!
//! The signs come from SplitMix64 (`ndb_rand::SplitMix`, whose sequence is specified and pinned
//! there) seeded with the quantizer's seed: for round `0..ROUNDS`, for block `0..2`, for
//! coordinate `0..D`, one `next_u64()`; the sign is `−1` if its top bit is set. The query
//! dither follows in the same stream: for coordinate `0..D`, `next_unit()`, that is
//! `(next_u64() >> 40) / 2²⁴`.

use ndb_rand::SplitMix;

/// Rounds of the two `H·D` blocks.
pub(crate) const ROUNDS: usize = 3;

/// The transform for one padded dimension and seed (see the module documentation).
#[derive(Clone, Debug)]
pub(crate) struct Rotation {
    /// `ROUNDS · 2 · dim` signs (`±1.0`), round-major, then block, then coordinate.
    signs: Vec<f32>,
    /// The Hadamard block length: the largest power of two `≤ dim`.
    block: usize,
    /// Per-coordinate offsets in `[0, 1)` of the query's randomized rounding.
    dither: Vec<f32>,
}

impl Rotation {
    /// The transform of `dim` coordinates (a positive multiple of 64) drawn from `seed`.
    pub(crate) fn new(dim: usize, seed: u64) -> Self {
        let mut rng = SplitMix::new(seed);
        let signs = (0..ROUNDS * 2 * dim)
            .map(|_| if rng.next_u64() >> 63 == 1 { -1.0 } else { 1.0 })
            .collect();
        let dither = (0..dim).map(|_| rng.next_unit()).collect();
        let block = if dim == 0 { 0 } else { 1 << dim.ilog2() };
        Rotation {
            signs,
            block,
            dither,
        }
    }

    /// The padded dimension.
    pub(crate) fn dim(&self) -> usize {
        self.dither.len()
    }

    /// Per-coordinate randomized-rounding offsets in `[0, 1)`.
    pub(crate) fn dither(&self) -> &[f32] {
        &self.dither
    }

    /// Applies the transform to `v` (of [`Rotation::dim`] coordinates) in place. A `v` of any
    /// other length is left unchanged (callers size it).
    pub(crate) fn apply(&self, v: &mut [f32]) {
        let dim = self.dim();
        if v.len() != dim || dim == 0 {
            return;
        }
        let scale = 1.0 / (self.block as f32).sqrt();
        let (head, tail) = (0..self.block, dim - self.block..dim);
        for round in self.signs.chunks_exact(2 * dim) {
            let (first, second) = round.split_at(dim);
            flip(v, first);
            if let Some(block) = v.get_mut(head.clone()) {
                hadamard(block, scale);
            }
            flip(v, second);
            if let Some(block) = v.get_mut(tail.clone()) {
                hadamard(block, scale);
            }
        }
    }
}

/// `v_i *= signs_i`.
fn flip(v: &mut [f32], signs: &[f32]) {
    v.iter_mut().zip(signs).for_each(|(x, s)| *x *= s);
}

/// The normalized Walsh–Hadamard transform of `v` (length a power of two) in place, scaled by
/// `scale` (`1/√len` makes it orthogonal).
///
/// The first three butterfly stages (strides 1, 2, 4) run as one 8-point transform per group of
/// eight, which the compiler keeps in registers; the wider strides are plain loops over two
/// contiguous halves, which it vectorizes.
fn hadamard(v: &mut [f32], scale: f32) {
    let mut half = 1;
    if v.len() >= 8 {
        let (groups, _) = v.as_chunks_mut::<8>();
        for group in groups {
            *group = hadamard_8(*group);
        }
        half = 8;
    }
    while half < v.len() {
        for pair in v.chunks_exact_mut(2 * half) {
            let (low, high) = pair.split_at_mut(half);
            for (a, b) in low.iter_mut().zip(high.iter_mut()) {
                let (x, y) = (*a, *b);
                *a = x + y;
                *b = x - y;
            }
        }
        half *= 2;
    }
    v.iter_mut().for_each(|x| *x *= scale);
}

/// The unnormalized 8-point Walsh–Hadamard transform: the butterflies of strides 1, 2 and 4,
/// in that order (the same sums, in the same order, as the general loop).
fn hadamard_8([a0, a1, a2, a3, a4, a5, a6, a7]: [f32; 8]) -> [f32; 8] {
    let [b0, b1, b2, b3, b4, b5, b6, b7] = [
        a0 + a1,
        a0 - a1,
        a2 + a3,
        a2 - a3,
        a4 + a5,
        a4 - a5,
        a6 + a7,
        a6 - a7,
    ];
    let [c0, c1, c2, c3, c4, c5, c6, c7] = [
        b0 + b2,
        b1 + b3,
        b0 - b2,
        b1 - b3,
        b4 + b6,
        b5 + b7,
        b4 - b6,
        b5 - b7,
    ];
    [
        c0 + c4,
        c1 + c5,
        c2 + c6,
        c3 + c7,
        c0 - c4,
        c1 - c5,
        c2 - c6,
        c3 - c7,
    ]
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, reason = "test code indexes what it built")]
mod tests {
    use super::*;

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| f64::from(x) * f64::from(y))
            .sum()
    }

    /// Orthogonal: inner products (so norms and distances) are preserved, at power-of-two and
    /// other padded dimensions.
    #[test]
    fn the_transform_preserves_inner_products() {
        let mut rng = SplitMix::new(7);
        for dim in [64, 128, 192, 384, 768, 832, 1024] {
            let rotation = Rotation::new(dim, 42);
            let a: Vec<f32> = (0..dim).map(|_| rng.next_unit() - 0.5).collect();
            let b: Vec<f32> = (0..dim).map(|_| rng.next_unit() - 0.5).collect();
            let (mut ra, mut rb) = (a.clone(), b.clone());
            rotation.apply(&mut ra);
            rotation.apply(&mut rb);
            for (before, after) in [(dot(&a, &b), dot(&ra, &rb)), (dot(&a, &a), dot(&ra, &ra))] {
                assert!(
                    (before - after).abs() < 1e-4 * dot(&a, &a).max(1.0),
                    "{dim}"
                );
            }
        }
    }

    /// A basis vector is spread over every coordinate (no output depends on few inputs).
    #[test]
    fn the_transform_spreads_every_basis_vector() {
        for dim in [64, 320, 768] {
            let rotation = Rotation::new(dim, 1);
            for i in [0, dim / 3, dim - 1] {
                let mut e = vec![0.0; dim];
                e[i] = 1.0;
                rotation.apply(&mut e);
                let largest = e.iter().fold(0.0f32, |m, x| m.max(x.abs()));
                // A random unit vector's largest coordinate is about √(2 ln D / D).
                let typical = (2.0 * (dim as f32).ln() / dim as f32).sqrt();
                assert!(largest < 2.5 * typical, "{dim}, e_{i}: largest {largest}");
                let zeros = e.iter().filter(|x| x.abs() < 1e-9).count();
                assert!(zeros < dim / 50, "{dim}, e_{i}: {zeros} zero coordinates");
            }
        }
    }

    /// The 8-point shortcut computes exactly what the plain butterfly loop does.
    #[test]
    fn the_fast_transform_equals_the_plain_butterflies() {
        let mut rng = SplitMix::new(3);
        for len in [8, 64, 512] {
            let v: Vec<f32> = (0..len).map(|_| rng.next_unit() - 0.5).collect();
            let mut plain = v.clone();
            let mut half = 1;
            while half < len {
                for pair in plain.chunks_exact_mut(2 * half) {
                    let (low, high) = pair.split_at_mut(half);
                    for (a, b) in low.iter_mut().zip(high.iter_mut()) {
                        (*a, *b) = (*a + *b, *a - *b);
                    }
                }
                half *= 2;
            }
            let mut fast = v;
            hadamard(&mut fast, 1.0);
            assert_eq!(fast, plain, "{len}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_transform_and_another_seed_another() {
        let v: Vec<f32> = (0..128).map(|i| i as f32).collect();
        let (mut a, mut b, mut c) = (v.clone(), v.clone(), v);
        Rotation::new(128, 5).apply(&mut a);
        Rotation::new(128, 5).apply(&mut b);
        Rotation::new(128, 6).apply(&mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
