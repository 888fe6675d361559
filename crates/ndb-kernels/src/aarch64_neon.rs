//! NEON (Advanced SIMD) kernels: 4 `f32` lanes per register.
//!
//! Same structure as the x86 kernels. Every kernel, single-row or batch, runs [`score_rows_at`],
//! so a row's score does not depend on which entry point computed it. Its accumulation order:
//! 1. blocks of [`BLOCK`] floats, vector `k` of a block into accumulator `k` (four independent
//!    FMA chains);
//! 2. the remaining whole vectors into accumulator 0;
//! 3. the last `< 4` floats, copied into a zeroed 4-float buffer and loaded from there, into
//!    accumulator 1;
//! 4. `(acc0 + acc1) + (acc2 + acc3)`, then a horizontal sum.
//!
//! The batch kernels score wide rows (over [`NARROW_MAX`] dimensions) one at a time, each row
//! one sequential stream, as the x86 kernels do (measured there; not measured on ARM).
//!
//! Dimensions up to [`NARROW_MAX`] use the *narrow* order instead (single-row kernels too, so
//! scores stay bit-identical): one accumulator per row (every whole vector, then the last
//! `< 4` floats), then the pairwise tree `(lane 0 + lane 1) + (lane 2 + lane 3)`. The tail is
//! the row's last 4 floats loaded in place, the lanes already counted cleared with a mask (a
//! zero-padded copy only for rows of fewer than 4 floats). The batch kernels run it on
//! [`NARROW_ROWS`] rows at once (the rows are the independent FMA chains) and add the trees of
//! 4 rows at a time with three `faddp` that leave their 4 scores in order; see the AVX-512
//! module for why.

use std::arch::aarch64::{
    float32x4_t, int32x4_t, int8x16_t, uint8x16_t, vaddq_f32, vaddq_s32, vaddvq_f32, vaddvq_s32,
    vaddvq_u32, vandq_u32, vandq_u64, vcntq_u8, vdupq_n_f32, vdupq_n_s32, vdupq_n_s8, vdupq_n_u32,
    vdupq_n_u8, veorq_u64, veorq_u8, vfmaq_f32, vget_low_f32, vget_low_s16, vget_low_s8,
    vget_low_u8, vld1q_f32, vld1q_s8, vld1q_u32, vld1q_u64, vld1q_u8, vmlal_high_s16, vmlal_s16,
    vmovl_high_s8, vmovl_high_u8, vmovl_s8, vmovl_u8, vpadalq_u16, vpaddlq_u8, vpaddq_f32,
    vpadds_f32, vreinterpretq_f32_u32, vreinterpretq_s16_u16, vreinterpretq_s8_u8,
    vreinterpretq_u32_f32, vreinterpretq_u8_u64, vst1q_f32, vsubq_f32,
};

use crate::{check_pair, check_planes, sum_bit_planes, DotU8I8Fn, Isa, Kernels, QuantIsa};

/// `f32` lanes per register.
const LANES: usize = 4;
/// Accumulators per row.
const UNROLL: usize = 4;
/// Floats per main-loop iteration.
const BLOCK: usize = LANES * UNROLL;
/// The largest dimension scored in the narrow order (see the module documentation).
const NARROW_MAX: usize = 256;
/// Rows the narrow batch kernels score together: one accumulator each, two transposed
/// reductions of 4 rows.
const NARROW_ROWS: usize = 8;
/// `vld1q_u32` at offset `rest` (1..=3) gives the mask of the last `rest` lanes.
static TAIL_MASKS: [u32; 2 * LANES] = [0, 0, 0, 0, u32::MAX, u32::MAX, u32::MAX, u32::MAX];

/// The NEON table, if the CPU supports NEON (every aarch64 CPU that runs Rust's std does);
/// `dot_u8_i8` uses `sdot` if the CPU also has the dot-product extension.
///
/// This is the only way out of this module for its safe shims (the `F32` table that
/// `f32_shims!` writes below, and the quantized kernels): they are sound to call only after
/// this check.
pub(crate) fn kernels() -> Option<Kernels> {
    if std::arch::is_aarch64_feature_detected!("neon") {
        let (int8_isa, dot_u8_i8) = if std::arch::is_aarch64_feature_detected!("dotprod") {
            ("neon-dotprod", dot_u8_i8_sdot as DotU8I8Fn)
        } else {
            ("neon", dot_u8_i8_widening as DotU8I8Fn)
        };
        Some(Kernels {
            isa: Isa::Neon,
            float: F32,
            quant_isa: QuantIsa {
                dot_u8_i8: int8_isa,
                popcount: "neon",
            },
            dot_u8_i8,
            hamming,
            dot_bit_planes,
        })
    } else {
        None
    }
}

