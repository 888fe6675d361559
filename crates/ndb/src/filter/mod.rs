//! Payload filters: which documents a search may return.
//!
//! A [`Filter`] is a tree of conditions on a document's JSON payload. It is built with
//! constructors ([`Filter::eq`], [`Filter::and`], ...) or parsed from the MongoDB-style JSON form
//! ([`Filter::from_json`]), and evaluated per document by [`Filter::matches`]. Payload indexes and
//! the search planner read the same tree through the crate-private [`Node`] view.
//!
//! Layout: this file holds the type, its constructors, the JSON printer and validation;
//! `parse.rs` the JSON parser; `eval.rs` the evaluation rules (path lookup, equality, ordering).

pub(crate) mod eval;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;

use serde_json::{Map, Value};

use crate::{Error, Result};

/// The deepest nesting of `$and`/`$or`/`$not` a filter may have. Bounds the recursion of parsing
/// and evaluation, so a hostile filter cannot overflow the stack.
pub(crate) const FILTER_DEPTH_MAX: usize = 64;

/// A condition on a document's JSON payload, used to restrict a search.
///
/// Build one with the constructors, or parse the MongoDB-style JSON form with
/// [`Filter::from_json`] / [`Filter::from_json_str`]:
///
/// ```
/// use ndb::Filter;
/// use serde_json::json;
///
/// let built = Filter::and([Filter::eq("lang", "en"), Filter::gte("year", 2020)]);
/// let parsed = Filter::from_json(&json!({"lang": "en", "year": {"$gte": 2020}}))?;
/// let doc = json!({"lang": "en", "year": 2024});
/// assert!(built.matches(Some(&doc)));
/// assert!(parsed.matches(Some(&doc)));
/// // Display (and Debug) print the JSON form, which parses back to the same filter.
/// assert_eq!(Filter::from_json_str(&built.to_string())?, built);
/// # Ok::<(), ndb::Error>(())
/// ```
///
/// # Semantics
///
/// **Paths.** A path names a field; dots go into nested objects: `"author.name"` is the `name`
/// key of the object under `author`. Only objects are entered: a path that meets an array, a
/// scalar or a missing key on the way does not resolve (the field is *missing*). A path cannot
/// address a key that contains a dot, and must not be empty, have empty segments (`"a..b"`) or
/// start with `$`.
///
/// ```
/// # use ndb::Filter; use serde_json::json;
/// let doc = json!({"author": {"name": "Ada"}, "tags": [{"name": "x"}]});
/// assert!(Filter::eq("author.name", "Ada").matches(Some(&doc)));
/// assert!(!Filter::exists("tags.name").matches(Some(&doc))); // arrays are not entered
/// ```
///
/// **Missing fields never match** a condition on them — not `ne`, not `nin` either: "not equal"
/// means *present and different*. Only negation turns this around: [`Filter::not`] is the plain
/// logical negation of its argument, so `not(exists("x"))` matches exactly the documents without
/// `x`, and `not(eq("x", 1))` matches documents where `x` is missing or differs from 1. A
/// document without payload (`None`) has every field missing.
///
/// ```
/// # use ndb::Filter; use serde_json::json;
/// let doc = json!({"lang": "en"});
/// assert!(!Filter::ne("year", 2020).matches(Some(&doc)));
/// assert!(!Filter::nin("year", [2020]).matches(Some(&doc)));
/// assert!(Filter::not(Filter::eq("year", 2020)).matches(Some(&doc)));
/// assert!(Filter::not(Filter::exists("year")).matches(Some(&doc)));
/// assert!(Filter::not(Filter::exists("year")).matches(None));
/// ```
///
/// **Null.** [`Filter::exists`] is true when the path resolves to any value, `null` included;
/// `eq(path, null)` matches an explicit `null` (and not a missing field).
///
/// ```
/// # use ndb::Filter; use serde_json::{json, Value};
/// let doc = json!({"x": null});
/// assert!(Filter::exists("x").matches(Some(&doc)));
/// assert!(Filter::eq("x", Value::Null).matches(Some(&doc)));
/// assert!(!Filter::eq("y", Value::Null).matches(Some(&doc)));
/// ```
///
/// **Numbers** compare by value whatever their JSON representation: `1 == 1.0`, `2 < 2.5`, and
/// integers beyond 2^53 compare exactly against floats (no rounding through `f64`).
///
/// **Ordering** (`gt`, `gte`, `lt`, `lte`) is defined between two numbers and between two strings
/// (byte-wise lexicographic, i.e. by Unicode code point). Any other pair — string against number,
/// booleans, null, objects — is not ordered and does not match. The operand of an ordering
/// condition must be a number or a string ([`Filter::from_json`] and [`Filter::validate`] reject
/// anything else).
///
/// ```
/// # use ndb::Filter; use serde_json::json;
/// let doc = json!({"year": 2024, "score": 0.5, "name": "bob"});
/// assert!(Filter::eq("year", 2024.0).matches(Some(&doc)));
/// assert!(Filter::lt("score", 1).matches(Some(&doc)));
/// assert!(Filter::gt("name", "alice").matches(Some(&doc)));
/// assert!(!Filter::gt("year", "2000").matches(Some(&doc))); // string vs number: never
/// ```
///
/// **Equality** is deep: arrays equal element-wise in order, objects key-wise, numbers by value.
///
/// **Arrays** (MongoDB semantics): when the field holds an array, a condition matches if the array
/// itself *or any one of its elements* satisfies it. So `eq("tags", "a")` matches
/// `{"tags": ["a", "b"]}`, `eq("tags", ["a", "b"])` matches it too (whole array), and `gt("n", 5)`
/// matches `{"n": [1, 9]}`. Negative conditions are the negations over the same set:
/// `ne(path, v)` matches when the field is present and neither the array nor any element equals
/// `v`; `nin(path, vs)` when the field is present and neither it nor any element is in `vs`.
/// Elements are unwrapped one level only (an array of arrays is compared as arrays).
///
/// ```
/// # use ndb::Filter; use serde_json::json;
/// let doc = json!({"tags": ["rust", "db"], "n": [1, 9]});
/// assert!(Filter::eq("tags", "db").matches(Some(&doc)));
/// assert!(Filter::in_("tags", ["go", "rust"]).matches(Some(&doc)));
/// assert!(!Filter::ne("tags", "db").matches(Some(&doc)));
/// assert!(Filter::nin("tags", ["go"]).matches(Some(&doc)));
/// assert!(Filter::gt("n", 5).matches(Some(&doc)) && Filter::lt("n", 5).matches(Some(&doc)));
/// ```
///
/// **Combinators.** `and` of no filters matches everything, `or` of none matches nothing.
///
/// # JSON form
///
/// An object whose keys are ANDed. A key is either a field path or `$and` / `$or` (an array of
/// one or more filters) or `$not` (one filter). A field's value is either a plain value, meaning
/// `$eq`, or an object of operators, all ANDed: `$eq $ne $gt $gte $lt $lte` (one value), `$in
/// $nin` (an array of values), `$exists` (`true`/`false`), `$not` (an object of operators on the
/// same field). An object value without `$` keys is matched literally (`{"$eq": {...}}` says so
/// explicitly); an object mixing `$` keys and plain keys is an error.
///
/// ```
/// # use ndb::Filter; use serde_json::json;
/// let f = Filter::from_json(&json!({
///     "year": {"$gte": 2020, "$lt": 2030},
///     "$or": [{"lang": "en"}, {"lang": {"$in": ["de", "fr"]}}],
///     "draft": {"$exists": false},
/// }))?;
/// assert!(f.matches(Some(&json!({"year": 2024, "lang": "fr"}))));
/// assert!(!f.matches(Some(&json!({"year": 2024, "lang": "fr", "draft": true}))));
///
/// let err = Filter::from_json(&json!({"year": {"$gte": true}})).unwrap_err();
/// assert!(err.to_string().contains("$gte") && err.to_string().contains("year"));
/// # Ok::<(), ndb::Error>(())
/// ```
///
/// `==` on filters compares their structure, not their meaning: `Filter::eq("y", 1)` and
/// `Filter::eq("y", 1.0)` match the same documents but are not `==`.
#[derive(Clone, PartialEq, Eq)]
pub struct Filter(Node);

