//! Helpers shared by the kernel tests: the ISAs to test, the error tolerance, exact (f64)
//! references and a deterministic value generator.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of these helpers"
)]

use ndb_kernels::{kernels_for, Isa, Kernels};

/// Dimensions every fixed-size test covers: around the 8/16/64-lane boundaries of each ISA,
/// around the narrow kernels' limit (256), and the common embedding sizes.
pub const FIXED_DIMS: [usize; 27] = [
    1, 3, 7, 8, 15, 16, 17, 31, 33, 383, 384, 385, 767, 768, 1536, 1537, 2048, 63, 32, 50, 100,
    128, 255, 256, 257, 300, 4,
];

/// The kernel tables of every ISA this CPU supports, scalar first.
pub fn supported() -> Vec<Kernels> {
    Isa::ALL.into_iter().filter_map(kernels_for).collect()
}

/// The scalar reference table.
pub fn scalar() -> Kernels {
    kernels_for(Isa::Scalar).expect("the scalar kernels are always available")
}

/// Allowed difference between two computations of `Σ t_i` whose terms have
/// `Σ |t_i| = abs_sum`: `1e-5 * abs_sum + 1e-6`.
///
/// The kernels compute the same terms but add them in different orders (8 or 16 lanes, four
/// accumulators, a pairwise final reduction; FMA also skips rounding the product). Float
/// addition is not associative, so each order rounds differently: every addition errs by at
/// most half an ulp of its partial sum, and every partial sum is at most `Σ |t_i|`, so the
/// difference is a small multiple of `f32::EPSILON * Σ |t_i|` (about `6e-8 * Σ |t_i|` per
/// rounding, and the roundings of up to 2048 terms mostly cancel). The relative part is far
/// below a meaningful score change yet tight enough to catch a wrong or missing term (one term
/// of 2048 is ~5e-4 of the sum); the absolute `1e-6` covers sums that cancel to about zero.
pub fn tolerance(abs_sum: f64) -> f64 {
    1e-5 * abs_sum + 1e-6
}

/// Which sum a kernel computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sum {
    /// `Σ a_i * b_i`.
    Dot,
    /// `Σ (a_i - b_i)²`.
    L2,
}

/// The exact value (in f64) of the sum and `Σ |t_i|`.
///
/// For L2 the difference is rounded to f32 first, as every kernel does.
pub fn exact(sum: Sum, a: &[f32], b: &[f32]) -> (f64, f64) {
    assert_eq!(a.len(), b.len());
    let terms = a.iter().zip(b).map(|(&x, &y)| match sum {
        Sum::Dot => f64::from(x) * f64::from(y),
        Sum::L2 => {
            let d = f64::from(x - y);
            d * d
        }
    });
    terms.fold((0.0, 0.0), |(total, abs), t| (total + t, abs + t.abs()))
}

/// Panics unless `got` is within [`tolerance`] of `expected` (a sum with `Σ|t_i| = abs_sum`).
#[track_caller]
pub fn assert_close(got: f32, expected: f64, abs_sum: f64, what: &str) {
    let diff = (f64::from(got) - expected).abs();
    assert!(
        diff <= tolerance(abs_sum),
        "{what}: got {got}, expected {expected} (diff {diff:e}, tolerance {:e})",
        tolerance(abs_sum)
    );
}

/// Checks every single-vector kernel of `k` on `(a, b)` against `reference` (within
/// [`tolerance`]).
#[track_caller]
pub fn assert_pair_kernels_match(k: Kernels, reference: Kernels, a: &[f32], b: &[f32]) {
    let dim = a.len();
    let isa = k.isa();
    let (_, dot_abs) = exact(Sum::Dot, a, b);
    let (_, l2_abs) = exact(Sum::L2, a, b);
    let (_, norm_abs) = exact(Sum::Dot, a, a);
    assert_close(
        k.dot(a, b),
        f64::from(reference.dot(a, b)),
        dot_abs,
        &format!("{isa} dot, dim {dim}"),
    );
    assert_close(
        k.l2_squared(a, b),
        f64::from(reference.l2_squared(a, b)),
        l2_abs,
        &format!("{isa} l2_squared, dim {dim}"),
    );
    assert_close(
        k.norm_squared(a),
        f64::from(reference.norm_squared(a)),
        norm_abs,
        &format!("{isa} norm_squared, dim {dim}"),
    );
}

/// Checks both batch kernels of `k` on `query` against `reference`, row by row (within
/// [`tolerance`]).
#[track_caller]
pub fn assert_batch_kernels_match(k: Kernels, reference: Kernels, query: &[f32], rows: &[f32]) {
    let dim = query.len();
    let n_rows = rows.len() / dim;
    let isa = k.isa();
    let mut got = vec![0.0; n_rows];
    let mut want = vec![0.0; n_rows];
    for sum in [Sum::Dot, Sum::L2] {
        match sum {
            Sum::Dot => {
                k.dot_batch(query, rows, &mut got);
                reference.dot_batch(query, rows, &mut want);
            }
            Sum::L2 => {
                k.l2_squared_batch(query, rows, &mut got);
                reference.l2_squared_batch(query, rows, &mut want);
            }
        }
        for (i, row) in rows.chunks_exact(dim).enumerate() {
            let (_, abs_sum) = exact(sum, query, row);
            assert_close(
                got[i],
                f64::from(want[i]),
                abs_sum,
                &format!("{isa} {sum:?} batch, dim {dim}, row {i} of {n_rows}"),
            );
        }
    }
}

/// A small deterministic generator (SplitMix64), so fixed-case tests need no seed plumbing.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f32 {
        // 24 random bits, exactly representable in f32.
        let bits = (self.next_u64() >> 40) as u32;
        (bits as f32 / (1u32 << 23) as f32) - 1.0
    }

    /// `len` values uniform in [-1, 1).
    pub fn unit_vec(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.unit()).collect()
    }

    /// `len` values whose magnitudes spread over 10^-6 .. 10^6.
    pub fn wide_vec(&mut self, len: usize) -> Vec<f32> {
        (0..len)
            .map(|_| {
                let exponent = (self.next_u64() % 13) as i32 - 6;
                self.unit() * 10f32.powi(exponent)
            })
            .collect()
    }
}
