//! The floor the workers of a parallel exact scan share: no row below the k-th best score any
//! worker holds can be among the k best (that worker already holds k rows at least as good), so
//! every worker skips such rows instead of filling its own selection from scratch.

use super::topk::TopK;
use std::sync::atomic::{AtomicU32, Ordering as AtomicOrdering};

/// A floor shared by the workers of a parallel scan: the highest k-th best score any of them
/// holds, as order-preserving bits (raised with `fetch_max`).
pub(crate) struct SharedFloor(AtomicU32);

impl SharedFloor {
    pub(crate) fn new() -> Self {
        Self(AtomicU32::new(Self::key(f32::NEG_INFINITY)))
    }

    /// `x`'s bits mapped so that integer order is float order (floors are never NaN).
    fn key(x: f32) -> u32 {
        let bits = x.to_bits();
        if bits >> 31 == 1 {
            !bits
        } else {
            bits | 0x8000_0000
        }
    }

    pub(crate) fn get(&self) -> f32 {
        let key = self.0.load(AtomicOrdering::Relaxed);
        f32::from_bits(if key >> 31 == 1 {
            key & 0x7FFF_FFFF
        } else {
            !key
        })
    }

    pub(crate) fn raise(&self, floor: f32) {
        self.0.fetch_max(Self::key(floor), AtomicOrdering::Relaxed);
    }

    /// The floor for `top`: its own, or the shared one if higher; the shared one is raised to
    /// `top`'s.
    pub(crate) fn combine(&self, top: &TopK<'_>) -> f32 {
        let own = top.floor();
        if own > f32::NEG_INFINITY {
            self.raise(own);
        }
        own.max(self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The shared floor is the highest of the floors raised, exactly.
        #[test]
        fn the_shared_floor_is_the_highest_raised(bits in prop::collection::vec(any::<u32>(), 1..20)) {
            let floors: Vec<f32> = bits
                .into_iter()
                .map(f32::from_bits)
                .filter(|f| !f.is_nan())
                .collect();
            let shared = SharedFloor::new();
            prop_assert_eq!(shared.get(), f32::NEG_INFINITY);
            for &f in &floors {
                shared.raise(f);
            }
            let max = floors
                .iter()
                .copied()
                .max_by(f32::total_cmp)
                .unwrap_or(f32::NEG_INFINITY);
            prop_assert_eq!(shared.get().to_bits(), max.to_bits());
        }
    }
}
