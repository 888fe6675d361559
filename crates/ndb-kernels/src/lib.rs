//! nDB's distance kernels: dot product, squared Euclidean distance and squared norm over `f32`
//! vectors of any dimension, plus batch versions that score one query against a block of
//! contiguous rows (the exact-search hot loop); and the integer kernels of quantized search:
//! [`dot_u8_i8`] (int8 scalar codes against a quantized query), [`hamming`] and
//! [`dot_bit_planes`] (1-bit codes, alone or against a query stored as bit planes).
//!
//! Every kernel exists as a portable scalar reference ([`Isa::Scalar`]) and as SIMD versions
//! for AVX2+FMA and AVX-512F (x86_64) and NEON (aarch64). The free functions ([`dot`],
//! [`dot_batch`], ...) use the fastest version the CPU supports, detected once and cached;
//! [`kernels_for`] hands out the table of one particular ISA so tests and benchmarks can compare
//! them. The environment variable `NDB_FORCE_ISA=scalar|avx2|avx512|neon` overrides the
//! detection (read once; ignored when the CPU lacks that ISA or the value is unknown).
//!
//! # Guarantees
//! - Lengths are checked: a kernel given slices of different lengths (or a batch whose `rows`
//!   is not `out.len()` rows of `query.len()` floats) panics. Mismatched lengths are a caller
//!   bug; nDB validates user input before it reaches a kernel.
//! - A batch kernel's score for a row is bit-identical to the single-row kernel of the same
//!   [`Kernels`] table on that row: both run the same accumulation order. (Each SIMD table has
//!   two, chosen by the dimension alone: a *wide* one of four accumulators per row above 256
//!   dimensions, and a *narrow* one of one accumulator per row up to 256, whose batch version
//!   sums 8 or 16 rows' lanes together in one transposed reduction; see the ISA modules.)
//! - Different ISAs may differ in the last bits: they sum in different orders (and SIMD uses
//!   fused multiply-add). The tests bound the difference by `1e-5 * Σ|term_i| + 1e-6`.
//! - The integer kernels are exact, so every ISA returns the same value as the scalar
//!   reference, within their contracts (see [`dot_u8_i8`], [`dot_bit_planes`]).
//!
//! # Quantized kernels and CPU extensions
//! The AVX-512 table runs [`dot_u8_i8`] on AVX-512 VNNI (`vpdpbusd`) and the popcount kernels
//! on AVX-512 VPOPCNTDQ when the CPU has them (and AVX-512BW for the masked byte loads); where
//! it lacks them it uses the AVX2 table's versions (every AVX-512 CPU has AVX2). The AVX2
//! table counts bits with the POPCNT instruction (measured faster than an AVX2 lookup on codes
//! of a few dozen words; see `x86_avx2`).
//! The NEON table runs [`dot_u8_i8`] on `sdot` where the CPU has the dot-product extension,
//! else on widening multiplies. [`Kernels::quant_isa`] names what a table runs.
//!
//! # Unsafe
//! The only `unsafe` code of nDB's kernels lives in the per-ISA modules (`x86_avx2`,
//! `x86_avx512`, `aarch64_neon`): `#[target_feature]` functions that may only run on a CPU with
//! that feature, and raw SIMD loads whose bounds follow from the checked slice lengths. Each ISA
//! module wraps its kernels in private safe shims and hands them out only from a constructor
//! that first detects the CPU feature, so a [`Kernels`] value is proof that its ISA is
//! supported.
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
#![warn(clippy::unwrap_used, clippy::undocumented_unsafe_blocks)]

use std::fmt;
use std::sync::OnceLock;

mod scalar;
mod shims;

#[cfg_attr(
    target_arch = "x86_64",
    expect(unsafe_code, reason = "the prefetch intrinsic takes a raw pointer")
)]
mod prefetch;
pub use prefetch::prefetch;

#[cfg(target_arch = "x86_64")]
#[expect(
    unsafe_code,
    reason = "AVX2+FMA intrinsics: target_feature functions and raw SIMD loads"
)]
mod x86_avx2;

#[cfg(target_arch = "x86_64")]
#[expect(
    unsafe_code,
    reason = "AVX-512F intrinsics: target_feature functions and raw SIMD loads"
)]
mod x86_avx512;

#[cfg(target_arch = "aarch64")]
#[expect(
    unsafe_code,
    reason = "NEON intrinsics: target_feature functions and raw SIMD loads"
)]
mod aarch64_neon;

