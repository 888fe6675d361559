//! `ndb._ndb`: the Python extension module of nDB (PyPI distribution `ndb-vector`, import `ndb`).
//!
//! A thin layer over the `ndb` crate: it converts Python values (numpy arrays, lists, dicts) to
//! the crate's types and back, releases the GIL around every call that does I/O or search, and
//! maps `ndb::Error` to the `ndb.Error` hierarchy (defined in `python/ndb/_errors.py`). Every
//! rule about data (dimensions, ids, payloads, filters, limits) is the crate's; this layer only
//! checks what the crate cannot see: Python types and array shapes.
//!
//! Layout: `errors.rs` maps errors; `convert.rs` converts vectors and JSON; `types.rs` holds the
//! result classes (`Document`, `Match`); `database.rs` and `collection.rs` the handles;
//! `recover.rs` salvage (`ndb.recover`) and its report.

mod collection;
mod convert;
mod database;
mod errors;
mod recover;
mod types;

use pyo3::prelude::*;

/// The native part of the `ndb` package; import `ndb` instead.
#[pymodule]
fn _ndb(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<database::Database>()?;
    m.add_class::<collection::Collection>()?;
    m.add_class::<collection::DocumentIterator>()?;
    m.add_class::<types::Document>()?;
    m.add_class::<types::Match>()?;
    m.add_class::<recover::RecoverReport>()?;
    m.add_function(wrap_pyfunction!(recover::recover, m)?)?;
    m.add("TOP_K_MAX", ndb::TOP_K_MAX)?;
    m.add("DIM_MAX", ndb::limits::DIM_MAX)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
