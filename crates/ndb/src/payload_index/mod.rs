//! Payload indexes: for a field, which rows hold which value — so a filter's matching rows can
//! be found without decoding every payload.
//!
//! An index is declared per collection ([`PayloadIndexKind`] per field, in the manifest) and
//! built per segment when the segment is written (flush, compaction) or when the index is
//! declared; it is stored in a checksummed file next to the segment (`file.rs`) and loaded when
//! the segment is opened. Fields that filters use without a declared index get one in memory,
//! built on first use (`auto.rs`, ADR 0015). [`candidates_in`] turns a filter into a bitmap of
//! rows, saying whether the bitmap is exact or a superset that must still be checked row by row.

mod auto;
mod file;

pub(crate) use auto::AutoIndex;
pub(crate) use file::{payload_index_file_name, read as read_file, write as write_file};

use crate::filter::{Cond, Node};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What values of a field an index holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadIndexKind {
    /// Strings (equality, `in`, and byte-order ranges).
    Keyword,
    /// Integers that fit in an `i64` (equality, `in`, ranges).
    Integer,
    /// Any number, as `f64` (ranges and equality; results re-checked exactly).
    Float,
    /// Booleans.
    Bool,
}

impl PayloadIndexKind {
    pub(crate) fn code(self) -> u8 {
        match self {
            PayloadIndexKind::Keyword => 1,
            PayloadIndexKind::Integer => 2,
            PayloadIndexKind::Float => 3,
            PayloadIndexKind::Bool => 4,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        [Self::Keyword, Self::Integer, Self::Float, Self::Bool]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

/// A total order on f64 keys (NaN never occurs: JSON numbers are finite).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct F64Key(pub f64);

impl F64Key {
    /// The key of `f`: `-0.0` is stored as `0.0`, since JSON comparisons treat them as equal.
    pub(crate) fn of(f: f64) -> Self {
        Self(if f == 0.0 { 0.0 } else { f })
    }
}
impl Eq for F64Key {}
impl PartialOrd for F64Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for F64Key {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// One field's index over one segment.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FieldIndex {
    Keyword(BTreeMap<String, RoaringBitmap>),
    /// Integer keys, and the rows holding a number that is not an `i64` (a fraction, or an
    /// integer past `i64`): those are candidates of every numeric condition.
    Integer(BTreeMap<i64, RoaringBitmap>, RoaringBitmap),
    Float(BTreeMap<F64Key, RoaringBitmap>),
    Bool([RoaringBitmap; 2]),
}

impl FieldIndex {
    pub(crate) fn new(kind: PayloadIndexKind) -> Self {
        match kind {
            PayloadIndexKind::Keyword => FieldIndex::Keyword(BTreeMap::new()),
            PayloadIndexKind::Integer => FieldIndex::Integer(BTreeMap::new(), RoaringBitmap::new()),
            PayloadIndexKind::Float => FieldIndex::Float(BTreeMap::new()),
            PayloadIndexKind::Bool => {
                FieldIndex::Bool([RoaringBitmap::new(), RoaringBitmap::new()])
            }
        }
    }

    /// Distinct keys held (the size of the index, roughly).
    pub(crate) fn distinct_keys(&self) -> usize {
        match self {
            FieldIndex::Keyword(m) => m.len(),
            FieldIndex::Integer(m, _) => m.len(),
            FieldIndex::Float(m) => m.len(),
            FieldIndex::Bool(_) => 2,
        }
    }

    pub(crate) fn kind(&self) -> PayloadIndexKind {
        match self {
            FieldIndex::Keyword(_) => PayloadIndexKind::Keyword,
            FieldIndex::Integer(..) => PayloadIndexKind::Integer,
            FieldIndex::Float(_) => PayloadIndexKind::Float,
            FieldIndex::Bool(_) => PayloadIndexKind::Bool,
        }
    }

    /// Record `row`'s value (each element, for an array).
    fn add(&mut self, row: u32, value: &Value) {
        if let Value::Array(items) = value {
            for item in items {
                self.add_scalar(row, item);
            }
        }
        self.add_scalar(row, value);
    }

    fn add_scalar(&mut self, row: u32, value: &Value) {
        match (self, value) {
            (FieldIndex::Keyword(m), Value::String(s)) => {
                m.entry(s.clone()).or_default().insert(row);
            }
            (FieldIndex::Integer(m, other), Value::Number(n)) => match n.as_i64() {
                Some(i) => {
                    m.entry(i).or_default().insert(row);
                }
                None => {
                    other.insert(row);
                }
            },
            (FieldIndex::Float(m), Value::Number(n)) => {
                if let Some(f) = n.as_f64() {
                    m.entry(F64Key::of(f)).or_default().insert(row);
                }
            }
            (FieldIndex::Bool(b), Value::Bool(x)) => {
                b[usize::from(*x)].insert(row);
            }
            _ => {}
        }
    }

    /// Rows whose value (or an element) equals `v`: `Some((rows, exact))`, or `None` if this
    /// index cannot answer.
    fn eq(&self, v: &Value) -> Option<(RoaringBitmap, bool)> {
        match (self, v) {
            (FieldIndex::Keyword(m), Value::String(s)) => {
                Some((m.get(s).cloned().unwrap_or_default(), true))
            }
            (FieldIndex::Integer(m, other), Value::Number(n)) => with_other(
                other,
                match (n.as_i64(), n.as_f64()) {
                    (Some(i), _) => Some((m.get(&i).cloned().unwrap_or_default(), true)),
                    // Non-integral (or out of i64 range): no indexed integer equals it, but an
                    // unindexed huge integer might.
                    (None, Some(f)) if f.fract() != 0.0 && f.abs() < 9.0e18 => {
                        Some((RoaringBitmap::new(), true))
                    }
                    // An integral float (1.0) equals the integer of the same value.
                    (None, Some(f)) if f.abs() < 9.0e18 => {
                        Some((m.get(&(f as i64)).cloned().unwrap_or_default(), true))
                    }
                    _ => None,
                },
            ),
            (FieldIndex::Float(m), Value::Number(n)) => {
                let f = n.as_f64()?;
                Some((m.get(&F64Key::of(f)).cloned().unwrap_or_default(), false))
            }
            (FieldIndex::Bool(b), Value::Bool(x)) => Some((b[usize::from(*x)].clone(), true)),
            _ => None,
        }
    }

    /// Rows with a value (or element) in the range, for an ordering condition.
    fn range(&self, cond: &Cond) -> Option<(RoaringBitmap, bool)> {
        use std::ops::Bound::{self, Excluded, Included, Unbounded};
        let (operand, lower, inclusive) = match cond {
            Cond::Gt(v) => (v, true, false),
            Cond::Gte(v) => (v, true, true),
            Cond::Lt(v) => (v, false, false),
            Cond::Lte(v) => (v, false, true),
            _ => return None,
        };
        fn union<'a>(it: impl Iterator<Item = &'a RoaringBitmap>) -> RoaringBitmap {
            let mut out = RoaringBitmap::new();
            for b in it {
                out |= b;
            }
            out
        }
        fn bounds<K>(key: K, lower: bool, inclusive: bool) -> (Bound<K>, Bound<K>) {
            match (lower, inclusive) {
                (true, true) => (Included(key), Unbounded),
                (true, false) => (Excluded(key), Unbounded),
                (false, true) => (Unbounded, Included(key)),
                (false, false) => (Unbounded, Excluded(key)),
            }
        }
        match (self, operand) {
            (FieldIndex::Keyword(m), Value::String(s)) => {
                let rows = union(
                    m.range::<String, _>(bounds(s.clone(), lower, inclusive))
                        .map(|(_, b)| b),
                );
                Some((rows, true))
            }
            (FieldIndex::Integer(m, other), Value::Number(n)) => {
                // Only exact when the operand is an integer in range; a float bound is widened
                // to the enclosing integers and the rows re-checked.
                let (key, exact) = match n.as_i64() {
                    Some(i) => (i, true),
                    None => {
                        let f = n.as_f64()?;
                        if f.abs() >= 9.0e18 {
                            return None;
                        }
                        ((if lower { f.floor() } else { f.ceil() }) as i64, false)
                    }
                };
                let (lo, hi) = if exact {
                    bounds(key, lower, inclusive)
                } else if lower {
                    (Included(key), Unbounded)
                } else {
                    (Unbounded, Included(key))
                };
                with_other(
                    other,
                    Some((union(m.range((lo, hi)).map(|(_, b)| b)), exact)),
                )
            }
            (FieldIndex::Float(m), Value::Number(n)) => {
                let f = n.as_f64()?;
                let (lo, hi) = if lower {
                    (Included(F64Key::of(f)), Unbounded)
                } else {
                    (Unbounded, Included(F64Key::of(f)))
                };
                Some((union(m.range((lo, hi)).map(|(_, b)| b)), false))
            }
            _ => None,
        }
    }
}

/// Add the rows an integer index could not key (non-`i64` numbers) to an answer: they are
/// candidates, to be checked row by row.
fn with_other(
    other: &RoaringBitmap,
    answer: Option<(RoaringBitmap, bool)>,
) -> Option<(RoaringBitmap, bool)> {
    let (rows, exact) = answer?;
    if other.is_empty() {
        Some((rows, exact))
    } else {
        Some((rows | other, false))
    }
}

/// Every declared index over one segment.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SegmentPayloadIndex {
    pub fields: BTreeMap<String, FieldIndex>,
}

impl SegmentPayloadIndex {
    /// Build the indexes `defs` over `rows` payloads (serialized JSON; empty = none).
    pub(crate) fn build<'a>(
        defs: &[(String, PayloadIndexKind)],
        payloads: impl Iterator<Item = &'a [u8]>,
    ) -> Self {
        let mut fields: BTreeMap<String, FieldIndex> = defs
            .iter()
            .map(|(f, k)| (f.clone(), FieldIndex::new(*k)))
            .collect();
        if fields.is_empty() {
            return Self { fields };
        }
        for (row, bytes) in payloads.enumerate() {
            let Ok(Some(payload)) = crate::document::decode_payload(bytes) else {
                continue;
            };
            for (path, index) in fields.iter_mut() {
                if let Some(v) = crate::filter::eval::resolve(Some(&payload), path) {
                    index.add(row as u32, v);
                }
            }
        }
        Self { fields }
    }
}