/// An instruction set a [`Kernels`] table is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust, no explicit SIMD; the reference every other ISA is tested against.
    Scalar,
    /// x86_64 AVX2 with FMA (256-bit vectors).
    Avx2Fma,
    /// x86_64 AVX-512 Foundation (512-bit vectors, masked tails).
    Avx512,
    /// aarch64 Advanced SIMD (128-bit vectors).
    Neon,
}

impl Isa {
    /// Every ISA, scalar first (whether the running CPU has it: [`kernels_for`]).
    pub const ALL: [Isa; 4] = [Isa::Scalar, Isa::Avx2Fma, Isa::Avx512, Isa::Neon];

    /// The short lowercase name, as accepted by `NDB_FORCE_ISA`: `scalar`, `avx2`, `avx512`,
    /// `neon`.
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2Fma => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    /// The ISA named `name` (see [`Isa::name`]), ignoring ASCII case and surrounding spaces.
    pub fn from_name(name: &str) -> Option<Isa> {
        let name = name.trim();
        Isa::ALL
            .into_iter()
            .find(|isa| isa.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Signature of a single-pair kernel (`dot`, `l2_squared`).
type PairFn = fn(&[f32], &[f32]) -> f32;
/// Signature of a single-vector kernel (`norm_squared`).
type UnaryFn = fn(&[f32]) -> f32;
/// Signature of a batch kernel (`dot_batch`, `l2_squared_batch`).
type BatchFn = fn(&[f32], &[f32], &mut [f32]);
/// Signature of a four-row kernel (`dot_x4`, `l2_squared_x4`).
type FourFn = fn(&[f32], [&[f32]; 4]) -> [f32; 4];
/// Signature of the int8 kernel (`dot_u8_i8`).
type DotU8I8Fn = fn(&[u8], &[i8]) -> i32;
/// Signature of the 1-bit kernels (`hamming`, `dot_bit_planes`).
type BitsFn = fn(&[u64], &[u64]) -> u32;

/// The largest magnitude a query value of [`dot_u8_i8`] may have: its contract is
/// `query[i] ∈ [-DOT_U8_I8_QUERY_MAX, DOT_U8_I8_QUERY_MAX]`.
///
/// Why 64: AVX2's `vpmaddubsw` adds the two products `c₀q₀ + c₁q₁` of neighbouring bytes into
/// an `i16` with signed saturation. With codes `c ∈ [0, 255]` and `|q| ≤ 64`, the pair sum is at
/// most `255 · 64 · 2 = 32,640 ≤ 32,767` in magnitude, so it never saturates and every ISA
/// computes the exact sum; `|q| ≤ 65` would allow `255 · 65 · 2 = 33,150`, which saturates.
pub const DOT_U8_I8_QUERY_MAX: i8 = 64;

/// The most bit planes [`dot_bit_planes`] accepts (so its result, at most
/// `64 · code.len() · (2^8 − 1)`, fits `u32` for any code of up to 263,000 words).
pub const BIT_PLANES_MAX: usize = 8;

/// What runs the quantized kernels of a [`Kernels`] table (see the crate documentation): the
/// table's ISA may lack an extension they use, and then falls back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QuantIsa {
    /// Runs [`dot_u8_i8`]: `"scalar"`, `"avx2"` (`vpmaddubsw`), `"avx512vnni"` (`vpdpbusd`),
    /// `"neon"` (widening multiplies) or `"neon-dotprod"` (`sdot`).
    pub dot_u8_i8: &'static str,
    /// Runs [`hamming`] and [`dot_bit_planes`]: `"scalar"`, `"popcnt"` (x86_64 POPCNT on
    /// whole words, the AVX2 table's), `"avx512vpopcntdq"` or `"neon"` (`cnt`).
    pub popcount: &'static str,
}

/// The `f32` kernels of one ISA (in the SIMD modules, written by `shims::f32_shims!`).
#[derive(Clone, Copy)]
struct F32Kernels {
    dot: PairFn,
    l2_squared: PairFn,
    norm_squared: UnaryFn,
    dot_batch: BatchFn,
    l2_squared_batch: BatchFn,
    dot_x4: FourFn,
    l2_squared_x4: FourFn,
}

/// The kernels of one ISA, as plain function pointers: copying or calling it costs nothing
/// beyond an indirect call.
///
/// A value of this type exists only for an ISA the running CPU supports: it is obtained from
/// [`active`] or [`kernels_for`], which check the CPU features first.
#[derive(Clone, Copy)]
pub struct Kernels {
    isa: Isa,
    float: F32Kernels,
    quant_isa: QuantIsa,
    dot_u8_i8: DotU8I8Fn,
    hamming: BitsFn,
    dot_bit_planes: BitsFn,
}

impl Kernels {
    /// The ISA these kernels are written for.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// `Σ a_i * b_i`. Panics if `a.len() != b.len()`.
    #[inline]
    pub fn dot(&self, a: &[f32], b: &[f32]) -> f32 {
        (self.float.dot)(a, b)
    }

    /// `Σ (a_i - b_i)²`. Panics if `a.len() != b.len()`.
    #[inline]
    pub fn l2_squared(&self, a: &[f32], b: &[f32]) -> f32 {
        (self.float.l2_squared)(a, b)
    }

    /// `Σ a_i²`.
    #[inline]
    pub fn norm_squared(&self, a: &[f32]) -> f32 {
        (self.float.norm_squared)(a)
    }

    /// `out[i] = dot(query, row_i)` for the `out.len()` rows of `query.len()` floats stored
    /// one after the other in `rows`. Panics unless `rows.len() == out.len() * query.len()`.
    #[inline]
    pub fn dot_batch(&self, query: &[f32], rows: &[f32], out: &mut [f32]) {
        (self.float.dot_batch)(query, rows, out)
    }

    /// `out[i] = l2_squared(query, row_i)`, rows laid out as for [`Kernels::dot_batch`].
    /// Panics unless `rows.len() == out.len() * query.len()`.
    #[inline]
    pub fn l2_squared_batch(&self, query: &[f32], rows: &[f32], out: &mut [f32]) {
        (self.float.l2_squared_batch)(query, rows, out)
    }

    /// `[dot(query, rows[0]), .., dot(query, rows[3])]`, each bit-identical to
    /// [`Kernels::dot`] on that row, for four rows anywhere in memory: a graph walk scores a
    /// node's scattered neighbours four at a time so, keeping their loads in flight together.
    /// Panics unless every row has `query.len()` floats.
    ///
    /// ```
    /// let k = ndb_kernels::active();
    /// let (q, a, b) = ([1.0, 2.0], [3.0, 4.0], [0.5, 0.0]);
    /// assert_eq!(k.dot_x4(&q, [&a, &b, &a, &q]), [11.0, 0.5, 11.0, 5.0]);
    /// ```
    #[inline]
    pub fn dot_x4(&self, query: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        (self.float.dot_x4)(query, rows)
    }

    /// [`Kernels::l2_squared`] of `query` against four rows anywhere in memory, each score
    /// bit-identical to `l2_squared(query, row)`; see [`Kernels::dot_x4`].
    #[inline]
    pub fn l2_squared_x4(&self, query: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        (self.float.l2_squared_x4)(query, rows)
    }

    /// What runs this table's quantized kernels.
    pub fn quant_isa(&self) -> QuantIsa {
        self.quant_isa
    }

    /// `Σ codes_i * query_i` in `i32`; see [`dot_u8_i8`] for the contract. Panics if
    /// `codes.len() != query.len()`.
    #[inline]
    pub fn dot_u8_i8(&self, codes: &[u8], query: &[i8]) -> i32 {
        (self.dot_u8_i8)(codes, query)
    }

    /// `Σ popcount(a_i ^ b_i)`. Panics if `a.len() != b.len()`.
    #[inline]
    pub fn hamming(&self, a: &[u64], b: &[u64]) -> u32 {
        (self.hamming)(a, b)
    }

    /// `Σ_j 2^j · Σ_i popcount(code_i & planes[j·code.len() + i])`; see [`dot_bit_planes`].
    #[inline]
    pub fn dot_bit_planes(&self, code: &[u64], planes: &[u64]) -> u32 {
        (self.dot_bit_planes)(code, planes)
    }
}

impl fmt::Debug for Kernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kernels").field("isa", &self.isa).finish()
    }
}

