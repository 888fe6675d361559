//! `ndb.Collection`: writes, reads, search, maintenance; and the document iterator.

use crate::convert::{self, Matrix};
use crate::database::{distance_name, durability_name, Shared};
use crate::errors::{invalid_argument, IntoPyResult};
use crate::types::{Document, Match};
use parking_lot::{Mutex, RwLock};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// One handle to a crate collection, emptied by `Database.close()`.
pub(crate) struct Slot(RwLock<Option<ndb::Collection>>);

impl Slot {
    pub(crate) fn new(coll: ndb::Collection) -> Self {
        Self(RwLock::new(Some(coll)))
    }

    pub(crate) fn take(&self) -> Option<ndb::Collection> {
        self.0.write().take()
    }
}

/// Documents fetched per GIL release while iterating.
const ITER_CHUNK: usize = 256;

/// A collection of documents (id, vector, payload) of one dimension and metric.
///
/// Get one from ``Database.create_collection`` or ``Database.get_collection``. Handles are
/// cheap and thread-safe: many threads may search while one writes; every call that does I/O
/// or search releases the GIL.
#[pyclass(module = "ndb", frozen)]
pub struct Collection {
    slot: Arc<Slot>,
    db: Arc<Shared>,
    name: String,
    dim: usize,
    distance: ndb::Distance,
}

impl Collection {
    pub(crate) fn new(slot: Arc<Slot>, db: Arc<Shared>) -> Self {
        let (name, dim, distance) = {
            let guard = slot.0.read();
            let c = guard.as_ref().expect("a new slot holds its handle");
            (
                c.name().to_string(),
                c.config().dim(),
                c.config().distance(),
            )
        };
        Self {
            slot,
            db,
            name,
            dim,
            distance,
        }
    }

    fn handle(&self) -> PyResult<ndb::Collection> {
        self.slot.0.read().clone().ok_or_else(|| self.db.closed())
    }
}

/// Build a crate search from the Python arguments.
/// How a search uses quantized codes (`oversampling`, `rescore` of `search`).
#[derive(Clone, Copy)]
struct Codes {
    oversampling: Option<f32>,
    rescore: bool,
}

fn make_search<'q>(
    q: &'q [f32],
    k: usize,
    filter: &Option<ndb::Filter>,
    exact: bool,
    ef: Option<usize>,
    codes: Codes,
) -> ndb::Search<'q> {
    let mut s = ndb::Search::new(q).top_k(k).rescore(codes.rescore);
    if let Some(o) = codes.oversampling {
        s = s.oversampling(o);
    }
    if let Some(f) = filter {
        s = s.filter(f.clone());
    }
    if exact {
        s = s.approximate(false);
    }
    if let Some(ef) = ef {
        s = s.ef(ef);
    }
    s
}

/// The `ndb.Match` list of one search (payloads are converted when first read).
fn matches_to_list<'py>(py: Python<'py>, hits: Vec<ndb::RawMatch>) -> PyResult<Bound<'py, PyList>> {
    let items = hits
        .into_iter()
        .map(|m| Bound::new(py, Match::from_match(py, m)))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[pymethods]
impl Collection {
    /// The collection's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The vector dimension.
    #[getter]
    fn dim(&self) -> usize {
        self.dim
    }

    /// The similarity metric: "cosine", "dot_product" or "euclidean".
    #[getter]
    fn distance(&self) -> String {
        distance_name(self.distance)
    }

