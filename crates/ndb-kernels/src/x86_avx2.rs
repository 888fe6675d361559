//! AVX2 + FMA kernels: 8 `f32` lanes per register.
//!
//! Every kernel, single-row or batch, runs [`score_rows`], so a row's score does not depend on
//! which entry point computed it. Its accumulation order:
//! 1. blocks of [`BLOCK`] floats, vector `k` of a block into accumulator `k` (four independent
//!    FMA chains, enough to hide the FMA latency);
//! 2. the remaining whole vectors into accumulator 0;
//! 3. the last `< 8` floats with a masked load (lanes past the end read as 0 and are never
//!    touched in memory) into accumulator 1;
//! 4. `(acc0 + acc1) + (acc2 + acc3)`, then a horizontal sum.
//!
//! The batch kernels score [`ROWS`] rows at a time so that each query vector is loaded once for
//! all of them and several rows stream from memory at once. Software prefetching of upcoming
//! rows was measured (10,000 rows of 768, AVX2 and AVX-512) and did not help: the hardware
//! prefetchers already follow these sequential streams.

use std::arch::x86_64::{
    __m256, __m256i, _mm256_add_ps, _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_fmadd_ps,
    _mm256_loadu_ps, _mm256_loadu_si256, _mm256_maskload_ps, _mm256_setzero_ps, _mm256_sub_ps,
    _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehdup_ps, _mm_movehl_ps,
};

use crate::{check_batch, check_pair, Isa, Kernels};

/// `f32` lanes per register.
const LANES: usize = 8;
/// Accumulators per row.
const UNROLL: usize = 4;
/// Floats per main-loop iteration.
const BLOCK: usize = LANES * UNROLL;
/// Rows the batch kernels score together: 3 rows × 4 accumulators + the query vector, a row
/// vector and a difference use 15 of the 16 vector registers. Measured on 10,000 rows of 768:
/// 3 rows beat 2 by ~20%; 4 rows spill accumulators to the stack and lose on `l2_squared`.
const ROWS: usize = 3;

