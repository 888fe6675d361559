//! The quantized kernels (`dot_u8_i8`, `hamming`, `dot_bit_planes`): every ISA this CPU
//! supports returns exactly what a naive 64-bit computation returns (they are integer sums, so
//! there is no tolerance), over random lengths (odd ones included), at the contract's bounds,
//! at every misalignment, and with length checks that panic.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::supported;
use ndb_kernels::{BIT_PLANES_MAX, DOT_U8_I8_QUERY_MAX};
use proptest::collection::vec;
use proptest::prelude::*;

const Q_MAX: i8 = DOT_U8_I8_QUERY_MAX;

/// `Σ c_i q_i` in `i64`: the exact value.
fn naive_dot(codes: &[u8], query: &[i8]) -> i64 {
    codes
        .iter()
        .zip(query)
        .map(|(&c, &q)| i64::from(c) * i64::from(q))
        .sum()
}

/// Bit `d` of a bit string stored as words, LSB first.
fn bit(words: &[u64], d: usize) -> u64 {
    (words[d / 64] >> (d % 64)) & 1
}

/// Hamming distance, bit by bit.
fn naive_hamming(a: &[u64], b: &[u64]) -> u64 {
    (0..a.len() * 64).map(|d| bit(a, d) ^ bit(b, d)).sum()
}

/// `Σ_d code_bit(d) · value(d)`, where `value(d) = Σ_j 2^j · bit(plane_j, d)`: the meaning of
/// `dot_bit_planes`, computed from the definition.
fn naive_bit_planes(code: &[u64], planes: &[u64]) -> u64 {
    let w = code.len();
    if w == 0 {
        return 0;
    }
    let count = planes.len() / w;
    (0..w * 64)
        .map(|d| {
            let value: u64 = (0..count)
                .map(|j| bit(&planes[j * w..(j + 1) * w], d) << j)
                .sum();
            bit(code, d) * value
        })
        .sum()
}

#[track_caller]
fn check_dot(codes: &[u8], query: &[i8]) {
    let want = naive_dot(codes, query);
    for k in supported() {
        assert_eq!(
            i64::from(k.dot_u8_i8(codes, query)),
            want,
            "{} ({:?}) dot_u8_i8, len {}",
            k.isa(),
            k.quant_isa(),
            codes.len()
        );
    }
}

#[track_caller]
fn check_bits(a: &[u64], b: &[u64], planes: &[u64]) {
    let hamming = naive_hamming(a, b);
    let planes_dot = naive_bit_planes(a, planes);
    for k in supported() {
        let what = format!("{} ({:?}), {} words", k.isa(), k.quant_isa(), a.len());
        assert_eq!(u64::from(k.hamming(a, b)), hamming, "hamming {what}");
        assert_eq!(
            u64::from(k.dot_bit_planes(a, planes)),
            planes_dot,
            "dot_bit_planes {what}, {} plane words",
            planes.len()
        );
    }
}

/// Codes and a query in the contract of the same random length in 0..=2100.
fn codes_and_query() -> impl Strategy<Value = (Vec<u8>, Vec<i8>)> {
    (0usize..=2100).prop_flat_map(|n| (vec(any::<u8>(), n), vec(-Q_MAX..=Q_MAX, n)))
}

