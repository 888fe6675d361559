//! The public handle: [`Collection`], and the share of it that keeps background work alive.

use super::open::SEGMENTS_DIR;
use super::state::LiveSegment;
use super::{CollectionInner, CollectionStats, CompactionStats, DocumentIter};
use crate::config::CollectionConfig;
use crate::document::prepare;
use crate::{Document, Error, Result};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Times [`Collection::verify`] starts again when maintenance replaced segments under it.
const VERIFY_ATTEMPTS: u32 = 8;

/// A search over a collection's state (`search::run` or `search::run_raw`).
type SearchFn<T> = fn(
    &super::StateLock<super::state::State>,
    crate::Distance,
    usize,
    &crate::Search<'_>,
) -> Result<Vec<T>>;

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
        if let Some(m) = &self.inner.jobs.maintenance {
            m.stop();
        }
    }
}

impl Collection {
    /// A point-in-time copy of the collection in the new directory `dest` (see
    /// [`Database::backup`](crate::Database::backup)).
    pub(crate) fn backup_into(&self, dest: &std::path::Path) -> Result<super::Copied> {
        self.inner.backup_into(dest)
    }

    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The collection's configuration (as of now: see [`Collection::update_config`]).
    pub fn config(&self) -> CollectionConfig {
        CollectionConfig::clone(&self.inner.config())
    }

