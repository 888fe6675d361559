//! AVX-512F kernels: 16 `f32` lanes per register.
//!
//! Every kernel, single-row or batch, runs [`score_rows_at`], so a row's score does not depend on
//! which entry point computed it. Its accumulation order:
//! 1. blocks of [`BLOCK`] floats, vector `k` of a block into accumulator `k` (four independent
//!    FMA chains, enough to hide the FMA latency);
//! 2. the remaining whole vectors into accumulator 0;
//! 3. the last `< 16` floats with a masked load (lanes past the end read as 0 and are never
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
//! tail), then the halving tree `lane j + lane j+8`, `j + 4`, `j + 2`, `j + 1`. The batch
//! kernels run it on [`NARROW_ROWS`] rows at once (the rows are the independent FMA chains)
//! and do the 16 halving trees together in one transposed reduction (30 shuffles and 15 adds
//! for 16 rows, against about 8 operations per row for a horizontal sum each), whose result
//! is the 16 scores in order, stored with one instruction. At 32 to 128 dimensions the
//! horizontal sums and the `(acc0 + acc1) + (acc2 + acc3)` of the wide order cost as much as
//! the products.
//!
//! The narrow batch kernels accumulate their rows one after the other (each row one
//! sequential stream) and only then reduce them together: loading the rows vector by vector,
//! all rows at once, jumps between rows with a stride of one row, which the hardware
//! prefetchers follow badly from memory (AMD EPYC, AVX-512, 100,000 rows of 128 from a file
//! mapping: 37-41 ns per row all at once, 16-26 row by row).

use std::arch::x86_64::{
    __m512, __m512i, _mm256_add_ps, _mm256_castpd_ps, _mm256_castps256_ps128,
    _mm256_extractf128_ps, _mm512_add_epi32, _mm512_add_epi64, _mm512_add_ps, _mm512_and_si512,
    _mm512_castps512_ps256, _mm512_castps_pd, _mm512_dpbusd_epi32, _mm512_extractf64x4_pd,
    _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_loadu_si512, _mm512_maskz_loadu_epi64,
    _mm512_maskz_loadu_epi8, _mm512_maskz_loadu_ps, _mm512_popcnt_epi64, _mm512_reduce_add_epi32,
    _mm512_reduce_add_epi64, _mm512_reduce_add_ps, _mm512_setzero_ps, _mm512_setzero_si512,
    _mm512_shuffle_f32x4, _mm512_shuffle_ps, _mm512_storeu_ps, _mm512_sub_ps, _mm512_xor_si512,
    _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehdup_ps, _mm_movehl_ps,
};

use crate::{
    check_pair, check_planes, scalar, BitsFn, DotU8I8Fn, Isa, Kernels, QuantIsa, BIT_PLANES_MAX,
};

/// `f32` lanes per register.
const LANES: usize = 16;
/// Accumulators per row.
const UNROLL: usize = 4;
/// Floats per main-loop iteration.
const BLOCK: usize = LANES * UNROLL;
/// The largest dimension scored in the narrow order (see the module documentation).
const NARROW_MAX: usize = 256;
/// Rows the narrow batch kernels score together: one accumulator each, one transposed
/// reduction into one register of 16 scores.
const NARROW_ROWS: usize = 16;

