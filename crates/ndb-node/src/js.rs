//! Reading JavaScript arguments into Rust values.
//!
//! Only the JavaScript shape is checked here (is it a string, a number, a `Float32Array`...);
//! whether the value is acceptable (dimension, finite components, id length, payload kind,
//! filter syntax, limits) is decided by the `ndb` library, so both language packages and the
//! Rust API apply the same rules.
#![allow(unsafe_code)]

use crate::error::{Failure, Result};
use napi::bindgen_prelude::{
    Array, Float32ArraySlice, Float64ArraySlice, FromNapiValue, Object, Unknown,
};
use napi::{JsValue, ValueType};
use serde_json::Value;

/// A vector argument: a `Float32Array` read in place, or a `number[]` converted.
pub enum Vector<'env> {
    Typed(Float32ArraySlice<'env>),
    Owned(Vec<f32>),
}

impl Vector<'_> {
    pub fn as_slice(&self) -> &[f32] {
        match self {
            Vector::Typed(t) => t,
            Vector::Owned(v) => v,
        }
    }

    pub fn into_vec(self) -> Vec<f32> {
        match self {
            Vector::Typed(t) => t.to_vec(),
            Vector::Owned(v) => v,
        }
    }
}

fn type_of(v: &Unknown<'_>, what: &str) -> Result<ValueType> {
    v.get_type()
        .map_err(|e| Failure::invalid(format!("{what}: {}", e.reason)))
}

/// Convert `v` to `T` after its type was checked.
///
/// # Safety
///
/// `v` must be a value of the current call (it is: every `Unknown` here comes from an argument
/// or a property read in this call). The `FromNapiValue` impls used with it (`String`, `f64`,
/// `bool`, `Object`, `Array`, `Float32ArraySlice`, `serde_json::Value`) read the value through
/// N-API calls that check its type and report a mismatch as an error, so a wrong guess is an
/// error, never undefined behaviour.
unsafe fn cast<'env, T: FromNapiValue + 'env>(v: &Unknown<'env>, what: &str) -> Result<T> {
    // SAFETY: see the function's contract.
    unsafe { v.cast::<T>() }.map_err(|e| Failure::invalid(format!("{what}: {}", e.reason)))
}

fn kind_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Undefined => "undefined",
        ValueType::Null => "null",
        ValueType::Boolean => "a boolean",
        ValueType::Number => "a number",
        ValueType::String => "a string",
        ValueType::Symbol => "a symbol",
        ValueType::Object => "an object",
        ValueType::Function => "a function",
        ValueType::External => "an external",
        ValueType::BigInt => "a bigint",
        _ => "an unknown value",
    }
}

fn expected(what: &str, wanted: &str, got: ValueType) -> Failure {
    Failure::invalid(format!("{what} must be {wanted}, got {}", kind_name(got)))
}

/// Is the value `undefined` or `null` (an omitted optional argument or property)?
pub fn is_nullish(v: &Unknown<'_>) -> Result<bool> {
    Ok(matches!(
        type_of(v, "value")?,
        ValueType::Undefined | ValueType::Null
    ))
}

pub fn string(v: &Unknown<'_>, what: &str) -> Result<String> {
    match type_of(v, what)? {
        // SAFETY: checked to be a string (see `cast`).
        ValueType::String => unsafe { cast::<String>(v, what) },
        t => Err(expected(what, "a string", t)),
    }
}

pub fn number(v: &Unknown<'_>, what: &str) -> Result<f64> {
    match type_of(v, what)? {
        // SAFETY: checked to be a number (see `cast`).
        ValueType::Number => unsafe { cast::<f64>(v, what) },
        t => Err(expected(what, "a number", t)),
    }
}

pub fn boolean(v: &Unknown<'_>, what: &str) -> Result<bool> {
    match type_of(v, what)? {
        // SAFETY: checked to be a boolean (see `cast`).
        ValueType::Boolean => unsafe { cast::<bool>(v, what) },
        t => Err(expected(what, "a boolean", t)),
    }
}

/// A count or size: a non-negative integer number. The library checks the range.
pub fn count(v: &Unknown<'_>, what: &str) -> Result<usize> {
    let n = number(v, what)?;
    if !(n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0) {
        return Err(Failure::invalid(format!(
            "{what} must be a non-negative integer, got {n}"
        )));
    }
    Ok(n as usize)
}

