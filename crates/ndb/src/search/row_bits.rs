//! A dense set of a segment's rows, one bit per row: membership in one load and one test, for
//! graph walks that ask about many rows per query (a two-hop walk checks every neighbour of
//! every rejected neighbour; a roaring bitmap's container search per check took 17% of such a
//! walk on 85,000 rows).
//!
//! Built per query from the filter's roaring bitmap through roaring's portable serialization
//! (a published interchange format: a header, then each container as 1,024 little-endian words
//! or a sorted array of 16-bit values), which copies a dense container as a block. Visiting the
//! rows one by one took 16% of a 10%-selective search of glove-50's 390,000 rows.

use crate::codec::{u16_at, u32_at};
use roaring::RoaringBitmap;

/// Cookie of roaring's portable format without run containers (the only one it writes).
const COOKIE_NO_RUNS: u32 = 12346;
/// Containers with more values than this are bitmaps of 1,024 words.
const ARRAY_MAX: usize = 4096;
const CONTAINER_WORDS: usize = 1024;

/// One bit per row `0..len` (rows past `len` are never members).
#[derive(Debug, Clone)]
pub(crate) struct RowBits {
    words: Vec<u64>,
}

impl RowBits {
    /// The rows of `rows` below `len`.
    pub(crate) fn new(rows: &RoaringBitmap, len: u32) -> Self {
        let mut words = vec![0u64; (len as usize).div_ceil(64)];
        let mut bytes = Vec::with_capacity(rows.serialized_size());
        let copied = rows.serialize_into(&mut bytes).is_ok()
            && copy_containers(&bytes, &mut words).is_some();
        if !copied {
            // Not the layout expected: set the rows one by one (slower, same set).
            words.iter_mut().for_each(|w| *w = 0);
            rows.iter().for_each(|row| set(&mut words, row));
        }
        if !len.is_multiple_of(64) {
            if let Some(last) = words.last_mut() {
                *last &= (1u64 << (len % 64)) - 1;
            }
        }
        Self { words }
    }

    #[inline]
    pub(crate) fn contains(&self, row: u32) -> bool {
        self.words
            .get((row / 64) as usize)
            .is_some_and(|w| w & (1 << (row % 64)) != 0)
    }
}

#[inline]
fn set(words: &mut [u64], row: u32) {
    if let Some(w) = words.get_mut((row / 64) as usize) {
        *w |= 1 << (row % 64);
    }
}

/// OR the rows of a serialized bitmap (`b`, portable format without runs) into `words`;
/// `None` if `b` is not laid out that way (nothing is promised about `words` then).
fn copy_containers(b: &[u8], words: &mut [u64]) -> Option<()> {
    if u32_at(b, 0)? != COOKIE_NO_RUNS {
        return None;
    }
    let containers = u32_at(b, 4)? as usize;
    let offsets = 8usize.checked_add(containers.checked_mul(4)?)?;
    for i in 0..containers {
        let key = usize::from(u16_at(b, 8 + 4 * i)?);
        let values = usize::from(u16_at(b, 8 + 4 * i + 2)?) + 1;
        let at = u32_at(b, offsets + 4 * i)? as usize;
        let first_word = key * CONTAINER_WORDS;
        if values > ARRAY_MAX {
            let block = b.get(at..at + 8 * CONTAINER_WORDS)?;
            let dst = words.iter_mut().skip(first_word);
            for (w, src) in dst.zip(block.chunks_exact(8)) {
                *w |= u64::from_le_bytes(src.try_into().ok()?);
            }
        } else {
            let block = b.get(at..at + 2 * values)?;
            for v in block.chunks_exact(2) {
                let low = u32::from(u16::from_le_bytes(v.try_into().ok()?));
                set(words, ((key as u32) << 16) | low);
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::RowBits;
    use proptest::prelude::*;
    use roaring::RoaringBitmap;

    fn check(rows: &RoaringBitmap, len: u32) {
        let bits = RowBits::new(rows, len);
        for row in 0..len + 130 {
            assert_eq!(
                bits.contains(row),
                row < len && rows.contains(row),
                "len {len}, row {row}"
            );
        }
        assert!(!bits.contains(u32::MAX));
    }

    #[test]
    fn members_are_exactly_the_bitmaps_rows_below_len() {
        // Array containers, a bitmap container (more than 4,096 values in 0..65,536), and a
        // container past the second key.
        let rows: RoaringBitmap = [0u32, 1, 63, 64, 65, 127, 128, 999, 1000, 70_000, 200_001]
            .into_iter()
            .chain((2000..40_000).step_by(3))
            .collect();
        for len in [
            0u32, 1, 64, 65, 1000, 1001, 39_999, 70_000, 70_001, 80_000, 200_002,
        ] {
            check(&rows, len);
        }
        check(&RoaringBitmap::new(), 500);
        let mut full = RoaringBitmap::new();
        full.insert_range(0..140_000);
        check(&full, 140_000);
        check(&full, 100_003);
    }

    proptest! {
        #[test]
        fn matches_the_bitmap_at_any_density(
            seed in any::<u64>(),
            len in 1u32..200_000,
            per_mille in 0u32..1000,
        ) {
            let mut x = seed | 1;
            let mut rows = RoaringBitmap::new();
            for row in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if (x % 1000) < u64::from(per_mille) {
                    rows.insert(row);
                }
            }
            let bits = RowBits::new(&rows, len);
            for row in 0..len {
                prop_assert_eq!(bits.contains(row), rows.contains(row));
            }
        }
    }
}