/// Panics unless `a` and `b` have the same length. Every pair kernel calls this before its
/// SIMD code reads `b` with `a`'s length.
#[inline]
#[track_caller]
fn check_pair<A, B>(a: &[A], b: &[B]) {
    assert_eq!(
        a.len(),
        b.len(),
        "ndb-kernels: the two vectors have different lengths"
    );
}

/// Panics unless `rows` holds exactly `out.len()` rows of `query.len()` floats. Every batch
/// kernel calls this before its SIMD code reads the rows.
#[inline]
#[track_caller]
fn check_batch(query: &[f32], rows: &[f32], out: &[f32]) {
    assert!(
        out.len().checked_mul(query.len()) == Some(rows.len()),
        "ndb-kernels: rows.len() = {} is not out.len() = {} rows of query.len() = {} floats",
        rows.len(),
        out.len(),
        query.len(),
    );
}

/// `Σ_j 2^j · popcount(code, plane_j)` over the first `count` planes of `planes` (each
/// `code.len()` words), plane by plane so the code stays in L1; `popcount` is an ISA's
/// `Σ_i popcount(code_i & plane_i)`. The plane loop of the `dot_bit_planes` kernels.
#[inline]
fn sum_bit_planes(
    code: &[u64],
    planes: &[u64],
    count: usize,
    mut popcount: impl FnMut(&[u64], &[u64]) -> u32,
) -> u32 {
    let mut sum = 0u32;
    for (j, plane) in planes
        .chunks_exact(code.len().max(1))
        .take(count)
        .enumerate()
    {
        sum = sum.wrapping_add(popcount(code, plane) << j);
    }
    sum
}

