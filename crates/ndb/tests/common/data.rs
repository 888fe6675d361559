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
