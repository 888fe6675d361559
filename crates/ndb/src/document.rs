//! Documents and the validation every write goes through.

use crate::config::{CollectionConfig, Distance};
use crate::limits::{ID_BYTES_MAX, PAYLOAD_BYTES_MAX, PAYLOAD_DEPTH_MAX};
use crate::{Error, Result};
use serde_json::Value;

/// A stored item: a string id, a vector and an optional JSON object payload.
///
/// ```
/// use ndb::Document;
/// use serde_json::json;
/// let doc = Document::new("a", vec![0.1, 0.2]).with_payload(json!({"year": 2024}));
/// assert_eq!(doc.id, "a");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Unique id within the collection (1 to 1,024 bytes of UTF-8).
    pub id: String,
    /// The vector; its length must equal the collection's dimension.
    pub vector: Vec<f32>,
    /// A JSON object, or `None`.
    pub payload: Option<Value>,
}

impl Document {
    /// A document without payload.
    pub fn new(id: impl Into<String>, vector: Vec<f32>) -> Self {
        Self {
            id: id.into(),
            vector,
            payload: None,
        }
    }

    /// Attach a payload (a JSON object; `Value::Null` means no payload).
    pub fn with_payload(mut self, payload: Value) -> Self {
        self.payload = Some(payload);
        self
    }
}

/// Check an id against the rules: non-empty, at most [`ID_BYTES_MAX`] bytes.
pub(crate) fn validate_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid("document id must not be empty"));
    }
    if id.len() > ID_BYTES_MAX {
        return Err(Error::invalid(format!(
            "document id is {} bytes; the limit is {ID_BYTES_MAX}",
            id.len()
        )));
    }
    Ok(())
}

/// A document checked and prepared for storage: vector normalized for cosine, payload encoded.
#[derive(Clone, Debug)]
pub(crate) struct PreparedDoc {
    pub id: String,
    pub vector: Vec<f32>,
    /// Serialized JSON object, empty when there is no payload.
    pub payload_json: Vec<u8>,
}

/// Check `doc` against every rule `insert` applies for a collection with `config`; returns the
/// serialized payload (empty for none).
fn check(config: &CollectionConfig, doc: &Document) -> Result<Vec<u8>> {
    validate_id(&doc.id)?;
    let id = &doc.id;
    check_vector(config.dim(), &doc.vector).map_err(|e| with_id(e, id))?;
    if config.distance() == Distance::Cosine && doc.vector.iter().all(|&x| x == 0.0) {
        return Err(Error::invalid(format!(
            "document {id:?}: a zero vector has no direction, so it cannot be stored in a cosine collection"
        )));
    }
    encode_payload(id, doc.payload.as_ref())
}

/// The stored form of document `id`'s payload (empty for none), checked against the limits.
pub(crate) fn encode_payload(id: &str, payload: Option<&Value>) -> Result<Vec<u8>> {
    let payload_json = match payload {
        None | Some(Value::Null) => Vec::new(),
        Some(v @ Value::Object(_)) if nesting_depth(v) > PAYLOAD_DEPTH_MAX => {
            return Err(Error::invalid(format!(
                "document {id:?}: payload is nested more than {PAYLOAD_DEPTH_MAX} levels deep"
            )))
        }
        Some(v @ Value::Object(_)) => serde_json::to_vec(v)
            .map_err(|e| Error::invalid(format!("document {id:?}: payload: {e}")))?,
        Some(other) => {
            return Err(Error::invalid(format!(
                "document {id:?}: payload must be a JSON object or null, got {}",
                json_kind(other)
            )))
        }
    };
    if payload_json.len() > PAYLOAD_BYTES_MAX {
        return Err(Error::invalid(format!(
            "document {id:?}: payload is {} bytes; the limit is {PAYLOAD_BYTES_MAX}",
            payload_json.len()
        )));
    }
    Ok(payload_json)
}