    /// Change the settings that may change without rewriting data (durability, flush
    /// threshold, default `ef_search`, and `m`, `ef_construction`, `min_rows` for graphs built
    /// from now on); they are persisted in the manifest and used at once. Returns the new
    /// configuration. A refused value (the same checks as at creation) changes nothing.
    ///
    /// ```
    /// use ndb::{CollectionConfig, ConfigUpdate, Database, Durability};
    /// # let dir = tempfile::tempdir()?;
    /// let db = Database::open(dir.path())?;
    /// let c = db.create_collection("c", CollectionConfig::new(2))?;
    /// let config = c.update_config(&ConfigUpdate::new().durability(Durability::FdatasyncEachBatch))?;
    /// assert_eq!(config.durability(), Durability::FdatasyncEachBatch);
    /// assert_eq!(c.config(), config);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn update_config(&self, update: &crate::ConfigUpdate) -> Result<CollectionConfig> {
        self.inner.update_config(update)
    }

    /// Insert a document, or replace the one with the same id.
    pub fn insert(&self, doc: Document) -> Result<()> {
        self.inner.writer()?;
        let doc = prepare(&self.inner.config(), doc)?;
        self.inner.put(vec![doc])
    }

    /// Insert or replace many documents as one WAL record: after a crash either all of them
    /// are present or none. If the batch holds the same id twice, the last one wins. Nothing is
    /// written if any document is invalid.
    pub fn insert_batch(&self, docs: impl IntoIterator<Item = Document>) -> Result<()> {
        self.inner.writer()?;
        let docs = docs
            .into_iter()
            .map(|d| prepare(&self.inner.config(), d))
            .collect::<Result<Vec<_>>>()?;
        self.inner.put(docs)
    }

    /// The document with this id, if present.
    pub fn get(&self, id: &str) -> Result<Option<Document>> {
        self.inner.check_alive()?;
        crate::document::validate_id(id)?;
        let st = self.inner.state.read();
        match st.find(id)? {
            Some(found) => found.to_document().map(Some),
            None => Ok(None),
        }
    }

    /// Replace the payload of the document `id` (`None` removes it), keeping its vector;
    /// returns whether the document exists (nothing is written if not). The WAL record holds
    /// the id and the new payload only, and the update is durable, searchable and filterable
    /// like an insert (the collection's [`Durability`](crate::Durability) applies).
    ///
    /// ```
    /// use ndb::{CollectionConfig, Database, Document, Filter, Search};
    /// use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// let db = Database::open(dir.path())?;
    /// let c = db.create_collection("c", CollectionConfig::new(2))?;
    /// c.insert(Document::new("a", vec![1.0, 0.0]).with_payload(json!({"lang": "en"})))?;
    /// assert!(c.set_payload("a", Some(json!({"lang": "de"})))?);
    /// let hits = c.search(Search::new(&[1.0, 0.0]).filter(Filter::eq("lang", "de")))?;
    /// assert_eq!(hits[0].id, "a");
    /// assert!(!c.set_payload("missing", None)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_payload(&self, id: &str, payload: Option<serde_json::Value>) -> Result<bool> {
        self.inner.writer()?;
        // Checked before the WAL lock is taken, so a bad payload never waits for it.
        crate::document::encode_payload(id, payload.as_ref())?;
        self.inner.update_payload(id, |_| Ok(payload))
    }

    /// Apply a JSON merge patch (RFC 7396) to the payload of the document `id`: each member
    /// of `patch` replaces the field of that name (objects merge recursively), a `null` member
    /// removes it. Returns whether the document exists. Otherwise like
    /// [`Collection::set_payload`].
    ///
    /// ```
    /// use ndb::{CollectionConfig, Database, Document};
    /// use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// let db = Database::open(dir.path())?;
    /// let c = db.create_collection("c", CollectionConfig::new(2))?;
    /// let payload = json!({"lang": "en", "meta": {"year": 2020, "draft": true}});
    /// c.insert(Document::new("a", vec![1.0, 0.0]).with_payload(payload))?;
    /// c.patch_payload("a", json!({"meta": {"year": 2024, "draft": null}}))?;
    /// let doc = c.get("a")?.unwrap();
    /// assert_eq!(doc.payload, Some(json!({"lang": "en", "meta": {"year": 2024}})));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn patch_payload(&self, id: &str, patch: serde_json::Value) -> Result<bool> {
        self.inner.writer()?;
        crate::document::check_patch(id, &patch)?;
        self.inner.update_payload(id, |current| {
            let mut payload = current.unwrap_or(serde_json::Value::Null);
            crate::document::merge_patch(&mut payload, &patch);
            Ok(Some(payload))
        })
    }

    /// Delete a document; returns whether it was present.
    pub fn delete(&self, id: &str) -> Result<bool> {
        self.inner.delete(id)
    }

    /// Write the memtable to a new immutable segment now (also done automatically when it
    /// passes the flush threshold). When it returns, every acknowledged write is durable
    /// **and** searchable through the index: the new segment's graph is built, and so is the
    /// graph of every segment that was waiting for one (see [`Collection::wait_for_index`]),
    /// on this thread at full priority. With background maintenance on, a flush also marks
    /// the end of an ingest: the segments with graphs are then merged into one in the
    /// background (the largest segment's graph is kept and the others' rows inserted into it),
    /// so that searches soon run on one graph; until that merge commits they use the current
    /// segments.
    pub fn flush(&self) -> Result<()> {
        self.inner.writer()?;
        self.inner
            .flush_memtable(true, super::new_segment::Graph::Now)?;
        self.inner.wait_for_index(None)?;
        if let Some(m) = &self.inner.jobs.maintenance {
            m.request_consolidation();
        }
        Ok(())
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
        self.inner.refresh_if_due()?;
        self.run_one(&search, crate::search::run)
    }

    /// On a handle from [`Database::open_read_only`](crate::Database::open_read_only): move to
    /// the newest state the writer has committed (new segments, merges, writes in its log)
    /// without reopening; `true` if anything changed. When nothing did, it costs a manifest
    /// read and a directory listing. Searches see the old state or the new one, never a mix,
    /// and searches running meanwhile finish on the old one. On a writer's handle it does
    /// nothing (`false`): that one is always current.
    ///
    /// ```
    /// use ndb::{CollectionConfig, Database, Document};
    /// # let dir = tempfile::tempdir()?;
    /// let writer = Database::open(dir.path())?;
    /// let w = writer.create_collection("c", CollectionConfig::new(2))?;
    /// let reader = Database::open_read_only(dir.path())?;
    /// let r = reader.get_collection("c")?;
    /// assert!(!r.refresh()?);
    /// w.insert(Document::new("a", vec![1.0, 0.0]))?;
    /// assert!(r.get("a")?.is_none());
    /// assert!(r.refresh()?);
    /// assert!(r.get("a")?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn refresh(&self) -> Result<bool> {
        self.inner.refresh()
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
        self.run_batch(searches, crate::search::run)
    }

    /// [`Collection::search`], each match's payload left as the stored JSON text instead of
    /// parsed into a [`serde_json::Value`] (parsing ten payloads costs a few microseconds, as
    /// much as the rest of a small search): for callers that parse payloads their own way, or
    /// only some of the time.
    ///
    /// ```
    /// use ndb::{CollectionConfig, Database, Document, Search};
    /// use serde_json::json;
    /// # let dir = tempfile::tempdir()?;
    /// let db = Database::open(dir.path())?;
    /// let c = db.create_collection("c", CollectionConfig::new(2))?;
    /// c.insert(Document::new("a", vec![1.0, 0.0]).with_payload(json!({"lang": "en"})))?;
    /// c.insert(Document::new("b", vec![0.0, 1.0]))?;
    /// let hits = c.search_raw(Search::new(&[1.0, 0.1]).top_k(2))?;
    /// assert_eq!(hits[0].payload_json.as_deref(), Some(r#"{"lang":"en"}"#));
    /// assert_eq!(hits[1].payload_json, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn search_raw(&self, search: crate::Search<'_>) -> Result<Vec<crate::RawMatch>> {
        self.inner.check_alive()?;
        self.inner.refresh_if_due()?;
        self.run_one(&search, crate::search::run_raw)
    }

    /// [`Collection::search_batch`] with payloads as JSON text, as [`Collection::search_raw`].
    pub fn search_batch_raw(
        &self,
        searches: &[crate::Search<'_>],
    ) -> Result<Vec<Vec<crate::RawMatch>>> {
        self.run_batch(searches, crate::search::run_raw)
    }

    /// `search` on this collection's state and settings, its results made by `run`
    /// (`search::run` or `search::run_raw`).
    fn run_one<T>(&self, search: &crate::Search<'_>, run: SearchFn<T>) -> Result<Vec<T>> {
        run(
            &self.inner.state,
            self.inner.config().distance(),
            self.inner.config().index().ef_search,
            search,
        )
    }

    /// Every search of `searches` through `run`, in parallel on the shared pool.
    fn run_batch<T: Send>(
        &self,
        searches: &[crate::Search<'_>],
        run: SearchFn<T>,
    ) -> Result<Vec<Vec<T>>> {
        use rayon::prelude::*;
        self.inner.check_alive()?;
        self.inner.refresh_if_due()?;
        searches.par_iter().map(|s| self.run_one(s, run)).collect()
    }

    /// Merge all segments into one, dropping every deleted and replaced row (deletes and
    /// replacements acknowledged before the call: the memtable is flushed first) and rebuilding
    /// the index of the merged segment. Readers and writers continue
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
        self.inner.catalog.payload_indexes()
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
    /// manifest). Returns the first problem found as [`Error::Corruption`](crate::Error::Corruption).
    ///
    /// Background maintenance may replace segments while this runs and remove the files of the
    /// ones it replaced: a file that vanished that way is not a problem, and the check starts
    /// again on the segments that replaced it.
    pub fn verify(&self) -> Result<()> {
        self.inner.check_alive()?;
        let mut attempt = 0;
        loop {
            let segments = self.inner.state.read().segments.clone();
            match self.verify_segments(&segments) {
                Err(Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound
                        && attempt < VERIFY_ATTEMPTS
                        && self.segment_files_changed(&segments) =>
                {
                    attempt += 1;
                }
                other => break other?,
            }
        }
        crate::manifest::read_collection(&*self.inner.vfs, &self.inner.dir)?;
        Ok(())
    }

    /// Whether the files the live segments name differ from those of `seen`.
    fn segment_files_changed(&self, seen: &[LiveSegment]) -> bool {
        let files = |s: &LiveSegment| {
            let gens = (s.index_gen, s.payload_index_gen, s.codes_gen);
            (s.segment.id(), gens)
        };
        let now = self.inner.state.read();
        !now.segments.iter().map(files).eq(seen.iter().map(files))
    }

    fn verify_segments(&self, segments: &[LiveSegment]) -> Result<()> {
        let seg_dir = self.inner.dir.join(SEGMENTS_DIR);
        let vfs = &*self.inner.vfs;
        for s in segments {
            s.segment.verify()?;
            let (id, rows) = (s.segment.id(), s.segment.rows());
            // A file named by the manifest but unusable at open is opened again: report why.
            match (&s.index, s.index_gen) {
                (Some(index), _) => index.verify()?,
                (None, Some(gen)) => {
                    let path = seg_dir.join(crate::segment::index::index_file_name(id, gen));
                    let metric =
                        crate::segment::index::graph_metric(self.inner.config().distance());
                    crate::segment::index::SegmentIndex::open(vfs, &path, id, rows, metric)?
                        .verify()?;
                }
                (None, None) => {}
            }
            if let Some(gen) = s.payload_index_gen {
                let path = seg_dir.join(crate::payload_index::payload_index_file_name(id, gen));
                crate::payload_index::read_file(vfs, &path, id, u64::from(rows))?;
            }
            match (&s.codes, s.codes_gen) {
                (Some(codes), _) => codes.verify()?,
                (None, Some(gen)) => {
                    let path = seg_dir.join(crate::segment::codes::codes_file_name(id, gen));
                    let dim = self.inner.config().dim();
                    crate::segment::codes::SegmentCodes::open(vfs, &path, id, rows, dim)?;
                }
                (None, None) => {}
            }
        }
        Ok(())
    }
}