/// The number of bit planes in `planes` for a code of `code.len()` words; panics unless
/// `planes.len()` is `1..=BIT_PLANES_MAX` times `code.len()`, or both are empty (then 0).
/// Every `dot_bit_planes` kernel calls this before its SIMD code reads the planes.
#[inline]
#[track_caller]
fn check_planes(code: &[u64], planes: &[u64]) -> usize {
    if code.is_empty() {
        assert!(
            planes.is_empty(),
            "ndb-kernels: {} plane words for an empty code",
            planes.len()
        );
        return 0;
    }
    // No division: this runs once per estimate, and a 64-bit division costs more than the
    // whole check.
    let count = (1..=BIT_PLANES_MAX).find(|&count| count * code.len() == planes.len());
    match count {
        Some(count) => count,
        None => panic!(
            "ndb-kernels: planes.len() = {} is not 1..={BIT_PLANES_MAX} planes of code.len() = {} words",
            planes.len(),
            code.len(),
        ),
    }
}

/// The table for `isa`, or `None` if the running CPU (or the target architecture) lacks it.
pub fn kernels_for(isa: Isa) -> Option<Kernels> {
    match isa {
        Isa::Scalar => Some(scalar::kernels()),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => x86_avx2::kernels(),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => x86_avx512::kernels(),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => aarch64_neon::kernels(),
        _ => None,
    }
}

/// The best table for this CPU, unless `forced` names a supported ISA.
fn choose(forced: Option<Isa>) -> Kernels {
    if let Some(kernels) = forced.and_then(kernels_for) {
        return kernels;
    }
    [Isa::Avx512, Isa::Avx2Fma, Isa::Neon]
        .into_iter()
        .find_map(kernels_for)
        .unwrap_or_else(scalar::kernels)
}

/// The dispatcher's pick, resolved on first use and cached for the life of the process.
pub fn active() -> Kernels {
    static ACTIVE: OnceLock<Kernels> = OnceLock::new();
    *ACTIVE.get_or_init(|| {
        let forced = std::env::var("NDB_FORCE_ISA")
            .ok()
            .and_then(|name| Isa::from_name(&name));
        choose(forced)
    })
}

/// The ISA the dispatcher picked (see [`active`]).
pub fn active_isa() -> Isa {
    active().isa()
}

/// Dot product `Σ a_i * b_i`. Panics if `a.len() != b.len()`.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    active().dot(a, b)
}

/// Squared Euclidean distance `Σ (a_i - b_i)²`. Panics if `a.len() != b.len()`.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    active().l2_squared(a, b)
}

/// Squared Euclidean norm `Σ a_i²`.
#[inline]
pub fn norm_squared(a: &[f32]) -> f32 {
    active().norm_squared(a)
}

/// Scores of `query` against the `out.len()` rows of `query.len()` floats stored one after the
/// other (row-major) in `rows`: `out[i] = dot(query, row_i)`.
///
/// Panics unless `rows.len() == out.len() * query.len()`. Each score is bit-identical to
/// [`dot`] on that row.
#[inline]
pub fn dot_batch(query: &[f32], rows: &[f32], out: &mut [f32]) {
    active().dot_batch(query, rows, out)
}

/// Like [`dot_batch`] with the squared Euclidean distance: `out[i] = l2_squared(query, row_i)`.
///
/// Panics unless `rows.len() == out.len() * query.len()`.
#[inline]
pub fn l2_squared_batch(query: &[f32], rows: &[f32], out: &mut [f32]) {
    active().l2_squared_batch(query, rows, out)
}

