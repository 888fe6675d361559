//! Collections: the write path (WAL → memtable → flush), reads, and the public handle.

mod backlog;
mod commit;
mod compact;
mod flush;
mod index;
mod iter;
mod maintenance;
mod merge_policy;
mod new_segment;
mod open;
pub(crate) mod state;

pub use compact::CompactionStats;

pub use iter::DocumentIter;
pub(crate) use open::{
    open_collection, OpenMode as CollectionOpenMode, SEGMENTS_DIR as SEGMENTS_DIR_NAME,
};

use crate::config::{CollectionConfig, Durability};
use crate::document::{prepare, validate_id, PreparedDoc};
use crate::manifest::CollectionManifest;
use crate::wal::{AppendError, EncodedRecord, WalWriter};
use crate::{Document, Error, Result};
use commit::GroupCommit;
use ndb_storage::{LockGuard, Vfs};
use parking_lot::{Mutex, RwLock};
use state::State;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What opening a collection found and did, for [`CollectionStats`].
#[derive(Clone, Debug, Default)]
pub(crate) struct OpenReport {
    pub wal_replayed_records: u64,
    pub wal_truncated_bytes: u64,
    /// Bytes of valid WAL read at open (what a read-only handle reports as `wal_bytes`).
    pub wal_bytes: u64,
    pub open_duration: Duration,
    pub manifest_duration: Duration,
    pub segments_duration: Duration,
    pub wal_replay_duration: Duration,
}

/// Shared state of one open collection.
pub(crate) struct CollectionInner {
    name: String,
    dir: PathBuf,
    vfs: Arc<dyn Vfs>,
    config: CollectionConfig,
    /// Held for the collection's life by a writer: the database lock and the collection lock.
    _locks: Vec<Arc<dyn LockGuard>>,
    /// `None` when opened read-only.
    wal: Option<Mutex<WalWriter>>,
    state: RwLock<State>,
    commit: GroupCommit,
    /// The committed manifest; holding this lock serializes flushes and manifest changes.
    manifest: Mutex<CollectionManifest>,
    /// `manifest.index_enabled`, readable without the manifest lock (which `rebuild_index`
    /// holds across its builds): `stats()` and `has_index()` never wait for a build.
    index_enabled: AtomicBool,
    /// Serializes merges, index rebuilds and payload index changes (long jobs that take the
    /// manifest lock only briefly, or that a merge must not interleave with).
    merge_lock: Mutex<()>,
    /// Serializes writes of the frozen memtable (and index configuration changes with them).
    /// Lock order: `merge_lock`, `flush_lock`, `manifest`, the WAL lock, `state`.
    flush_lock: Mutex<()>,
    /// Segments the background merger and indexer are working on.
    busy: maintenance::Busy,
    /// A copy of the manifest's declared payload indexes (see `payload_indexes`).
    payload_index_defs: RwLock<Vec<(String, crate::PayloadIndexKind)>>,
    poison: Mutex<Option<String>>,
    dropped: AtomicBool,
    open_report: OpenReport,
    flushes: AtomicU64,
    write_stalls: AtomicU64,
    write_stall_nanos: AtomicU64,
    merges: AtomicU64,
    /// Background maintenance (tasks on the process-wide pools), for writers opened with it.
    maintenance: Option<Arc<maintenance::Maintenance>>,
}

impl Drop for CollectionInner {
    fn drop(&mut self) {
        if let Some(m) = &self.maintenance {
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
            .field("read_only", &self.wal.is_none())
            .finish_non_exhaustive()
    }
}

impl CollectionInner {
    fn poisoned(&self) -> Option<Error> {
        self.poison.lock().as_ref().map(|reason| Error::Poisoned {
            collection: self.name.clone(),
            reason: reason.clone(),
        })
    }

    pub(crate) fn poison(&self, reason: String) {
        log::error!("collection {:?} poisoned: {reason}", self.name);
        self.poison.lock().get_or_insert(reason);
    }

    fn check_alive(&self) -> Result<()> {
        if self.dropped.load(Ordering::Acquire) {
            return Err(Error::CollectionNotFound(self.name.clone()));
        }
        Ok(())
    }

    fn writer(&self) -> Result<&Mutex<WalWriter>> {
        self.check_alive()?;
        let wal = self.wal.as_ref().ok_or(Error::ReadOnly)?;
        match self.poisoned() {
            Some(err) => Err(err),
            None => Ok(wal),
        }
    }

