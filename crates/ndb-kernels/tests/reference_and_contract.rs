//! The kernels' contract apart from ISA parity: every ISA (scalar included) against exact f64
//! math, batch scores bit-identical to single-row scores, `normalize`, empty inputs, length
//! checks, and the dispatcher's pick.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{assert_close, exact, supported, Rng, Sum, FIXED_DIMS};
use ndb_kernels::{kernels_for, Isa};

#[test]
fn every_isa_matches_f64_math() {
    let mut rng = Rng::new(10);
    for dim in FIXED_DIMS {
        for (a, b) in [
            (rng.unit_vec(dim), rng.unit_vec(dim)),
            (rng.wide_vec(dim), rng.wide_vec(dim)),
        ] {
            for k in supported() {
                let isa = k.isa();
                let (dot, dot_abs) = exact(Sum::Dot, &a, &b);
                assert_close(
                    k.dot(&a, &b),
                    dot,
                    dot_abs,
                    &format!("{isa} dot, dim {dim}"),
                );
                let (l2, l2_abs) = exact(Sum::L2, &a, &b);
                assert_close(
                    k.l2_squared(&a, &b),
                    l2,
                    l2_abs,
                    &format!("{isa} l2, dim {dim}"),
                );
                let (norm, norm_abs) = exact(Sum::Dot, &a, &a);
                assert_close(
                    k.norm_squared(&a),
                    norm,
                    norm_abs,
                    &format!("{isa} norm, dim {dim}"),
                );
            }
        }
    }
}

#[test]
fn small_cases_are_exact() {
    let a = [1.0, 2.0, 3.0];
    let b = [4.0, -5.0, 6.0];
    for k in supported() {
        assert_eq!(k.dot(&a, &b), 12.0, "{}", k.isa());
        assert_eq!(k.l2_squared(&a, &b), 9.0 + 49.0 + 9.0, "{}", k.isa());
        assert_eq!(k.norm_squared(&a), 14.0, "{}", k.isa());
        let mut out = [0.0; 2];
        k.dot_batch(&a, &[a, b].concat(), &mut out);
        assert_eq!(out, [14.0, 12.0], "{}", k.isa());
        k.l2_squared_batch(&a, &[a, b].concat(), &mut out);
        assert_eq!(out, [0.0, 67.0], "{}", k.isa());
    }
}

/// A batch kernel computes each row exactly as the single-row kernel of the same ISA does, so a
/// vector's score never depends on which path scored it.
#[test]
fn batch_scores_are_bit_identical_to_single_row_scores() {
    let mut rng = Rng::new(11);
    for dim in FIXED_DIMS {
        for n_rows in (0..=9).chain([15, 16, 17, 31, 32, 33]) {
            let query = rng.unit_vec(dim);
            let rows = rng.wide_vec(dim * n_rows);
            for k in supported() {
                let mut dots = vec![f32::NAN; n_rows];
                let mut l2s = vec![f32::NAN; n_rows];
                k.dot_batch(&query, &rows, &mut dots);
                k.l2_squared_batch(&query, &rows, &mut l2s);
                for (i, row) in rows.chunks_exact(dim).enumerate() {
                    let what = format!("{} dim {dim}, row {i} of {n_rows}", k.isa());
                    assert_eq!(
                        dots[i].to_bits(),
                        k.dot(&query, row).to_bits(),
                        "dot {what}"
                    );
                    assert_eq!(
                        l2s[i].to_bits(),
                        k.l2_squared(&query, row).to_bits(),
                        "l2 {what}"
                    );
                }
            }
        }
    }
}

#[test]
fn empty_inputs_are_valid() {
    for k in supported() {
        assert_eq!(k.dot(&[], &[]), 0.0);
        assert_eq!(k.l2_squared(&[], &[]), 0.0);
        assert_eq!(k.norm_squared(&[]), 0.0);
        // No rows.
        let mut none: [f32; 0] = [];
        k.dot_batch(&[1.0, 2.0], &[], &mut none);
        k.l2_squared_batch(&[1.0, 2.0], &[], &mut none);
        // Rows of dimension zero: every score is an empty sum.
        let mut out = [f32::NAN; 3];
        k.dot_batch(&[], &[], &mut out);
        assert_eq!(out, [0.0; 3]);
        out = [f32::NAN; 3];
        k.l2_squared_batch(&[], &[], &mut out);
        assert_eq!(out, [0.0; 3]);
    }
}

/// Runs `f` and reports whether it panicked.
fn panics<R>(f: impl FnOnce() -> R) -> bool {
    catch_unwind(AssertUnwindSafe(f)).is_err()
}