/// The representation of a filter, for the crate's planner and payload indexes. Not public, so it
/// can change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// A condition on the value at one path.
    Field {
        /// The dotted path, as given.
        path: String,
        /// The condition on the value found there.
        cond: Cond,
    },
    /// All must match (none: matches everything).
    And(Vec<Node>),
    /// At least one must match (none: matches nothing).
    Or(Vec<Node>),
    /// The plain logical negation.
    Not(Box<Node>),
    /// What the constructors build instead of a tree nested deeper than [`FILTER_DEPTH_MAX`]:
    /// matches nothing, fails validation, and keeps every tree shallow enough that cloning,
    /// printing, evaluating and dropping it cannot overflow the stack.
    TooDeep,
}

/// A condition on one field's value. Every condition is false on a missing field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cond {
    /// The value or an array element equals this.
    Eq(Value),
    /// Neither the value nor any array element equals this.
    Ne(Value),
    /// The value or an array element is ordered (same type) and greater.
    Gt(Value),
    /// ... greater or equal.
    Gte(Value),
    /// ... less.
    Lt(Value),
    /// ... less or equal.
    Lte(Value),
    /// The value or an array element equals one of these.
    In(Vec<Value>),
    /// Neither the value nor any array element equals any of these.
    Nin(Vec<Value>),
    /// The path resolves (to any value, `null` included).
    Exists,
}