/// The AVX-512F table, if the CPU supports AVX-512F.
///
/// This is the only way out of this module for its safe shims (the `F32` table that
/// `f32_shims!` writes below, and the quantized kernels): they are sound to call only after
/// this check.
///
/// The quantized kernels use VNNI and VPOPCNTDQ where detected, else the AVX2 table's.
pub(crate) fn kernels() -> Option<Kernels> {
    if !std::arch::is_x86_feature_detected!("avx512f") {
        return None;
    }
    // The AVX2 table (every AVX-512 CPU has AVX2), or the scalar one if it were missing.
    let fallback = crate::x86_avx2::kernels().unwrap_or_else(scalar::kernels);
    let bw = std::arch::is_x86_feature_detected!("avx512bw");
    let (int8_isa, dot_u8_i8) = if bw && std::arch::is_x86_feature_detected!("avx512vnni") {
        ("avx512vnni", dot_u8_i8 as DotU8I8Fn)
    } else {
        (fallback.quant_isa.dot_u8_i8, fallback.dot_u8_i8)
    };
    let (popcount_isa, hamming, dot_bit_planes) =
        if std::arch::is_x86_feature_detected!("avx512vpopcntdq") {
            (
                "avx512vpopcntdq",
                hamming as BitsFn,
                dot_bit_planes as BitsFn,
            )
        } else {
            (
                fallback.quant_isa.popcount,
                fallback.hamming,
                fallback.dot_bit_planes,
            )
        };
    Some(Kernels {
        isa: Isa::Avx512,
        float: F32,
        quant_isa: QuantIsa {
            dot_u8_i8: int8_isa,
            popcount: popcount_isa,
        },
        dot_u8_i8,
        hamming,
        dot_bit_planes,
    })
}

crate::shims::f32_shims!("avx512f");

/// One accumulation step: `acc + q * x`, or `acc + (q - x)²` if `L2`.
#[inline]
#[target_feature(enable = "avx512f")]
fn step<const L2: bool>(acc: __m512, q: __m512, x: __m512) -> __m512 {
    if L2 {
        let d = _mm512_sub_ps(q, x);
        _mm512_fmadd_ps(d, d, acc)
    } else {
        _mm512_fmadd_ps(q, x, acc)
    }
}

/// Scores `query` against each of the `R` rows at `x` (dot product, or squared L2 distance if
/// `L2`), in the accumulation order described in the module documentation; each row's score
/// is the same whatever `R` and wherever the row lies. The rows may lie anywhere in memory:
/// graph walks score a node's scattered neighbours four at a time, to keep their loads in
/// flight together.
///
/// # Safety
/// The CPU must support AVX-512F, and every `x[r]` must point at `query.len()` readable floats.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn score_rows_at<const R: usize, const L2: bool>(
    query: &[f32],
    x: [*const f32; R],
) -> [f32; R] {
    let n = query.len();
    let q = query.as_ptr();
    let mut acc = [[_mm512_setzero_ps(); UNROLL]; R];

    let mut i = 0;
    while i + BLOCK <= n {
        for k in 0..UNROLL {
            let at = i + k * LANES;
            // SAFETY: `at + LANES <= i + BLOCK <= n`, and the query and every row hold `n`
            // floats; unaligned loads have no alignment requirement.
            let q_vec = unsafe { _mm512_loadu_ps(q.add(at)) };
            for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
                // SAFETY: as for `q_vec`.
                let x_vec = unsafe { _mm512_loadu_ps(x_r.add(at)) };
                acc_r[k] = step::<L2>(acc_r[k], q_vec, x_vec);
            }
        }
        i += BLOCK;
    }
    while i + LANES <= n {
        // SAFETY: `i + LANES <= n`; see the main loop.
        let q_vec = unsafe { _mm512_loadu_ps(q.add(i)) };
        for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
            // SAFETY: as for `q_vec`.
            let x_vec = unsafe { _mm512_loadu_ps(x_r.add(i)) };
            acc_r[0] = step::<L2>(acc_r[0], q_vec, x_vec);
        }
        i += LANES;
    }
    let rest = n - i;
    if rest > 0 {
        // `rest < LANES`: lane `j` is loaded iff `j < rest`.
        let mask = (1u16 << rest) - 1;
        // SAFETY: `i < n`, and the masked load reads only lanes `0..rest`, i.e. floats
        // `i..n`; masked-off lanes are not accessed (no fault) and read as 0.
        let q_vec = unsafe { _mm512_maskz_loadu_ps(mask, q.add(i)) };
        for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
            // SAFETY: as for `q_vec`.
            let x_vec = unsafe { _mm512_maskz_loadu_ps(mask, x_r.add(i)) };
            acc_r[1] = step::<L2>(acc_r[1], q_vec, x_vec);
        }
    }

    let mut scores = [0.0; R];
    for (score, [a0, a1, a2, a3]) in scores.iter_mut().zip(acc) {
        *score = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    }
    scores
}

