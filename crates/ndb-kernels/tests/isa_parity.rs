//! Every SIMD kernel this CPU supports agrees with the scalar reference within
//! `common::tolerance` (see there for why the results may differ at all): random dimensions
//! 1..=2048, fixed dimensions around the lane boundaries, values in [-1, 1] and of wide
//! magnitude, and inputs at every misalignment.

mod common;

use common::{assert_batch_kernels_match, assert_pair_kernels_match, scalar, supported, Rng};
use proptest::collection::vec;
use proptest::prelude::*;

/// How the values of one generated case are drawn.
#[derive(Clone, Copy, Debug)]
enum Magnitude {
    /// Uniform in [-1, 1].
    Unit,
    /// Uniform in [-s, s].
    Scaled(f32),
    /// Each element `m * 10^e`, `m` in [-1, 1], `e` in -6..=6.
    Wide,
}

fn magnitude() -> impl Strategy<Value = Magnitude> {
    prop_oneof![
        4 => Just(Magnitude::Unit),
        1 => prop_oneof![Just(1e-3f32), Just(1e3), Just(1e6)].prop_map(Magnitude::Scaled),
        1 => Just(Magnitude::Wide),
    ]
}

fn values(len: usize, magnitude: Magnitude) -> BoxedStrategy<Vec<f32>> {
    match magnitude {
        Magnitude::Unit => vec(-1.0f32..=1.0, len).boxed(),
        Magnitude::Scaled(s) => vec(-s..=s, len).boxed(),
        Magnitude::Wide => vec(
            (-1.0f32..=1.0, -6i32..=6).prop_map(|(m, e)| m * 10f32.powi(e)),
            len,
        )
        .boxed(),
    }
}

/// Two vectors of the same random dimension in 1..=2048.
fn vector_pair() -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
    (1usize..=2048, magnitude(), magnitude())
        .prop_flat_map(|(dim, ma, mb)| (values(dim, ma), values(dim, mb)))
}

/// A query and 0..=9 rows of the same random dimension in 1..=2048 (9 rows: two full groups
/// of four and a leftover row in the wide batch kernels).
fn query_and_rows() -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
    (1usize..=2048, 0usize..=9, magnitude(), magnitude())
        .prop_flat_map(|(dim, n_rows, mq, mr)| (values(dim, mq), values(dim * n_rows, mr)))
}

/// A query and 0..=40 rows of the same random dimension in 1..=300, the narrow kernels' range
/// and past it (40 rows: two full groups of 16, or five of 8, and leftover rows).
fn query_and_many_narrow_rows() -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
    (1usize..=300, 0usize..=40, magnitude(), magnitude())
        .prop_flat_map(|(dim, n_rows, mq, mr)| (values(dim, mq), values(dim * n_rows, mr)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn pair_kernels_match_scalar((a, b) in vector_pair()) {
        for k in supported() {
            assert_pair_kernels_match(k, scalar(), &a, &b);
        }
    }

    #[test]
    fn batch_kernels_match_scalar((query, rows) in query_and_rows()) {
        for k in supported() {
            assert_batch_kernels_match(k, scalar(), &query, &rows);
        }
    }

    #[test]
    fn narrow_batch_kernels_match_scalar((query, rows) in query_and_many_narrow_rows()) {
        for k in supported() {
            assert_batch_kernels_match(k, scalar(), &query, &rows);
        }
    }
}

#[test]
fn pair_kernels_match_scalar_at_fixed_dims() {
    let mut rng = Rng::new(1);
    for dim in common::FIXED_DIMS {
        let cases = [
            (rng.unit_vec(dim), rng.unit_vec(dim)),
            (rng.wide_vec(dim), rng.wide_vec(dim)),
            (rng.unit_vec(dim), rng.wide_vec(dim)),
        ];
        for (a, b) in &cases {
            for k in supported() {
                assert_pair_kernels_match(k, scalar(), a, b);
            }
        }
    }
}

#[test]
fn batch_kernels_match_scalar_at_fixed_dims() {
    let mut rng = Rng::new(2);
    for dim in common::FIXED_DIMS {
        for n_rows in [1, 4, 7, 8, 16, 17, 33] {
            let query = rng.unit_vec(dim);
            for rows in [rng.unit_vec(dim * n_rows), rng.wide_vec(dim * n_rows)] {
                for k in supported() {
                    assert_batch_kernels_match(k, scalar(), &query, &rows);
                }
            }
        }
    }
}

/// Slices starting 1..=15 floats into their buffers (every misalignment relative to 16, 32
/// and 64 bytes), with the two operands misaligned differently.
#[test]
fn unaligned_inputs_match_scalar() {
    let mut rng = Rng::new(3);
    for dim in [1, 7, 15, 17, 33, 383, 768, 1537] {
        let n_rows = 5;
        let buf_a = rng.unit_vec(dim * n_rows + 16);
        let buf_b = rng.unit_vec(dim * n_rows + 16);
        for offset in 1..=15 {
            let other = (offset * 7) % 16;
            let a = &buf_a[offset..offset + dim];
            let b = &buf_b[other..other + dim];
            let rows = &buf_b[offset..offset + dim * n_rows];
            for k in supported() {
                assert_pair_kernels_match(k, scalar(), a, b);
                assert_batch_kernels_match(k, scalar(), a, rows);
            }
        }
    }
}

/// The four-row kernels give, for every row, exactly the single-row kernel's score on that row
/// (same ISA, bit for bit): graph walks score four neighbours at once and must rank them as one
/// at a time would. Rows at unrelated addresses, every fixed dimension, repeated rows too.
#[test]
fn four_row_kernels_equal_the_single_row_kernels_bit_for_bit() {
    let mut rng = Rng::new(4);
    for dim in common::FIXED_DIMS
        .into_iter()
        .chain([1, 50, 255, 256, 257, 384, 784, 1536])
    {
        let query = rng.unit_vec(dim);
        let owned: Vec<Vec<f32>> = (0..4)
            .map(|i| match i % 2 {
                0 => rng.unit_vec(dim),
                _ => rng.wide_vec(dim),
            })
            .collect();
        for rows in [
            [&owned[0][..], &owned[1], &owned[2], &owned[3]],
            [&owned[2][..], &owned[2], &query, &owned[0]],
        ] {
            for k in supported() {
                let dots = k.dot_x4(&query, rows);
                let l2s = k.l2_squared_x4(&query, rows);
                for (r, row) in rows.iter().enumerate() {
                    let (dot, l2) = (k.dot(&query, row), k.l2_squared(&query, row));
                    assert_eq!(
                        dots[r].to_bits(),
                        dot.to_bits(),
                        "{} dot dim {dim} row {r}",
                        k.isa()
                    );
                    assert_eq!(
                        l2s[r].to_bits(),
                        l2.to_bits(),
                        "{} l2 dim {dim} row {r}",
                        k.isa()
                    );
                }
            }
        }
    }
}

#[test]
#[should_panic]
fn four_row_kernels_refuse_a_row_of_another_length() {
    let k = ndb_kernels::active();
    let (q, short) = ([1.0f32; 8], [1.0f32; 7]);
    k.dot_x4(&q, [&q, &q, &short, &q]);
}