    pub(crate) fn mark_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
    }

    /// Append `rec` and apply it to the memtable under the WAL lock, so that memtable order is
    /// WAL order. `shadows_of` computes the segment rows the write hides (before the append, so
    /// a lookup failure changes nothing), or `None` when there is nothing to write; `apply` must
    /// not fail. Returns the record's sequence number, or `None` if nothing was written.
    fn write_record<T>(
        &self,
        mut rec: EncodedRecord,
        op: T,
        shadows_of: impl FnOnce(&State, &T) -> Result<Option<Vec<state::Shadow>>>,
        apply: impl FnOnce(&mut State, T, &[state::Shadow]),
    ) -> Result<Option<u64>> {
        let wal_lock = self.writer()?;
        let mut wal = wal_lock.lock();
        // A flush may have failed while we waited for the lock.
        if let Some(err) = self.poisoned() {
            return Err(err);
        }
        let Some(shadows) = shadows_of(&self.state.read(), &op)? else {
            return Ok(None);
        };
        let seq = match wal.append(&mut rec) {
            Ok(seq) => seq,
            Err(AppendError::Failed(e)) => return Err(e),
            Err(AppendError::Fatal(reason)) => {
                self.poison(reason.clone());
                return Err(Error::Poisoned {
                    collection: self.name.clone(),
                    reason,
                });
            }
        };
        apply(&mut self.state.write(), op, &shadows);
        Ok(Some(seq))
    }

    /// Durability and flush work after a write was applied.
    fn after_write(&self, seq: u64) -> Result<()> {
        if self.config.durability() == Durability::FdatasyncEachBatch {
            self.wait_durable(seq)?;
        }
        let bytes = self.state.read().active.bytes();
        let threshold = self.config.flush_threshold_bytes();
        if bytes >= threshold {
            match &self.maintenance {
                // The background flusher freezes and writes the memtable; a writer waits only
                // if it fills a second one before the first is written, and then only for
                // that write (never for a graph build) and a memtable swap.
                Some(m) if m.running() => {
                    if bytes >= 2 * threshold {
                        self.swap_memtable()?;
                    }
                    m.request_flush();
                }
                _ => self.flush_memtable(false)?,
            }
        }
        Ok(())
    }

    fn wait_durable(&self, seq: u64) -> Result<()> {
        let wal = self.writer()?;
        self.commit.wait(
            seq,
            || self.poisoned(),
            || {
                let (file, path, last) = {
                    let w = wal.lock();
                    let (file, path) = w.file();
                    (file, path, w.last_seq())
                };
                crate::failpoint::hit("wal.sync.before");
                let synced = commit::sync_file(&*file, &path);
                crate::failpoint::hit("wal.sync.after");
                if let Err(e) = synced {
                    // Poison before the leader wakes the other waiters, so none of them can
                    // run a second fsync that "succeeds" after the failed one.
                    self.poison(format!("fdatasync of the WAL failed: {e}"));
                    return Err(e);
                }
                Ok(last)
            },
        )
    }

    fn put(&self, docs: Vec<PreparedDoc>) -> Result<()> {
        if docs.is_empty() {
            self.writer()?;
            return Ok(());
        }
        let rec = EncodedRecord::put(&docs).map_err(Error::InvalidArgument)?;
        let seq = self.write_record(
            rec,
            docs,
            |st, docs| st.shadows(docs.iter().map(|d| d.id.as_str())).map(Some),
            |st, docs, shadows| st.apply_put(docs, shadows),
        )?;
        match seq {
            Some(seq) => self.after_write(seq),
            None => Ok(()),
        }
    }

