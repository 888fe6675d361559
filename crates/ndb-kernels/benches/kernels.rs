//! Scalar vs every SIMD ISA this CPU supports: `dot` and `l2_squared` at common embedding
//! sizes, and the batch kernels over 10,000 rows of 768 floats (30.7 MB, the exact-search hot
//! loop), reported in GB/s of vector data read; and the quantized kernels at the same sizes
//! beside the `f32` dot product they replace (`quant/{dim}`: `dot_f32`, `dot_u8_i8`, `hamming`
//! and `dot_bit_planes` with 4 planes, i.e. a 1-bit code against a 4-bit query).
//!
//! `cargo bench -p ndb-kernels -- --warm-up-time 1 --measurement-time 2` for a quick run.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndb_kernels::{kernels_for, Isa, Kernels};

/// Deterministic values in [-1, 1) (SplitMix64), so runs are comparable.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 40) as u32 as f32 / (1u32 << 23) as f32) - 1.0
        })
        .collect()
}

fn supported() -> Vec<Kernels> {
    Isa::ALL.into_iter().filter_map(kernels_for).collect()
}

const BYTES_PER_F32: u64 = 4;

fn pair_kernels(c: &mut Criterion) {
    for dim in [384usize, 768, 1536] {
        let a = values(dim, 1);
        let b = values(dim, 2);
        let mut group = c.benchmark_group(format!("pair/{dim}"));
        group.throughput(Throughput::BytesDecimal(2 * dim as u64 * BYTES_PER_F32));
        for k in supported() {
            group.bench_function(BenchmarkId::new("dot", k.isa()), |bench| {
                bench.iter(|| k.dot(black_box(&a), black_box(&b)))
            });
            group.bench_function(BenchmarkId::new("l2_squared", k.isa()), |bench| {
                bench.iter(|| k.l2_squared(black_box(&a), black_box(&b)))
            });
        }
        group.finish();
    }
}

fn batch_kernels(c: &mut Criterion) {
    const DIM: usize = 768;
    const ROWS: usize = 10_000;
    let query = values(DIM, 3);
    let rows = values(DIM * ROWS, 4);
    let mut out = vec![0.0f32; ROWS];
    let mut group = c.benchmark_group(format!("batch/{ROWS}x{DIM}"));
    group.throughput(Throughput::BytesDecimal(
        (ROWS * DIM) as u64 * BYTES_PER_F32,
    ));
    for k in supported() {
        group.bench_function(BenchmarkId::new("dot_batch", k.isa()), |bench| {
            bench.iter(|| k.dot_batch(black_box(&query), black_box(&rows), &mut out))
        });
        group.bench_function(BenchmarkId::new("l2_squared_batch", k.isa()), |bench| {
            bench.iter(|| k.l2_squared_batch(black_box(&query), black_box(&rows), &mut out))
        });
    }
    group.finish();
}

fn quant_kernels(c: &mut Criterion) {
    for dim in [384usize, 768, 1536] {
        let a = values(dim, 5);
        let b = values(dim, 6);
        let codes: Vec<u8> = values(dim, 7)
            .iter()
            .map(|x| (x * 127.0 + 128.0) as u8)
            .collect();
        let query: Vec<i8> = values(dim, 8).iter().map(|x| (x * 64.0) as i8).collect();
        let words = dim.div_ceil(64);
        let bits = |seed| -> Vec<u64> {
            values(2 * words, seed)
                .chunks_exact(2)
                .map(|p| u64::from(p[0].to_bits()) << 32 | u64::from(p[1].to_bits()))
                .collect()
        };
        let code = bits(9);
        let other = bits(10);
        let planes: Vec<u64> = (0..4).flat_map(|j| bits(11 + j)).collect();
        let mut group = c.benchmark_group(format!("quant/{dim}"));
        for k in supported() {
            let isa = k.isa();
            let quant = k.quant_isa();
            group.bench_function(BenchmarkId::new("dot_f32", isa), |bench| {
                bench.iter(|| k.dot(black_box(&a), black_box(&b)))
            });
            let name = format!("{isa}-{}", quant.dot_u8_i8);
            group.bench_function(BenchmarkId::new("dot_u8_i8", name), |bench| {
                bench.iter(|| k.dot_u8_i8(black_box(&codes), black_box(&query)))
            });
            let name = format!("{isa}-{}", quant.popcount);
            group.bench_function(BenchmarkId::new("hamming", &name), |bench| {
                bench.iter(|| k.hamming(black_box(&code), black_box(&other)))
            });
            group.bench_function(BenchmarkId::new("dot_bit_planes_4", &name), |bench| {
                bench.iter(|| k.dot_bit_planes(black_box(&code), black_box(&planes)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, pair_kernels, batch_kernels, quant_kernels);
criterion_main!(benches);
