//! Test data: seeded pseudo-random numbers and vectors.

use rand::rngs::StdRng;
use rand::Rng;

/// The seeded generator of the simulated file system: what a seed produces is fixed by nDB's
/// code, not by a dependency's version, so a failing seed replays later.
pub use ndb_storage::SplitMix;

/// One SplitMix64 output for the state `x`: a well-mixed hash of `x` (to derive seeds).
pub fn splitmix64(x: u64) -> u64 {
    SplitMix::new(x).next_u64()
}

/// One xorshift64 step of `state`, as a float in [-0.5, 0.5): cheap noise.
pub fn xorshift_noise(state: &mut u64) -> f32 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
}

/// `n` vectors of dimension `dim` around `centers` random centres in [-1, 1)^dim, each
/// component within `spread` of its centre's: clustered, like real embeddings (unlike uniform
/// noise), so that recall means something.
pub fn clustered(
    n: usize,
    dim: usize,
    centers: usize,
    spread: f32,
    rng: &mut StdRng,
) -> Vec<Vec<f32>> {
    let centers: Vec<Vec<f32>> = (0..centers)
        .map(|_| (0..dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect())
        .collect();
    (0..n)
        .map(|_| {
            let c = &centers[rng.gen_range(0..centers.len())];
            c.iter()
                .map(|x| x + rng.gen_range(-spread..spread))
                .collect()
        })
        .collect()
}

/// The vectors of a TexMex `.fvecs` file (per vector an `i32` dimension, then that many `f32`).
pub fn read_fvecs(path: &std::path::Path) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= bytes.len() {
        let dim = i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let v = bytes[at + 4..at + 4 + 4 * dim]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        out.push(v);
        at += 4 + 4 * dim;
    }
    out
}

/// A file of `tests/data` (see its README).
pub fn test_data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// GloVe 6B 50-d: 20,000 base vectors and 200 queries (tests/data/README.md).
pub fn glove_sample() -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    (
        read_fvecs(&test_data("glove50-20k.fvecs")),
        read_fvecs(&test_data("glove50-queries-200.fvecs")),
    )
}

/// Hits of `got` among the exact top-k `exact` (a result tying the k-th exact score counts).
pub fn recall(got: &[ndb::Match], exact: &[ndb::Match]) -> usize {
    let want: std::collections::HashSet<&str> = exact.iter().map(|m| m.id.as_str()).collect();
    let kth = exact.last().map_or(f32::MAX, |m| m.score);
    got.iter()
        .filter(|m| want.contains(m.id.as_str()) || m.score >= kth)
        .count()
}
