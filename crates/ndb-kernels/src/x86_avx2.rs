//! AVX2 + FMA kernels: 8 `f32` lanes per register.
//!
//! Every kernel, single-row or batch, runs [`score_rows_at`], so a row's score does not depend on
//! which entry point computed it. Its accumulation order:
//! 1. blocks of [`BLOCK`] floats, vector `k` of a block into accumulator `k` (four independent
//!    FMA chains, enough to hide the FMA latency);
//! 2. the remaining whole vectors into accumulator 0;
//! 3. the last `< 8` floats with a masked load (lanes past the end read as 0 and are never
//!    touched in memory) into accumulator 1;
//! 4. `(acc0 + acc1) + (acc2 + acc3)`, then a horizontal sum.
//!
//! The batch kernels score wide rows (over [`NARROW_MAX`] dimensions) one at a time: each row
//! is one sequential stream, which the hardware prefetchers follow. Scoring several rows at
//! once (loading each query vector once for all of them) interleaves their streams and was
//! measured slower once the rows come from memory (AMD EPYC, AVX-512, 100,000 rows of 784 from
//! a file mapping: 4 rows at once 204-236 ns per row, one at a time 121-130; 2,000 rows of 768
//! in cache: 45 against 42).
//!
//! Dimensions up to [`NARROW_MAX`] use the *narrow* order instead (single-row kernels too, so
//! scores stay bit-identical): one accumulator per row (every whole vector, then the masked
//! tail), then the halving tree `lane j + lane j+4`, `j + 2`, `j + 1` (the tree of
//! [`horizontal_sum`]). The batch kernels run it on [`NARROW_ROWS`] rows at once (the rows are
//! the independent FMA chains) and do the 8 trees together in one transposed reduction (14
//! shuffles and 7 adds for 8 rows) whose result is the 8 scores in order; see the AVX-512
//! module for why.
//!
//! The narrow batch kernels accumulate their rows one after the other (each row one
//! sequential stream) and only then reduce them together: loading the rows vector by vector,
//! all rows at once, jumps between rows with a stride of one row, which the hardware
//! prefetchers follow badly from memory (AMD EPYC, AVX-512, 100,000 rows of 128 from a file
//! mapping: 37-41 ns per row all at once, 16-26 row by row).

use std::arch::x86_64::{
    __m256, __m256i, _mm256_add_epi32, _mm256_add_ps, _mm256_castps256_ps128,
    _mm256_castsi256_si128, _mm256_extractf128_ps, _mm256_extracti128_si256, _mm256_fmadd_ps,
    _mm256_loadu_ps, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_maddubs_epi16,
    _mm256_maskload_ps, _mm256_permute2f128_ps, _mm256_set1_epi16, _mm256_setzero_ps,
    _mm256_setzero_si256, _mm256_shuffle_ps, _mm256_storeu_ps, _mm256_sub_ps, _mm_add_epi32,
    _mm_add_ps, _mm_add_ss, _mm_cvtsi128_si32, _mm_cvtss_f32, _mm_movehdup_ps, _mm_movehl_ps,
    _mm_shuffle_epi32, _mm_unpackhi_epi64,
};

use crate::{check_pair, check_planes, scalar, sum_bit_planes, BitsFn, Isa, Kernels, QuantIsa};

/// `f32` lanes per register.
const LANES: usize = 8;
/// Accumulators per row.
const UNROLL: usize = 4;
/// Floats per main-loop iteration.
const BLOCK: usize = LANES * UNROLL;
/// The largest dimension scored in the narrow order (see the module documentation).
const NARROW_MAX: usize = 256;
/// Rows the narrow batch kernels score together: one accumulator each, one transposed
/// reduction into one register of 8 scores.
const NARROW_ROWS: usize = 8;

/// Masks for `_mm256_maskload_ps`: the 8 `i32`s starting at `LANES - rest` have their sign bit
/// set in exactly the first `rest` lanes.
static TAIL_MASKS: [i32; 2 * LANES] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// The AVX2+FMA table, if the CPU supports both AVX2 and FMA.
///
/// This is the only way out of this module for its safe shims (the `F32` table that
/// `f32_shims!` writes below, and the quantized kernels): they are sound to call only after
/// this check.
pub(crate) fn kernels() -> Option<Kernels> {
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        let (popcount_isa, (hamming, dot_bit_planes)) = match popcnt_kernels() {
            Some(kernels) => ("popcnt", kernels),
            None => (
                "scalar",
                (scalar::hamming as _, scalar::dot_bit_planes as _),
            ),
        };
        Some(Kernels {
            isa: Isa::Avx2Fma,
            float: F32,
            quant_isa: QuantIsa {
                dot_u8_i8: "avx2",
                popcount: popcount_isa,
            },
            dot_u8_i8,
            hamming,
            dot_bit_planes,
        })
    } else {
        None
    }
}

