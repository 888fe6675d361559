//! Portable kernels: the reference every SIMD version is tested against, and the fallback on
//! CPUs without a supported SIMD extension.
//!
//! Each kernel keeps [`LANES`] partial sums (element `i` goes to sum `i % LANES`) and adds them
//! pairwise at the end. That is no less obviously correct than one running sum, it is more
//! accurate (shorter addition chains), and it lets the compiler use the baseline SIMD of the
//! target (SSE2 on x86_64) without reordering float additions itself.

use crate::{
    check_batch, check_pair, check_planes, sum_bit_planes, F32Kernels, Isa, Kernels, QuantIsa,
};

/// Number of independent partial sums.
const LANES: usize = 8;

/// The scalar table; always available.
pub(crate) fn kernels() -> Kernels {
    Kernels {
        isa: Isa::Scalar,
        float: F32Kernels {
            dot,
            l2_squared,
            norm_squared,
            dot_batch,
            l2_squared_batch,
            dot_x4,
            l2_squared_x4,
        },
        quant_isa: QuantIsa {
            dot_u8_i8: "scalar",
            popcount: "scalar",
        },
        dot_u8_i8,
        hamming,
        dot_bit_planes,
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

fn dot_x4(query: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
    rows.map(|row| dot(query, row))
}

fn l2_squared_x4(query: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
    rows.map(|row| l2_squared(query, row))
}

/// The integer kernels wrap on overflow, as the SIMD versions do (two's-complement lanes), so
/// every ISA agrees even past the documented exact range.
/// `LANES` partial sums of 16 elements at a time, which the compiler turns into SIMD.
pub(crate) fn dot_u8_i8(codes: &[u8], query: &[i8]) -> i32 {
    check_pair(codes, query);
    let mut acc = [0i32; 2 * LANES];
    let (c_blocks, c_tail) = codes.as_chunks::<{ 2 * LANES }>();
    let (q_blocks, q_tail) = query.as_chunks::<{ 2 * LANES }>();
    for (c, q) in c_blocks.iter().zip(q_blocks) {
        for ((sum, &ci), &qi) in acc.iter_mut().zip(c).zip(q) {
            *sum = sum.wrapping_add(i32::from(ci) * i32::from(qi));
        }
    }
    for ((sum, &ci), &qi) in acc.iter_mut().zip(c_tail).zip(q_tail) {
        *sum = sum.wrapping_add(i32::from(ci) * i32::from(qi));
    }
    acc.iter().fold(0i32, |total, &sum| total.wrapping_add(sum))
}

/// `Σ popcount(op(a_i, b_i))` over the common length (callers check the lengths).
#[inline(always)]
fn popcount_of(a: &[u64], b: &[u64], op: impl Fn(u64, u64) -> u64) -> u32 {
    a.iter().zip(b).fold(0u32, |sum, (&x, &y)| {
        sum.wrapping_add(op(x, y).count_ones())
    })
}

pub(crate) fn hamming(a: &[u64], b: &[u64]) -> u32 {
    check_pair(a, b);
    popcount_of(a, b, |x, y| x ^ y)
}

pub(crate) fn dot_bit_planes(code: &[u64], planes: &[u64]) -> u32 {
    let count = check_planes(code, planes);
    sum_bit_planes(code, planes, count, |code, plane| {
        popcount_of(code, plane, |x, y| x & y)
    })
}