/// Masks for `_mm256_maskload_ps`: the 8 `i32`s starting at `LANES - rest` have their sign bit
/// set in exactly the first `rest` lanes.
static TAIL_MASKS: [i32; 2 * LANES] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// The AVX2+FMA table, if the CPU supports both AVX2 and FMA.
///
/// This is the only way out of this module for the shims below: they are sound to call only
/// after this check.
pub(crate) fn kernels() -> Option<Kernels> {
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        Some(Kernels {
            isa: Isa::Avx2Fma,
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
    // SAFETY: this shim is handed out only by `kernels`, after AVX2 and FMA were detected; the
    // two lengths were just checked equal.
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
    // SAFETY: AVX2 and FMA were detected (see `dot`); both operands are `a`.
    let [score] = unsafe { score_rows::<1, false>(a, a) };
    score
}

fn dot_batch(query: &[f32], rows: &[f32], out: &mut [f32]) {
    check_batch(query, rows, out);
    // SAFETY: AVX2 and FMA were detected (see `dot`); the layout of `rows` was just checked.
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
/// The CPU must support AVX2 and FMA, and `rows.len() == out.len() * query.len()`.
#[target_feature(enable = "avx2,fma")]
unsafe fn batch<const L2: bool>(query: &[f32], rows: &[f32], out: &mut [f32]) {
    let dim = query.len();
    if dim == 0 {
        out.fill(0.0);
        return;
    }
    let mut row_groups = rows.chunks_exact(dim * ROWS);
    let mut out_groups = out.chunks_exact_mut(ROWS);
    for (group, scores) in (&mut row_groups).zip(&mut out_groups) {
        // SAFETY: AVX2 and FMA per this function's contract; `group` is `ROWS` rows of `dim`.
        let group_scores = unsafe { score_rows::<ROWS, L2>(query, group) };
        scores.copy_from_slice(&group_scores);
    }
    let last_rows = row_groups.remainder().chunks_exact(dim);
    for (row, score) in last_rows.zip(out_groups.into_remainder()) {
        // SAFETY: AVX2 and FMA per this function's contract; `row` is one row of `dim`.
        let [row_score] = unsafe { score_rows::<1, L2>(query, row) };
        *score = row_score;
    }
}

/// One accumulation step: `acc + q * x`, or `acc + (q - x)²` if `L2`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn step<const L2: bool>(acc: __m256, q: __m256, x: __m256) -> __m256 {
    if L2 {
        let d = _mm256_sub_ps(q, x);
        _mm256_fmadd_ps(d, d, acc)
    } else {
        _mm256_fmadd_ps(q, x, acc)
    }
}

/// Sum of the 8 lanes of `v`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn horizontal_sum(v: __m256) -> f32 {
    let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
    _mm_cvtss_f32(_mm_add_ss(pair, _mm_movehdup_ps(pair)))
}

/// Scores `query` against each of the `R` rows in `rows` (dot product, or squared L2 distance
/// if `L2`), in the accumulation order described in the module documentation.
///
/// # Safety
/// The CPU must support AVX2 and FMA, and `rows` must hold `R` rows of `query.len()` floats
/// (`rows.len() == R * query.len()`).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn score_rows<const R: usize, const L2: bool>(query: &[f32], rows: &[f32]) -> [f32; R] {
    let n = query.len();
    let q = query.as_ptr();
    let mut x = [q; R];
    for (r, x_r) in x.iter_mut().enumerate() {
        *x_r = rows[r * n..].as_ptr();
    }
    let mut acc = [[_mm256_setzero_ps(); UNROLL]; R];

    let mut i = 0;
    while i + BLOCK <= n {
        for k in 0..UNROLL {
            let at = i + k * LANES;
            // SAFETY: `at + LANES <= i + BLOCK <= n`, and the query and every row hold `n`
            // floats; unaligned loads have no alignment requirement.
            let q_vec = unsafe { _mm256_loadu_ps(q.add(at)) };
            for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
                // SAFETY: as for `q_vec`.
                let x_vec = unsafe { _mm256_loadu_ps(x_r.add(at)) };
                acc_r[k] = step::<L2>(acc_r[k], q_vec, x_vec);
            }
        }
        i += BLOCK;
    }
    while i + LANES <= n {
        // SAFETY: `i + LANES <= n`; see the main loop.
        let q_vec = unsafe { _mm256_loadu_ps(q.add(i)) };
        for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
            // SAFETY: as for `q_vec`.
            let x_vec = unsafe { _mm256_loadu_ps(x_r.add(i)) };
            acc_r[0] = step::<L2>(acc_r[0], q_vec, x_vec);
        }
        i += LANES;
    }
    let rest = n - i;
    if rest > 0 {
        // SAFETY: `0 < rest < LANES`, so the 8 `i32`s at `LANES - rest` lie inside
        // `TAIL_MASKS` (indices up to `2 * LANES - 2`).
        let mask: __m256i =
            unsafe { _mm256_loadu_si256(TAIL_MASKS.as_ptr().add(LANES - rest).cast()) };
        // SAFETY: `i < n`, and the mask selects lanes `0..rest`, i.e. floats `i..n`;
        // `vmaskmovps` does not access masked-off lanes (no fault) and reads them as 0.
        let q_vec = unsafe { _mm256_maskload_ps(q.add(i), mask) };
        for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
            // SAFETY: as for `q_vec`.
            let x_vec = unsafe { _mm256_maskload_ps(x_r.add(i), mask) };
            acc_r[1] = step::<L2>(acc_r[1], q_vec, x_vec);
        }
    }

    let mut scores = [0.0; R];
    for (score, [a0, a1, a2, a3]) in scores.iter_mut().zip(acc) {
        *score = horizontal_sum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    }
    scores
}
