//! Test data: seeded pseudo-random numbers and vectors.

use rand::rngs::StdRng;
use rand::Rng;

/// SplitMix64: a tiny seedable generator, the same on every platform and version.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One SplitMix64 output for the state `x`: a well-mixed hash of `x` (to derive seeds).
pub fn splitmix64(x: u64) -> u64 {
    SplitMix(x).next()
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