crate::shims::f32_shims!("avx2,fma");

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

/// Scores `query` against each of the `R` rows at `x` (dot product, or squared L2 distance if
/// `L2`), in the accumulation order described in the module documentation; each row's score
/// is the same whatever `R` and wherever the row lies. The rows may lie anywhere in memory:
/// graph walks score a node's scattered neighbours four at a time, to keep their loads in
/// flight together.
///
/// # Safety
/// The CPU must support AVX2 and FMA, and every `x[r]` must point at `query.len()` readable floats.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn score_rows_at<const R: usize, const L2: bool>(
    query: &[f32],
    x: [*const f32; R],
) -> [f32; R] {
    let n = query.len();
    let q = query.as_ptr();
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

/// The narrow order's accumulators of the `R` rows in `rows`: whole vectors of the row, then
/// its last `< 8` floats with a masked load, all into the row's one accumulator.
///
/// # Safety
/// The CPU must support AVX2 and FMA, and `rows.len() == R * query.len()`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn narrow_accumulators<const R: usize, const L2: bool>(
    query: &[f32],
    rows: &[f32],
) -> [__m256; R] {
    let n = query.len();
    let q = query.as_ptr();
    let mut x = [q; R];
    for (r, x_r) in x.iter_mut().enumerate() {
        *x_r = rows[r * n..].as_ptr();
    }
    let mut acc = [_mm256_setzero_ps(); R];
    let mut i = 0;
    while i + LANES <= n {
        // SAFETY: `i + LANES <= n`, and the query and every row hold `n` floats; unaligned
        // loads have no alignment requirement.
        let q_vec = unsafe { _mm256_loadu_ps(q.add(i)) };
        for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
            // SAFETY: as for `q_vec`.
            let x_vec = unsafe { _mm256_loadu_ps(x_r.add(i)) };
            *acc_r = step::<L2>(*acc_r, q_vec, x_vec);
        }
        i += LANES;
    }
    let rest = n - i;
    if rest > 0 {
        // SAFETY: `0 < rest < LANES`, so the 8 `i32`s at `LANES - rest` lie inside
        // `TAIL_MASKS`.
        let mask: __m256i =
            unsafe { _mm256_loadu_si256(TAIL_MASKS.as_ptr().add(LANES - rest).cast()) };
        // SAFETY: `i < n`, and the mask selects floats `i..n`; `vmaskmovps` does not access
        // masked-off lanes (no fault) and reads them as 0.
        let q_vec = unsafe { _mm256_maskload_ps(q.add(i), mask) };
        for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
            // SAFETY: as for `q_vec`.
            let x_vec = unsafe { _mm256_maskload_ps(x_r.add(i), mask) };
            *acc_r = step::<L2>(*acc_r, q_vec, x_vec);
        }
    }
    acc
}

/// The score of one row in the narrow order: its accumulator, then the halving tree.
///
/// # Safety
/// The CPU must support AVX2 and FMA, and `row.len() == query.len()`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn score_narrow_one<const L2: bool>(query: &[f32], row: &[f32]) -> f32 {
    // SAFETY: per this function's contract (one row).
    let [v] = unsafe { narrow_accumulators::<1, L2>(query, row) };
    horizontal_sum(v)
}

/// The scores of the [`NARROW_ROWS`] rows in `rows`, in the narrow order, into `out`.
///
/// # Safety
/// The CPU must support AVX2 and FMA, and `rows.len() == NARROW_ROWS * query.len()`.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn score_narrow_group<const L2: bool>(
    query: &[f32],
    rows: &[f32],
    out: &mut [f32; NARROW_ROWS],
) {
    // Row by row (each row one sequential stream; see the module documentation).
    let mut acc = [_mm256_setzero_ps(); NARROW_ROWS];
    for (acc_r, row) in acc.iter_mut().zip(rows.chunks_exact(query.len())) {
        // SAFETY: per this function's contract (`row` is one row of `query.len()`).
        [*acc_r] = unsafe { narrow_accumulators::<1, L2>(query, row) };
    }
    let sums = transposed_sums(acc);
    // SAFETY: `out` holds 8 floats; unaligned stores have no alignment requirement.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sums) }
}