/// Apply the JSON merge patch `patch` (RFC 7396) to `target`: an object patch merges key by
/// key, a `null` member removes the key, anything else replaces the target. The caller bounds
/// the patch's depth (the recursion follows it).
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(fields) = target {
        for (key, value) in members {
            if value.is_null() {
                fields.remove(key);
            } else {
                merge_patch(fields.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Check a merge patch for a payload: an object (a patch that is not one would replace the
/// whole payload with a non-object), nested no deeper than a payload may be.
pub(crate) fn check_patch(id: &str, patch: &Value) -> Result<()> {
    if !patch.is_object() {
        return Err(Error::invalid(format!(
            "document {id:?}: a payload patch must be a JSON object, got {}",
            json_kind(patch)
        )));
    }
    if nesting_depth(patch) > PAYLOAD_DEPTH_MAX {
        return Err(Error::invalid(format!(
            "document {id:?}: payload patch is nested more than {PAYLOAD_DEPTH_MAX} levels deep"
        )));
    }
    Ok(())
}

impl CollectionConfig {
    /// Check a document against every rule [`Collection::insert`](crate::Collection::insert)
    /// applies in a collection with this configuration, without writing anything (e.g. to
    /// validate a whole file before importing it).
    ///
    /// ```
    /// use ndb::{CollectionConfig, Document, Error};
    /// let config = CollectionConfig::new(2);
    /// assert!(config.check_document(&Document::new("a", vec![1.0, 0.0])).is_ok());
    /// assert!(matches!(
    ///     config.check_document(&Document::new("a", vec![1.0])),
    ///     Err(Error::WrongDimension { expected: 2, got: 1 })
    /// ));
    /// ```
    pub fn check_document(&self, doc: &Document) -> Result<()> {
        check(self, doc).map(|_| ())
    }
}

/// Validate `doc` for a collection with `config`, returning what the WAL and memtable store.
pub(crate) fn prepare(config: &CollectionConfig, doc: Document) -> Result<PreparedDoc> {
    let payload_json = check(config, &doc)?;
    let Document { id, mut vector, .. } = doc;
    if config.distance() == Distance::Cosine && !ndb_kernels::normalize(&mut vector) {
        return Err(Error::invalid(format!(
            "document {id:?}: the vector's norm is not finite, so it cannot be normalized"
        )));
    }
    Ok(PreparedDoc {
        id,
        vector,
        payload_json,
    })
}

/// Check a vector (a document's or a query's) for length and finite components.
pub(crate) fn check_vector(dim: usize, vector: &[f32]) -> Result<()> {
    if vector.is_empty() {
        return Err(Error::invalid("vector is empty"));
    }
    if vector.len() != dim {
        return Err(Error::WrongDimension {
            expected: dim,
            got: vector.len(),
        });
    }
    if let Some(i) = vector.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid(format!(
            "vector component {i} is {} (only finite values are allowed)",
            vector[i]
        )));
    }
    Ok(())
}

fn with_id(e: Error, id: &str) -> Error {
    match e {
        Error::InvalidArgument(msg) => Error::InvalidArgument(format!("document {id:?}: {msg}")),
        other => other,
    }
}

/// How deeply `v` nests (a scalar is 0, `{}` is 1, `{"a": []}` is 2), without recursion: a
/// value built in code may be nested far deeper than the stack allows.
fn nesting_depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 1)];
    while let Some((v, depth)) = stack.pop() {
        if !(v.is_array() || v.is_object()) {
            continue;
        }
        deepest = deepest.max(depth);
        if depth > PAYLOAD_DEPTH_MAX {
            break;
        }
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|c| (c, depth + 1))),
            Value::Object(o) => stack.extend(o.values().map(|c| (c, depth + 1))),
            _ => {}
        }
    }
    deepest
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Decode a stored payload (empty = none).
pub(crate) fn decode_payload(
    bytes: &[u8],
) -> std::result::Result<Option<Value>, serde_json::Error> {
    if bytes.is_empty() {
        Ok(None)
    } else {
        serde_json::from_slice(bytes).map(Some)
    }
}
