//! Result classes: `ndb.Document` and `ndb.Match`.

use crate::convert;
use numpy::{PyArray1, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;

/// A stored document: its id, its vector (a float32 numpy array) and its payload (a dict or None).
///
/// Returned by `Collection.get` and by iterating a collection.
#[pyclass(module = "ndb", frozen, get_all)]
pub struct Document {
    /// The document id.
    pub id: Py<PyString>,
    /// The vector, a 1-D float32 numpy array (unit length in a cosine collection).
    pub vector: Py<PyArray1<f32>>,
    /// The JSON payload as Python values, or None.
    pub payload: Py<PyAny>,
}

impl Document {
    pub(crate) fn from_doc(py: Python<'_>, doc: ndb::Document) -> PyResult<Self> {
        Ok(Self {
            id: PyString::new(py, &doc.id).unbind(),
            vector: PyArray1::from_vec(py, doc.vector).unbind(),
            payload: convert::payload_from(py, &doc.payload)?,
        })
    }
}

#[pymethods]
impl Document {
    #[new]
    #[pyo3(signature = (id, vector, payload=None))]
    fn new(
        py: Python<'_>,
        id: Bound<'_, PyString>,
        vector: &Bound<'_, PyAny>,
        payload: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let vector = convert::vector(vector, "vector")?;
        Ok(Self {
            id: id.unbind(),
            vector: PyArray1::from_vec(py, vector).unbind(),
            payload: payload.unwrap_or_else(|| py.None()),
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let v = self.vector.bind(py);
        Ok(format!(
            "Document(id={}, vector=<float32[{}]>, payload={})",
            self.id.bind(py).repr()?,
            PyUntypedArrayMethods::len(v),
            self.payload.bind(py).repr()?
        ))
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<Document>() else {
            return Ok(false);
        };
        let other = other.get();
        if !self.id.bind(py).as_any().eq(other.id.bind(py))?
            || !self.payload.bind(py).eq(other.payload.bind(py))?
        {
            return Ok(false);
        }
        let (a, b) = (
            self.vector.bind(py).readonly(),
            other.vector.bind(py).readonly(),
        );
        Ok(a.as_array() == b.as_array())
    }
}

/// One search result: the document id, its score (higher is better) and its payload.
///
/// Scores: dot product; cosine similarity in [-1, 1]; Euclidean distance negated.
#[pyclass(module = "ndb", frozen)]
pub struct Match {
    /// The document id.
    #[pyo3(get)]
    id: Py<PyString>,
    /// Similarity; higher is better.
    #[pyo3(get)]
    score: f32,
    /// The payload as stored (JSON text, from `Collection::search_raw`); parsed into Python
    /// values on the first read of `payload` (a caller that reads only ids and scores never
    /// pays for parsing, nor for the dicts).
    raw_payload: Option<String>,
    payload: PyOnceLock<Py<PyAny>>,
}

impl Match {
    pub(crate) fn from_match(py: Python<'_>, m: ndb::RawMatch) -> Self {
        Self {
            id: PyString::new(py, &m.id).unbind(),
            score: m.score,
            raw_payload: m.payload_json,
            payload: PyOnceLock::new(),
        }
    }
}

#[pymethods]
impl Match {
    /// The document's payload (a dict) or None. The same object on every read.
    #[getter]
    fn payload(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let Some(json) = &self.raw_payload else {
            return Ok(py.None());
        };
        self.payload
            .get_or_try_init(py, || convert::payload_from_json(py, json))
            .map(|p| p.clone_ref(py))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Match(id={}, score={}, payload={})",
            self.id.bind(py).repr()?,
            self.score,
            self.payload(py)?.bind(py).repr()?
        ))
    }
}
