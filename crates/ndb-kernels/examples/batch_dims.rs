//! The batch kernels by dimension, as exact search calls them: 100,000 rows scored in blocks
//! of 256 rows, per ISA, median of 7 passes; ns per row and GB/s of vector data read. Beside
//! them, `dot` called once per row on the first 1,000 rows (as a graph search calls it).
//!
//! `cargo run --release -p ndb-kernels --example batch_dims [ROWS] [DIMS]`
//! (default `100000 32,50,128,384,768,1536`).

use std::hint::black_box;
use std::time::Instant;

use ndb_kernels::{kernels_for, Isa};

/// Rows per call, as `scan_segment_rows` in the engine.
const BLOCK_ROWS: usize = 256;
const PASSES: usize = 7;
/// Rows of the single-pair timing (their vectors stay in the L2 cache up to 256 dimensions).
const PAIR_ROWS: usize = 1000;

/// Deterministic values in [-1, 1) (SplitMix64).
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

fn main() {
    let mut argv = std::env::args().skip(1);
    let rows: usize = argv.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let dims: Vec<usize> = argv
        .next()
        .map(|s| s.split(',').filter_map(|d| d.parse().ok()).collect())
        .unwrap_or_else(|| vec![32, 50, 128, 384, 768, 1536]);
    println!("| dim | isa | dot ns/row | dot GB/s | l2 ns/row | l2 GB/s | pair dot ns |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for dim in dims {
        let query = values(dim, 3);
        let data = values(dim * rows, 4);
        let mut out = vec![0.0f32; BLOCK_ROWS];
        for isa in Isa::ALL {
            let Some(k) = kernels_for(isa) else { continue };
            let mut time = |l2: bool| {
                let mut ns = Vec::with_capacity(PASSES);
                for _ in 0..PASSES {
                    let t = Instant::now();
                    for block in data.chunks(BLOCK_ROWS * dim) {
                        let out = &mut out[..block.len() / dim];
                        if l2 {
                            k.l2_squared_batch(black_box(&query), black_box(block), out);
                        } else {
                            k.dot_batch(black_box(&query), black_box(block), out);
                        }
                        black_box(&out);
                    }
                    ns.push(t.elapsed().as_nanos() as f64 / rows as f64);
                }
                ns.sort_by(f64::total_cmp);
                let per_row = ns[PASSES / 2];
                (per_row, dim as f64 * 4.0 / per_row)
            };
            let (dot_ns, dot_gbs) = time(false);
            let (l2_ns, l2_gbs) = time(true);
            // Single-pair calls, one per row, as a graph search makes them.
            let mut pair_ns = Vec::with_capacity(PASSES);
            for _ in 0..PASSES {
                let t = Instant::now();
                let mut sum = 0.0f32;
                for row in data.chunks_exact(dim).take(PAIR_ROWS) {
                    sum += k.dot(black_box(&query), black_box(row));
                }
                black_box(sum);
                pair_ns.push(t.elapsed().as_nanos() as f64 / rows.min(PAIR_ROWS) as f64);
            }
            pair_ns.sort_by(f64::total_cmp);
            let pair = pair_ns[PASSES / 2];
            println!(
                "| {dim} | {isa} | {dot_ns:.2} | {dot_gbs:.1} | {l2_ns:.2} | {l2_gbs:.1} | {pair:.2} |"
            );
        }
    }
}