crate::shims::f32_shims!("neon");

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

/// Scores `query` against each of the `R` rows at `x` (dot product, or squared L2 distance if
/// `L2`), in the accumulation order described in the module documentation; each row's score
/// is the same whatever `R` and wherever the row lies. The rows may lie anywhere in memory:
/// graph walks score a node's scattered neighbours four at a time, to keep their loads in
/// flight together.
///
/// # Safety
/// The CPU must support NEON, and every `x[r]` must point at `query.len()` readable floats.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn score_rows_at<const R: usize, const L2: bool>(
    query: &[f32],
    x: [*const f32; R],
) -> [f32; R] {
    let n = query.len();
    let q = query.as_ptr();
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
        for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
            // SAFETY: `x_r` points at `n` readable floats (this function's contract) and
            // `i < n`: floats `i..n` of the row, which nothing writes while it is read.
            let tail = unsafe { std::slice::from_raw_parts(x_r.add(i), n - i) };
            let x_vec = load_tail(tail);
            acc_r[1] = step::<L2>(acc_r[1], q_vec, x_vec);
        }
    }

    let mut scores = [0.0; R];
    for (score, [a0, a1, a2, a3]) in scores.iter_mut().zip(acc) {
        *score = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    }
    scores
}

/// The narrow order's accumulators of the `R` rows in `rows`: whole vectors of the row, then
/// its last `< 4` floats (see the module documentation), all into the row's one accumulator.
///
/// # Safety
/// The CPU must support NEON, and `rows.len() == R * query.len()`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn narrow_accumulators<const R: usize, const L2: bool>(
    query: &[f32],
    rows: &[f32],
) -> [float32x4_t; R] {
    let n = query.len();
    let q = query.as_ptr();
    let mut x = [q; R];
    for (r, x_r) in x.iter_mut().enumerate() {
        *x_r = rows[r * n..].as_ptr();
    }
    let mut acc = [vdupq_n_f32(0.0); R];
    let mut i = 0;
    while i + LANES <= n {
        // SAFETY: `i + LANES <= n`, and the query and every row hold `n` floats.
        let q_vec = unsafe { vld1q_f32(q.add(i)) };
        for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
            // SAFETY: as for `q_vec`.
            let x_vec = unsafe { vld1q_f32(x_r.add(i)) };
            *acc_r = step::<L2>(*acc_r, q_vec, x_vec);
        }
        i += LANES;
    }
    let rest = n - i;
    if rest > 0 && n >= LANES {
        // SAFETY: `0 < rest < LANES`, so the 4 `u32`s at `rest` lie inside `TAIL_MASKS`.
        let mask = unsafe { vld1q_u32(TAIL_MASKS.as_ptr().add(rest)) };
        let tail =
            |v: float32x4_t| vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(v), mask));
        // SAFETY: `n >= LANES`, so floats `n - LANES..n` lie inside the query and every row.
        let q_vec = tail(unsafe { vld1q_f32(q.add(n - LANES)) });
        for (acc_r, &x_r) in acc.iter_mut().zip(&x) {
            // SAFETY: as for `q_vec`.
            let x_vec = tail(unsafe { vld1q_f32(x_r.add(n - LANES)) });
            *acc_r = step::<L2>(*acc_r, q_vec, x_vec);
        }
    } else if rest > 0 {
        let q_vec = load_tail(query);
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let x_vec = load_tail(&rows[r * n..(r + 1) * n]);
            *acc_r = step::<L2>(*acc_r, q_vec, x_vec);
        }
    }
    acc
}

/// The score of one row in the narrow order: its accumulator, then the pairwise tree.
///
/// # Safety
/// The CPU must support NEON, and `row.len() == query.len()`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn score_narrow_one<const L2: bool>(query: &[f32], row: &[f32]) -> f32 {
    // SAFETY: per this function's contract (one row).
    let [v] = unsafe { narrow_accumulators::<1, L2>(query, row) };
    // [l0 + l1, l2 + l3, ..], then their sum: the tree of `transposed_sums`.
    let pairs = vpaddq_f32(v, v);
    vpadds_f32(vget_low_f32(pairs))
}

