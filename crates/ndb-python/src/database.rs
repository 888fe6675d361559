//! `ndb.Database`: a directory of collections, and the handles that `close()` releases.

use crate::collection::{Collection, Slot};
use crate::errors::{closed, invalid_argument, IntoPyResult};
use parking_lot::{Mutex, RwLock};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// What a `Database` and the `Collection`s made from it share: the crate's handles, which
/// `close()` drops all at once (the writer lock is held until the last handle goes).
pub(crate) struct Shared {
    db: RwLock<Option<ndb::Database>>,
    /// Every collection handle given out, so that `close()` can drop them.
    slots: Mutex<Vec<Weak<Slot>>>,
    path: PathBuf,
}

impl Shared {
    fn db(&self) -> PyResult<ndb::Database> {
        self.db.read().clone().ok_or_else(|| self.closed())
    }

    pub(crate) fn closed(&self) -> PyErr {
        closed(format!("the database {} is closed", self.path.display()))
    }

    fn register(&self, slot: &Arc<Slot>) {
        let mut slots = self.slots.lock();
        slots.retain(|s| s.strong_count() > 0);
        slots.push(Arc::downgrade(slot));
    }
}

fn parse_name<T: serde::de::DeserializeOwned>(
    what: &str,
    given: &str,
    aliases: &[(&str, &str)],
    choices: &str,
) -> PyResult<T> {
    let name = aliases
        .iter()
        .find(|(alias, _)| *alias == given)
        .map_or(given, |(_, name)| name);
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        invalid_argument(format!(
            "invalid argument: {what} must be one of {choices}, got {given:?}"
        ))
    })
}

pub(crate) fn parse_distance(s: &str) -> PyResult<ndb::Distance> {
    parse_name(
        "distance",
        s,
        &[("dot", "dot_product"), ("l2", "euclidean")],
        "\"cosine\", \"dot_product\" (or \"dot\"), \"euclidean\" (or \"l2\")",
    )
}

pub(crate) fn distance_name(d: ndb::Distance) -> String {
    match serde_json::to_value(d) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{d:?}"),
    }
}

/// The Python name of a durability: "buffered" or "fsync" (as `create_collection` takes them).
pub(crate) fn durability_name(d: ndb::Durability) -> &'static str {
    match d {
        ndb::Durability::Buffered => "buffered",
        ndb::Durability::FdatasyncEachBatch => "fsync",
    }
}

/// An nDB database: a directory of collections.
///
/// ``Database(path)`` opens it for reading and writing (creating the directory if missing) and
/// holds its writer lock until ``close()``; a second writer, in this process or another, gets
/// ``LockedError``. ``Database(path, read_only=True)`` takes no lock and sees each collection
/// as it was when first opened through this handle, until ``Collection.refresh()``; with
/// ``refresh_interval=seconds`` its searches refresh by themselves when the last look is older
/// than that (``0``: before every search). Use it as a context manager to close it.
#[pyclass(module = "ndb", frozen)]
pub struct Database {
    shared: Arc<Shared>,
    read_only: bool,
}

