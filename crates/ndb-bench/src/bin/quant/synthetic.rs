//! The seeded clustered sets of `ndb-quant-bench --synthetic ROWS:DIM[:RANK]`.
//!
//! How they are clustered: `C = max(16, ROWS / 1000)` centres, each coordinate drawn from
//! `N(0, 1)`; every base vector and query picks a centre uniformly and adds noise to it.
//! - `ROWS:DIM` (isotropic): `N(0, 0.5²)` noise on each coordinate, so within-cluster squared
//!   distances are about `0.5·DIM`, between-cluster ones about `2.5·DIM`, and a query's
//!   neighbours lie in its own cluster. The noise fills all `DIM` dimensions: within a cluster
//!   every point is nearly as far from the query as its nearest neighbour (at 768 d the 10
//!   nearest of 1,000 are only a few percent nearer than the median), the hardest case for any
//!   approximate search and for compressed codes.
//! - `ROWS:DIM:RANK` (low rank, like text embeddings, whose intrinsic dimension is a few dozen):
//!   each cluster also draws `RANK` random directions (`N(0, 1/DIM)` coordinates, so about unit
//!   length and nearly orthogonal); a point is its centre plus `N(0, SPREAD²)` along each of its
//!   cluster's directions plus `N(0, LOW_NOISE²)` on every coordinate.
//!
//! Base and queries come from separate streams of SplitMix64 (the pinned sequence of `ndb-rand`)
//! seeded with a fixed constant, so every run and machine gets the same set.

use ndb_bench::data::Prng;
use ndb_bench::vecs::Vectors;
use ndb_bench::Res;

const SEED: u64 = 0x5155_414E_5431_3737;
const NOISE: f32 = 0.5;
/// Spread along each cluster direction of a low-rank set.
const SPREAD: f32 = 2.0;
/// Noise on every coordinate of a low-rank set.
const LOW_NOISE: f32 = 0.05;

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

/// How points scatter around their centre.
enum Shape<'a> {
    /// `N(0, NOISE²)` on every coordinate.
    Isotropic,
    /// Per cluster, `rank` directions of `dim` floats each (cluster-major).
    LowRank { rank: usize, directions: &'a [f32] },
}

fn points(rng: &mut Prng, centres: &[f32], shape: &Shape, dim: usize, rows: usize) -> Vectors<f32> {
    let clusters = centres.len() / dim;
    let mut data = Vec::with_capacity(rows * dim);
    let mut point = vec![0f32; dim];
    for _ in 0..rows {
        let c = (rng.next_u64() % clusters as u64) as usize;
        point.copy_from_slice(&centres[c * dim..(c + 1) * dim]);
        match shape {
            Shape::Isotropic => point.iter_mut().for_each(|x| *x += NOISE * normal(rng)),
            Shape::LowRank { rank, directions } => {
                let mine = &directions[c * rank * dim..(c + 1) * rank * dim];
                for direction in mine.chunks_exact(dim) {
                    let z = SPREAD * normal(rng);
                    point
                        .iter_mut()
                        .zip(direction)
                        .for_each(|(x, &u)| *x += z * u);
                }
                point.iter_mut().for_each(|x| *x += LOW_NOISE * normal(rng));
            }
        }
        data.extend_from_slice(&point);
    }
    Vectors::new(dim, data)
}

/// `rows` base vectors (none when `with_base` is false: the queries are the same either way)
/// and `queries` queries of `dim` dimensions; isotropic when `rank` is `None`.
pub fn clustered(
    rows: usize,
    dim: usize,
    rank: Option<usize>,
    queries: usize,
    with_base: bool,
) -> Set {
    let clusters = (rows / 1000).max(16);
    let mut rng = Prng::new(SEED);
    let centres: Vec<f32> = (0..clusters * dim).map(|_| normal(&mut rng)).collect();
    let scale = 1.0 / (dim as f32).sqrt();
    let directions: Vec<f32> = match rank {
        Some(rank) => (0..clusters * rank * dim)
            .map(|_| scale * normal(&mut rng))
            .collect(),
        None => Vec::new(),
    };
    let shape = match rank {
        Some(rank) => Shape::LowRank {
            rank,
            directions: &directions,
        },
        None => Shape::Isotropic,
    };
    let base = match with_base {
        true => points(&mut Prng::new(SEED ^ 1), &centres, &shape, dim, rows),
        false => Vectors::new(dim, Vec::new()),
    };
    let queries = points(&mut Prng::new(SEED ^ 2), &centres, &shape, dim, queries);
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