    fn delete(&self, id: &str) -> Result<bool> {
        validate_id(id)?;
        let ids = vec![id.to_string()];
        let rec = EncodedRecord::delete(&ids).map_err(Error::InvalidArgument)?;
        let seq = self.write_record(
            rec,
            ids,
            |st, ids| {
                if st.contains(id)? {
                    st.shadows(ids.iter().map(String::as_str)).map(Some)
                } else {
                    Ok(None)
                }
            },
            |st, ids, shadows| st.apply_delete(&ids, shadows),
        )?;
        match seq {
            Some(seq) => {
                self.after_write(seq)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn get(&self, id: &str) -> Result<Option<Document>> {
        self.check_alive()?;
        validate_id(id)?;
        let st = self.state.read();
        match st.find(id)? {
            Some(found) => found.to_document().map(Some),
            None => Ok(None),
        }
    }

    fn sync(&self) -> Result<()> {
        let wal = self.writer()?;
        let last = wal.lock().last_seq();
        if last == 0 {
            return Ok(());
        }
        self.wait_durable(last)
    }

    fn stats(&self) -> Result<CollectionStats> {
        self.check_alive()?;
        let wal_bytes = self
            .wal
            .as_ref()
            .map_or(self.open_report.wal_bytes, |w| w.lock().bytes());
        let (backlog, index_enabled) = (self.backlog(), self.index_enabled());
        let st = self.state.read();
        let segment_bytes: u64 = st
            .segments
            .iter()
            .map(|s| {
                s.segment.file_len()
                    + s.persisted_bytes
                    + s.index.as_ref().map_or(0, |i| i.file_bytes)
            })
            .sum();
        Ok(CollectionStats {
            doc_count: st.doc_count(),
            deleted_count: st.segments.iter().map(|s| s.deleted.len()).sum(),
            segment_count: st.segments.len(),
            memtable_docs: st.memtable_docs(),
            memtable_bytes: (st.active.bytes() + st.frozen_memtable().map_or(0, |f| f.bytes()))
                as u64,
            disk_bytes: segment_bytes + wal_bytes,
            wal_bytes,
            indexed_docs: st
                .segments
                .iter()
                .filter(|s| s.index.is_some())
                .map(|s| s.live_rows())
                .sum(),
            index_backlog_rows: backlog.rows,
            index_backlog_segments: backlog.segments.len(),
            index_enabled,
            flushes: self.flushes.load(Ordering::Relaxed),
            write_stalls: self.write_stalls.load(Ordering::Relaxed),
            write_stall_time: Duration::from_nanos(self.write_stall_nanos.load(Ordering::Relaxed)),
            merges: self.merges.load(Ordering::Relaxed),
            wal_syncs: self.commit.sync_calls(),
            wal_replayed_records: self.open_report.wal_replayed_records,
            wal_truncated_bytes: self.open_report.wal_truncated_bytes,
            open_duration: self.open_report.open_duration,
            open_manifest_duration: self.open_report.manifest_duration,
            open_segments_duration: self.open_report.segments_duration,
            open_wal_replay_duration: self.open_report.wal_replay_duration,
            segments: st
                .segments
                .iter()
                .map(|s| SegmentStats {
                    id: s.segment.id(),
                    rows: u64::from(s.segment.rows()),
                    deleted: s.deleted.len(),
                    bytes: s.segment.file_len()
                        + s.persisted_bytes
                        + s.index.as_ref().map_or(0, |i| i.file_bytes)
                        + s.payload_index_bytes,
                    indexed: s.index.is_some(),
                })
                .collect(),
            payload_indexes: self.payload_indexes(),
        })
    }
}

/// Figures about a collection, from [`Collection::stats`].
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct CollectionStats {
    /// Live documents.
    pub doc_count: u64,
    /// Rows in segments that are deleted or replaced (space a compaction would reclaim).
    pub deleted_count: u64,
    /// Immutable segments.
    pub segment_count: usize,
    /// Live documents still in memory (written to the WAL, not yet to a segment).
    pub memtable_docs: u64,
    /// Bytes the memtable counts against its flush threshold.
    pub memtable_bytes: u64,
    /// Bytes on disk: segments, deletion files and the WAL.
    pub disk_bytes: u64,
    /// Bytes in the current WAL file.
    pub wal_bytes: u64,
    /// Documents covered by an approximate-search index.
    pub indexed_docs: u64,
    /// Rows in segments that should have an HNSW graph and have none yet (searched exactly
    /// until the background index builds, [`Collection::flush`] or
    /// [`Collection::wait_for_index`] build it).
    pub index_backlog_rows: u64,
    /// Segments waiting for a graph.
    pub index_backlog_segments: usize,
    /// Whether HNSW graphs are built for this collection (false after
    /// [`Collection::delete_index`]).
    pub index_enabled: bool,
    /// Memtable flushes since the collection was opened.
    pub flushes: u64,
    /// Times a writer filled a second memtable before the frozen one was written, and so
    /// waited for that write and a memtable swap (back-pressure from the disk; never for a
    /// graph build), since the collection was opened.
    pub write_stalls: u64,
    /// Total time writers spent in those waits.
    pub write_stall_time: Duration,
    /// Background merges since the collection was opened.
    pub merges: u64,
    /// WAL `fdatasync` calls made for durable writes since open (group commit shares them).
    pub wal_syncs: u64,
    /// WAL records replayed into the memtable when the collection was opened.
    pub wal_replayed_records: u64,
    /// Bytes of a torn WAL tail cut off when the collection was opened (0 after a clean close).
    pub wal_truncated_bytes: u64,
    /// Time the collection took to open (manifest, segments, WAL replay).
    pub open_duration: Duration,
    /// Of `open_duration`: reading and checking the manifest.
    pub open_manifest_duration: Duration,
    /// Of `open_duration`: checking and mapping segments and their deletion and index files.
    pub open_segments_duration: Duration,
    /// Of `open_duration`: reading and replaying the WAL.
    pub open_wal_replay_duration: Duration,
    /// Each segment, oldest first.
    pub segments: Vec<SegmentStats>,
    /// Declared payload indexes: field and kind.
    pub payload_indexes: Vec<(String, crate::PayloadIndexKind)>,
}

/// Figures about one segment, in [`CollectionStats::segments`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentStats {
    /// Segment id (its file is `segments/<id>.ndb`).
    pub id: u64,
    /// Rows stored, live or not.
    pub rows: u64,
    /// Rows deleted or replaced.
    pub deleted: u64,
    /// Bytes of the segment file plus its deletion, index and payload index files.
    pub bytes: u64,
    /// Whether it has a usable HNSW index.
    pub indexed: bool,
}

/// A handle to a collection; cheap to clone, `Send + Sync`.
///
/// ```
/// use ndb::{Database, CollectionConfig, Document};
/// # let dir = tempfile::tempdir()?;
/// let db = Database::open(dir.path())?;
/// let docs = db.create_collection("docs", CollectionConfig::new(2))?;
/// docs.insert(Document::new("a", vec![1.0, 0.0]))?;
/// assert!(docs.get("a")?.is_some());
/// assert!(docs.delete("a")?);
/// assert_eq!(docs.get("a")?, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Collection {
    pub(crate) inner: Arc<Owner>,
}

/// The users' share of a collection: held by every [`Collection`] handle and by the
/// [`Database`](crate::Database) that opened it. When the last one goes, background work is
/// stopped and its running tasks waited for, so the collection (and its lock) is released right
/// away rather than whenever a task finishes its current job.
#[derive(Debug)]
pub(crate) struct Owner {
    inner: Arc<CollectionInner>,
}

impl Owner {
    pub(crate) fn new(inner: Arc<CollectionInner>) -> Arc<Self> {
        Arc::new(Self { inner })
    }
}

impl std::ops::Deref for Owner {
    type Target = CollectionInner;
    fn deref(&self) -> &CollectionInner {
        &self.inner
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        if let Some(m) = &self.inner.maintenance {
            m.stop();
        }
    }
}

impl Collection {
    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The collection's configuration.
    pub fn config(&self) -> &CollectionConfig {
        &self.inner.config
    }