    /// The collection's settings as of now, as a dict with the keywords of
    /// ``Database.create_collection``: dim, distance, durability ("buffered" or "fsync"), m,
    /// ef_construction, ef_search, index_min_rows, flush_threshold_bytes, quantization.
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        config_dict(py, &self.handle()?.config())
    }

    /// Change the settings that may change without rewriting data, given as keywords:
    /// ``durability`` ("buffered" or "fsync"), ``flush_threshold_bytes`` (from the next
    /// write), ``ef_search`` (from the next search), ``m``, ``ef_construction`` and
    /// ``index_min_rows`` (for graphs built from now on), ``quantization`` (for segments written
    /// from now on; at once with ``rebuild_index()``). The change is persisted before this
    /// returns; returns the new settings (as ``config()``).
    ///
    /// Each value is passed to the library as text (``str(value)``), which checks it. Raises
    /// ``InvalidArgumentError`` for ``dim`` or ``distance`` (fixed at creation), an unknown
    /// setting or a refused value, changing nothing; ``ReadOnlyError`` on a read-only handle.
    #[pyo3(signature = (**settings))]
    fn update_config<'py>(
        &self,
        py: Python<'py>,
        settings: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let coll = self.handle()?;
        let mut update = ndb::ConfigUpdate::new();
        for (key, value) in settings.into_iter().flatten() {
            let key: String = key.extract()?;
            // The library's name of the setting `create_collection` calls index_min_rows.
            let name = if key == "index_min_rows" {
                "min_rows"
            } else {
                &key
            };
            let value = value.str()?.to_string();
            update = update.set(name, &value).py_err()?;
        }
        let config = py.detach(|| coll.update_config(&update)).py_err()?;
        config_dict(py, &config)
    }

    /// On a handle from ``Database(path, read_only=True)``: move to the newest state the writer
    /// has committed (new segments, merges, writes in its log) without reopening; returns
    /// whether anything changed. When nothing did it costs a manifest read and a directory
    /// listing; searches see the old state or the new one, never a mix. On a writer's handle
    /// (always current) it returns False.
    fn refresh(&self, py: Python<'_>) -> PyResult<bool> {
        let coll = self.handle()?;
        py.detach(|| coll.refresh()).py_err()
    }

    /// Insert or replace many documents in one all-or-nothing batch (one WAL record).
    ///
    /// ``ids``: a sequence of str; ``vectors``: an (n, dim) array-like of real numbers (a
    /// C-contiguous float32 array is read without a copy); ``payloads``: None or a sequence of
    /// n dicts (or None). Nothing is written if any document is invalid.
    #[pyo3(signature = (ids, vectors, payloads=None))]
    fn upsert(
        &self,
        py: Python<'_>,
        ids: Vec<String>,
        vectors: &Bound<'_, PyAny>,
        payloads: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let coll = self.handle()?;
        let n = ids.len();
        let matrix = if n == 0 {
            Matrix {
                rows: 0,
                dim: self.dim,
                data: Vec::new(),
            }
        } else {
            convert::matrix(vectors, Some(n), "vectors")?
        };
        let payloads: Vec<Option<serde_json::Value>> = match payloads.filter(|p| !p.is_none()) {
            None => vec![None; n],
            Some(p) => {
                let items: Vec<Bound<'_, PyAny>> = p.try_iter()?.collect::<PyResult<_>>()?;
                if items.len() != n {
                    return Err(invalid_argument(format!(
                        "invalid argument: {} payloads for {n} ids",
                        items.len()
                    )));
                }
                items
                    .iter()
                    .map(|p| {
                        if p.is_none() {
                            Ok(None)
                        } else {
                            convert::to_json(p).map(Some)
                        }
                    })
                    .collect::<PyResult<_>>()?
            }
        };
        py.detach(move || {
            let docs = ids
                .into_iter()
                .zip(payloads)
                .enumerate()
                .map(|(i, (id, payload))| ndb::Document {
                    id,
                    vector: matrix.row(i).to_vec(),
                    payload,
                });
            coll.insert_batch(docs)
        })
        .py_err()
    }

    /// Insert one document, or replace the one with the same id.
    #[pyo3(signature = (id, vector, payload=None))]
    fn insert(
        &self,
        py: Python<'_>,
        id: String,
        vector: &Bound<'_, PyAny>,
        payload: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let coll = self.handle()?;
        let vector = convert::vector(vector, "vector")?;
        let payload = match payload.filter(|p| !p.is_none()) {
            None => None,
            Some(p) => Some(convert::to_json(p)?),
        };
        let doc = ndb::Document {
            id,
            vector,
            payload,
        };
        py.detach(move || coll.insert(doc)).py_err()
    }

    /// The document with this id (an ``ndb.Document``), or None.
    fn get(&self, py: Python<'_>, id: &str) -> PyResult<Option<Document>> {
        let coll = self.handle()?;
        match py.detach(|| coll.get(id)).py_err()? {
            Some(doc) => Ok(Some(Document::from_doc(py, doc)?)),
            None => Ok(None),
        }
    }

    /// Replace the payload of the document ``id`` (``None`` removes it), keeping its vector;
    /// returns whether the document exists (nothing is written if not). Only the id and the
    /// new payload are written; searches and filters see the new payload at once, and the
    /// update is as durable as an insert.
    #[pyo3(signature = (id, payload))]
    fn set_payload(
        &self,
        py: Python<'_>,
        id: &str,
        payload: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let coll = self.handle()?;
        let payload = match payload.filter(|p| !p.is_none()) {
            None => None,
            Some(p) => Some(convert::to_json(p)?),
        };
        py.detach(|| coll.set_payload(id, payload)).py_err()
    }

    /// Apply a JSON merge patch (RFC 7396) to the payload of the document ``id``: each key of
    /// ``patch`` (a dict) replaces the field of that name, nested dicts merge, a ``None`` value
    /// removes the field. Returns whether the document exists; otherwise like ``set_payload``.
    fn patch_payload(&self, py: Python<'_>, id: &str, patch: &Bound<'_, PyAny>) -> PyResult<bool> {
        let coll = self.handle()?;
        let patch = convert::to_json(patch)?;
        py.detach(|| coll.patch_payload(id, patch)).py_err()
    }

    /// Delete a document; returns whether it was present.
    fn delete(&self, py: Python<'_>, id: &str) -> PyResult<bool> {
        let coll = self.handle()?;
        py.detach(|| coll.delete(id)).py_err()
    }

    /// Delete documents by id; returns how many were present. Each deletion is its own write
    /// (not one all-or-nothing batch).
    fn delete_many(&self, py: Python<'_>, ids: Vec<String>) -> PyResult<usize> {
        let coll = self.handle()?;
        py.detach(|| {
            let mut n = 0;
            for id in &ids {
                n += usize::from(coll.delete(id)?);
            }
            Ok(n)
        })
        .py_err()
    }

    /// The ``k`` documents nearest to ``q`` (a 1-D array-like of ``dim`` numbers), best first,
    /// as a list of ``ndb.Match``.
    ///
    /// ``filter``: a dict in the MongoDB-style form, e.g. ``{"lang": "en", "year": {"$gte":
    /// 2020}}`` (operators ``$eq $ne $gt $gte $lt $lte $in $nin $exists $and $or $not``).
    /// ``exact=True`` scans every vector instead of using the HNSW index; ``ef`` widens (or
    /// narrows) the approximate search (default: the collection's ``ef_search``). On a
    /// quantized collection, ``oversampling`` (at least 1; default 2 for int8, 4 for binary)
    /// is how many candidates per result are rescored with the float32 vectors, and
    /// ``rescore=False`` returns the codes' estimates instead.
    #[pyo3(signature = (q, k=10, filter=None, exact=false, ef=None, *, oversampling=None,
                        rescore=true))]
    #[allow(clippy::too_many_arguments)]
    fn search<'py>(
        &self,
        py: Python<'py>,
        q: &Bound<'py, PyAny>,
        k: usize,
        filter: Option<&Bound<'py, PyAny>>,
        exact: bool,
        ef: Option<usize>,
        oversampling: Option<f32>,
        rescore: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let coll = self.handle()?;
        let q = convert::vector(q, "query")?;
        let filter = convert::filter(filter)?;
        let codes = Codes {
            oversampling,
            rescore,
        };
        let hits = py
            .detach(|| coll.search_raw(make_search(&q, k, &filter, exact, ef, codes)))
            .py_err()?;
        matches_to_list(py, hits)
    }

    /// One search per row of ``Q`` (an (nq, dim) array-like), run in parallel on ``threads``
    /// threads (default: one per core); returns one list of ``ndb.Match`` per query.
    #[pyo3(signature = (Q, k=10, filter=None, exact=false, ef=None, threads=None, *,
                        oversampling=None, rescore=true))]
    #[allow(non_snake_case, clippy::too_many_arguments)]
    fn search_batch<'py>(
        &self,
        py: Python<'py>,
        Q: &Bound<'py, PyAny>,
        k: usize,
        filter: Option<&Bound<'py, PyAny>>,
        exact: bool,
        ef: Option<usize>,
        threads: Option<usize>,
        oversampling: Option<f32>,
        rescore: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let codes = Codes {
            oversampling,
            rescore,
        };
        let coll = self.handle()?;
        let queries = convert::matrix(Q, None, "Q")?;
        let filter = convert::filter(filter)?;
        let results = py
            .detach(|| {
                let searches: Vec<ndb::Search> = (0..queries.rows)
                    .map(|i| make_search(queries.row(i), k, &filter, exact, ef, codes))
                    .collect();
                let run = || coll.search_batch_raw(&searches);
                match threads {
                    None => Ok(run()),
                    Some(t) => rayon::ThreadPoolBuilder::new()
                        .num_threads(t)
                        .build()
                        .map(|pool| pool.install(run)),
                }
            })
            .map_err(|e| invalid_argument(format!("invalid argument: threads: {e}")))?
            .py_err()?;
        let lists = results
            .into_iter()
            .map(|hits| matches_to_list(py, hits))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, lists)
    }

    /// Write the memtable to a new immutable segment now. When it returns, every acknowledged
    /// write is durable and searchable through the index: the HNSW graph of every segment that
    /// should have one is built (see ``wait_for_index``).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let coll = self.handle()?;
        py.detach(|| coll.flush()).py_err()
    }

    /// Wait until every segment that should have an HNSW graph has one (building graphs on
    /// this thread too), at most ``timeout`` seconds (``None``: no limit). Returns ``False`` if
    /// the timeout passed first.
    #[pyo3(signature = (timeout=None))]
    fn wait_for_index(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let coll = self.handle()?;
        let timeout = match timeout {
            None => std::time::Duration::MAX,
            Some(t) if t.is_finite() && t >= 0.0 => {
                std::time::Duration::try_from_secs_f64(t).unwrap_or(std::time::Duration::MAX)
            }
            Some(t) => {
                return Err(invalid_argument(format!(
                    "invalid argument: timeout must be a number of seconds >= 0, got {t}"
                )))
            }
        };
        py.detach(|| coll.wait_for_index(timeout)).py_err()
    }

    /// Make every acknowledged write durable now (fdatasync of the write-ahead log).
    fn sync(&self, py: Python<'_>) -> PyResult<()> {
        let coll = self.handle()?;
        py.detach(|| coll.sync()).py_err()
    }

    /// Merge all segments into one, dropping deleted and replaced rows; returns a dict of
    /// figures (docs_before, docs_after, bytes_before, bytes_after, segments_before,
    /// segments_after, duration_s).
    fn compact<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let coll = self.handle()?;
        let s = py.detach(|| coll.compact()).py_err()?;
        let d = PyDict::new(py);
        d.set_item("docs_before", s.docs_before)?;
        d.set_item("docs_after", s.docs_after)?;
        d.set_item("bytes_before", s.bytes_before)?;
        d.set_item("bytes_after", s.bytes_after)?;
        d.set_item("segments_before", s.segments_before)?;
        d.set_item("segments_after", s.segments_after)?;
        d.set_item("duration_s", secs(s.duration))?;
        Ok(d)
    }

    /// Figures about the collection, as a dict: doc_count, deleted_count, segment_count,
    /// memtable_docs, memtable_bytes, disk_bytes, wal_bytes, indexed_docs, index_backlog_rows
    /// (rows waiting for an HNSW graph), index_backlog_segments, index_enabled, quantization,
    /// quantized_docs, vector_bytes, code_bytes, graph_bytes, resident_bytes_per_vector (graph
    /// plus codes, or plus float32 vectors, per row: what searches read at random), flushes, merges,
    /// wal_syncs, write_stalls, write_stall_time_s, open times, ``segments`` (a list of dicts)
    /// and ``payload_indexes`` (field -> kind).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let coll = self.handle()?;
        let s = py.detach(|| coll.stats()).py_err()?;
        let d = PyDict::new(py);
        d.set_item("doc_count", s.doc_count)?;
        d.set_item("deleted_count", s.deleted_count)?;
        d.set_item("segment_count", s.segment_count)?;
        d.set_item("memtable_docs", s.memtable_docs)?;
        d.set_item("memtable_bytes", s.memtable_bytes)?;
        d.set_item("disk_bytes", s.disk_bytes)?;
        d.set_item("wal_bytes", s.wal_bytes)?;
        d.set_item("indexed_docs", s.indexed_docs)?;
        d.set_item("index_backlog_rows", s.index_backlog_rows)?;
        d.set_item("index_backlog_segments", s.index_backlog_segments)?;
        d.set_item("index_enabled", s.index_enabled)?;
        d.set_item("quantization", s.quantization.name())?;
        d.set_item("quantized_docs", s.quantized_docs)?;
        d.set_item("vector_bytes", s.vector_bytes)?;
        d.set_item("code_bytes", s.code_bytes)?;
        d.set_item("graph_bytes", s.graph_bytes)?;
        d.set_item("resident_bytes_per_vector", s.resident_bytes_per_vector)?;
        d.set_item("flushes", s.flushes)?;
        d.set_item("merges", s.merges)?;
        d.set_item("wal_syncs", s.wal_syncs)?;
        d.set_item("write_stalls", s.write_stalls)?;
        d.set_item("write_stall_time_s", secs(s.write_stall_time))?;
        d.set_item("wal_replayed_records", s.wal_replayed_records)?;
        d.set_item("wal_truncated_bytes", s.wal_truncated_bytes)?;
        d.set_item("open_duration_s", secs(s.open_duration))?;
        d.set_item("open_manifest_duration_s", secs(s.open_manifest_duration))?;
        d.set_item("open_segments_duration_s", secs(s.open_segments_duration))?;
        d.set_item(
            "open_wal_replay_duration_s",
            secs(s.open_wal_replay_duration),
        )?;
        let segments = PyList::empty(py);
        for seg in &s.segments {
            let sd = PyDict::new(py);
            sd.set_item("id", seg.id)?;
            sd.set_item("rows", seg.rows)?;
            sd.set_item("deleted", seg.deleted)?;
            sd.set_item("bytes", seg.bytes)?;
            sd.set_item("indexed", seg.indexed)?;
            sd.set_item("quantization", seg.quantization.name())?;
            sd.set_item("code_bytes", seg.code_bytes)?;
            segments.append(sd)?;
        }
        d.set_item("segments", segments)?;
        let indexes = PyDict::new(py);
        for (field, kind) in &s.payload_indexes {
            indexes.set_item(field, index_kind_name(*kind))?;
        }
        d.set_item("payload_indexes", indexes)?;
        Ok(d)
    }

    /// Build (or rebuild) the HNSW index of every segment, and keep building indexes for new
    /// segments. Searches keep working meanwhile.
    fn rebuild_index(&self, py: Python<'_>) -> PyResult<()> {
        let coll = self.handle()?;
        py.detach(|| coll.rebuild_index()).py_err()
    }

    /// Remove every HNSW index (searches become exact) until ``rebuild_index()``.
    fn delete_index(&self, py: Python<'_>) -> PyResult<()> {
        let coll = self.handle()?;
        py.detach(|| coll.delete_index()).py_err()
    }

    /// Whether the collection has an HNSW index: every segment that should have a graph has one.
    fn has_index(&self) -> PyResult<bool> {
        Ok(self.handle()?.has_index())
    }

    /// Index the payload field ``field`` (a dotted path) as ``kind``: "keyword", "integer",
    /// "float" or "bool", so that filters on it skip non-matching rows without reading
    /// payloads. Filters are correct without indexes, only slower.
    fn create_payload_index(&self, py: Python<'_>, field: &str, kind: &str) -> PyResult<()> {
        let coll = self.handle()?;
        let kind: ndb::PayloadIndexKind =
            serde_json::from_value(serde_json::Value::String(kind.to_string())).map_err(|_| {
                invalid_argument(format!(
                    "invalid argument: payload index kind must be one of \"keyword\", \
                         \"integer\", \"float\", \"bool\", got {kind:?}"
                ))
            })?;
        py.detach(|| coll.create_payload_index(field, kind))
            .py_err()
    }

    /// Remove the payload index of ``field`` (if any).
    fn drop_payload_index(&self, py: Python<'_>, field: &str) -> PyResult<()> {
        let coll = self.handle()?;
        py.detach(|| coll.drop_payload_index(field)).py_err()
    }

    /// The declared payload indexes, as a dict field -> kind.
    fn payload_indexes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (field, kind) in self.handle()?.payload_indexes() {
            d.set_item(field, index_kind_name(kind))?;
        }
        Ok(d)
    }

    /// Check every checksum of every file of the collection; raises ``CorruptionError`` on the
    /// first problem found.
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        let coll = self.handle()?;
        py.detach(|| coll.verify()).py_err()
    }

    /// The number of live documents.
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        let coll = self.handle()?;
        let s = py.detach(|| coll.stats()).py_err()?;
        Ok(s.doc_count as usize)
    }

    fn __contains__(&self, py: Python<'_>, id: &str) -> PyResult<bool> {
        let coll = self.handle()?;
        Ok(py.detach(|| coll.get(id)).py_err()?.is_some())
    }

    /// Every live document (``ndb.Document``), from a snapshot taken now.
    fn __iter__(&self, py: Python<'_>) -> PyResult<DocumentIterator> {
        let coll = self.handle()?;
        let iter = py.detach(|| coll.iter()).py_err()?;
        Ok(DocumentIterator {
            inner: Mutex::new((iter, VecDeque::new())),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "ndb.Collection({:?}, dim={}, distance={:?})",
            self.name,
            self.dim,
            distance_name(self.distance)
        )
    }
}

