//! The seeded clustered set of `ndb-quant-bench --synthetic ROWS:DIM`.
//!
//! How it is clustered: `C = max(16, ROWS / 1000)` centres, each coordinate drawn from `N(0, 1)`;
//! every base vector and query picks a centre uniformly and adds `N(0, 0.5²)` noise to each
//! coordinate (so within-cluster squared distances are about `0.5·DIM`, between-cluster ones
//! about `2.5·DIM`, and a query's neighbours lie in its own cluster, as with topic clusters of
//! text embeddings). Base and queries come from separate streams of SplitMix64 (the pinned
//! sequence of `ndb-rand`) seeded with a fixed constant, so every run and machine gets the same
//! set.

use ndb_bench::data::Prng;
use ndb_bench::vecs::Vectors;
use ndb_bench::Res;

const SEED: u64 = 0x5155_414E_5431_3737;
const NOISE: f32 = 0.5;

/// The base vectors and queries.
pub struct Set {
    pub base: Vectors<f32>,
    pub queries: Vectors<f32>,
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Prng) -> f32 {
    let u1 = ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let u2 = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

fn points(rng: &mut Prng, centres: &[f32], dim: usize, rows: usize) -> Vectors<f32> {
    let clusters = centres.len() / dim;
    let mut data = Vec::with_capacity(rows * dim);
    for _ in 0..rows {
        let c = (rng.next_u64() % clusters as u64) as usize;
        let centre = &centres[c * dim..(c + 1) * dim];
        data.extend(centre.iter().map(|&x| x + NOISE * normal(rng)));
    }
    Vectors::new(dim, data)
}

/// `rows` base vectors (none when `with_base` is false: the queries are the same either way)
/// and `queries` queries of `dim` dimensions.
pub fn clustered(rows: usize, dim: usize, queries: usize, with_base: bool) -> Set {
    let clusters = (rows / 1000).max(16);
    let mut rng = Prng::new(SEED);
    let centres: Vec<f32> = (0..clusters * dim).map(|_| normal(&mut rng)).collect();
    let base = match with_base {
        true => points(&mut Prng::new(SEED ^ 1), &centres, dim, rows),
        false => Vectors::new(dim, Vec::new()),
    };
    let queries = points(&mut Prng::new(SEED ^ 2), &centres, dim, queries);
    Set { base, queries }
}

/// Ground truth as bytes: `rows u32, k u32`, then the ids (`i32`) and distances (`f32`).
pub fn encode_gt(gt: &Vectors<i32>, dist: &Vectors<f32>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(gt.rows() as u32).to_le_bytes());
    out.extend_from_slice(&(gt.dim as u32).to_le_bytes());
    for row in gt.iter() {
        row.iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
    }
    for row in dist.iter() {
        row.iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
    }
    out
}

/// The inverse of [`encode_gt`]; `k` must match.
pub fn decode_gt(bytes: &[u8], k: usize) -> Res<(Vectors<i32>, Vectors<f32>)> {
    let word = |i: usize| -> Res<[u8; 4]> {
        Ok(bytes
            .get(4 * i..4 * i + 4)
            .ok_or("ground truth cache truncated")?
            .try_into()?)
    };
    let rows = u32::from_le_bytes(word(0)?) as usize;
    if u32::from_le_bytes(word(1)?) as usize != k || bytes.len() != 8 + 8 * rows * k {
        return Err("ground truth cache does not match; remove it".into());
    }
    let ids = (0..rows * k)
        .map(|i| Ok(i32::from_le_bytes(word(2 + i)?)))
        .collect::<Res<Vec<i32>>>()?;
    let dists = (0..rows * k)
        .map(|i| Ok(f32::from_le_bytes(word(2 + rows * k + i)?)))
        .collect::<Res<Vec<f32>>>()?;
    Ok((Vectors::new(k, ids), Vectors::new(k, dists)))
}
