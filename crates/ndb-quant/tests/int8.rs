//! Int8 quantization: estimates within a proven error bound, the corner cases of fitting and
//! encoding, and typed errors for bad input.

mod common;

use common::{exact, Rng};
use ndb_quant::PrepareQuery;
use ndb_quant::{Int8Config, Int8Quantizer, Int8Query, Metric, QuantError};

const ALL_OF_IT: Int8Config = Int8Config {
    lower_quantile: 0.0,
    upper_quantile: 1.0,
};

/// `n` rows of `dim` values, dimension `i` uniform in `[-(i % 7) - 1, i % 5 + 1)`.
fn data(rng: &mut Rng, n: usize, dim: usize) -> Vec<f32> {
    (0..n * dim)
        .map(|j| {
            let i = (j % dim) as f32;
            rng.uniform(-(i % 7.0) - 1.0, i % 5.0 + 1.0)
        })
        .collect()
}

/// Without clipping (quantiles 0 and 1 on the encoded data itself), the dot estimate errs by
/// at most `Σ |qᵢ|·stepᵢ/2` (codes' rounding) `+ (s/2)·Σ cᵢ` (the query's rounding, `s` its
/// scale), and the L2 estimate by twice that; both bounds follow from the module's formulas.
#[test]
fn estimates_are_within_the_rounding_bound() {
    let mut rng = Rng::new(1);
    for dim in [1, 7, 64, 100, 385] {
        let base = data(&mut rng, 200, dim);
        let quantizer = Int8Quantizer::fit(&base, dim, ALL_OF_IT).unwrap();
        let mut step = vec![0.0; dim];
        let (zeros, ones) = (vec![0u8; dim], vec![1u8; dim]);
        let (mut low, mut high) = (vec![0.0; dim], vec![0.0; dim]);
        quantizer.decode(&zeros, &mut low).unwrap();
        quantizer.decode(&ones, &mut high).unwrap();
        step.iter_mut()
            .zip(low.iter().zip(&high))
            .for_each(|(s, (l, h))| *s = h - l);
        let mut codes = vec![0u8; dim];
        for q in data(&mut rng, 5, dim).chunks_exact(dim) {
            let weighted_max = q
                .iter()
                .zip(&step)
                .map(|(a, b)| (a * b).abs())
                .fold(0.0, f32::max);
            let s = f64::from(weighted_max) / 64.0;
            let code_rounding: f64 = q
                .iter()
                .zip(&step)
                .map(|(a, b)| f64::from((a * b).abs()) / 2.0)
                .sum();
            for metric in [Metric::Dot, Metric::L2Squared] {
                let prepared = quantizer.prepare(q, metric).unwrap();
                assert!(prepared.codes().iter().all(|c| c.abs() <= 64));
                for v in base.chunks_exact(dim) {
                    let correction = quantizer.encode(v, &mut codes).unwrap();
                    let code_sum: f64 = codes.iter().map(|&c| f64::from(c)).sum();
                    let mut bound = code_rounding + s / 2.0 * code_sum;
                    if metric == Metric::L2Squared {
                        bound *= 2.0;
                    }
                    let got = f64::from(prepared.estimate(&codes, correction).unwrap());
                    let want = exact(metric, q, v);
                    // Plus f32 rounding of the sums.
                    let slack = 1e-5
                        * (want.abs() + exact(Metric::Dot, q, q) + exact(Metric::Dot, v, v))
                        + 1e-5;
                    assert!(
                        (got - want).abs() <= bound + slack,
                        "dim {dim} {metric:?}: got {got}, want {want}, bound {bound}"
                    );
                }
            }
        }
    }
}

/// Quantiles clip outliers: one huge value does not stretch its dimension's range.
#[test]
fn quantiles_clip_outliers() {
    let mut rng = Rng::new(2);
    let dim = 4;
    let mut sample = data(&mut rng, 2000, dim);
    sample[0] = 1e6;
    let quantizer = Int8Quantizer::fit(&sample, dim, Int8Config::default()).unwrap();
    let mut high = vec![0.0; dim];
    quantizer.decode(&[255; 4], &mut high).unwrap();
    assert!(high[0] < 2.0, "{high:?}");
    // The outlier itself encodes to the top code.
    let mut codes = [0u8; 4];
    quantizer.encode(&sample[..4], &mut codes).unwrap();
    assert_eq!(codes[0], 255);
}