/// The scores of the [`NARROW_ROWS`] rows in `rows`, in the narrow order, into `out`.
///
/// # Safety
/// The CPU must support NEON, and `rows.len() == NARROW_ROWS * query.len()`.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn score_narrow_group<const L2: bool>(
    query: &[f32],
    rows: &[f32],
    out: &mut [f32; NARROW_ROWS],
) {
    // SAFETY: per this function's contract.
    let [a0, a1, a2, a3, a4, a5, a6, a7] =
        unsafe { narrow_accumulators::<NARROW_ROWS, L2>(query, rows) };
    let (low, high) = out.split_at_mut(LANES);
    // SAFETY: `low` and `high` hold 4 floats each.
    unsafe {
        vst1q_f32(low.as_mut_ptr(), transposed_sums(a0, a1, a2, a3));
        vst1q_f32(high.as_mut_ptr(), transposed_sums(a4, a5, a6, a7));
    }
}

/// `[Σ a, Σ b, Σ c, Σ d]`, each sum in the pairwise tree of [`score_narrow_one`].
#[inline]
#[target_feature(enable = "neon")]
fn transposed_sums(a: float32x4_t, b: float32x4_t, c: float32x4_t, d: float32x4_t) -> float32x4_t {
    // [a0 + a1, a2 + a3, b0 + b1, b2 + b3], the same for c and d, then their pairs.
    vpaddq_f32(vpaddq_f32(a, b), vpaddq_f32(c, d))
}

// ---- Quantized kernels. ----

/// Bytes per register.
const BYTES: usize = 16;

/// The codes and query bytes `i..` of a kernel's inputs as two registers: loaded in place if
/// 16 bytes remain, else copied into zero-padded buffers first (zero query bytes add nothing).
#[inline]
#[target_feature(enable = "neon")]
fn load_bytes(codes: &[u8], query: &[i8], i: usize) -> (uint8x16_t, int8x16_t) {
    let mut c_buf = [0u8; BYTES];
    let mut q_buf = [0i8; BYTES];
    let (c, q) = match (codes.get(i..i + BYTES), query.get(i..i + BYTES)) {
        (Some(c), Some(q)) => (c.as_ptr(), q.as_ptr()),
        _ => {
            let end = codes.len().min(query.len());
            let rest = end.saturating_sub(i);
            c_buf[..rest].copy_from_slice(&codes[i..end]);
            q_buf[..rest].copy_from_slice(&query[i..end]);
            (c_buf.as_ptr(), q_buf.as_ptr())
        }
    };
    // SAFETY: `c` and `q` point at 16 readable bytes: a sub-slice of 16 bytes or a buffer.
    unsafe { (vld1q_u8(c), vld1q_s8(q)) }
}

fn dot_u8_i8_widening(codes: &[u8], query: &[i8]) -> i32 {
    check_pair(codes, query);
    // SAFETY: this shim is handed out only by `kernels`, after NEON was detected.
    unsafe { dot_u8_i8_widening_neon(codes, query) }
}

/// `Σ codes_i * query_i` by widening both to `i16` (codes ≤ 255 fit) and multiply-accumulating
/// into four `i32` accumulators; exact for every `i8` query.
///
/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
unsafe fn dot_u8_i8_widening_neon(codes: &[u8], query: &[i8]) -> i32 {
    let n = codes.len().min(query.len());
    let mut acc = [vdupq_n_s32(0); 4];
    let mut i = 0;
    while i < n {
        let (cv, qv) = load_bytes(codes, query, i);
        let c_low = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(cv)));
        let c_high = vreinterpretq_s16_u16(vmovl_high_u8(cv));
        let q_low = vmovl_s8(vget_low_s8(qv));
        let q_high = vmovl_high_s8(qv);
        acc[0] = vmlal_s16(acc[0], vget_low_s16(c_low), vget_low_s16(q_low));
        acc[1] = vmlal_high_s16(acc[1], c_low, q_low);
        acc[2] = vmlal_s16(acc[2], vget_low_s16(c_high), vget_low_s16(q_high));
        acc[3] = vmlal_high_s16(acc[3], c_high, q_high);
        i += BYTES;
    }
    vaddvq_s32(vaddq_s32(
        vaddq_s32(acc[0], acc[1]),
        vaddq_s32(acc[2], acc[3]),
    ))
}