impl Cond {
    /// The JSON operator name.
    pub(crate) fn operator(&self) -> &'static str {
        match self {
            Cond::Eq(_) => "$eq",
            Cond::Ne(_) => "$ne",
            Cond::Gt(_) => "$gt",
            Cond::Gte(_) => "$gte",
            Cond::Lt(_) => "$lt",
            Cond::Lte(_) => "$lte",
            Cond::In(_) => "$in",
            Cond::Nin(_) => "$nin",
            Cond::Exists => "$exists",
        }
    }
}

fn field(path: impl Into<String>, cond: Cond) -> Filter {
    Filter(Node::Field {
        path: path.into(),
        cond,
    })
}

impl Filter {
    /// The field at `path` equals `value` (or, for an array field, the array or one of its
    /// elements does). Numbers compare by value; `Value::Null` matches an explicit `null`.
    pub fn eq(path: impl Into<String>, value: impl Into<Value>) -> Filter {
        field(path, Cond::Eq(value.into()))
    }

    /// The field at `path` is present and does not equal `value` (for an array field: neither the
    /// array nor any element equals it). A missing field does not match.
    pub fn ne(path: impl Into<String>, value: impl Into<Value>) -> Filter {
        field(path, Cond::Ne(value.into()))
    }

    /// The field (or an array element) is greater than `value`, a number or a string of the same
    /// type as the field.
    pub fn gt(path: impl Into<String>, value: impl Into<Value>) -> Filter {
        field(path, Cond::Gt(value.into()))
    }

    /// The field (or an array element) is greater than or equal to `value` (number or string).
    pub fn gte(path: impl Into<String>, value: impl Into<Value>) -> Filter {
        field(path, Cond::Gte(value.into()))
    }

    /// The field (or an array element) is less than `value` (number or string).
    pub fn lt(path: impl Into<String>, value: impl Into<Value>) -> Filter {
        field(path, Cond::Lt(value.into()))
    }

    /// The field (or an array element) is less than or equal to `value` (number or string).
    pub fn lte(path: impl Into<String>, value: impl Into<Value>) -> Filter {
        field(path, Cond::Lte(value.into()))
    }

