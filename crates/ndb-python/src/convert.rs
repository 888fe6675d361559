//! Python values ↔ the crate's types: vectors (numpy arrays of any real dtype, or nested lists)
//! and JSON payloads / filters (dicts, lists, str, int, float, bool, None).

use crate::errors::invalid_argument;
use numpy::{
    PyArray1, PyArray2, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Deepest nesting of lists and dicts converted to JSON (bounds the recursion, so a
/// self-referencing list raises instead of overflowing the stack).
const JSON_DEPTH_MAX: usize = 128;

static NP_ASARRAY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static NP_FLOAT32: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn numpy_attr<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("numpy")?.getattr(name)?.unbind())
    })
    .map(|f| f.bind(py))
}

/// `obj` as a C-contiguous float32 numpy array with `ndim` dimensions: the array itself when it
/// already is one (no copy), else `numpy.asarray(obj, dtype=float32, order="C")` after checking
/// that its values are real numbers.
fn f32_array<'py>(obj: &Bound<'py, PyAny>, ndim: usize, what: &str) -> PyResult<Bound<'py, PyAny>> {
    let py = obj.py();
    let arr = match obj.cast::<PyUntypedArray>() {
        Ok(a) => a.clone(),
        Err(_) => {
            let asarray = numpy_attr(py, &NP_ASARRAY, "asarray")?;
            let a = asarray.call1((obj,)).map_err(|e| {
                PyTypeError::new_err(format!("{what} must be an array of numbers: {e}"))
            })?;
            a.cast_into::<PyUntypedArray>()?
        }
    };
    if arr.ndim() != ndim {
        let want = if ndim == 1 {
            "a 1-D vector"
        } else {
            "a 2-D array (n, dim)"
        };
        return Err(invalid_argument(format!(
            "{what} must be {want}, got shape {:?}",
            arr.shape()
        )));
    }
    let dtype = arr.dtype();
    let is_f32 = dtype.is_equiv_to(&numpy::dtype::<f32>(py));
    if is_f32 && arr.is_c_contiguous() {
        return Ok(arr.into_any());
    }
    if !matches!(dtype.kind(), b'f' | b'i' | b'u') {
        return Err(PyTypeError::new_err(format!(
            "{what} must hold real numbers, got dtype {}",
            dtype.str()?
        )));
    }
    let asarray = numpy_attr(py, &NP_ASARRAY, "asarray")?;
    let f32 = numpy_attr(py, &NP_FLOAT32, "float32")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", f32)?;
    kwargs.set_item("order", "C")?;
    asarray.call((arr,), Some(&kwargs))
}

/// One vector, copied into a `Vec<f32>` (the crate owns what it stores and searches for).
pub(crate) fn vector(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<f32>> {
    // The common case first: a contiguous 1-D float32 array, read without asking numpy for
    // its dtype twice.
    if let Ok(arr) = obj.cast::<PyArray1<f32>>() {
        if let Ok(ro) = arr.try_readonly() {
            if let Ok(slice) = ro.as_slice() {
                return Ok(slice.to_vec());
            }
        }
    }
    let arr = f32_array(obj, 1, what)?;
    let arr = arr.cast::<PyArray1<f32>>()?.try_readonly()?;
    Ok(arr
        .as_slice()
        .map_err(|e| PyValueError::new_err(e.to_string()))?
        .to_vec())
}

/// A matrix of `n` rows, as one contiguous row-major buffer and its row length.
pub(crate) struct Matrix {
    pub rows: usize,
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub(crate) fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// An (n, dim) matrix; `n` must equal `rows` when given.
pub(crate) fn matrix(obj: &Bound<'_, PyAny>, rows: Option<usize>, what: &str) -> PyResult<Matrix> {
    let arr = f32_array(obj, 2, what)?;
    let arr = arr.cast::<PyArray2<f32>>()?.try_readonly()?;
    let shape = arr.shape();
    let (n, dim) = (shape[0], shape[1]);
    if let Some(rows) = rows {
        if n != rows {
            return Err(invalid_argument(format!(
                "{what} has {n} rows for {rows} ids"
            )));
        }
    }
    let data = arr
        .as_slice()
        .map_err(|e| PyValueError::new_err(e.to_string()))?
        .to_vec();
    Ok(Matrix { rows: n, dim, data })
}

/// A JSON value from a Python one.
pub(crate) fn to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    to_json_at(obj, 0)
}

fn to_json_at(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > JSON_DEPTH_MAX {
        return Err(PyValueError::new_err(format!(
            "JSON value nests deeper than {JSON_DEPTH_MAX} levels"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(Value::from(v));
        }
        if let Ok(v) = i.extract::<u64>() {
            return Ok(Value::from(v));
        }
        return Err(PyValueError::new_err(format!(
            "integer {i} does not fit in 64 bits"
        )));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        return Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err(format!("{v} is not a JSON number")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let k = k.cast::<PyString>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "JSON object keys must be str, got {}",
                    type_name(&k)
                ))
            })?;
            map.insert(k.to_cow()?.into_owned(), to_json_at(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l.iter().map(|v| to_json_at(&v, depth + 1)).collect();
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t.iter().map(|v| to_json_at(&v, depth + 1)).collect();
    }
    // numpy scalars and arrays (np.int64(3), np.array([1, 2])): through their Python values.
    if obj.cast::<PyUntypedArray>().is_ok() || is_numpy_scalar(obj) {
        return to_json_at(&obj.call_method0("tolist")?, depth + 1);
    }
    Err(PyTypeError::new_err(format!(
        "a value of type {} cannot be stored as JSON",
        type_name(obj)
    )))
}

fn is_numpy_scalar(obj: &Bound<'_, PyAny>) -> bool {
    obj.get_type()
        .module()
        .map(|m| m.to_cow().map(|m| m == "numpy").unwrap_or(false))
        .unwrap_or(false)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A Python value from a JSON one.
pub(crate) fn from_json<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let items = items
                .iter()
                .map(|item| from_json(py, item))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, from_json(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// An optional payload: `None` → no payload.
pub(crate) fn payload_from(py: Python<'_>, p: &Option<Value>) -> PyResult<Py<PyAny>> {
    Ok(match p {
        None => py.None(),
        Some(v) => from_json(py, v)?.unbind(),
    })
}

/// A stored payload (JSON text of an object) as Python values.
pub(crate) fn payload_from_json(py: Python<'_>, json: &str) -> PyResult<Py<PyAny>> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| crate::errors::corruption(format!("a stored payload is not JSON: {e}")))?;
    Ok(from_json(py, &value)?.unbind())
}

/// A filter from a dict (the MongoDB-style JSON form) or a JSON string; parsed by the crate.
pub(crate) fn filter(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<ndb::Filter>> {
    use crate::errors::IntoPyResult;
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(s) = obj.cast::<PyString>() {
        return ndb::Filter::from_json_str(&s.to_cow()?).py_err().map(Some);
    }
    if obj.cast::<PyDict>().is_err() {
        return Err(PyTypeError::new_err(format!(
            "filter must be a dict (or its JSON text), got {}",
            type_name(obj)
        )));
    }
    ndb::Filter::from_json(&to_json(obj)?).py_err().map(Some)
}
