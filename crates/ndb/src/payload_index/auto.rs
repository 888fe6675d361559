//! Payload indexes a segment keeps in memory for the fields that filters use and that the
//! collection declares no index on (ADR 0015): built from the segment's payloads the first time
//! a filter needs one, then answering like a declared index. Never written to disk; rebuilt
//! after an open, and per segment (a merged segment starts without).

use super::{FieldIndex, PayloadIndexKind, SegmentPayloadIndex};
use crate::filter::{Cond, Node};
use crate::segment::Segment;
use crate::Result;
use parking_lot::RwLock;
use serde_json::Value;
use std::collections::BTreeMap;

/// Above this many distinct keys a field is not kept (its index would cost more memory than
/// decoding the payloads of the rows a search visits); filters on it are evaluated row by row.
const DISTINCT_KEYS_MAX: usize = 65_536;

/// One segment's automatic indexes: per field, its index, or `None` when the field has too many
/// distinct values to be worth one.
#[derive(Debug, Default)]
pub(crate) struct AutoIndex {
    fields: RwLock<BTreeMap<String, Option<FieldIndex>>>,
}

impl AutoIndex {
    /// Build the indexes `node` needs that neither `declared` nor this holds yet (one pass over
    /// the segment's payloads for all of them). A damaged row is an error, as when the filter
    /// is evaluated row by row.
    pub fn ensure(
        &self,
        segment: &Segment,
        declared: Option<&SegmentPayloadIndex>,
        node: &Node,
    ) -> Result<()> {
        let missing = |fields: &BTreeMap<String, Option<FieldIndex>>| {
            let mut want = Vec::new();
            wanted(node, &mut want);
            want.retain(|(path, _)| {
                !fields.contains_key(path) && declared.is_none_or(|d| !d.fields.contains_key(path))
            });
            want.sort_by(|a, b| a.0.cmp(&b.0));
            want.dedup_by(|a, b| a.0 == b.0);
            want
        };
        if missing(&self.fields.read()).is_empty() {
            return Ok(());
        }
        let mut fields = self.fields.write();
        let defs = missing(&fields);
        if defs.is_empty() {
            return Ok(());
        }
        let payloads = (0..segment.rows())
            .map(|row| segment.payload_of(row))
            .collect::<Result<Vec<&[u8]>>>()?;
        let built = SegmentPayloadIndex::build(&defs, payloads.into_iter());
        for (path, index) in built.fields {
            let keep = index.distinct_keys() <= DISTINCT_KEYS_MAX;
            fields.insert(path, keep.then_some(index));
        }
        Ok(())
    }

    /// The rows that may match `node` (see [`super::candidates_in`]), from `declared` indexes
    /// first, then these.
    pub fn candidates(
        &self,
        declared: Option<&SegmentPayloadIndex>,
        node: &Node,
        rows: u32,
    ) -> Option<(roaring::RoaringBitmap, bool)> {
        let fields = self.fields.read();
        let lookup = |path: &str| {
            declared
                .and_then(|d| d.fields.get(path))
                .or_else(|| fields.get(path).and_then(Option::as_ref))
        };
        super::candidates_in(&lookup, node, rows)
    }
}

/// The `(path, kind)` of every condition in `node` an index could answer, the kind told by the
/// operand: strings → keyword, booleans → bool, integers → integer, other numbers → float.
fn wanted(node: &Node, out: &mut Vec<(String, PayloadIndexKind)>) {
    match node {
        Node::Field { path, cond } => {
            let operand = match cond {
                Cond::Eq(v) | Cond::Gt(v) | Cond::Gte(v) | Cond::Lt(v) | Cond::Lte(v) => Some(v),
                Cond::In(values) => values.first(),
                _ => None,
            };
            if let Some(kind) = operand.and_then(kind_of) {
                out.push((path.clone(), kind));
            }
        }
        Node::And(children) | Node::Or(children) => {
            children.iter().for_each(|c| wanted(c, out));
        }
        Node::Not(inner) => wanted(inner, out),
        Node::TooDeep => {}
    }
}

fn kind_of(v: &Value) -> Option<PayloadIndexKind> {
    match v {
        Value::String(_) => Some(PayloadIndexKind::Keyword),
        Value::Bool(_) => Some(PayloadIndexKind::Bool),
        Value::Number(n) if n.is_i64() => Some(PayloadIndexKind::Integer),
        Value::Number(_) => Some(PayloadIndexKind::Float),
        _ => None,
    }
}