    /// The field (or an array element) equals one of `values`. No values: matches nothing.
    pub fn in_<V: Into<Value>>(
        path: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Filter {
        field(path, Cond::In(values.into_iter().map(Into::into).collect()))
    }

    /// The field is present and neither it nor any array element equals one of `values`. A
    /// missing field does not match.
    pub fn nin<V: Into<Value>>(
        path: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Filter {
        field(
            path,
            Cond::Nin(values.into_iter().map(Into::into).collect()),
        )
    }

    /// The path resolves to a value, `null` included. `Filter::not(Filter::exists(p))` matches
    /// documents without it.
    pub fn exists(path: impl Into<String>) -> Filter {
        field(path, Cond::Exists)
    }

    /// Every filter matches. An empty list matches every document.
    pub fn and(filters: impl IntoIterator<Item = Filter>) -> Filter {
        nest(Node::And(filters.into_iter().map(|f| f.0).collect()))
    }

    /// At least one filter matches. An empty list matches no document.
    pub fn or(filters: impl IntoIterator<Item = Filter>) -> Filter {
        nest(Node::Or(filters.into_iter().map(|f| f.0).collect()))
    }

    /// The logical negation of `filter`: matches exactly the documents `filter` does not,
    /// including those where its fields are missing. Also available as `!filter`.
    #[allow(
        clippy::should_implement_trait,
        reason = "`Filter::not` is the spec's name; `std::ops::Not` is implemented as well"
    )]
    pub fn not(filter: Filter) -> Filter {
        nest(Node::Not(Box::new(filter.0)))
    }

    /// Parse the MongoDB-style JSON form (see the [type documentation](Filter#json-form)).
    ///
    /// Fails with [`Error::InvalidArgument`] naming the offending operator and path: an unknown
    /// operator, `$in`/`$nin` without an array, `$and`/`$or` without a non-empty array, `$exists`
    /// without a boolean, an ordering operator without a number or string, `$not` without an
    /// object, an empty path or path segment, or nesting deeper than 64 levels.
    pub fn from_json(json: &Value) -> Result<Filter> {
        parse::filter(json).map(Filter)
    }

    /// Parse the JSON form from text; see [`Filter::from_json`].
    pub fn from_json_str(json: &str) -> Result<Filter> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| Error::invalid(format!("filter is not valid JSON: {e}")))?;
        Filter::from_json(&value)
    }

    /// The JSON form. [`Filter::from_json`] of it gives back an equal filter (for filters that
    /// [`validate`](Filter::validate)).
    pub fn to_json(&self) -> Value {
        node_to_json(&self.0)
    }

    /// Does the document with this payload match? `None` is a document without payload, on which
    /// every field is missing. See the [semantics](Filter#semantics).
    pub fn matches(&self, payload: Option<&Value>) -> bool {
        eval::matches(&self.0, payload)
    }

    /// Check what the constructors cannot: paths are non-empty, without empty segments and not
    /// starting with `$`; ordering operands are numbers or strings; nesting is at most 64 deep.
    /// [`Filter::from_json`] only returns filters that pass. A filter that fails still evaluates
    /// (the faulty conditions match nothing), but searches refuse it with this error.
    pub fn validate(&self) -> Result<()> {
        validate_node(&self.0, 0)
    }

    /// The distinct paths the filter reads, in order of first use.
    #[allow(dead_code)] // for the planner
    pub(crate) fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        collect_fields(&self.0, &mut out);
        out
    }

    /// The tree, for the planner and payload indexes.
    #[allow(dead_code)] // for the planner
    pub(crate) fn node(&self) -> &Node {
        &self.0
    }
}

/// Wrap a combined node, or [`Node::TooDeep`] if it nests deeper than a filter may.
fn nest(node: Node) -> Filter {
    match levels_below(&node) {
        Some(levels) if levels <= FILTER_DEPTH_MAX => Filter(node),
        _ => Filter(Node::TooDeep),
    }
}

