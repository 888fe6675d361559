//! SplitMix64, nDB's one seeded random-number generator.
//!
//! It lives in nDB's own code, rather than coming from a random-number crate, because what a
//! seed produces must never change with a dependency's version or the platform:
//! - `ndb-quant` regenerates a quantizer's random rotation from the seed stored in its
//!   parameters, so the sequence is part of that on-disk format;
//! - a failing seed of `ndb-storage`'s simulation tests has to replay the same run later;
//! - tests and benchmarks draw comparable data from it.
//!
//! # The sequence, exactly (stable: changing it breaks stored quantizers)
//! The state is one `u64`, initially the seed. Each [`SplitMix::next_u64`] does, in wrapping
//! arithmetic: `state += 0x9E3779B97F4A7C15`; `z = state`;
//! `z = (z ^ z >> 30) · 0xBF58476D1CE4E5B9`; `z = (z ^ z >> 27) · 0x94D049BB133111EB`; returns
//! `z ^ z >> 31`. The derived draws are [`SplitMix::below`] (`next_u64() % n`, 0 for `n = 0`)
//! and [`SplitMix::next_unit`] (`(next_u64() >> 40) / 2²⁴`). A test pins the first outputs.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

/// The SplitMix64 generator (Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators", 2014): a 64-bit state advanced by a fixed odd step and mixed on output. Small
/// and fast; not for cryptography. The same seed gives the same sequence on every platform
/// and in every version of nDB.
#[derive(Clone, Debug)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator whose state starts at `seed`.
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`, by remainder (slightly uneven for an `n` that is not a power of
    /// two, which a test does not mind); 0 when `n` is 0.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        match n {
            0 => 0,
            _ => self.next_u64() % n,
        }
    }

    /// Uniform in `[0, 1)`: the top 24 bits of the next output over `2²⁴` (exact in `f32`).
    #[inline]
    pub fn next_unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u32 << 24) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::SplitMix;

    /// SplitMix64's outputs for seed 1234567, as every other implementation of it gives them: a
    /// change to the generator would silently change what every seed replays, and every stored
    /// quantizer's rotation.
    #[test]
    fn matches_the_reference_outputs() {
        let mut r = SplitMix::new(1_234_567);
        let want = [
            6_457_827_717_110_365_317,
            3_203_168_211_198_807_973,
            9_817_491_932_198_370_423,
            4_593_380_528_125_082_431,
            16_408_922_859_458_223_821,
        ];
        for w in want {
            assert_eq!(r.next_u64(), w);
        }
    }

    /// `next_unit` is the top 24 bits of the same stream.
    #[test]
    fn next_unit_is_the_top_bits_of_next_u64() {
        let mut r = SplitMix::new(1_234_567);
        let want = (6_457_827_717_110_365_317u64 >> 40) as f32 / 16_777_216.0;
        assert_eq!(r.next_unit(), want);
        assert!((0..1000).all(|_| (0.0..1.0).contains(&r.next_unit())));
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = SplitMix::new(7);
        assert_eq!(r.below(0), 0);
        assert!((0..1000).all(|_| r.below(10) < 10));
    }
}