/// The narrow order's accumulators of the `R` rows in `rows`: whole vectors of the row, then
/// its last `< 16` floats with a masked load, all into the row's one accumulator.
///
/// # Safety
/// The CPU must support AVX-512F, and `rows.len() == R * query.len()`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn narrow_accumulators<const R: usize, const L2: bool>(
    query: &[f32],
    rows: &[f32],
) -> [__m512; R] {
    let n = query.len();
    let q = query.as_ptr();
    let mut x = [q; R];
    for (r, x_r) in x.iter_mut().enumerate() {
        *x_r = rows[r * n..].as_ptr();
    }
    let mut acc = [_mm512_setzero_ps(); R];
    let mut i = 0;
    while i + LANES <= n {
        // SAFETY: `i + LANES <= n`, and the query and every row hold `n` floats; unaligned
        // loads have no alignment requirement.
        let q_vec = unsafe { _mm512_loadu_ps(q.add(i)) };
        for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
            // SAFETY: as for `q_vec`.
            let x_vec = unsafe { _mm512_loadu_ps(x_r.add(i)) };
            *acc_r = step::<L2>(*acc_r, q_vec, x_vec);
        }
        i += LANES;
    }
    let rest = n - i;
    if rest > 0 {
        // `rest < LANES`: lane `j` is loaded iff `j < rest`.
        let mask = (1u16 << rest) - 1;
        // SAFETY: `i < n`, and the masked load reads only floats `i..n`; masked-off lanes are
        // not accessed (no fault) and read as 0.
        let q_vec = unsafe { _mm512_maskz_loadu_ps(mask, q.add(i)) };
        for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
            // SAFETY: as for `q_vec`.
            let x_vec = unsafe { _mm512_maskz_loadu_ps(mask, x_r.add(i)) };
            *acc_r = step::<L2>(*acc_r, q_vec, x_vec);
        }
    }
    acc
}

/// The score of one row in the narrow order: its accumulator, then the halving tree.
///
/// # Safety
/// The CPU must support AVX-512F, and `row.len() == query.len()`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn score_narrow_one<const L2: bool>(query: &[f32], row: &[f32]) -> f32 {
    // SAFETY: per this function's contract (one row).
    let [v] = unsafe { narrow_accumulators::<1, L2>(query, row) };
    // Lanes j + j+8, then j + j+4, j + j+2, j + j+1: the tree of `transposed_sums`.
    let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
    let octet = _mm256_add_ps(_mm512_castps512_ps256(v), hi);
    let quad = _mm_add_ps(
        _mm256_castps256_ps128(octet),
        _mm256_extractf128_ps::<1>(octet),
    );
    let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
    _mm_cvtss_f32(_mm_add_ss(pair, _mm_movehdup_ps(pair)))
}

/// The scores of the [`NARROW_ROWS`] rows in `rows`, in the narrow order, into `out`.
///
/// # Safety
/// The CPU must support AVX-512F, and `rows.len() == NARROW_ROWS * query.len()`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn score_narrow_group<const L2: bool>(
    query: &[f32],
    rows: &[f32],
    out: &mut [f32; NARROW_ROWS],
) {
    // Row by row (each row one sequential stream; see the module documentation).
    let mut acc = [_mm512_setzero_ps(); NARROW_ROWS];
    for (acc_r, row) in acc.iter_mut().zip(rows.chunks_exact(query.len())) {
        // SAFETY: per this function's contract (`row` is one row of `query.len()`).
        [*acc_r] = unsafe { narrow_accumulators::<1, L2>(query, row) };
    }
    let sums = transposed_sums(acc);
    // SAFETY: `out` holds 16 floats; unaligned stores have no alignment requirement.
    unsafe { _mm512_storeu_ps(out.as_mut_ptr(), sums) }
}

