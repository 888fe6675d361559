//! Iteration over a snapshot of every live document.

use super::state::{LiveSegment, State};
use crate::memtable::Slot;
use crate::{Document, Result};

/// Iterator over the live documents of a collection at one moment, from
/// [`Collection::iter`](crate::Collection::iter).
pub struct DocumentIter {
    memtable_docs: std::vec::IntoIter<Document>,
    segments: Vec<LiveSegment>,
    segment: usize,
    row: u32,
    failed: bool,
}

impl std::fmt::Debug for DocumentIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentIter").finish_non_exhaustive()
    }
}

impl DocumentIter {
    pub(crate) fn new(st: &State) -> Self {
        let mut docs = Vec::with_capacity(st.memtable_docs() as usize);
        let to_doc = |m: &crate::memtable::Memtable, row: u32| Document {
            id: m.id(row).to_string(),
            vector: m.vector(row).to_vec(),
            payload: crate::document::decode_payload(m.payload(row))
                .ok()
                .flatten(),
        };
        for row in st.active.live_rows() {
            docs.push(to_doc(&st.active, row));
        }
        if let Some(frozen) = st.frozen_memtable() {
            for row in frozen.live_rows() {
                if st.active.lookup(frozen.id(row)).is_none() {
                    debug_assert!(matches!(frozen.lookup(frozen.id(row)), Some(Slot::Live(_))));
                    docs.push(to_doc(frozen, row));
                }
            }
        }
        Self {
            memtable_docs: docs.into_iter(),
            segments: st.segments.clone(),
            segment: 0,
            row: 0,
            failed: false,
        }
    }
}

impl Iterator for DocumentIter {
    type Item = Result<Document>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(doc) = self.memtable_docs.next() {
            return Some(Ok(doc));
        }
        if self.failed {
            return None;
        }
        while let Some(s) = self.segments.get(self.segment) {
            if self.row >= s.segment.rows() {
                self.segment += 1;
                self.row = 0;
                continue;
            }
            let row = self.row;
            self.row += 1;
            if s.deleted.contains(row) {
                continue;
            }
            let seg = &s.segment;
            let doc = (|| {
                Ok(Document {
                    id: seg.id_of(row)?.to_string(),
                    vector: seg.vector(row).to_vec(),
                    payload: seg.payload_value(row)?,
                })
            })();
            self.failed = doc.is_err();
            return Some(doc);
        }
        None
    }
}
