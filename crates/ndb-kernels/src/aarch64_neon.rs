//! NEON (Advanced SIMD) kernels: 4 `f32` lanes per register.
//!
//! Same structure as the x86 kernels. Every kernel, single-row or batch, runs [`score_rows`],
//! so a row's score does not depend on which entry point computed it. Its accumulation order:
//! 1. blocks of [`BLOCK`] floats, vector `k` of a block into accumulator `k` (four independent
//!    FMA chains);
//! 2. the remaining whole vectors into accumulator 0;
//! 3. the last `< 4` floats, copied into a zeroed 4-float buffer and loaded from there, into
//!    accumulator 1;
//! 4. `(acc0 + acc1) + (acc2 + acc3)`, then a horizontal sum.
//!
//! The batch kernels score [`ROWS`] rows at a time so that each query vector is loaded once for
//! all of them and several rows stream from memory at once. Like the x86 kernels (where it was
//! measured not to help) they do no software prefetching.

use std::arch::aarch64::{
    float32x4_t, vaddq_f32, vaddvq_f32, vdupq_n_f32, vfmaq_f32, vld1q_f32, vsubq_f32,
};

use crate::{check_batch, check_pair, Isa, Kernels};

/// `f32` lanes per register.
const LANES: usize = 4;
/// Accumulators per row.
const UNROLL: usize = 4;
/// Floats per main-loop iteration.
const BLOCK: usize = LANES * UNROLL;
/// Rows the batch kernels score together: 4 rows × 4 accumulators + the query vector, a row
/// vector and a difference use 19 of the 32 vector registers.
const ROWS: usize = 4;

/// The NEON table, if the CPU supports NEON (every aarch64 CPU that runs Rust's std does).
///
/// This is the only way out of this module for the shims below: they are sound to call only
/// after this check.
pub(crate) fn kernels() -> Option<Kernels> {
    if std::arch::is_aarch64_feature_detected!("neon") {
        Some(Kernels {
            isa: Isa::Neon,
            dot,
            l2_squared,
            norm_squared,
            dot_batch,
            l2_squared_batch,
        })
    } else {
        None
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    check_pair(a, b);
    // SAFETY: this shim is handed out only by `kernels`, after NEON was detected; the two
    // lengths were just checked equal.
    let [score] = unsafe { score_rows::<1, false>(a, b) };
    score
}

fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    check_pair(a, b);
    // SAFETY: as in `dot`.
    let [score] = unsafe { score_rows::<1, true>(a, b) };
    score
}

fn norm_squared(a: &[f32]) -> f32 {
    // SAFETY: NEON was detected (see `dot`); both operands are `a`.
    let [score] = unsafe { score_rows::<1, false>(a, a) };
    score
}

fn dot_batch(query: &[f32], rows: &[f32], out: &mut [f32]) {
    check_batch(query, rows, out);
    // SAFETY: NEON was detected (see `dot`); the layout of `rows` was just checked.
    unsafe { batch::<false>(query, rows, out) }
}

fn l2_squared_batch(query: &[f32], rows: &[f32], out: &mut [f32]) {
    check_batch(query, rows, out);
    // SAFETY: as in `dot_batch`.
    unsafe { batch::<true>(query, rows, out) }
}

/// `out[i]` = score of `query` against row `i` of `rows`; `L2` selects squared L2 distance
/// over dot product.
///
/// # Safety
/// The CPU must support NEON, and `rows.len() == out.len() * query.len()`.
#[target_feature(enable = "neon")]
unsafe fn batch<const L2: bool>(query: &[f32], rows: &[f32], out: &mut [f32]) {
    let dim = query.len();
    if dim == 0 {
        out.fill(0.0);
        return;
    }
    let mut row_groups = rows.chunks_exact(dim * ROWS);
    let mut out_groups = out.chunks_exact_mut(ROWS);
    for (group, scores) in (&mut row_groups).zip(&mut out_groups) {
        // SAFETY: NEON per this function's contract; `group` is `ROWS` rows of `dim`.
        let group_scores = unsafe { score_rows::<ROWS, L2>(query, group) };
        scores.copy_from_slice(&group_scores);
    }
    let last_rows = row_groups.remainder().chunks_exact(dim);
    for (row, score) in last_rows.zip(out_groups.into_remainder()) {
        // SAFETY: NEON per this function's contract; `row` is one row of `dim`.
        let [row_score] = unsafe { score_rows::<1, L2>(query, row) };
        *score = row_score;
    }
}

/// One accumulation step: `acc + q * x`, or `acc + (q - x)²` if `L2`.
#[inline]
#[target_feature(enable = "neon")]
fn step<const L2: bool>(acc: float32x4_t, q: float32x4_t, x: float32x4_t) -> float32x4_t {
    if L2 {
        let d = vsubq_f32(q, x);
        vfmaq_f32(acc, d, d)
    } else {
        vfmaq_f32(acc, q, x)
    }
}

/// Loads the last `s.len() < LANES` floats of a vector, padding with zeros.
#[inline]
#[target_feature(enable = "neon")]
fn load_tail(s: &[f32]) -> float32x4_t {
    let mut padded = [0.0f32; LANES];
    padded[..s.len()].copy_from_slice(s);
    // SAFETY: `padded` holds `LANES` floats; `vld1q_f32` has no alignment requirement beyond
    // that of `f32`.
    unsafe { vld1q_f32(padded.as_ptr()) }
}

/// Scores `query` against each of the `R` rows in `rows` (dot product, or squared L2 distance
/// if `L2`), in the accumulation order described in the module documentation.
///
/// # Safety
/// The CPU must support NEON, and `rows` must hold `R` rows of `query.len()` floats
/// (`rows.len() == R * query.len()`).
#[inline]
#[target_feature(enable = "neon")]
unsafe fn score_rows<const R: usize, const L2: bool>(query: &[f32], rows: &[f32]) -> [f32; R] {
    let n = query.len();
    let q = query.as_ptr();
    let mut x = [q; R];
    for (r, x_r) in x.iter_mut().enumerate() {
        *x_r = rows[r * n..].as_ptr();
    }
    let mut acc = [[vdupq_n_f32(0.0); UNROLL]; R];

    let mut i = 0;
    while i + BLOCK <= n {
        for k in 0..UNROLL {
            let at = i + k * LANES;
            // SAFETY: `at + LANES <= i + BLOCK <= n`, and the query and every row hold `n`
            // floats.
            let q_vec = unsafe { vld1q_f32(q.add(at)) };
            for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
                // SAFETY: as for `q_vec`.
                let x_vec = unsafe { vld1q_f32(x_r.add(at)) };
                acc_r[k] = step::<L2>(acc_r[k], q_vec, x_vec);
            }
        }
        i += BLOCK;
    }
    while i + LANES <= n {
        // SAFETY: `i + LANES <= n`; see the main loop.
        let q_vec = unsafe { vld1q_f32(q.add(i)) };
        for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
            // SAFETY: as for `q_vec`.
            let x_vec = unsafe { vld1q_f32(x_r.add(i)) };
            acc_r[0] = step::<L2>(acc_r[0], q_vec, x_vec);
        }
        i += LANES;
    }
    if i < n {
        let q_vec = load_tail(&query[i..]);
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let x_vec = load_tail(&rows[r * n + i..(r + 1) * n]);
            acc_r[1] = step::<L2>(acc_r[1], q_vec, x_vec);
        }
    }

    let mut scores = [0.0; R];
    for (score, [a0, a1, a2, a3]) in scores.iter_mut().zip(acc) {
        *score = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    }
    scores
}