/// Lane `r` of the result is the sum of the 8 lanes of `acc[r]`, added in the tree of
/// [`horizontal_sum`] (`j + j+4`, `j + j+2`, `j + j+1`), all 8 trees at once.
///
/// Each level adds the two halves that two shuffles gather from a pair of inputs. Input
/// position `p` takes row `(p % 2) * 4 + p / 2`: the last level leaves position `2t + h` in
/// lane `4h + t`, so that order puts row `r` in lane `r`.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn transposed_sums(acc: [__m256; 8]) -> __m256 {
    let at = |p: usize| acc[(p % 2) * 4 + p / 2];
    // j + j+4: 128-bit halves of positions 2k (low half) and 2k+1 (high half).
    let l1: [__m256; 4] = std::array::from_fn(|k| {
        let (a, b) = (at(2 * k), at(2 * k + 1));
        _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(a, b),
            _mm256_permute2f128_ps::<0x31>(a, b),
        )
    });
    // j + j+2 within each half.
    let l2: [__m256; 2] = std::array::from_fn(|m| {
        let (a, b) = (l1[2 * m], l1[2 * m + 1]);
        _mm256_add_ps(
            _mm256_shuffle_ps::<0x44>(a, b),
            _mm256_shuffle_ps::<0xEE>(a, b),
        )
    });
    // j + j+1.
    _mm256_add_ps(
        _mm256_shuffle_ps::<0x88>(l2[0], l2[1]),
        _mm256_shuffle_ps::<0xDD>(l2[0], l2[1]),
    )
}

// ---- Quantized kernels. ----

/// Bytes per register.
const BYTES: usize = 32;

pub(crate) fn dot_u8_i8(codes: &[u8], query: &[i8]) -> i32 {
    check_pair(codes, query);
    // SAFETY: this shim is handed out only by `kernels` (and by the AVX-512 table's fallback,
    // which calls `kernels` first), after AVX2 was detected; the lengths were just checked
    // equal.
    unsafe { dot_u8_i8_avx2(codes, query) }
}

/// `Σ codes_i * query_i` with `vpmaddubsw` (u8 × i8 pairs summed into `i16`, exact while
/// `|query_i| ≤ 64`) and `vpmaddwd` against ones (pairs of `i16` into `i32`), two
/// accumulators; the last `< 32` bytes go through a zero-padded copy.
///
/// # Safety
/// The CPU must support AVX2, and `codes.len() == query.len()`.
#[target_feature(enable = "avx2")]
unsafe fn dot_u8_i8_avx2(codes: &[u8], query: &[i8]) -> i32 {
    let n = codes.len();
    let c = codes.as_ptr();
    let q = query.as_ptr();
    let ones = _mm256_set1_epi16(1);
    let step = |acc: __m256i, cv: __m256i, qv: __m256i| {
        _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(cv, qv), ones))
    };
    let mut acc = [_mm256_setzero_si256(); 2];
    let mut i = 0;
    while i + 2 * BYTES <= n {
        for (k, acc_k) in acc.iter_mut().enumerate() {
            let at = i + k * BYTES;
            // SAFETY: `at + BYTES <= i + 2 * BYTES <= n` and both slices hold `n` bytes;
            // unaligned loads have no alignment requirement.
            let (cv, qv) = unsafe {
                (
                    _mm256_loadu_si256(c.add(at).cast()),
                    _mm256_loadu_si256(q.add(at).cast()),
                )
            };
            *acc_k = step(*acc_k, cv, qv);
        }
        i += 2 * BYTES;
    }
    while i + BYTES <= n {
        // SAFETY: `i + BYTES <= n`; see the main loop.
        let (cv, qv) = unsafe {
            (
                _mm256_loadu_si256(c.add(i).cast()),
                _mm256_loadu_si256(q.add(i).cast()),
            )
        };
        acc[0] = step(acc[0], cv, qv);
        i += BYTES;
    }
    if i < n {
        let mut c_tail = [0u8; BYTES];
        let mut q_tail = [0i8; BYTES];
        c_tail[..n - i].copy_from_slice(&codes[i..]);
        q_tail[..n - i].copy_from_slice(&query[i..]);
        // SAFETY: both buffers hold `BYTES` bytes.
        let (cv, qv) = unsafe {
            (
                _mm256_loadu_si256(c_tail.as_ptr().cast()),
                _mm256_loadu_si256(q_tail.as_ptr().cast()),
            )
        };
        acc[1] = step(acc[1], cv, qv);
    }
    horizontal_sum_epi32(_mm256_add_epi32(acc[0], acc[1]))
}