fn dot_u8_i8_sdot(codes: &[u8], query: &[i8]) -> i32 {
    check_pair(codes, query);
    // SAFETY: this shim is handed out only by `kernels`, after NEON and the dot-product
    // extension were detected.
    unsafe { dot_u8_i8_sdot_neon(codes, query) }
}

/// `acc + ` the four-byte dot products of `a` and `b` (signed), lane by lane: `sdot`.
///
/// Stable Rust has no `sdot` intrinsic yet (`vdotq_s32` is unstable), hence the one-instruction
/// `asm!`.
#[inline]
#[target_feature(enable = "neon,dotprod")]
fn sdot(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    let mut acc = acc;
    // SAFETY: `sdot` reads the three vector registers and writes `acc`'s only; it touches no
    // memory, stack or flags, and this function's target features include dotprod.
    unsafe {
        std::arch::asm!(
            "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    acc
}

/// `Σ codes_i * query_i` with `sdot`, which multiplies signed bytes: `Σ c·q = Σ (c − 128)·q +
/// 128 · Σ q`, where `c − 128` is the code with its top bit flipped, read as `i8`, and `Σ q` is a
/// second `sdot` against ones. Exact for every `i8` query (in wrapping `i32`).
///
/// # Safety
/// The CPU must support NEON and the dot-product extension.
#[target_feature(enable = "neon,dotprod")]
unsafe fn dot_u8_i8_sdot_neon(codes: &[u8], query: &[i8]) -> i32 {
    let n = codes.len().min(query.len());
    let flip = vdupq_n_u8(0x80);
    let ones = vdupq_n_s8(1);
    let mut acc = vdupq_n_s32(0);
    let mut query_sum = vdupq_n_s32(0);
    let mut i = 0;
    while i < n {
        let (cv, qv) = load_bytes(codes, query, i);
        acc = sdot(acc, vreinterpretq_s8_u8(veorq_u8(cv, flip)), qv);
        query_sum = sdot(query_sum, ones, qv);
        i += BYTES;
    }
    vaddvq_s32(acc).wrapping_add(vaddvq_s32(query_sum).wrapping_mul(128))
}

fn hamming(a: &[u64], b: &[u64]) -> u32 {
    check_pair(a, b);
    // SAFETY: this shim is handed out only by `kernels`, after NEON was detected; the lengths
    // were just checked equal.
    unsafe { popcount_of::<true>(a, b) }
}

fn dot_bit_planes(code: &[u64], planes: &[u64]) -> u32 {
    let count = check_planes(code, planes);
    sum_bit_planes(code, planes, count, |code, plane| {
        // SAFETY: NEON was detected (see `hamming`); every plane has `code.len()` words.
        unsafe { popcount_of::<false>(code, plane) }
    })
}

/// `Σ popcount(a_i ^ b_i)` if `XOR`, else `Σ popcount(a_i & b_i)`: `cnt` counts the bits of
/// each byte, two pairwise widening adds gather them into `u32` lanes; two words per register,
/// an odd last word by `count_ones`.
///
/// # Safety
/// The CPU must support NEON, and `a.len() == b.len()`.
#[target_feature(enable = "neon")]
unsafe fn popcount_of<const XOR: bool>(a: &[u64], b: &[u64]) -> u32 {
    let n = a.len();
    let mut acc = vdupq_n_u32(0);
    let mut i = 0;
    while i + 2 <= n {
        // SAFETY: `i + 2 <= n` and both slices hold `n` words.
        let (x, y) = unsafe { (vld1q_u64(a.as_ptr().add(i)), vld1q_u64(b.as_ptr().add(i))) };
        let z = if XOR {
            veorq_u64(x, y)
        } else {
            vandq_u64(x, y)
        };
        acc = vpadalq_u16(acc, vpaddlq_u8(vcntq_u8(vreinterpretq_u8_u64(z))));
        i += 2;
    }
    let mut total = vaddvq_u32(acc);
    if let (Some(&x), Some(&y)) = (a.get(i), b.get(i)) {
        let z = if XOR { x ^ y } else { x & y };
        total = total.wrapping_add(z.count_ones());
    }
    total
}