    /// Insert a document, or replace the one with the same id.
    pub fn insert(&self, doc: Document) -> Result<()> {
        self.inner.writer()?;
        let doc = prepare(&self.inner.config, doc)?;
        self.inner.put(vec![doc])
    }

    /// Insert or replace many documents as one WAL record: after a crash either all of them
    /// are present or none. If the batch holds the same id twice, the last one wins. Nothing is
    /// written if any document is invalid.
    pub fn insert_batch(&self, docs: impl IntoIterator<Item = Document>) -> Result<()> {
        self.inner.writer()?;
        let docs = docs
            .into_iter()
            .map(|d| prepare(&self.inner.config, d))
            .collect::<Result<Vec<_>>>()?;
        self.inner.put(docs)
    }

    /// The document with this id, if present.
    pub fn get(&self, id: &str) -> Result<Option<Document>> {
        self.inner.get(id)
    }

    /// Delete a document; returns whether it was present.
    pub fn delete(&self, id: &str) -> Result<bool> {
        self.inner.delete(id)
    }

    /// Write the memtable to a new immutable segment now (also done automatically when it
    /// passes the flush threshold). When it returns, every acknowledged write is durable
    /// **and** searchable through the index: the new segment's graph is built, and so is the
    /// graph of every segment that was waiting for one (see [`Collection::wait_for_index`]),
    /// on this thread at full priority.
    pub fn flush(&self) -> Result<()> {
        self.inner.writer()?;
        self.inner.flush_memtable(true)?;
        self.inner.wait_for_index(None).map(|_| ())
    }

