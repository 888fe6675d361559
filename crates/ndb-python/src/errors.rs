//! `ndb::Error` → the `ndb.Error` hierarchy of `python/ndb/_errors.py`.
//!
//! The classes are plain Python (so that `DimensionError` can also be a `ValueError`, and
//! `CollectionNotFoundError` a `KeyError`), defined once in `_errors.py` and looked up there by
//! name when an error is raised. The message is the crate's `Display` text, which says what
//! failed and where.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyModule, PyType};

/// The module that defines the hierarchy, imported once.
static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// A Python exception of class `ndb.<class>` with message `msg`. `class` names a class of
/// `python/ndb/_errors.py`, the one definition of the hierarchy.
fn raise(class: &str, msg: String) -> PyErr {
    Python::attach(|py| {
        let class = MODULE
            .get_or_try_init(py, || py.import("ndb._errors").map(Bound::unbind))
            .and_then(|module| Ok(module.bind(py).getattr(class)?.cast_into::<PyType>()?));
        match class.and_then(|class| class.call1((msg,))) {
            Ok(value) => PyErr::from_value(value),
            Err(e) => e,
        }
    })
}

/// `ndb.InvalidArgumentError` with message `msg` (an argument the binding itself refuses).
pub(crate) fn invalid_argument(msg: impl Into<String>) -> PyErr {
    raise("InvalidArgumentError", msg.into())
}

/// `ndb.ClosedError` with message `msg`.
pub(crate) fn closed(msg: impl Into<String>) -> PyErr {
    raise("ClosedError", msg.into())
}

/// `ndb.CorruptionError` with `msg` (stored bytes that do not decode).
pub(crate) fn corruption(msg: impl Into<String>) -> PyErr {
    raise("CorruptionError", msg.into())
}

/// The Python exception for a crate error.
pub(crate) fn to_py(e: ndb::Error) -> PyErr {
    let class = match &e {
        ndb::Error::Corruption { .. } => "CorruptionError",
        ndb::Error::CollectionLocked { .. } => "LockedError",
        ndb::Error::ReadOnly => "ReadOnlyError",
        ndb::Error::WrongDimension { .. } => "DimensionError",
        ndb::Error::InvalidArgument(_) => "InvalidArgumentError",
        ndb::Error::CollectionNotFound(_) => "CollectionNotFoundError",
        ndb::Error::CollectionExists(_) => "CollectionExistsError",
        ndb::Error::Io { .. } => "IoError",
        ndb::Error::UnsupportedFormat { .. } => "UnsupportedFormatError",
        ndb::Error::NotADatabase { .. } => "NotADatabaseError",
        ndb::Error::Poisoned { .. } => "PoisonedError",
        ndb::Error::DestinationNotEmpty { .. } => "DestinationNotEmptyError",
        ndb::Error::Internal(_) => "InternalError",
        _ => "Error",
    };
    raise(class, e.to_string())
}

/// `Result<T, ndb::Error>` → `PyResult<T>`.
pub(crate) trait IntoPyResult<T> {
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for ndb::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