/// `config()`'s dict: the keywords of `Database.create_collection`.
fn config_dict<'py>(
    py: Python<'py>,
    config: &ndb::CollectionConfig,
) -> PyResult<Bound<'py, PyDict>> {
    let index = config.index();
    let d = PyDict::new(py);
    d.set_item("dim", config.dim())?;
    d.set_item("distance", distance_name(config.distance()))?;
    d.set_item("durability", durability_name(config.durability()))?;
    d.set_item("m", index.m)?;
    d.set_item("ef_construction", index.ef_construction)?;
    d.set_item("ef_search", index.ef_search)?;
    d.set_item("index_min_rows", index.min_rows)?;
    d.set_item("flush_threshold_bytes", config.flush_threshold_bytes())?;
    d.set_item("quantization", config.quantization().name())?;
    Ok(d)
}

fn index_kind_name(kind: ndb::PayloadIndexKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{kind:?}"),
    }
}

/// Iterator over the live documents of a collection, from a snapshot taken when it was made.
#[pyclass(module = "ndb")]
pub struct DocumentIterator {
    /// The crate's iterator and the documents fetched ahead (fetched in chunks, with the GIL
    /// released).
    inner: Mutex<(ndb::DocumentIter, VecDeque<ndb::Result<ndb::Document>>)>,
}

#[pymethods]
impl DocumentIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Document>> {
        let next = py.detach(|| {
            let mut guard = self.inner.lock();
            let (iter, ahead) = &mut *guard;
            if ahead.is_empty() {
                ahead.extend(iter.by_ref().take(ITER_CHUNK));
            }
            ahead.pop_front()
        });
        match next {
            None => Ok(None),
            Some(doc) => Ok(Some(Document::from_doc(py, doc.py_err()?)?)),
        }
    }
}