/// Lane `r` of the result is the sum of the 16 lanes of `acc[r]`, added in the halving tree of
/// [`score_narrow_one`] (`j + j+8`, `j + j+4`, `j + j+2`, `j + j+1`), all 16 trees at once.
///
/// Each level adds the two halves that two shuffles gather from a pair of inputs. Input
/// position `p` takes row `(p % 4) * 4 + p / 4`: the last level leaves position `4g + t` in
/// lane `4t + g`, so that order puts row `r` in lane `r`.
#[inline]
#[target_feature(enable = "avx512f")]
fn transposed_sums(acc: [__m512; 16]) -> __m512 {
    let at = |p: usize| acc[(p % 4) * 4 + p / 4];
    // j + j+8: 256-bit halves of positions 2k and 2k+1.
    let l1: [__m512; 8] = std::array::from_fn(|k| {
        let (a, b) = (at(2 * k), at(2 * k + 1));
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0x44>(a, b),
            _mm512_shuffle_f32x4::<0xEE>(a, b),
        )
    });
    // j + j+4: 128-bit quarters; quarter t of l2[m] holds position 4m+t.
    let l2: [__m512; 4] = std::array::from_fn(|m| {
        let (a, b) = (l1[2 * m], l1[2 * m + 1]);
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0x88>(a, b),
            _mm512_shuffle_f32x4::<0xDD>(a, b),
        )
    });
    // j + j+2 within each quarter.
    let l3: [__m512; 2] = std::array::from_fn(|u| {
        let (a, b) = (l2[2 * u], l2[2 * u + 1]);
        _mm512_add_ps(
            _mm512_shuffle_ps::<0x44>(a, b),
            _mm512_shuffle_ps::<0xEE>(a, b),
        )
    });
    // j + j+1.
    _mm512_add_ps(
        _mm512_shuffle_ps::<0x88>(l3[0], l3[1]),
        _mm512_shuffle_ps::<0xDD>(l3[0], l3[1]),
    )
}

// ---- Quantized kernels: `dot_u8_i8` needs AVX-512F+BW+VNNI, the popcount kernels
// ---- AVX-512F+VPOPCNTDQ; `kernels` hands each out only after detecting its extensions.

/// Bytes per register.
const BYTES: usize = 64;
/// Accumulators of `dot_u8_i8` (`vpdpbusd` has a latency of 5 cycles, throughput 1 or 2).
const INT8_UNROLL: usize = 4;

fn dot_u8_i8(codes: &[u8], query: &[i8]) -> i32 {
    check_pair(codes, query);
    // SAFETY: this shim is handed out only by `kernels`, after AVX-512F, AVX-512BW and
    // AVX-512 VNNI were detected; the lengths were just checked equal.
    unsafe { dot_u8_i8_vnni(codes, query) }
}