/// Two codes of the same random length in 0..=40 words and 1..=8 planes of that length.
fn codes_and_planes() -> impl Strategy<Value = (Vec<u64>, Vec<u64>, Vec<u64>)> {
    (0usize..=40, 1usize..=BIT_PLANES_MAX).prop_flat_map(|(w, count)| {
        (
            vec(any::<u64>(), w),
            vec(any::<u64>(), w),
            vec(any::<u64>(), w * count),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn dot_u8_i8_is_exact_in_every_isa((codes, query) in codes_and_query()) {
        check_dot(&codes, &query);
    }

    #[test]
    fn popcount_kernels_are_exact_in_every_isa((a, b, planes) in codes_and_planes()) {
        check_bits(&a, &b, &planes);
    }

    /// Out of the contract (any `i8`) the value is unspecified but nothing panics or reads out
    /// of bounds; the ISAs without saturation still return the exact sum.
    #[test]
    fn dot_u8_i8_out_of_contract_does_not_panic(
        (codes, query) in (0usize..=300)
            .prop_flat_map(|n| (vec(any::<u8>(), n), vec(any::<i8>(), n)))
    ) {
        for k in supported() {
            let got = k.dot_u8_i8(&codes, &query);
            if k.quant_isa().dot_u8_i8 != "avx2" {
                prop_assert_eq!(i64::from(got), naive_dot(&codes, &query));
            }
        }
    }
}

/// Every length up to 300 (all tails of every ISA's blocks) and the common embedding sizes.
#[test]
fn dot_u8_i8_at_every_small_length_and_common_dims() {
    let mut rng = common::Rng::new(20);
    let lengths = (0..=300).chain([383, 384, 385, 767, 768, 769, 1536, 4099]);
    for n in lengths {
        let codes: Vec<u8> = (0..n).map(|_| rng.unit().to_bits() as u8).collect();
        let query: Vec<i8> = (0..n)
            .map(|_| ((rng.unit() * 64.5) as i8).clamp(-Q_MAX, Q_MAX))
            .collect();
        check_dot(&codes, &query);
    }
}

/// The worst case for `vpmaddubsw`'s saturation: every code 255 and every query value at
/// `±DOT_U8_I8_QUERY_MAX`, in equal and in mixed signs, at odd and even lengths.
#[test]
fn dot_u8_i8_is_exact_at_the_contract_bounds() {
    for n in [1, 2, 31, 32, 33, 63, 64, 65, 255, 256, 257, 768, 1001] {
        let codes = vec![255u8; n];
        for query in [
            vec![Q_MAX; n],
            vec![-Q_MAX; n],
            (0..n)
                .map(|i| if i % 2 == 0 { Q_MAX } else { -Q_MAX })
                .collect(),
            (0..n)
                .map(|i| if i % 3 == 0 { -Q_MAX } else { Q_MAX })
                .collect(),
        ] {
            check_dot(&codes, &query);
        }
        check_dot(&vec![0u8; n], &vec![-Q_MAX; n]);
    }
}

/// The bound is tight: one step past it, AVX2's pair sums saturate (`255·65·2 > 32,767`), so
/// the contract could not be wider.
#[test]
fn one_past_the_bound_saturates_on_avx2() {
    let codes = [255u8; 32];
    let query = [Q_MAX + 1; 32];
    for k in supported() {
        if k.quant_isa().dot_u8_i8 == "avx2" {
            assert!(i64::from(k.dot_u8_i8(&codes, &query)) < naive_dot(&codes, &query));
        }
    }
}

#[test]
fn popcount_kernels_at_every_small_length_and_extreme_words() {
    let mut rng = common::Rng::new(21);
    for w in 0..=70usize {
        let random = |rng: &mut common::Rng, n: usize| -> Vec<u64> {
            (0..n)
                .map(|_| u64::from(rng.unit().to_bits()) << 32 | u64::from(rng.unit().to_bits()))
                .collect()
        };
        let a = random(&mut rng, w);
        let b = random(&mut rng, w);
        for count in 1..=BIT_PLANES_MAX {
            let planes = random(&mut rng, w * count);
            check_bits(&a, &b, &planes);
        }
        let ones = vec![u64::MAX; w];
        let zeros = vec![0u64; w];
        check_bits(&ones, &zeros, &vec![u64::MAX; w * BIT_PLANES_MAX]);
        check_bits(&ones, &ones, &vec![u64::MAX; w * 4]);
        check_bits(&zeros, &ones, &vec![u64::MAX; w]);
    }
}

/// Slices starting 1..=63 bytes (1..=15 words) into their buffers, operands misaligned
/// differently.
#[test]
fn unaligned_inputs_are_exact() {
    let mut rng = common::Rng::new(22);
    let codes: Vec<u8> = (0..1200).map(|_| rng.unit().to_bits() as u8).collect();
    let query: Vec<i8> = (0..1200)
        .map(|_| ((rng.unit() * 64.0) as i8).clamp(-Q_MAX, Q_MAX))
        .collect();
    let words: Vec<u64> = (0..200)
        .map(|_| u64::from(rng.unit().to_bits()) << 17 ^ u64::from(rng.unit().to_bits()))
        .collect();
    for offset in 1..=63 {
        let other = (offset * 7) % 64;
        for n in [1, 33, 95, 768, 1025] {
            check_dot(&codes[offset..offset + n], &query[other..other + n]);
        }
    }
    for offset in 1..=15 {
        let other = (offset * 5) % 16;
        for w in [1, 3, 12, 13, 25] {
            check_bits(
                &words[offset..offset + w],
                &words[other + 20..other + 20 + w],
                &words[other + 40..other + 40 + 4 * w],
            );
        }
    }
}

#[test]
fn free_functions_use_the_active_table() {
    let active = ndb_kernels::active();
    let codes: Vec<u8> = (0..777u32).map(|i| (i * 37 % 256) as u8).collect();
    let query: Vec<i8> = (0..777i32).map(|i| (i * 11 % 129 - 64) as i8).collect();
    assert_eq!(
        ndb_kernels::dot_u8_i8(&codes, &query),
        active.dot_u8_i8(&codes, &query)
    );
    let a: Vec<u64> = (0..13u64)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect();
    let b: Vec<u64> = a.iter().map(|x| x.rotate_left(7)).collect();
    let planes: Vec<u64> = a.iter().chain(&b).chain(&a).chain(&b).copied().collect();
    assert_eq!(ndb_kernels::hamming(&a, &b), active.hamming(&a, &b));
    assert_eq!(
        ndb_kernels::dot_bit_planes(&a, &planes),
        active.dot_bit_planes(&a, &planes)
    );
}

/// Runs `f` and reports whether it panicked.
fn panics<R>(f: impl FnOnce() -> R) -> bool {
    catch_unwind(AssertUnwindSafe(f)).is_err()
}

#[test]
fn mismatched_lengths_and_plane_counts_panic() {
    let words = [7u64; 10];
    for k in supported() {
        let isa = k.isa();
        assert!(panics(|| k.dot_u8_i8(&[1; 5], &[1; 4])), "{isa} dot_u8_i8");
        assert!(
            panics(|| k.hamming(&words[..3], &words[..4])),
            "{isa} hamming"
        );
        // Not a whole number of planes, no plane, too many planes, planes for no code.
        assert!(
            panics(|| k.dot_bit_planes(&words[..3], &words[..7])),
            "{isa}"
        );
        assert!(panics(|| k.dot_bit_planes(&words[..3], &[])), "{isa}");
        assert!(
            panics(|| k.dot_bit_planes(&words[..1], &[0; BIT_PLANES_MAX + 1])),
            "{isa}"
        );
        assert!(panics(|| k.dot_bit_planes(&[], &words[..2])), "{isa}");
        // Empty inputs are valid.
        assert_eq!(k.dot_u8_i8(&[], &[]), 0);
        assert_eq!(k.hamming(&[], &[]), 0);
        assert_eq!(k.dot_bit_planes(&[], &[]), 0);
    }
}

#[test]
fn the_best_quant_implementations_are_used_where_the_cpu_has_them() {
    for k in supported() {
        let quant = k.quant_isa();
        match k.isa().name() {
            "scalar" => assert_eq!((quant.dot_u8_i8, quant.popcount), ("scalar", "scalar")),
            "avx2" => assert_eq!((quant.dot_u8_i8, quant.popcount), ("avx2", "popcnt")),
            #[cfg(target_arch = "x86_64")]
            "avx512" => {
                let vnni = std::arch::is_x86_feature_detected!("avx512vnni")
                    && std::arch::is_x86_feature_detected!("avx512bw");
                let vpopcnt = std::arch::is_x86_feature_detected!("avx512vpopcntdq");
                assert_eq!(quant.dot_u8_i8 == "avx512vnni", vnni);
                assert_eq!(quant.popcount == "avx512vpopcntdq", vpopcnt);
            }
            #[cfg(target_arch = "aarch64")]
            "neon" => {
                let dotprod = std::arch::is_aarch64_feature_detected!("dotprod");
                assert_eq!(quant.dot_u8_i8 == "neon-dotprod", dotprod);
                assert_eq!(quant.popcount, "neon");
            }
            _ => {}
        }
    }
}