#[test]
fn constant_dimensions_and_single_rows_encode_exactly() {
    let quantizer = Int8Quantizer::fit(&[3.0, -1.0, 0.5], 3, Int8Config::default()).unwrap();
    let mut codes = [9u8; 3];
    let correction = quantizer.encode(&[3.0, -1.0, 0.5], &mut codes).unwrap();
    assert_eq!(codes, [0, 0, 0]);
    assert_eq!(correction, 9.0 + 1.0 + 0.25);
    let q = [1.0, 2.0, -2.0];
    let dot = quantizer.prepare(&q, Metric::Dot).unwrap();
    assert_eq!(dot.estimate(&codes, correction).unwrap(), 3.0 - 2.0 - 1.0);
    let l2 = quantizer.prepare(&q, Metric::L2Squared).unwrap();
    assert_eq!(l2.estimate(&codes, correction).unwrap(), 4.0 + 9.0 + 6.25);
}

#[test]
fn prepare_into_reuses_its_buffer() {
    let mut rng = Rng::new(3);
    let base = data(&mut rng, 50, 96);
    let quantizer = Int8Quantizer::fit(&base, 96, Int8Config::default()).unwrap();
    let mut prepared = Int8Query::default();
    quantizer
        .prepare_into(&base[..96], Metric::Dot, &mut prepared)
        .unwrap();
    let buffer = prepared.codes().as_ptr();
    quantizer
        .prepare_into(&base[96..192], Metric::L2Squared, &mut prepared)
        .unwrap();
    assert_eq!(prepared.codes().as_ptr(), buffer);
    assert_eq!(
        prepared,
        quantizer
            .prepare(&base[96..192], Metric::L2Squared)
            .unwrap()
    );
}

#[test]
fn bad_input_is_a_typed_error() {
    let config = Int8Config::default();
    assert_eq!(
        Int8Quantizer::fit(&[], 3, config),
        Err(QuantError::EmptySample)
    );
    assert_eq!(
        Int8Quantizer::fit(&[1.0], 0, config),
        Err(QuantError::InvalidDimension(0))
    );
    assert!(matches!(
        Int8Quantizer::fit(&[1.0; 5], 2, config),
        Err(QuantError::LengthMismatch { .. })
    ));
    assert!(matches!(
        Int8Quantizer::fit(&[1.0, f32::NAN], 2, config),
        Err(QuantError::NonFinite(_))
    ));
    for (lower_quantile, upper_quantile) in [(0.6, 0.4), (-0.1, 0.9), (0.1, 1.5), (f32::NAN, 0.5)] {
        let bad = Int8Config {
            lower_quantile,
            upper_quantile,
        };
        assert!(matches!(
            Int8Quantizer::fit(&[1.0; 4], 2, bad),
            Err(QuantError::InvalidConfig(_))
        ));
    }
    let quantizer = Int8Quantizer::fit(&[1.0, 2.0, 3.0, 4.0], 2, config).unwrap();
    let mut codes = [0u8; 2];
    assert!(quantizer.encode(&[1.0], &mut codes).is_err());
    assert!(quantizer.encode(&[1.0, 2.0], &mut [0u8; 3]).is_err());
    assert!(quantizer.encode(&[1.0, f32::INFINITY], &mut codes).is_err());
    assert!(quantizer.prepare(&[1.0, 2.0, 3.0], Metric::Dot).is_err());
    assert!(quantizer.prepare(&[f32::NAN, 2.0], Metric::Dot).is_err());
    let prepared = quantizer.prepare(&[1.0, 2.0], Metric::Dot).unwrap();
    assert!(prepared.estimate(&[0u8; 3], 0.0).is_err());
    assert!(quantizer.decode(&[0u8; 1], &mut [0.0; 2]).is_err());
}

/// Extreme but finite values neither panic nor produce NaN codes.
#[test]
fn extreme_values_do_not_panic() {
    let sample = [f32::MAX, -f32::MAX, f32::MIN_POSITIVE, 0.0];
    let quantizer = Int8Quantizer::fit(&sample, 2, ALL_OF_IT).unwrap();
    let mut codes = [0u8; 2];
    quantizer
        .encode(&[f32::MAX, -f32::MAX], &mut codes)
        .unwrap();
    quantizer
        .encode(&[-f32::MAX, f32::MAX], &mut codes)
        .unwrap();
    let prepared = quantizer
        .prepare(&[f32::MAX, 1.0], Metric::L2Squared)
        .unwrap();
    let _ = prepared.estimate(&codes, 0.0).unwrap();
}

#[test]
fn parameters_round_trip_through_bytes() {
    let mut rng = Rng::new(4);
    for dim in [1, 50, 784] {
        let quantizer =
            Int8Quantizer::fit(&data(&mut rng, 30, dim), dim, Int8Config::default()).unwrap();
        let bytes = quantizer.to_bytes();
        assert_eq!(bytes.len(), 24 + 8 * dim);
        assert_eq!(&bytes[..5], b"NQI8\x01");
        assert_eq!(Int8Quantizer::from_bytes(&bytes).unwrap(), quantizer);
    }
}
