//! Collections: the write path (WAL → memtable → flush), reads, and the public handle.
//!
//! [`CollectionInner`] is one open collection, made of parts with one concern each: the
//! [`Writer`](writer::Writer) (WAL, group commit, poison), the [`Catalog`](catalog::Catalog)
//! (the committed manifest and its reservations), the in-memory [`State`](state::State), the
//! background [`Jobs`] and the [`Counters`](stats::Counters). The order in which their locks
//! may be taken is stated and checked in one place, [`locks`].

mod backlog;
mod backup;
mod catalog;
mod commit;
mod compact;
mod config;
mod flush;
mod handle;
mod index;
mod iter;
mod locks;
mod maintenance;
mod merge_policy;
mod new_segment;
mod open;
mod payload_indexes;
mod refresh;
pub(crate) mod state;
mod stats;
mod writer;

pub(crate) use backup::Copied;
pub use compact::CompactionStats;
pub use handle::Collection;
pub(crate) use handle::Owner;
pub use iter::DocumentIter;
pub(crate) use locks::RwLock as StateLock;
pub(crate) use open::{
    open_collection, OpenMode as CollectionOpenMode, SEGMENTS_DIR as SEGMENTS_DIR_NAME,
};
pub use stats::{CollectionStats, SegmentStats};

use crate::config::CollectionConfig;
use crate::{Error, Result};
use catalog::Catalog;
use locks::{Mutex, Rank};
use ndb_storage::{LockGuard, Vfs};
use state::State;
use stats::{Counters, OpenReport};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use writer::Writer;

/// One open collection, shared by its handles and its background tasks.
pub(crate) struct CollectionInner {
    name: String,
    dir: PathBuf,
    vfs: Arc<dyn Vfs>,
    /// Changes only by `update_config` (dimension and distance never do).
    config: arc_swap::ArcSwap<CollectionConfig>,
    /// Held for the collection's life by a writer: the database lock.
    _locks: Vec<Arc<dyn LockGuard>>,
    writer: Writer,
    catalog: Catalog,
    /// Memtables and live segments: what reads see.
    state: locks::RwLock<State>,
    jobs: Jobs,
    counters: Counters,
    open_report: OpenReport,
    /// What a read-only handle last saw on disk.
    follow: refresh::Follow,
    dropped: AtomicBool,
}

/// Long jobs on the collection's files, and who runs them.
pub(crate) struct Jobs {
    /// Serializes merges, index rebuilds and payload-index changes.
    merge: Mutex<()>,
    /// Serializes writes of the frozen memtable (and index configuration changes with them).
    flush: Mutex<()>,
    /// Segments the background merger and indexer are working on.
    busy: maintenance::Busy,
    /// Background maintenance (tasks on the process-wide pools), for writers opened with it.
    maintenance: Option<Arc<maintenance::Maintenance>>,
}

impl Jobs {
    fn new(maintenance: bool) -> Self {
        Self {
            merge: Mutex::new(Rank::Merge, ()),
            flush: Mutex::new(Rank::Flush, ()),
            busy: maintenance::Busy::default(),
            maintenance: maintenance.then(Arc::default),
        }
    }
}

impl CollectionInner {
    fn new(
        dir: PathBuf,
        name: String,
        vfs: Arc<dyn Vfs>,
        locks: Vec<Arc<dyn LockGuard>>,
        writer: Writer,
        rec: open::Recovered,
        maintenance: bool,
    ) -> Self {
        Self {
            name,
            dir,
            vfs,
            config: arc_swap::ArcSwap::from_pointee(rec.manifest.config.clone()),
            _locks: locks,
            writer,
            catalog: Catalog::new(rec.manifest),
            state: locks::RwLock::new(Rank::State, rec.state),
            jobs: Jobs::new(maintenance),
            counters: Counters::default(),
            open_report: rec.report,
            follow: refresh::Follow::default(),
            dropped: AtomicBool::new(false),
        }
    }

    /// The collection's settings now.
    fn config(&self) -> arc_swap::Guard<Arc<CollectionConfig>> {
        self.config.load()
    }

    fn check_alive(&self) -> Result<()> {
        if self.dropped.load(Ordering::Acquire) {
            return Err(Error::CollectionNotFound(self.name.clone()));
        }
        Ok(())
    }

    pub(crate) fn mark_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
    }
}

impl Drop for CollectionInner {
    fn drop(&mut self) {
        if let Some(m) = &self.jobs.maintenance {
            // No new task starts; none runs (a running task holds the collection).
            m.halt();
        }
    }
}

impl std::fmt::Debug for CollectionInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection")
            .field("name", &self.name)
            .field("dir", &self.dir)
            .field("read_only", &self.writer.is_read_only())
            .finish_non_exhaustive()
    }
}