/// `Σ codes_i * query_i` with `vpdpbusd` (four u8 × i8 products summed into each `i32` lane,
/// exact for every `i8`), [`INT8_UNROLL`] accumulators; the last `< 64` bytes with a masked
/// load.
///
/// # Safety
/// The CPU must support AVX-512F, AVX-512BW and AVX-512 VNNI, and
/// `codes.len() == query.len()`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn dot_u8_i8_vnni(codes: &[u8], query: &[i8]) -> i32 {
    let n = codes.len();
    let c = codes.as_ptr();
    let q = query.as_ptr();
    let mut acc = [_mm512_setzero_si512(); INT8_UNROLL];
    let mut i = 0;
    while i + INT8_UNROLL * BYTES <= n {
        for (k, acc_k) in acc.iter_mut().enumerate() {
            let at = i + k * BYTES;
            // SAFETY: `at + BYTES <= i + INT8_UNROLL * BYTES <= n` and both slices hold `n`
            // bytes; unaligned loads have no alignment requirement.
            let (cv, qv) = unsafe {
                (
                    _mm512_loadu_si512(c.add(at).cast()),
                    _mm512_loadu_si512(q.add(at).cast()),
                )
            };
            *acc_k = _mm512_dpbusd_epi32(*acc_k, cv, qv);
        }
        i += INT8_UNROLL * BYTES;
    }
    while i + BYTES <= n {
        // SAFETY: `i + BYTES <= n`; see the main loop.
        let (cv, qv) = unsafe {
            (
                _mm512_loadu_si512(c.add(i).cast()),
                _mm512_loadu_si512(q.add(i).cast()),
            )
        };
        acc[0] = _mm512_dpbusd_epi32(acc[0], cv, qv);
        i += BYTES;
    }
    let rest = n - i;
    if rest > 0 {
        // `rest < BYTES`: byte `j` is loaded iff `j < rest`.
        let mask = (1u64 << rest) - 1;
        // SAFETY: `i < n`, and the masked loads read only bytes `i..n`; masked-off bytes are
        // not accessed (no fault) and read as 0.
        let (cv, qv) = unsafe {
            (
                _mm512_maskz_loadu_epi8(mask, c.add(i).cast()),
                _mm512_maskz_loadu_epi8(mask, q.add(i).cast()),
            )
        };
        acc[1] = _mm512_dpbusd_epi32(acc[1], cv, qv);
    }
    let [a0, a1, a2, a3] = acc;
    _mm512_reduce_add_epi32(_mm512_add_epi32(
        _mm512_add_epi32(a0, a1),
        _mm512_add_epi32(a2, a3),
    ))
}

fn hamming(a: &[u64], b: &[u64]) -> u32 {
    check_pair(a, b);
    // SAFETY: this shim is handed out only by `kernels`, after AVX-512F and VPOPCNTDQ were
    // detected; the lengths were just checked equal.
    unsafe { popcount_of::<true>(a, b) }
}

fn dot_bit_planes(code: &[u64], planes: &[u64]) -> u32 {
    let count = check_planes(code, planes);
    // SAFETY: AVX-512F and VPOPCNTDQ were detected (see `hamming`); `planes` holds `count`
    // planes of `code.len()` words, as just checked.
    unsafe {
        match count {
            // The 4-bit queries of RaBitQ: the planes' loop unrolled.
            4 => dot_bit_planes_vpopcnt::<4>(code, planes, 4),
            _ => dot_bit_planes_vpopcnt::<0>(code, planes, count),
        }
    }
}

/// `Σ_j 2^j Σ_i popcount(code_i & plane_j[i])`: eight code words at a time (masked loads at
/// the end), weighed against the same words of each plane in one accumulator per plane; the
/// accumulators are weighed by `2^j` at the end. `PLANES` is `count` if known at compile time
/// (the loop over planes then unrolls), else 0.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 VPOPCNTDQ, `count <= BIT_PLANES_MAX`, and
/// `planes` must hold `count` planes of `code.len()` words.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
unsafe fn dot_bit_planes_vpopcnt<const PLANES: usize>(
    code: &[u64],
    planes: &[u64],
    count: usize,
) -> u32 {
    let count = if PLANES > 0 { PLANES } else { count };
    let w = code.len();
    let mut acc = [_mm512_setzero_si512(); BIT_PLANES_MAX];
    let mut i = 0;
    while i < w {
        let rest = w - i;
        let mask = if rest >= WORDS {
            u8::MAX
        } else {
            ((1u32 << rest) - 1) as u8
        };
        // SAFETY: `i < w` and the mask selects words `i..min(i + WORDS, w)` of the code;
        // masked-off words are not accessed (no fault) and read as 0.
        let c = unsafe { _mm512_maskz_loadu_epi64(mask, code.as_ptr().add(i).cast()) };
        for (j, acc_j) in acc.iter_mut().enumerate().take(count) {
            // SAFETY: plane `j` is words `j·w..(j+1)·w` of `planes` (`j < count`), and the
            // mask selects its words `i..min(i + WORDS, w)` as for the code.
            let p =
                unsafe { _mm512_maskz_loadu_epi64(mask, planes.as_ptr().add(j * w + i).cast()) };
            *acc_j = _mm512_add_epi64(*acc_j, _mm512_popcnt_epi64(_mm512_and_si512(c, p)));
        }
        i += WORDS;
    }
    let mut sum = 0u32;
    for (j, acc_j) in acc.iter().enumerate().take(count) {
        // Truncation to `u32` wraps like the scalar reference's wrapping sum.
        sum = sum.wrapping_add((_mm512_reduce_add_epi64(*acc_j) as u32) << j);
    }
    sum
}

