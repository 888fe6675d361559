//! `ndb::Error` → the `ndb.Error` hierarchy of `python/ndb/_errors.py`.
//!
//! The classes are plain Python (so that `DimensionError` can also be a `ValueError`, and
//! `CollectionNotFoundError` a `KeyError`); they are looked up once and cached. The message is
//! the crate's `Display` text, which says what failed and where.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// The Python exception classes, in the order of [`Kind`].
static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

/// One class of the hierarchy.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Error = 0,
    Corruption,
    Locked,
    ReadOnly,
    Dimension,
    InvalidArgument,
    CollectionNotFound,
    CollectionExists,
    Io,
    UnsupportedFormat,
    NotADatabase,
    Poisoned,
    Closed,
}

const NAMES: [&str; 13] = [
    "Error",
    "CorruptionError",
    "LockedError",
    "ReadOnlyError",
    "DimensionError",
    "InvalidArgumentError",
    "CollectionNotFoundError",
    "CollectionExistsError",
    "IoError",
    "UnsupportedFormatError",
    "NotADatabaseError",
    "PoisonedError",
    "ClosedError",
];

/// A Python exception of class `kind` with message `msg`.
pub(crate) fn err(kind: Kind, msg: impl Into<String>) -> PyErr {
    let msg = msg.into();
    Python::attach(|py| {
        let classes = CLASSES.get_or_try_init(py, || -> PyResult<_> {
            let module = py.import("ndb._errors")?;
            NAMES
                .iter()
                .map(|n| Ok(module.getattr(*n)?.cast_into::<PyType>()?.unbind()))
                .collect()
        });
        match classes {
            Ok(classes) => match classes[kind as usize].bind(py).call1((msg,)) {
                Ok(value) => PyErr::from_value(value),
                Err(e) => e,
            },
            Err(e) => e,
        }
    })
}

/// The Python exception for a crate error.
pub(crate) fn to_py(e: ndb::Error) -> PyErr {
    let kind = match &e {
        ndb::Error::Corruption { .. } => Kind::Corruption,
        ndb::Error::CollectionLocked { .. } => Kind::Locked,
        ndb::Error::ReadOnly => Kind::ReadOnly,
        ndb::Error::WrongDimension { .. } => Kind::Dimension,
        ndb::Error::InvalidArgument(_) => Kind::InvalidArgument,
        ndb::Error::CollectionNotFound(_) => Kind::CollectionNotFound,
        ndb::Error::CollectionExists(_) => Kind::CollectionExists,
        ndb::Error::Io { .. } => Kind::Io,
        ndb::Error::UnsupportedFormat { .. } => Kind::UnsupportedFormat,
        ndb::Error::NotADatabase { .. } => Kind::NotADatabase,
        ndb::Error::Poisoned { .. } => Kind::Poisoned,
        _ => Kind::Error,
    };
    err(kind, e.to_string())
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
