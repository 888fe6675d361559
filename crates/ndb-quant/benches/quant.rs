//! What a quantized search pays per query and per candidate, at 384 and 768 dimensions:
//! preparing a query (`prepare_into`, buffers reused) and one estimate (`estimate`), for int8
//! and for binary codes with 1 and 16 centroids, beside the `f32` dot product they replace.
//!
//! `cargo bench -p ndb-quant -- --warm-up-time 1 --measurement-time 2` for a quick run.

use ndb_quant::PrepareQuery;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ndb_quant::{
    BinaryConfig, BinaryQuantizer, BinaryQuery, Int8Config, Int8Quantizer, Int8Query, Metric,
};
use ndb_rand::SplitMix;

/// `n` deterministic values, roughly standard normal (sum of four uniforms, centred).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix::new(seed);
    (0..n)
        .map(|_| (0..4).map(|_| rng.next_unit()).sum::<f32>() - 2.0)
        .collect()
}

fn quantized(c: &mut Criterion) {
    for dim in [384usize, 768] {
        let sample = values(2000 * dim, 1);
        let query = values(dim, 2);
        let vector = values(dim, 3);
        let mut group = c.benchmark_group(format!("quantizer/{dim}"));
        group.bench_function("dot_f32", |b| {
            b.iter(|| ndb_kernels::dot(black_box(&query), black_box(&vector)))
        });

        let int8 = Int8Quantizer::fit(&sample, dim, Int8Config::default()).expect("fit");
        let mut codes = vec![0u8; dim];
        let correction = int8.encode(&vector, &mut codes).expect("encode");
        let mut prepared = Int8Query::default();
        group.bench_function("int8/prepare", |b| {
            b.iter(|| int8.prepare_into(black_box(&query), Metric::L2Squared, &mut prepared))
        });
        group.bench_function("int8/estimate", |b| {
            b.iter(|| prepared.estimate(black_box(&codes), black_box(correction)))
        });

        for centroids in [1usize, 16] {
            let config = BinaryConfig {
                centroids,
                ..BinaryConfig::default()
            };
            let binary = BinaryQuantizer::fit(&sample, dim, config).expect("fit");
            let mut code = vec![0u64; binary.code_words()];
            let factors = binary.encode(&vector, &mut code).expect("encode");
            let mut prepared = BinaryQuery::default();
            let name = format!("binary-{centroids}c");
            group.bench_function(BenchmarkId::new(&name, "prepare"), |b| {
                b.iter(|| binary.prepare_into(black_box(&query), Metric::L2Squared, &mut prepared))
            });
            group.bench_function(BenchmarkId::new(&name, "estimate"), |b| {
                b.iter(|| prepared.estimate(black_box(&code), black_box(&factors)))
            });
            group.bench_function(BenchmarkId::new(&name, "encode"), |b| {
                b.iter(|| binary.encode(black_box(&vector), &mut code))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, quantized);
criterion_main!(benches);