#[pymethods]
impl Database {
    #[new]
    #[pyo3(signature = (path, read_only=false, *, background_maintenance=true,
                        refresh_interval=None))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        read_only: bool,
        background_maintenance: bool,
        refresh_interval: Option<f64>,
    ) -> PyResult<Self> {
        let mut options =
            ndb::DatabaseOptions::default().with_background_maintenance(background_maintenance);
        if let Some(seconds) = refresh_interval {
            if !read_only {
                return Err(invalid_argument(
                    "invalid argument: refresh_interval is for read-only handles (a writer \
                     always sees its own writes): pass read_only=True",
                ));
            }
            options = options.with_reader_refresh(Duration::try_from_secs_f64(seconds).map_err(
                |_| {
                    invalid_argument(format!(
                        "invalid argument: refresh_interval must be a number of seconds >= 0, \
                         got {seconds}"
                    ))
                },
            )?);
        }
        let db = py
            .detach(|| {
                if read_only {
                    ndb::Database::open_read_only_with_options(&path, options)
                } else {
                    ndb::Database::open_with_options(&path, options)
                }
            })
            .py_err()?;
        Ok(Self {
            shared: Arc::new(Shared {
                db: RwLock::new(Some(db)),
                slots: Mutex::new(Vec::new()),
                path,
            }),
            read_only,
        })
    }

    /// The database directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.shared.path.clone()
    }

    /// Whether this handle was opened read-only.
    #[getter]
    fn read_only(&self) -> bool {
        self.read_only
    }

    /// Whether ``close()`` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.shared.db.read().is_none()
    }

    /// Create a collection of ``dim``-dimensional vectors and return it.
    ///
    /// ``distance``: "cosine" (default), "dot_product" ("dot") or "euclidean" ("l2").
    /// ``durability``: "buffered" (default: a write survives a process crash once acknowledged,
    /// a power loss after the next sync) or "fsync" (each write is on stable storage before it
    /// returns). Index options (``m``, ``ef_construction``, ``ef_search``, ``index_min_rows``)
    /// and ``flush_threshold_bytes`` default to the library's values. ``quantization``:
    /// "none" (default), "int8" or "binary": compressed codes that searches traverse, the best
    /// candidates rescored with the float32 vectors (see ``Collection.search``'s
    /// ``oversampling``).
    /// Raises ``CollectionExistsError`` if the name is taken.
    #[pyo3(signature = (name, dim, distance="cosine", durability="buffered", *, m=None,
                        ef_construction=None, ef_search=None, index_min_rows=None,
                        flush_threshold_bytes=None, quantization="none"))]
    #[allow(clippy::too_many_arguments)]
    fn create_collection(
        &self,
        py: Python<'_>,
        name: &str,
        dim: usize,
        distance: &str,
        durability: &str,
        m: Option<usize>,
        ef_construction: Option<usize>,
        ef_search: Option<usize>,
        index_min_rows: Option<usize>,
        flush_threshold_bytes: Option<usize>,
        quantization: &str,
    ) -> PyResult<Collection> {
        let distance = parse_distance(distance)?;
        let durability: ndb::Durability = parse_name(
            "durability",
            durability,
            &[("fsync", "fdatasync_each_batch")],
            "\"buffered\", \"fsync\"",
        )?;
        let mut config = ndb::CollectionConfig::new(dim)
            .with_distance(distance)
            .with_durability(durability);
        let mut index = *config.index();
        index.m = m.unwrap_or(index.m);
        index.ef_construction = ef_construction.unwrap_or(index.ef_construction);
        index.ef_search = ef_search.unwrap_or(index.ef_search);
        index.min_rows = index_min_rows.unwrap_or(index.min_rows);
        config = config.with_index(index);
        if let Some(bytes) = flush_threshold_bytes {
            config = config.with_flush_threshold_bytes(bytes);
        }
        config = config.with_quantization(ndb::Quantization::from_name(quantization).py_err()?);
        let db = self.shared.db()?;
        let coll = py.detach(|| db.create_collection(name, config)).py_err()?;
        Ok(self.wrap(coll))
    }

    /// The collection called ``name``; raises ``CollectionNotFoundError`` (a ``KeyError``) if
    /// there is none.
    fn get_collection(&self, py: Python<'_>, name: &str) -> PyResult<Collection> {
        let db = self.shared.db()?;
        let coll = py.detach(|| db.get_collection(name)).py_err()?;
        Ok(self.wrap(coll))
    }

    /// Names of all collections, sorted.
    fn collection_names(&self) -> PyResult<Vec<String>> {
        self.shared.db()?.collection_names().py_err()
    }

    /// Delete a collection and its files; returns whether it existed. Handles to it raise
    /// ``CollectionNotFoundError`` afterwards.
    fn drop_collection(&self, py: Python<'_>, name: &str) -> PyResult<bool> {
        let db = self.shared.db()?;
        py.detach(|| db.drop_collection(name)).py_err()
    }

    /// Write a consistent, point-in-time copy of every collection into ``dest``, a new (or
    /// empty) directory, while other threads go on reading and writing. Every write
    /// acknowledged before the call began is in the copy; immutable files are hard-linked
    /// where the file system allows. The copy is durable when this returns and opens as an
    /// ordinary database. Returns a dict: dest (a ``pathlib.Path``), collections,
    /// files_linked, files_copied, bytes_copied, duration_s.
    ///
    /// Raises ``DestinationNotEmptyError`` if ``dest`` holds anything, ``InvalidArgumentError``
    /// if it lies inside the database, ``ReadOnlyError`` on a read-only handle.
    fn backup<'py>(&self, py: Python<'py>, dest: PathBuf) -> PyResult<Bound<'py, PyDict>> {
        let db = self.shared.db()?;
        let s = py.detach(|| db.backup(&dest)).py_err()?;
        let d = PyDict::new(py);
        d.set_item("dest", &s.dest)?;
        d.set_item("collections", s.collections)?;
        d.set_item("files_linked", s.files_linked)?;
        d.set_item("files_copied", s.files_copied)?;
        d.set_item("bytes_copied", s.bytes_copied)?;
        d.set_item("duration_s", s.duration.as_secs_f64())?;
        Ok(d)
    }

    fn __contains__(&self, name: &str) -> PyResult<bool> {
        self.shared.db()?.has_collection(name).py_err()
    }

    /// Close the database and every collection handle made from it, releasing the writer lock.
    /// Later calls on them raise ``ClosedError``. Closing twice does nothing.
    fn close(&self, py: Python<'_>) {
        let db = self.shared.db.write().take();
        let handles: Vec<_> = self
            .shared
            .slots
            .lock()
            .drain(..)
            .filter_map(|s| s.upgrade())
            .filter_map(|s| s.take())
            .collect();
        // Dropping the last handle of a collection joins its maintenance thread.
        py.detach(move || {
            drop(handles);
            drop(db);
        });
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }

    fn __repr__(&self) -> String {
        format!(
            "ndb.Database({:?}{}{})",
            self.shared.path.display().to_string(),
            if self.read_only {
                ", read_only=True"
            } else {
                ""
            },
            if self.closed() { " (closed)" } else { "" }
        )
    }
}

impl Database {
    fn wrap(&self, coll: ndb::Collection) -> Collection {
        let slot = Arc::new(Slot::new(coll));
        self.shared.register(&slot);
        Collection::new(slot, Arc::clone(&self.shared))
    }
}
