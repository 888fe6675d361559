//! The catalog: the committed manifest, the copies of it that readers consult without its lock,
//! and the reservation of segment ids and file generations.
//!
//! Every manifest swap goes through [`Catalog::publish`], which keeps the copies (`index_enabled`,
//! the declared payload indexes) equal to the manifest. Every new file takes its generation
//! from a [`Reserved`] range cut from the manifest's counter under its lock, so two jobs
//! running at once never name the same file.

use super::locks::{Mutex, MutexGuard, Rank, RwLock};
use crate::manifest::CollectionManifest;
use crate::{Error, PayloadIndexKind, Result};
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) struct Catalog {
    /// The committed manifest. Held briefly: to reserve, to snapshot, to swap.
    manifest: Mutex<CollectionManifest>,
    /// `manifest.index_enabled`, readable without the manifest lock: `stats()` and
    /// `has_index()` never wait for a commit.
    index_enabled: AtomicBool,
    /// `manifest.payload_indexes`, readable without the manifest lock (and so under the state
    /// lock).
    payload_defs: RwLock<Vec<(String, PayloadIndexKind)>>,
}

impl Catalog {
    pub(crate) fn new(manifest: CollectionManifest) -> Self {
        Self {
            index_enabled: AtomicBool::new(manifest.index_enabled),
            payload_defs: RwLock::new(Rank::PayloadDefs, manifest.payload_indexes.clone()),
            manifest: Mutex::new(Rank::Manifest, manifest),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, CollectionManifest> {
        self.manifest.lock()
    }

    /// Whether HNSW graphs are built for this collection (not after `delete_index`).
    pub(crate) fn index_enabled(&self) -> bool {
        self.index_enabled.load(Ordering::Acquire)
    }

    /// The declared payload indexes.
    pub(crate) fn payload_indexes(&self) -> Vec<(String, PayloadIndexKind)> {
        self.payload_defs.read().clone()
    }

    /// `next` (already written to disk) becomes the committed manifest; returns the old one.
    pub(crate) fn publish(
        &self,
        current: &mut MutexGuard<'_, CollectionManifest>,
        next: CollectionManifest,
    ) -> CollectionManifest {
        if next.payload_indexes != current.payload_indexes {
            *self.payload_defs.write() = next.payload_indexes.clone();
        }
        self.index_enabled
            .store(next.index_enabled, Ordering::Release);
        std::mem::replace(&mut **current, next)
    }
}

/// A range of file generations reserved for one job.
#[derive(Debug)]
pub(crate) struct Reserved {
    next: u64,
    end: u64,
}

impl Reserved {
    /// The next reserved generation.
    pub(crate) fn take(&mut self) -> Result<u64> {
        if self.next >= self.end {
            return Err(Error::internal(
                "a job used more file generations than it reserved",
            ));
        }
        let gen = self.next;
        self.next += 1;
        Ok(gen)
    }
}

impl CollectionManifest {
    /// Reserve `count` file generations (the counter is persisted with the next manifest
    /// write; generations reserved and never used are simply skipped).
    pub(crate) fn reserve_gens(&mut self, count: u64) -> Reserved {
        let next = self.next_file_gen;
        self.next_file_gen = next.saturating_add(count);
        Reserved {
            next,
            end: self.next_file_gen,
        }
    }

    /// Reserve a segment id.
    pub(crate) fn reserve_segment_id(&mut self) -> u64 {
        let id = self.next_segment_id;
        self.next_segment_id += 1;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CollectionConfig;

    #[test]
    fn reservations_never_overlap_and_are_bounded() {
        let mut m = CollectionManifest::new(CollectionConfig::new(2));
        let mut a = m.reserve_gens(2);
        let mut b = m.reserve_gens(1);
        let taken = [a.take().unwrap(), a.take().unwrap(), b.take().unwrap()];
        assert_eq!(taken, [1, 2, 3]);
        assert_eq!(m.next_file_gen, 4);
        assert!(matches!(a.take(), Err(Error::Internal(_))));
    }
}