    /// Make every acknowledged write durable now (`fdatasync` of the WAL).
    pub fn sync(&self) -> Result<()> {
        self.inner.sync()
    }

    /// Figures about the collection.
    pub fn stats(&self) -> Result<CollectionStats> {
        self.inner.stats()
    }

    /// Every live document (a snapshot taken now; later writes are not seen), for export and
    /// migration. Memtable documents come first, then each segment's.
    pub fn iter(&self) -> Result<DocumentIter> {
        self.inner.check_alive()?;
        Ok(DocumentIter::new(&self.inner.state.read()))
    }

    /// The nearest documents to a query (see [`Search`](crate::Search)).
    pub fn search(&self, search: crate::Search<'_>) -> Result<Vec<crate::Match>> {
        self.inner.check_alive()?;
        self.run_search(&search)
    }

    /// Run many searches in parallel on the shared worker pool (one thread per core); the
    /// answers are in the order of `searches`, each as [`Collection::search`] gives it. The first
    /// search that fails fails the batch.
    ///
    /// ```
    /// use ndb::{CollectionConfig, Database, Document, Search};
    /// # let dir = tempfile::tempdir()?;
    /// let db = Database::open(dir.path())?;
    /// let c = db.create_collection("c", CollectionConfig::new(2))?;
    /// c.insert_batch((0..100).map(|i| Document::new(format!("d{i}"), vec![1.0, i as f32])))?;
    /// let queries = [[1.0, 3.0], [1.0, 50.0]];
    /// let searches: Vec<Search> = queries.iter().map(|q| Search::new(q).top_k(3)).collect();
    /// let answers = c.search_batch(&searches)?;
    /// assert_eq!(answers.len(), 2);
    /// assert_eq!(answers[1], c.search(searches[1].clone())?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn search_batch(&self, searches: &[crate::Search<'_>]) -> Result<Vec<Vec<crate::Match>>> {
        use rayon::prelude::*;
        self.inner.check_alive()?;
        searches.par_iter().map(|s| self.run_search(s)).collect()
    }

    fn run_search(&self, search: &crate::Search<'_>) -> Result<Vec<crate::Match>> {
        crate::search::run(
            &self.inner.state,
            self.inner.config.distance(),
            self.inner.config.index().ef_search,
            search,
        )
    }

