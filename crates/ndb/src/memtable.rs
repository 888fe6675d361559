//! The memtable: recent writes in memory, a hash map of ids over a contiguous vector buffer.
//!
//! Rows are appended; replacing an id appends a new row and marks the old one dead, deleting an
//! id leaves a tombstone so that older copies (in a frozen memtable or in segments) stay hidden.
//! A flush writes the live rows to a segment.

use crate::document::PreparedDoc;
use std::collections::HashMap;
use std::sync::Arc;

/// Per-row bookkeeping bytes counted against the flush threshold besides the row's own data.
const ROW_OVERHEAD_BYTES: usize = 64;

/// What the memtable knows about an id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Live in row `.0`.
    Live(u32),
    /// Deleted here: older copies are hidden.
    Deleted,
}

#[derive(Debug)]
struct Row {
    id: Arc<str>,
    payload: Box<[u8]>,
    live: bool,
}

/// Recent writes, in memory.
#[derive(Debug)]
pub(crate) struct Memtable {
    dim: usize,
    vectors: Vec<f32>,
    rows: Vec<Row>,
    index: HashMap<Arc<str>, Slot>,
    live: usize,
    bytes: usize,
}

impl Memtable {
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            vectors: Vec::new(),
            rows: Vec::new(),
            index: HashMap::new(),
            live: 0,
            bytes: 0,
        }
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Insert or replace.
    pub fn put(&mut self, doc: PreparedDoc) {
        debug_assert_eq!(doc.vector.len(), self.dim);
        let row = self.rows.len() as u32;
        let id: Arc<str> = Arc::from(doc.id);
        self.bytes +=
            doc.vector.len() * 4 + id.len() * 2 + doc.payload_json.len() + ROW_OVERHEAD_BYTES;
        self.vectors.extend_from_slice(&doc.vector);
        self.rows.push(Row {
            id: Arc::clone(&id),
            payload: doc.payload_json.into_boxed_slice(),
            live: true,
        });
        match self.index.insert(id, Slot::Live(row)) {
            Some(Slot::Live(old)) => self.rows[old as usize].live = false,
            _ => self.live += 1,
        }
    }

    /// Delete `id` (leaves a tombstone).
    pub fn delete(&mut self, id: &str) {
        match self.index.get_mut(id) {
            Some(slot @ Slot::Live(_)) => {
                if let Slot::Live(old) = *slot {
                    self.rows[old as usize].live = false;
                }
                *slot = Slot::Deleted;
                self.live -= 1;
            }
            Some(Slot::Deleted) => {}
            None => {
                self.bytes += id.len() + ROW_OVERHEAD_BYTES;
                self.index.insert(Arc::from(id), Slot::Deleted);
            }
        }
    }

    pub fn lookup(&self, id: &str) -> Option<Slot> {
        self.index.get(id).copied()
    }

    pub fn vector(&self, row: u32) -> &[f32] {
        let start = row as usize * self.dim;
        &self.vectors[start..start + self.dim]
    }

    pub fn id(&self, row: u32) -> &str {
        &self.rows[row as usize].id
    }

    pub fn payload(&self, row: u32) -> &[u8] {
        &self.rows[row as usize].payload
    }

    /// Live rows in insertion order.
    pub fn live_rows(&self) -> impl Iterator<Item = u32> + '_ {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.live)
            .map(|(i, _)| i as u32)
    }

    /// Every id written or deleted here.
    pub fn touched_ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.index.keys().map(|k| &**k)
    }

    /// Number of live documents.
    pub fn live_count(&self) -> usize {
        self.live
    }

    /// Whether nothing was written since the memtable was created.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Bytes counted against the flush threshold.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// All rows' vectors (live and dead), row-major.
    pub fn all_vectors(&self) -> &[f32] {
        &self.vectors
    }

    /// Whether `row` is live.
    pub fn is_live(&self, row: u32) -> bool {
        self.rows[row as usize].live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, x: f32) -> PreparedDoc {
        PreparedDoc {
            id: id.into(),
            vector: vec![x, x],
            payload_json: vec![],
        }
    }

    #[test]
    fn put_replace_delete() {
        let mut m = Memtable::new(2);
        m.put(doc("a", 1.0));
        m.put(doc("b", 2.0));
        m.put(doc("a", 3.0));
        assert_eq!(m.live_count(), 2);
        let Some(Slot::Live(row)) = m.lookup("a") else {
            panic!()
        };
        assert_eq!(m.vector(row), &[3.0, 3.0]);
        assert_eq!(m.live_rows().count(), 2);
        m.delete("a");
        m.delete("zzz");
        assert_eq!(m.lookup("a"), Some(Slot::Deleted));
        assert_eq!(m.lookup("zzz"), Some(Slot::Deleted));
        assert_eq!(m.live_count(), 1);
        assert_eq!(
            m.live_rows()
                .map(|r| m.id(r).to_string())
                .collect::<Vec<_>>(),
            vec!["b"]
        );
        m.put(doc("a", 4.0));
        assert_eq!(m.live_count(), 2);
        assert_eq!(m.touched_ids().count(), 3);
    }
}