/// How many levels of combinators lie below the root's children, without recursion; `None`
/// when the tree holds a [`Node::TooDeep`].
fn levels_below(node: &Node) -> Option<usize> {
    let mut deepest = 0;
    let mut stack = vec![(node, 0usize)];
    while let Some((node, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match node {
            Node::TooDeep => return None,
            Node::Field { .. } => {}
            Node::And(children) | Node::Or(children) => {
                stack.extend(children.iter().map(|c| (c, depth + 1)))
            }
            Node::Not(inner) => stack.push((inner, depth + 1)),
        }
    }
    Some(deepest)
}

fn collect_fields<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
    match node {
        Node::Field { path, .. } => {
            if !out.contains(&path.as_str()) {
                out.push(path);
            }
        }
        Node::And(children) | Node::Or(children) => {
            children.iter().for_each(|c| collect_fields(c, out));
        }
        Node::Not(inner) => collect_fields(inner, out),
        Node::TooDeep => {}
    }
}

fn validate_node(node: &Node, depth: usize) -> Result<()> {
    if depth > FILTER_DEPTH_MAX {
        return Err(too_deep());
    }
    match node {
        Node::Field { path, cond } => {
            parse::check_path(path, cond.operator())?;
            match cond {
                Cond::Gt(v) | Cond::Gte(v) | Cond::Lt(v) | Cond::Lte(v) => {
                    parse::check_ordered_operand(path, cond.operator(), v)
                }
                _ => Ok(()),
            }
        }
        Node::And(children) | Node::Or(children) => children
            .iter()
            .try_for_each(|c| validate_node(c, depth + 1)),
        Node::Not(inner) => validate_node(inner, depth + 1),
        Node::TooDeep => Err(too_deep()),
    }
}

fn too_deep() -> Error {
    Error::invalid(format!(
        "filter nests deeper than {FILTER_DEPTH_MAX} levels"
    ))
}

fn object(key: impl Into<String>, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(key.into(), value);
    Value::Object(map)
}

/// The canonical JSON form: parsing it gives back the same tree, except that an empty `or`
/// (which the JSON form cannot spell) prints as `{"$not": {}}`, its equivalent.
fn node_to_json(node: &Node) -> Value {
    match node {
        Node::Field { path, cond } => {
            let operand = match cond {
                // A plain value means $eq; an object would be read as operators, so spell it out.
                Cond::Eq(v) if !v.is_object() => return object(path.as_str(), v.clone()),
                Cond::Eq(v)
                | Cond::Ne(v)
                | Cond::Gt(v)
                | Cond::Gte(v)
                | Cond::Lt(v)
                | Cond::Lte(v) => v.clone(),
                Cond::In(vs) | Cond::Nin(vs) => Value::Array(vs.clone()),
                Cond::Exists => Value::Bool(true),
            };
            object(path.as_str(), object(cond.operator(), operand))
        }
        Node::Not(inner) => match &**inner {
            Node::Field {
                path,
                cond: Cond::Exists,
            } => object(path.as_str(), object("$exists", Value::Bool(false))),
            inner => object("$not", node_to_json(inner)),
        },
        Node::And(children) if children.is_empty() => Value::Object(Map::new()),
        Node::Or(children) if children.is_empty() => object("$not", Value::Object(Map::new())),
        Node::And(children) => object("$and", children.iter().map(node_to_json).collect()),
        Node::Or(children) => object("$or", children.iter().map(node_to_json).collect()),
        // Not a filter `from_json` accepts, like every filter that fails validation.
        Node::TooDeep => object("$invalid", Value::String(too_deep().to_string())),
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl std::ops::Not for Filter {
    type Output = Filter;

    fn not(self) -> Filter {
        Filter::not(self)
    }
}

impl std::str::FromStr for Filter {
    type Err = Error;

    fn from_str(s: &str) -> Result<Filter> {
        Filter::from_json_str(s)
    }
}

impl serde::Serialize for Filter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Filter {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Filter, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Filter::from_json(&value).map_err(serde::de::Error::custom)
    }
}