/// Wrapping sum of the 8 `i32` lanes of `v`.
#[inline]
#[target_feature(enable = "avx2")]
fn horizontal_sum_epi32(v: __m256i) -> i32 {
    let quad = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let pair = _mm_add_epi32(quad, _mm_unpackhi_epi64(quad, quad));
    _mm_cvtsi128_si32(_mm_add_epi32(pair, _mm_shuffle_epi32::<0b01>(pair)))
}

// The popcount kernels use the POPCNT instruction on whole words (every AVX2 CPU has it; the
// table falls back to the scalar ones without it). Measured against Muła's AVX2 nibble lookup
// (`vpshufb` per half byte, `vpsadbw`) on codes of 384, 768 and 1536 bits: `hamming` took 8.7,
// 8.0 and 14.5 ns with POPCNT vs 20.4, 10.9 and 15.9 ns with the lookup (criterion, on the shared
// 2-core development machine, so noisy; POPCNT was never slower). Codes this short
// (6-24 words) leave the lookup's setup and horizontal sum too little work to amortize.

/// `(hamming, dot_bit_planes)` on POPCNT, or `None` if the CPU lacks it.
pub(crate) fn popcnt_kernels() -> Option<(BitsFn, BitsFn)> {
    if std::arch::is_x86_feature_detected!("popcnt") {
        Some((hamming, dot_bit_planes))
    } else {
        None
    }
}

fn hamming(a: &[u64], b: &[u64]) -> u32 {
    check_pair(a, b);
    // SAFETY: this shim is handed out only by `popcnt_kernels`, after POPCNT was detected.
    unsafe { popcount_of::<true>(a, b) }
}

fn dot_bit_planes(code: &[u64], planes: &[u64]) -> u32 {
    let count = check_planes(code, planes);
    // SAFETY: POPCNT was detected (see `hamming`).
    unsafe { dot_bit_planes_popcnt(code, planes, count) }
}

/// `Σ popcount(a_i ^ b_i)` if `XOR`, else `Σ popcount(a_i & b_i)`, over the common length,
/// in four independent sums.
///
/// # Safety
/// The CPU must support POPCNT.
#[inline]
#[target_feature(enable = "popcnt")]
unsafe fn popcount_of<const XOR: bool>(a: &[u64], b: &[u64]) -> u32 {
    let combine = |x: u64, y: u64| if XOR { x ^ y } else { x & y };
    let mut sums = [0u32; 4];
    let (a_blocks, a_tail) = a.as_chunks::<4>();
    let (b_blocks, b_tail) = b.as_chunks::<4>();
    for (x, y) in a_blocks.iter().zip(b_blocks) {
        for ((sum, &xi), &yi) in sums.iter_mut().zip(x).zip(y) {
            *sum = sum.wrapping_add(combine(xi, yi).count_ones());
        }
    }
    for ((sum, &xi), &yi) in sums.iter_mut().zip(a_tail).zip(b_tail) {
        *sum = sum.wrapping_add(combine(xi, yi).count_ones());
    }
    sums.iter()
        .fold(0u32, |total, &sum| total.wrapping_add(sum))
}

/// `Σ_j 2^j Σ_i popcount(code_i & plane_j[i])` over the first `count` planes of `planes`, plane
/// by plane (the code stays in L1 between planes).
///
/// # Safety
/// The CPU must support POPCNT.
#[target_feature(enable = "popcnt")]
unsafe fn dot_bit_planes_popcnt(code: &[u64], planes: &[u64], count: usize) -> u32 {
    sum_bit_planes(code, planes, count, |code, plane| {
        // SAFETY: POPCNT per this function's contract.
        unsafe { popcount_of::<false>(code, plane) }
    })
}
