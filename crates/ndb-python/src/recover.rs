//! `ndb.recover` and the `ndb.RecoverReport` it returns: salvage of a damaged database.
//!
//! The report carries the library's figures as attributes, its per-collection and per-file
//! entries as dicts (like `Collection.stats()`), and the library's own text as `str(report)`.

use crate::errors::IntoPyResult;
use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyRange, PyString};
use std::ops::Range;
use std::path::PathBuf;

/// Copy every document that can still be read from the database at ``src``, damaged or not,
/// into a new database at ``dest``, and return an ``ndb.RecoverReport`` saying per collection
/// and per file what was read and what was lost, where and why.
///
/// The source is never written or locked: run it on a copy, or while no process writes to
/// it. ``dest`` must not exist or be an empty directory (``DestinationNotEmptyError``
/// otherwise, and nothing is written) and must not lie inside ``src``. Damage in the source
/// is reported, not raised; ``NotADatabaseError`` if ``src`` holds nothing like a database.
#[pyfunction]
pub fn recover(py: Python<'_>, src: PathBuf, dest: PathBuf) -> PyResult<RecoverReport> {
    let report = py.detach(|| ndb::recover(&src, &dest)).py_err()?;
    RecoverReport::new(py, &report)
}

/// What ``ndb.recover`` copied and what it lost. ``str(report)`` is the text ``ndb recover``
/// prints.
///
/// ``files`` and each collection's ``files`` are lists of dicts: path (a ``pathlib.Path``
/// relative to the source), kind ("database_manifest", "collection_manifest", "wal",
/// "segment", "deletions", "graph", "payload_index"), documents_read, rows_lost and damage, a
/// list of dicts: bytes (a ``range`` of byte offsets), rows and records (a ``range`` of the
/// segment rows or WAL sequence numbers lost, or None), ids (of the lost rows, where
/// readable: hints) and reason.
#[pyclass(module = "ndb", frozen)]
pub struct RecoverReport {
    /// The database that was read (never written).
    #[pyo3(get)]
    pub source: PathBuf,
    /// The new database the documents were copied into.
    #[pyo3(get)]
    pub dest: PathBuf,
    /// Documents written into the new database, over all collections.
    #[pyo3(get)]
    pub documents_recovered: u64,
    /// Segment rows that could not be read, over all collections.
    #[pyo3(get)]
    pub rows_lost: u64,
    /// Whether no document can have been lost: no damage in any file that holds documents or
    /// deletions (damaged graphs and payload indexes lose nothing), nothing left out.
    #[pyo3(get)]
    pub complete: bool,
    /// The database's own files (its manifest), as dicts.
    #[pyo3(get)]
    pub files: Py<PyList>,
    /// One dict per collection found, in name order: name, documents_recovered,
    /// documents_refused, config_from_manifest, rows_lost, complete, files, notes.
    #[pyo3(get)]
    pub collections: Py<PyList>,
    /// Findings about the database as a whole (directories not recovered, and why).
    #[pyo3(get)]
    pub notes: Vec<String>,
    /// The library's text of the report (`Display`), without the final newline.
    text: String,
}

impl RecoverReport {
    fn new(py: Python<'_>, r: &ndb::RecoverReport) -> PyResult<Self> {
        let collections = PyList::empty(py);
        for c in &r.collections {
            let d = PyDict::new(py);
            d.set_item("name", &c.name)?;
            d.set_item("documents_recovered", c.documents_recovered)?;
            d.set_item("documents_refused", c.documents_refused)?;
            d.set_item("config_from_manifest", c.config_from_manifest)?;
            d.set_item("rows_lost", c.rows_lost())?;
            d.set_item("complete", c.is_complete())?;
            d.set_item("files", files(py, &c.files)?)?;
            d.set_item("notes", &c.notes)?;
            collections.append(d)?;
        }
        Ok(Self {
            source: r.source.clone(),
            dest: r.dest.clone(),
            documents_recovered: r.documents_recovered(),
            rows_lost: r.rows_lost(),
            complete: r.is_complete(),
            files: files(py, &r.files)?.unbind(),
            collections: collections.unbind(),
            notes: r.notes.clone(),
            text: r.to_string().trim_end().to_string(),
        })
    }
}

#[pymethods]
impl RecoverReport {
    fn __str__(&self) -> &str {
        &self.text
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let path = |p: &PathBuf| PyString::new(py, &p.display().to_string()).repr();
        Ok(format!(
            "RecoverReport(source={}, dest={}, documents_recovered={}, rows_lost={}, complete={})",
            path(&self.source)?,
            path(&self.dest)?,
            self.documents_recovered,
            self.rows_lost,
            if self.complete { "True" } else { "False" }
        ))
    }
}

/// A half-open range of file offsets, rows or sequence numbers as a Python ``range``.
fn range<'py>(py: Python<'py>, r: &Range<u64>) -> PyResult<Bound<'py, PyRange>> {
    let bound = |n: u64| {
        isize::try_from(n).map_err(|_| PyOverflowError::new_err(format!("{n} exceeds a range")))
    };
    PyRange::new(py, bound(r.start)?, bound(r.end)?)
}

fn files<'py>(py: Python<'py>, list: &[ndb::FileRecovery]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for f in list {
        let d = PyDict::new(py);
        d.set_item("path", &f.path)?;
        d.set_item("kind", f.kind.name())?;
        d.set_item("documents_read", f.documents_read)?;
        d.set_item("rows_lost", f.rows_lost)?;
        let damage = PyList::empty(py);
        for g in &f.damage {
            let gd = PyDict::new(py);
            gd.set_item("bytes", range(py, &g.bytes)?)?;
            gd.set_item("rows", g.rows.as_ref().map(|r| range(py, r)).transpose()?)?;
            gd.set_item(
                "records",
                g.records.as_ref().map(|r| range(py, r)).transpose()?,
            )?;
            gd.set_item("ids", &g.ids)?;
            gd.set_item("reason", &g.reason)?;
            damage.append(gd)?;
        }
        d.set_item("damage", damage)?;
        out.append(d)?;
    }
    Ok(out)
}