/// Words per register.
const WORDS: usize = 8;

/// `Σ popcount(a_i ^ b_i)` if `XOR`, else `Σ popcount(a_i & b_i)`, with `vpopcntq`, eight
/// words per register, two accumulators; the last `< 8` words with a masked load.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 VPOPCNTDQ, and `a.len() == b.len()`.
#[target_feature(enable = "avx512f,avx512vpopcntdq")]
unsafe fn popcount_of<const XOR: bool>(a: &[u64], b: &[u64]) -> u32 {
    let n = a.len();
    let combine = |x: __m512i, y: __m512i| {
        if XOR {
            _mm512_xor_si512(x, y)
        } else {
            _mm512_and_si512(x, y)
        }
    };
    let mut acc = [_mm512_setzero_si512(); 2];
    let mut i = 0;
    while i + 2 * WORDS <= n {
        for (k, acc_k) in acc.iter_mut().enumerate() {
            let at = i + k * WORDS;
            // SAFETY: `at + WORDS <= i + 2 * WORDS <= n` and both slices hold `n` words;
            // unaligned loads have no alignment requirement.
            let (x, y) = unsafe {
                (
                    _mm512_loadu_si512(a.as_ptr().add(at).cast()),
                    _mm512_loadu_si512(b.as_ptr().add(at).cast()),
                )
            };
            *acc_k = _mm512_add_epi64(*acc_k, _mm512_popcnt_epi64(combine(x, y)));
        }
        i += 2 * WORDS;
    }
    if i + WORDS <= n {
        // SAFETY: `i + WORDS <= n`; see the main loop.
        let (x, y) = unsafe {
            (
                _mm512_loadu_si512(a.as_ptr().add(i).cast()),
                _mm512_loadu_si512(b.as_ptr().add(i).cast()),
            )
        };
        acc[0] = _mm512_add_epi64(acc[0], _mm512_popcnt_epi64(combine(x, y)));
        i += WORDS;
    }
    let rest = n - i;
    if rest > 0 {
        // `rest < WORDS`: word `j` is loaded iff `j < rest`.
        let mask = ((1u32 << rest) - 1) as u8;
        // SAFETY: `i < n`, and the masked loads read only words `i..n`; masked-off words are
        // not accessed (no fault) and read as 0.
        let (x, y) = unsafe {
            (
                _mm512_maskz_loadu_epi64(mask, a.as_ptr().add(i).cast()),
                _mm512_maskz_loadu_epi64(mask, b.as_ptr().add(i).cast()),
            )
        };
        acc[1] = _mm512_add_epi64(acc[1], _mm512_popcnt_epi64(combine(x, y)));
    }
    // Truncation to `u32` wraps like the scalar reference's wrapping sum.
    _mm512_reduce_add_epi64(_mm512_add_epi64(acc[0], acc[1])) as u32
}