/// The rows of a segment with `rows` rows that may match `node`, from the field indexes
/// `lookup` finds (declared and automatic ones together): `(rows, exact)`, or `None` when the
/// indexes cannot narrow it down.
pub(crate) fn candidates_in<'i>(
    lookup: &dyn Fn(&str) -> Option<&'i FieldIndex>,
    node: &Node,
    rows: u32,
) -> Option<(RoaringBitmap, bool)> {
    match node {
        Node::Field { path, cond } => {
            let index = lookup(path)?;
            match cond {
                Cond::Eq(v) => index.eq(v),
                Cond::In(values) => {
                    let mut out = RoaringBitmap::new();
                    let mut exact = true;
                    for v in values {
                        let (b, e) = index.eq(v)?;
                        out |= b;
                        exact &= e;
                    }
                    Some((out, exact))
                }
                Cond::Gt(_) | Cond::Gte(_) | Cond::Lt(_) | Cond::Lte(_) => index.range(cond),
                _ => None,
            }
        }
        Node::And(children) => {
            let mut acc: Option<(RoaringBitmap, bool)> = None;
            let mut all_answered = true;
            for c in children {
                match candidates_in(lookup, c, rows) {
                    Some((b, e)) => {
                        acc = Some(match acc {
                            None => (b, e),
                            Some((a, ae)) => (a & b, ae && e),
                        })
                    }
                    None => all_answered = false,
                }
            }
            acc.map(|(b, e)| (b, e && all_answered))
        }
        Node::Or(children) => {
            let mut out = RoaringBitmap::new();
            let mut exact = true;
            for c in children {
                let (b, e) = candidates_in(lookup, c, rows)?;
                out |= b;
                exact &= e;
            }
            Some((out, exact))
        }
        Node::Not(inner) => {
            let (b, exact) = candidates_in(lookup, inner, rows)?;
            if !exact {
                return None;
            }
            let mut all = RoaringBitmap::new();
            all.insert_range(0..rows);
            Some((all - b, true))
        }
        Node::TooDeep => Some((RoaringBitmap::new(), true)),
    }
}