    /// Merge all segments into one, dropping every deleted and replaced row (deletes and
    /// replacements acknowledged before the call, also those not flushed yet: the WAL is synced
    /// first) and rebuilding the index of the merged segment. Readers and writers continue
    /// meanwhile; the new state replaces the old in one atomic manifest swap. `docs_after` is
    /// the number of live documents in segments afterwards.
    ///
    /// ```
    /// use ndb::{CollectionConfig, Database, Document};
    /// # let dir = tempfile::tempdir()?;
    /// let db = Database::open(dir.path())?;
    /// let c = db.create_collection("c", CollectionConfig::new(2))?;
    /// c.insert_batch((0..100).map(|i| Document::new(format!("d{i}"), vec![1.0, i as f32])))?;
    /// c.flush()?;
    /// for i in (0..100).step_by(2) {
    ///     c.delete(&format!("d{i}"))?;
    /// }
    /// let stats = c.compact()?;
    /// assert_eq!((stats.docs_before, stats.docs_after), (100, 50));
    /// assert!(stats.bytes_after < stats.bytes_before);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compact(&self) -> Result<CompactionStats> {
        self.inner.writer()?;
        self.inner.compact()
    }

    /// Index the payload field `field` (a dotted path) as `kind`, so filters on it find their
    /// rows without decoding payloads; built now over every segment and kept for new ones.
    /// Filters are correct without indexes, only slower.
    ///
    /// ```
    /// use ndb::{Database, CollectionConfig, PayloadIndexKind};
    /// # let dir = tempfile::tempdir()?;
    /// let db = Database::open(dir.path())?;
    /// let c = db.create_collection("c", CollectionConfig::new(2))?;
    /// c.create_payload_index("lang", PayloadIndexKind::Keyword)?;
    /// assert_eq!(c.payload_indexes(), vec![("lang".to_string(), PayloadIndexKind::Keyword)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_payload_index(&self, field: &str, kind: crate::PayloadIndexKind) -> Result<()> {
        self.inner.writer()?;
        self.inner.set_payload_index(field, Some(kind))
    }

    /// Remove the payload index of `field` (if any).
    pub fn drop_payload_index(&self, field: &str) -> Result<()> {
        self.inner.writer()?;
        self.inner.set_payload_index(field, None)
    }

    /// The declared payload indexes: field and kind.
    pub fn payload_indexes(&self) -> Vec<(String, crate::PayloadIndexKind)> {
        self.inner.payload_indexes()
    }

    /// Build (or rebuild) the HNSW index of every segment, in parallel, and keep building
    /// indexes for new segments at flush (undoing [`Collection::delete_index`]). Searches keep
    /// working meanwhile; the new indexes replace the old ones in one manifest swap.
    pub fn rebuild_index(&self) -> Result<()> {
        self.inner.writer()?;
        self.inner.rebuild_index()
    }

    /// Whether any segment has an HNSW index (approximate search is then used by default).
    pub fn has_index(&self) -> bool {
        self.inner.has_index()
    }

    /// Wait until every segment that should have an HNSW graph has one (the backlog a fast
    /// ingest leaves: segments the background flusher wrote without a graph), building graphs
    /// on this thread beside the background builds. Returns `false` if `timeout` passed first.
    /// Segments written by other threads while it waits are not waited for. A read-only handle
    /// only reports whether the backlog is empty.
    ///
    /// ```
    /// use ndb::{CollectionConfig, Database, Document};
    /// use std::time::{Duration, Instant};
    /// # let dir = tempfile::tempdir()?;
    /// let db = Database::open(dir.path())?;
    /// let c = db.create_collection("c", CollectionConfig::new(2))?;
    /// c.insert_batch((0..2000).map(|i| Document::new(format!("d{i}"), vec![1.0, i as f32])))?;
    /// c.flush()?;
    /// assert!(c.wait_for_index(Duration::from_secs(60))?);
    /// assert_eq!(c.stats()?.index_backlog_rows, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_for_index(&self, timeout: Duration) -> Result<bool> {
        self.inner.check_alive()?;
        self.inner
            .wait_for_index(Instant::now().checked_add(timeout))
    }

    /// Remove every HNSW index and stop building them at flush, until
    /// [`Collection::rebuild_index`]. Searches become exact.
    pub fn delete_index(&self) -> Result<()> {
        self.inner.writer()?;
        self.inner.delete_index()
    }

    /// Check every checksum of every file of the collection (segments in full, deletion files,
    /// manifest). Returns the first problem found as [`Error::Corruption`].
    pub fn verify(&self) -> Result<()> {
        self.inner.check_alive()?;
        let segments = self.inner.state.read().segments.clone();
        for s in &segments {
            s.segment.verify()?;
            match (&s.index, s.index_gen) {
                (Some(index), _) => index.verify()?,
                (None, Some(gen)) => {
                    // Named by the manifest but unusable at open: report why.
                    let id = s.segment.id();
                    let path = self
                        .inner
                        .dir
                        .join(SEGMENTS_DIR_NAME)
                        .join(crate::segment::index::index_file_name(id, gen));
                    crate::segment::index::SegmentIndex::open(
                        &*self.inner.vfs,
                        &path,
                        id,
                        s.segment.rows(),
                        crate::segment::index::graph_metric(self.inner.config.distance()),
                    )?
                    .verify()?;
                }
                (None, None) => {}
            }
            if let Some(gen) = s.payload_index_gen {
                let id = s.segment.id();
                let path = self
                    .inner
                    .dir
                    .join(SEGMENTS_DIR_NAME)
                    .join(crate::payload_index::payload_index_file_name(id, gen));
                crate::payload_index::read_file(
                    &*self.inner.vfs,
                    &path,
                    id,
                    u64::from(s.segment.rows()),
                )?;
            }
        }
        crate::manifest::read_collection(&*self.inner.vfs, &self.inner.dir)?;
        Ok(())
    }
}
