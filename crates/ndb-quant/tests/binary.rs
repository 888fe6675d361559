//! Binary (RaBitQ) quantization: the estimator is unbiased, its error bound covers the errors
//! it should, the corner cases are exact, and bad input is a typed error.

mod common;

use common::{clustered, exact, Rng};
use ndb_quant::PrepareQuery;
use ndb_quant::{BinaryConfig, BinaryFactors, BinaryQuantizer, BinaryQuery, Metric, QuantError};

/// Errors `estimate − exact` and bounds of every base row against every query.
fn errors(
    quantizer: &BinaryQuantizer,
    base: &[f32],
    queries: &[f32],
    metric: Metric,
) -> Vec<(f64, f64)> {
    let dim = quantizer.dim();
    let mut code = vec![0u64; quantizer.code_words()];
    let encoded: Vec<(Vec<u64>, BinaryFactors)> = base
        .chunks_exact(dim)
        .map(|v| {
            let factors = quantizer.encode(v, &mut code).unwrap();
            (code.clone(), factors)
        })
        .collect();
    let mut out = Vec::new();
    for q in queries.chunks_exact(dim) {
        let prepared = quantizer.prepare(q, metric).unwrap();
        for ((code, factors), v) in encoded.iter().zip(base.chunks_exact(dim)) {
            let estimate = prepared.estimate(code, factors).unwrap();
            out.push((
                f64::from(estimate.value) - exact(metric, q, v),
                f64::from(estimate.bound),
            ));
        }
    }
    out
}