/// A setting's value as the text the library parses: a string as it is, a number or a
/// boolean as printed (`200`, `2.5`, `true`); the library decides whether it is acceptable.
pub fn text(v: &Unknown<'_>, what: &str) -> Result<String> {
    match type_of(v, what)? {
        ValueType::String => string(v, what),
        ValueType::Number => number(v, what).map(|n| n.to_string()),
        ValueType::Boolean => boolean(v, what).map(|b| b.to_string()),
        t => Err(expected(what, "a string or a number", t)),
    }
}

/// The names of an object's enumerable string-keyed properties.
pub fn keys(obj: &Object<'_>, what: &str) -> Result<Vec<String>> {
    Object::keys(obj).map_err(|e| Failure::invalid(format!("{what}: {}", e.reason)))
}

/// An options object: `undefined`/`null` give `None`.
pub fn options<'env>(v: &Unknown<'env>, what: &str) -> Result<Option<Object<'env>>> {
    match type_of(v, what)? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        // SAFETY: checked to be an object (see `cast`).
        ValueType::Object => unsafe { cast::<Object<'env>>(v, what) }.map(Some),
        t => Err(expected(what, "an object", t)),
    }
}

pub fn object<'env>(v: &Unknown<'env>, what: &str) -> Result<Object<'env>> {
    options(v, what)?.ok_or_else(|| Failure::invalid(format!("{what} must be an object")))
}

/// A property of an options object; `None` when it is `undefined` or `null`.
pub fn property<'env>(obj: &Object<'env>, key: &str, what: &str) -> Result<Option<Unknown<'env>>> {
    let v: Option<Unknown<'env>> = obj
        .get(key)
        .map_err(|e| Failure::invalid(format!("{what}.{key}: {}", e.reason)))?;
    match v {
        Some(v) if !is_nullish(&v)? => Ok(Some(v)),
        _ => Ok(None),
    }
}

/// A JavaScript array.
pub fn array<'env>(v: &Unknown<'env>, what: &str) -> Result<Array<'env>> {
    let t = type_of(v, what)?;
    if t == ValueType::Object && v.is_array().unwrap_or(false) {
        // SAFETY: checked to be an array (see `cast`).
        return unsafe { cast::<Array<'env>>(v, what) };
    }
    Err(expected(what, "an array", t))
}

/// A vector: a `Float32Array` (read in place, no conversion) or an array of numbers.
pub fn vector<'env>(v: &Unknown<'env>, what: &str) -> Result<Vector<'env>> {
    let t = type_of(v, what)?;
    let wanted = "a Float32Array or an array of numbers";
    if t != ValueType::Object {
        return Err(expected(what, wanted, t));
    }
    if v.is_typedarray().unwrap_or(false) {
        // SAFETY: a typed array; the conversion checks that it is a Float32Array (see `cast`).
        return unsafe { cast::<Float32ArraySlice<'env>>(v, what) }
            .map(Vector::Typed)
            .map_err(|_| {
                Failure::invalid(format!("{what} must be {wanted}, got another typed array"))
            });
    }
    if !v.is_array().unwrap_or(false) {
        return Err(Failure::invalid(format!("{what} must be {wanted}")));
    }
    // SAFETY: checked to be an array (see `cast`).
    let arr = unsafe { cast::<Array<'env>>(v, what) }?;
    let mut out = Vec::with_capacity(arr.len() as usize);
    for i in 0..arr.len() {
        let x: Option<f64> = arr
            .get(i)
            .map_err(|_| Failure::invalid(format!("{what}[{i}] must be a number")))?;
        // Range and finiteness are the library's rules; f64 -> f32 keeps NaN and infinities.
        out.push(x.unwrap_or(f64::NAN) as f32);
    }
    Ok(Vector::Owned(out))
}

/// Any JSON-like value (payloads, filters).
pub fn json(v: &Unknown<'_>, what: &str) -> Result<Value> {
    // SAFETY: `serde_json::Value`'s conversion inspects the type of every node (see `cast`).
    unsafe { cast::<Value>(v, what) }
}

/// A payload argument: `undefined`/`null` for none, else a JSON value (the library requires an
/// object).
pub fn payload(v: Option<&Unknown<'_>>, what: &str) -> Result<Option<Value>> {
    match v {
        None => Ok(None),
        Some(v) if is_nullish(v)? => Ok(None),
        Some(v) => json(v, what).map(Some),
    }
}

/// The `Float64Array` that `index.js` keeps for `searchSync`'s packed results, to write into.
pub fn scratch<'a>(buf: &'a mut Float64ArraySlice<'_>) -> &'a mut [f64] {
    // SAFETY: the array is `index.js`'s own (never handed to user code) and no JavaScript runs
    // while this synchronous call writes to it; the slice does not outlive the call.
    unsafe { buf.as_mut() }
}