#[test]
fn mismatched_lengths_panic() {
    let a = [1.0; 17];
    let b = [1.0; 16];
    for k in supported() {
        let isa = k.isa();
        assert!(panics(|| k.dot(&a, &b)), "{isa} dot");
        assert!(panics(|| k.l2_squared(&b, &a)), "{isa} l2_squared");
        let mut out = [0.0; 2];
        assert!(panics(|| k.dot_batch(&b, &a, &mut out)), "{isa} dot_batch");
        assert!(
            panics(|| k.l2_squared_batch(&b, &[1.0; 33], &mut out)),
            "{isa} l2 batch"
        );
        assert!(
            panics(|| k.dot_batch(&[], &[1.0], &mut out)),
            "{isa} empty query"
        );
    }
}

fn norm_f64(v: &[f32]) -> f64 {
    v.iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn normalize_makes_unit_vectors_with_the_same_direction() {
    let mut rng = Rng::new(12);
    for dim in FIXED_DIMS {
        for original in [rng.unit_vec(dim), rng.wide_vec(dim)] {
            if original.iter().all(|&x| x == 0.0) {
                continue;
            }
            let mut v = original.clone();
            assert!(ndb_kernels::normalize(&mut v), "dim {dim}");
            let norm = norm_f64(&v);
            assert!((norm - 1.0).abs() < 1e-5, "dim {dim}: norm {norm}");
            let original_norm = norm_f64(&original);
            for (&x, &y) in original.iter().zip(&v) {
                let expected = f64::from(x) / original_norm;
                assert!(
                    (f64::from(y) - expected).abs() < 1e-6,
                    "dim {dim}: {y} vs {expected}"
                );
            }
        }
    }
}

#[test]
fn normalize_handles_squared_norms_outside_f32_range() {
    for original in [
        vec![3e38f32, -3e38, 1e38],
        vec![1e-40f32, 0.0, -2e-40],
        vec![1e-25f32; 5],
    ] {
        let mut v = original.clone();
        assert!(ndb_kernels::normalize(&mut v), "{original:?}");
        let norm = norm_f64(&v);
        assert!((norm - 1.0).abs() < 1e-5, "{original:?}: norm {norm}");
    }
}

#[test]
fn normalize_refuses_zero_and_non_finite_vectors_and_leaves_them_unchanged() {
    let cases: [&[f32]; 6] = [
        &[],
        &[0.0; 8],
        &[0.0, -0.0, 0.0],
        &[1.0, f32::NAN, 2.0],
        &[1.0, f32::INFINITY],
        &[f32::NEG_INFINITY, 0.0, 3.0],
    ];
    for original in cases {
        let mut v = original.to_vec();
        assert!(!ndb_kernels::normalize(&mut v), "{original:?}");
        let unchanged = v
            .iter()
            .zip(original)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(unchanged, "{original:?} became {v:?}");
    }
}

#[test]
fn dispatcher_picks_a_supported_isa_and_the_free_functions_use_it() {
    let active = ndb_kernels::active();
    assert_eq!(active.isa(), ndb_kernels::active_isa());
    assert!(kernels_for(active.isa()).is_some());
    assert!(kernels_for(Isa::Scalar).is_some());

    let mut rng = Rng::new(13);
    let query = rng.unit_vec(385);
    let rows = rng.unit_vec(385 * 6);
    let row = &rows[385..770];
    assert_eq!(ndb_kernels::dot(&query, row), active.dot(&query, row));
    assert_eq!(
        ndb_kernels::l2_squared(&query, row),
        active.l2_squared(&query, row)
    );
    assert_eq!(ndb_kernels::norm_squared(row), active.norm_squared(row));
    let mut out = [0.0; 6];
    ndb_kernels::dot_batch(&query, &rows, &mut out);
    assert_eq!(out[1], active.dot(&query, row));
    ndb_kernels::l2_squared_batch(&query, &rows, &mut out);
    assert_eq!(out[1], active.l2_squared(&query, row));
}

#[test]
fn kernels_exist_exactly_for_the_isas_of_this_architecture() {
    let available: Vec<Isa> = supported().iter().map(|k| k.isa()).collect();
    for isa in available.iter().copied() {
        assert_eq!(kernels_for(isa).map(|k| k.isa()), Some(isa));
    }
    #[cfg(target_arch = "x86_64")]
    {
        assert!(!available.contains(&Isa::Neon));
        assert_eq!(
            available.contains(&Isa::Avx512),
            std::arch::is_x86_feature_detected!("avx512f")
        );
        assert_eq!(
            available.contains(&Isa::Avx2Fma),
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        );
    }
    #[cfg(target_arch = "aarch64")]
    {
        assert!(available.contains(&Isa::Neon));
        assert!(!available.contains(&Isa::Avx2Fma) && !available.contains(&Isa::Avx512));
    }
}