fn mean_and_std(xs: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = xs.clone().count() as f64;
    let mean = xs.clone().sum::<f64>() / n;
    let var = xs.map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Over many random vectors (Gaussian, so the rotation's randomness and the data's are both at
/// work), the mean error is within 4 standard errors of 0, for both metrics, at padded and
/// exact multiples of 64.
#[test]
fn the_estimator_is_unbiased() {
    let mut rng = Rng::new(10);
    for (dim, seed) in [(64, 1), (100, 2), (384, 3)] {
        let base = rng.normal_vec(3000 * dim);
        let queries = rng.normal_vec(4 * dim);
        let config = BinaryConfig {
            seed,
            ..BinaryConfig::default()
        };
        let quantizer = BinaryQuantizer::fit(&base, dim, config).unwrap();
        for metric in [Metric::Dot, Metric::L2Squared] {
            let errs = errors(&quantizer, &base, &queries, metric);
            let (mean, std) = mean_and_std(errs.iter().map(|e| e.0));
            let standard_error = std / (errs.len() as f64).sqrt();
            assert!(
                mean.abs() < 4.0 * standard_error,
                "dim {dim} {metric:?}: mean error {mean}, standard error {standard_error}"
            );
        }
    }
}

/// The error bound (ε = 1.9) covers most errors, as RaBitQ's analysis says: RaBitQ's own term
/// alone is about 2.2 standard deviations of the rotation's error, and the query's rounding
/// term adds to it, so 98-99% fall inside (printed with `--nocapture`). Nor is it loose: the
/// errors' standard deviation is a sizeable fraction of it.
#[test]
fn the_error_bound_covers_most_errors() {
    let mut rng = Rng::new(11);
    for dim in [128, 200, 768] {
        let base = clustered(&mut rng, 1500, dim, 10, 0.5);
        let queries = clustered(&mut rng, 4, dim, 10, 0.5);
        let quantizer = BinaryQuantizer::fit(&base, dim, BinaryConfig::default()).unwrap();
        for metric in [Metric::Dot, Metric::L2Squared] {
            let errs = errors(&quantizer, &base, &queries, metric);
            let inside =
                errs.iter().filter(|(e, b)| e.abs() <= *b).count() as f64 / errs.len() as f64;
            let (_, std) = mean_and_std(errs.iter().map(|e| e.0));
            let (mean_bound, _) = mean_and_std(errs.iter().map(|e| e.1));
            println!(
                "dim {dim} {metric:?}: {:.1}% inside the bound; error std {std:.3}, mean bound {mean_bound:.3}",
                100.0 * inside
            );
            assert!(
                inside > 0.9,
                "dim {dim} {metric:?}: {inside} inside the bound"
            );
            assert!(
                std > 0.25 * mean_bound,
                "dim {dim} {metric:?}: std {std}, mean bound {mean_bound}"
            );
        }
    }
}

/// Relative error shrinks with the dimension like 1/√D.
#[test]
fn the_error_shrinks_with_the_dimension() {
    let mut rng = Rng::new(12);
    let mut relative = Vec::new();
    for dim in [64, 256, 1024] {
        let base = rng.normal_vec(500 * dim);
        let queries = rng.normal_vec(2 * dim);
        let quantizer = BinaryQuantizer::fit(&base, dim, BinaryConfig::default()).unwrap();
        let errs = errors(&quantizer, &base, &queries, Metric::L2Squared);
        let (_, std) = mean_and_std(errs.iter().map(|e| e.0));
        // ‖q − v‖² ≈ 2·dim for standard normal data.
        relative.push(std / (2.0 * dim as f64));
    }
    assert!(
        relative[1] < 0.65 * relative[0] && relative[2] < 0.65 * relative[1],
        "{relative:?}"
    );
}

/// A vector equal to the centroid has zero factors, and its estimate is exact.
#[test]
fn the_centroid_is_estimated_exactly() {
    let sample = [1.0, 2.0, 3.0, 3.0, 2.0, 1.0];
    let one = BinaryConfig {
        centroids: 1,
        ..BinaryConfig::default()
    };
    let quantizer = BinaryQuantizer::fit(&sample, 3, one).unwrap();
    assert_eq!(quantizer.centroids(), &[2.0, 2.0, 2.0]);
    let mut code = [0u64; 1];
    let factors = quantizer.encode(&[2.0, 2.0, 2.0], &mut code).unwrap();
    assert_eq!(factors, BinaryFactors::default());
    let q = [0.0, 1.0, 5.0];
    let l2 = quantizer
        .prepare(&q, Metric::L2Squared)
        .unwrap()
        .estimate(&code, &factors)
        .unwrap();
    assert!((l2.value - 14.0).abs() < 1e-4 && l2.bound == 0.0, "{l2:?}");
    let dot = quantizer
        .prepare(&q, Metric::Dot)
        .unwrap()
        .estimate(&code, &factors)
        .unwrap();
    assert!(
        (dot.value - 12.0).abs() < 1e-4 && dot.bound == 0.0,
        "{dot:?}"
    );
}

#[test]
fn codes_have_the_padded_length_and_factors_round_trip() {
    let mut rng = Rng::new(13);
    for (dim, words) in [(1, 1), (50, 1), (64, 1), (65, 2), (784, 13)] {
        let base = rng.normal_vec(10 * dim);
        let quantizer = BinaryQuantizer::fit(&base, dim, BinaryConfig::default()).unwrap();
        assert_eq!(quantizer.code_words(), words);
        assert_eq!(quantizer.padded_dim(), 64 * words);
        let mut code = vec![0u64; words];
        let factors = quantizer.encode(&base[..dim], &mut code).unwrap();
        assert_eq!(BinaryFactors::from_le_bytes(factors.to_le_bytes()), factors);
        let prepared = quantizer
            .prepare(&base[dim..2 * dim], Metric::L2Squared)
            .unwrap();
        assert_eq!(prepared.planes(factors.centroid).len(), 4 * words);
    }
}

#[test]
fn prepare_into_reuses_its_buffers() {
    let mut rng = Rng::new(14);
    let base = rng.normal_vec(20 * 300);
    let quantizer = BinaryQuantizer::fit(&base, 300, BinaryConfig::default()).unwrap();
    let mut prepared = BinaryQuery::default();
    quantizer
        .prepare_into(&base[..300], Metric::Dot, &mut prepared)
        .unwrap();
    quantizer
        .prepare_into(&base[300..600], Metric::L2Squared, &mut prepared)
        .unwrap();
    let planes = prepared.planes(0).as_ptr();
    quantizer
        .prepare_into(&base[600..900], Metric::L2Squared, &mut prepared)
        .unwrap();
    assert_eq!(prepared.planes(0).as_ptr(), planes);
    let fresh = quantizer
        .prepare(&base[600..900], Metric::L2Squared)
        .unwrap();
    for centroid in 0..quantizer.config().centroids as u32 {
        assert_eq!(prepared.planes(centroid), fresh.planes(centroid));
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let config = BinaryConfig::default();
    assert_eq!(
        BinaryQuantizer::fit(&[], 3, config),
        Err(QuantError::EmptySample)
    );
    assert_eq!(
        BinaryQuantizer::fit(&[1.0], 0, config),
        Err(QuantError::InvalidDimension(0))
    );
    assert!(BinaryQuantizer::fit(&[1.0; 5], 2, config).is_err());
    assert!(BinaryQuantizer::fit(&[1.0, f32::NAN], 2, config).is_err());
    for epsilon in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let bad = BinaryConfig { epsilon, ..config };
        assert!(matches!(
            BinaryQuantizer::fit(&[1.0; 4], 2, bad),
            Err(QuantError::InvalidConfig(_))
        ));
    }
    let quantizer = BinaryQuantizer::fit(&[1.0, 2.0, 3.0, 4.0], 2, config).unwrap();
    assert!(quantizer.encode(&[1.0], &mut [0u64; 1]).is_err());
    assert!(quantizer.encode(&[1.0, 2.0], &mut [0u64; 2]).is_err());
    assert!(quantizer
        .encode(&[1.0, f32::NEG_INFINITY], &mut [0u64; 1])
        .is_err());
    assert!(quantizer.prepare(&[1.0], Metric::Dot).is_err());
    let prepared = quantizer.prepare(&[1.0, 2.0], Metric::Dot).unwrap();
    assert!(prepared
        .estimate(&[0u64; 2], &BinaryFactors::default())
        .is_err());
}

#[test]
fn parameters_round_trip_through_bytes() {
    let mut rng = Rng::new(15);
    for dim in [1, 50, 784] {
        let config = BinaryConfig {
            seed: 99,
            epsilon: 2.5,
            centroids: 3,
        };
        let quantizer = BinaryQuantizer::fit(&rng.normal_vec(30 * dim), dim, config).unwrap();
        let bytes = quantizer.to_bytes();
        assert_eq!(bytes.len(), 32 + 4 * 3 * dim);
        assert_eq!(&bytes[..5], b"NQB1\x01");
        let decoded = BinaryQuantizer::from_bytes(&bytes).unwrap();
        assert_eq!(decoded, quantizer);
        // Same rotation and dither: identical codes and prepared queries.
        let v = rng.normal_vec(dim);
        let (mut a, mut b) = (
            vec![0u64; quantizer.code_words()],
            vec![0u64; quantizer.code_words()],
        );
        assert_eq!(
            quantizer.encode(&v, &mut a).unwrap(),
            decoded.encode(&v, &mut b).unwrap()
        );
        assert_eq!(a, b);
        let (pa, pb) = (
            quantizer.prepare(&v, Metric::Dot).unwrap(),
            decoded.prepare(&v, Metric::Dot).unwrap(),
        );
        for centroid in 0..3 {
            assert_eq!(pa.planes(centroid), pb.planes(centroid));
        }
    }
}