/// Dot product of int8 scalar codes with a quantized query: `Σ codes_i * query_i`, exact, in
/// `i32` (the asymmetric inner product of int8 scalar quantization: stored vectors are `u8`
/// codes, the query is signed).
///
/// Contract: every `query_i` is in `[-DOT_U8_I8_QUERY_MAX, DOT_U8_I8_QUERY_MAX]` (`[-64, 64]`;
/// see [`DOT_U8_I8_QUERY_MAX`] for why). Within it every ISA returns the exact sum (wrapped to
/// `i32`, which happens only past 2³¹ / (255 · 64) = 131,588 elements). Outside it the result
/// is unspecified (AVX2 saturates pair sums) but nothing panics or reads out of bounds.
/// Panics if `codes.len() != query.len()`.
#[inline]
pub fn dot_u8_i8(codes: &[u8], query: &[i8]) -> i32 {
    active().dot_u8_i8(codes, query)
}

/// Hamming distance of two bit strings stored as `u64` words: `Σ popcount(a_i ^ b_i)`.
/// Panics if `a.len() != b.len()`.
#[inline]
pub fn hamming(a: &[u64], b: &[u64]) -> u32 {
    active().hamming(a, b)
}

/// Inner product of a 1-bit code with a `B`-bit unsigned query stored as bit planes (the
/// RaBitQ asymmetric estimator's integer part):
/// `Σ_j 2^j · Σ_i popcount(code_i & planes[j·W + i])` with `W = code.len()`.
///
/// Layout: `planes` holds `B` planes of `W` words each, one plane after the other, plane `j`
/// first at word `j·W`; plane `j` holds bit `j` of every query value, value `d` at bit `d % 64`
/// of word `d / 64` (the same bit order as the code). The result is then exactly
/// `Σ_d code_bit(d) · query_value(d)`.
///
/// Panics unless `planes.len() = B · code.len()` with `1 ≤ B ≤ BIT_PLANES_MAX` (or both are
/// empty; the result is then 0). Exact in every ISA.
#[inline]
pub fn dot_bit_planes(code: &[u64], planes: &[u64]) -> u32 {
    active().dot_bit_planes(code, planes)
}

/// Scales `v` to unit Euclidean length in place.
///
/// Returns `false` and leaves `v` unchanged if its norm is zero or not finite (an element is
/// NaN or infinite; an empty vector has norm zero). Vectors whose squared norm over- or
/// underflows `f32` but whose norm does not are still normalized, by first scaling them by
/// their largest element.
pub fn normalize(v: &mut [f32]) -> bool {
    let norm_sq = norm_squared(v);
    if norm_sq.is_finite() && norm_sq >= f32::MIN_POSITIVE {
        let inv_norm = 1.0 / norm_sq.sqrt();
        v.iter_mut().for_each(|x| *x *= inv_norm);
        return true;
    }
    // Rare path: a zero, NaN or infinite vector, or a squared norm out of f32 range.
    let mut max_abs = 0.0f32;
    for &x in v.iter() {
        if !x.is_finite() {
            return false;
        }
        max_abs = max_abs.max(x.abs());
    }
    if max_abs == 0.0 {
        return false;
    }
    // Every v_i / max_abs is in [-1, 1] and one is ±1, so this lies in [1, len]: no overflow,
    // no underflow to zero.
    let scaled_norm_sq: f32 = v.iter().map(|&x| (x / max_abs) * (x / max_abs)).sum();
    let inv_scaled_norm = 1.0 / scaled_norm_sq.sqrt();
    v.iter_mut()
        .for_each(|x| *x = (*x / max_abs) * inv_scaled_norm);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isa_names_round_trip() {
        for isa in Isa::ALL {
            assert_eq!(Isa::from_name(isa.name()), Some(isa));
            assert_eq!(isa.to_string(), isa.name());
        }
        assert_eq!(Isa::from_name(" AVX512 "), Some(Isa::Avx512));
        assert_eq!(Isa::from_name("sse9"), None);
    }

    #[test]
    fn forcing_a_supported_isa_picks_it() {
        for isa in Isa::ALL {
            if kernels_for(isa).is_some() {
                assert_eq!(choose(Some(isa)).isa(), isa);
            }
        }
    }

    #[test]
    fn forcing_nothing_or_an_unsupported_isa_picks_the_best() {
        let best = choose(None).isa();
        for isa in Isa::ALL {
            if kernels_for(isa).is_none() {
                assert_eq!(choose(Some(isa)).isa(), best);
            }
        }
        #[cfg(target_arch = "x86_64")]
        {
            let expected = if std::arch::is_x86_feature_detected!("avx512f") {
                Isa::Avx512
            } else if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                Isa::Avx2Fma
            } else {
                Isa::Scalar
            };
            assert_eq!(best, expected);
        }
        #[cfg(target_arch = "aarch64")]
        assert_eq!(best, Isa::Neon);
    }
}
