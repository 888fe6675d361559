//! Benchmark data: seeded random vectors and documents, and loading rows into a collection.

use ndb::{Collection, Document};
use ndb_storage::SplitMix;

/// Seeded generator of benchmark data: ndb-storage's [`SplitMix`], whose output for a seed is
/// fixed by nDB's code rather than a dependency's version, so a `--seed` makes the same data in
/// every release and results stay comparable.
#[derive(Clone, Debug)]
pub struct Prng(SplitMix);

impl Prng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Prng(SplitMix::new(seed ^ 0x9E37_79B9_7F4A_7C15))
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [-1, 1).
    #[inline]
    pub fn next_f32(&mut self) -> f32 {
        // 24 random bits -> [0, 1) exactly representable, then to [-1, 1).
        let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        u * 2.0 - 1.0
    }

    /// A vector of `dim` components uniform in [-1, 1).
    pub fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.next_f32()).collect()
    }
}

/// The id of document number `i` (fixed width so ids are all the same length).
pub fn doc_id(prefix: &str, i: u64) -> String {
    format!("{prefix}{i:010}")
}

/// `count` random documents with ids `prefix{first..first+count}`.
pub fn make_docs(
    rng: &mut Prng,
    prefix: &str,
    first: u64,
    count: usize,
    dim: usize,
) -> Vec<Document> {
    (0..count as u64)
        .map(|k| Document::new(doc_id(prefix, first + k), rng.vector(dim)))
        .collect()
}

/// Insert documents `0..rows` (`doc(i)` makes number `i`) with `insert_batch` calls of `batch`
/// documents, in order.
pub fn insert_in_batches(
    coll: &Collection,
    rows: usize,
    batch: usize,
    mut doc: impl FnMut(usize) -> Document,
) -> ndb::Result<()> {
    for start in (0..rows).step_by(batch.max(1)) {
        let end = (start + batch).min(rows);
        coll.insert_batch((start..end).map(&mut doc).collect::<Vec<_>>())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prng_range_and_determinism() {
        let mut a = Prng::new(7);
        let mut b = Prng::new(7);
        for _ in 0..10_000 {
            let x = a.next_f32();
            assert!((-1.0..1.0).contains(&x));
            assert_eq!(x, b.next_f32());
        }
    }

    /// A seed makes the same data as it always has (benchmark results stay comparable).
    #[test]
    fn a_seed_makes_the_same_numbers_in_every_version() {
        let mut r = Prng::new(7);
        let got = [r.next_u64(), r.next_u64(), r.next_u64()];
        assert_eq!(
            got,
            [
                17_039_259_473_404_265_729,
                18_363_971_414_914_884_509,
                8_043_341_295_829_897_994
            ]
        );
    }

    #[test]
    fn batches_insert_every_row_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let db = ndb::Database::open(dir.path()).unwrap();
        let coll = db
            .create_collection("c", ndb::CollectionConfig::new(2))
            .unwrap();
        let mut seen = Vec::new();
        insert_in_batches(&coll, 2_500, 1_000, |i| {
            seen.push(i);
            Document::new(i.to_string(), vec![i as f32, 1.0])
        })
        .unwrap();
        assert_eq!(seen, (0..2_500).collect::<Vec<_>>());
        assert_eq!(coll.stats().unwrap().doc_count, 2_500);
    }
}
