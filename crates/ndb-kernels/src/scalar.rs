//! Portable kernels: the reference every SIMD version is tested against, and the fallback on
//! CPUs without a supported SIMD extension.
//!
//! Each kernel keeps [`LANES`] partial sums (element `i` goes to sum `i % LANES`) and adds them
//! pairwise at the end. That is no less obviously correct than one running sum, it is more
//! accurate (shorter addition chains), and it lets the compiler use the baseline SIMD of the
//! target (SSE2 on x86_64) without reordering float additions itself.

use crate::{check_batch, check_pair, Isa, Kernels};

/// Number of independent partial sums.
const LANES: usize = 8;

/// The scalar table; always available.
pub(crate) fn kernels() -> Kernels {
    Kernels {
        isa: Isa::Scalar,
        dot,
        l2_squared,
        norm_squared,
        dot_batch,
        l2_squared_batch,
    }
}

/// `Σ term(a_i, b_i)` over the common length of `a` and `b` (callers check the lengths).
#[inline(always)]
fn sum_terms(a: &[f32], b: &[f32], term: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (a_blocks, a_tail) = a.as_chunks::<LANES>();
    let (b_blocks, b_tail) = b.as_chunks::<LANES>();
    for (x, y) in a_blocks.iter().zip(b_blocks) {
        for ((sum, &xi), &yi) in acc.iter_mut().zip(x).zip(y) {
            *sum += term(xi, yi);
        }
    }
    for ((sum, &xi), &yi) in acc.iter_mut().zip(a_tail).zip(b_tail) {
        *sum += term(xi, yi);
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

#[inline(always)]
fn dot_term(x: f32, y: f32) -> f32 {
    x * y
}

#[inline(always)]
fn l2_term(x: f32, y: f32) -> f32 {
    let d = x - y;
    d * d
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    check_pair(a, b);
    sum_terms(a, b, dot_term)
}

fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    check_pair(a, b);
    sum_terms(a, b, l2_term)
}

fn norm_squared(a: &[f32]) -> f32 {
    sum_terms(a, a, dot_term)
}

/// Scores every row with the same code as the single-row kernel, so results are identical.
#[inline(always)]
fn batch(query: &[f32], rows: &[f32], out: &mut [f32], term: impl Fn(f32, f32) -> f32 + Copy) {
    check_batch(query, rows, out);
    if query.is_empty() {
        out.fill(0.0);
        return;
    }
    for (score, row) in out.iter_mut().zip(rows.chunks_exact(query.len())) {
        *score = sum_terms(query, row, term);
    }
}

fn dot_batch(query: &[f32], rows: &[f32], out: &mut [f32]) {
    batch(query, rows, out, dot_term);
}

fn l2_squared_batch(query: &[f32], rows: &[f32], out: &mut [f32]) {
    batch(query, rows, out, l2_term);
}
