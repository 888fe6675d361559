//! The in-memory view of a collection: active memtable, the memtable being flushed, and the
//! live segments with their deletion bitmaps. Guarded by one `RwLock` in the collection.
//!
//! Invariant: an id has at most one live copy among the segments. A segment row is marked in
//! its deletion bitmap as soon as a write in a memtable shadows it; a frozen memtable's rows are
//! shadowed by the active memtable dynamically (by lookup), and when the frozen memtable becomes
//! a segment its shadowed rows are marked before it is installed.

use crate::document::{decode_payload, PreparedDoc};
use crate::memtable::{Memtable, Slot};
use crate::segment::Segment;
use crate::{Document, Error, Result};
use roaring::RoaringBitmap;
use std::sync::Arc;

/// A segment as the collection currently sees it.
#[derive(Clone, Debug)]
pub(crate) struct LiveSegment {
    pub segment: Arc<Segment>,
    /// Deleted or shadowed rows: the persisted deletion state plus later writes.
    pub deleted: Arc<RoaringBitmap>,
    /// The deletion state the manifest names (what a crash would come back to), a subset of
    /// `deleted`.
    pub persisted: Arc<RoaringBitmap>,
    /// Size of the persisted deletion file.
    pub persisted_bytes: u64,
    /// The segment's HNSW index, if it has a usable one.
    pub index: Option<Arc<crate::segment::index::SegmentIndex>>,
    /// The index file generation the manifest names (kept even if the file failed to open).
    pub index_gen: Option<u64>,
    /// The segment's payload indexes, if the collection declares any (and the file was usable).
    pub payload_index: Option<Arc<crate::payload_index::SegmentPayloadIndex>>,
    /// Size of the payload index file.
    pub payload_index_bytes: u64,
    /// The payload index file generation the manifest names (kept even if it failed to load).
    pub payload_index_gen: Option<u64>,
    /// The segment's quantized codes, if the collection quantizes (and the file was intact).
    pub codes: Option<Arc<crate::segment::codes::SegmentCodes>>,
    /// The code file generation the manifest names (kept even if it failed to open).
    pub codes_gen: Option<u64>,
    /// In-memory indexes of the fields filters use that no declared index covers (ADR 0015);
    /// shared by every copy of this segment's view.
    pub auto_index: Arc<crate::payload_index::AutoIndex>,
}

impl LiveSegment {
    pub fn live_rows(&self) -> u64 {
        u64::from(self.segment.rows()) - self.deleted.len()
    }
}

/// Where a live document was found.
pub(crate) enum Found<'a> {
    Memtable(&'a Memtable, u32),
    Segment(&'a Segment, u32),
}

impl Found<'_> {
    /// The stored vector (checked against its row's checksum for a segment row).
    pub fn vector(&self) -> Result<Vec<f32>> {
        match *self {
            Found::Memtable(m, row) => Ok(m.vector(row).to_vec()),
            Found::Segment(s, row) => Ok(s.checked_vector(row)?.to_vec()),
        }
    }

    /// The payload as JSON (`None` for none), checked for a segment row.
    pub fn payload(&self) -> Result<Option<serde_json::Value>> {
        match *self {
            Found::Memtable(m, row) => decode_payload(m.payload(row))
                .map_err(|e| Error::internal(format!("memtable payload: {e}"))),
            Found::Segment(s, row) => s.payload_value(row),
        }
    }

    pub fn to_document(&self) -> Result<Document> {
        match *self {
            Found::Memtable(m, row) => Ok(Document {
                id: m.id(row).to_string(),
                vector: m.vector(row).to_vec(),
                // Memtable payloads were produced by serde_json from a `Value`.
                payload: decode_payload(m.payload(row))
                    .map_err(|e| Error::invalid(format!("memtable payload: {e}")))?,
            }),
            Found::Segment(s, row) => Ok(Document {
                id: s.id_of(row)?.to_string(),
                vector: s.vector(row).to_vec(),
                payload: s.payload_value(row)?,
            }),
        }
    }
}

/// A memtable that was swapped out of the write path and waits to be written as a segment.
#[derive(Debug)]
pub(crate) struct Frozen {
    pub memtable: Arc<Memtable>,
    /// Every segment's deletion bitmap at the freeze, by segment id: what the flush persists
    /// (later shadows belong to writes that are not in this memtable's WAL generation). A merge
    /// that replaces segments while the memtable is frozen maps their entries to the new segment.
    pub deleted: Vec<(u64, Arc<RoaringBitmap>)>,
    /// The last WAL sequence number the memtable holds.
    pub flushed_seq: u64,
    /// The WAL generation writers continued into (the first one a crash must replay).
    pub wal_gen: u64,
}

/// Memtables and segments.
#[derive(Debug)]
pub(crate) struct State {
    pub active: Memtable,
    /// At most one memtable is frozen: a writer that fills the active one while the frozen one
    /// is still being written waits for that write (see `flush.rs`).
    pub frozen: Option<Frozen>,
    /// Oldest first.
    pub segments: Vec<LiveSegment>,
}

/// A segment row that a write will shadow: (index into `State::segments`, row).
pub(crate) type Shadow = (usize, u32);

impl State {
    /// The live copy of `id`, if any.
    pub fn find(&self, id: &str) -> Result<Option<Found<'_>>> {
        match self.active.lookup(id) {
            Some(Slot::Live(row)) => return Ok(Some(Found::Memtable(&self.active, row))),
            Some(Slot::Deleted) => return Ok(None),
            None => {}
        }
        if let Some(frozen) = self.frozen_memtable() {
            match frozen.lookup(id) {
                Some(Slot::Live(row)) => return Ok(Some(Found::Memtable(frozen, row))),
                Some(Slot::Deleted) => return Ok(None),
                None => {}
            }
        }
        if let Some((i, row)) = self.find_in_segments(id)? {
            return Ok(Some(Found::Segment(&self.segments[i].segment, row)));
        }
        Ok(None)
    }

    /// The frozen memtable, if any.
    pub fn frozen_memtable(&self) -> Option<&Memtable> {
        self.frozen.as_ref().map(|f| &*f.memtable)
    }

    /// The live segment row holding `id`, newest segment first.
    fn find_in_segments(&self, id: &str) -> Result<Option<Shadow>> {
        for (i, s) in self.segments.iter().enumerate().rev() {
            if let Some(row) = s.segment.find(id)? {
                if !s.deleted.contains(row) {
                    return Ok(Some((i, row)));
                }
            }
        }
        Ok(None)
    }

    /// The segment rows that writing `ids` into the active memtable would shadow. Ids the
    /// active memtable already holds shadowed their segment copies when first written.
    pub fn shadows<'a>(&self, ids: impl Iterator<Item = &'a str>) -> Result<Vec<Shadow>> {
        let mut out = Vec::new();
        for id in ids {
            if self.active.lookup(id).is_none() {
                if let Some(found) = self.find_in_segments(id)? {
                    out.push(found);
                }
            }
        }
        Ok(out)
    }

    /// Whether `id` has a live copy anywhere.
    pub fn contains(&self, id: &str) -> Result<bool> {
        Ok(self.find(id)?.is_some())
    }

    /// Apply a put whose shadows were computed by [`State::shadows`] on this same state.
    pub fn apply_put(&mut self, docs: Vec<PreparedDoc>, shadows: &[Shadow]) {
        self.mark(shadows);
        for doc in docs {
            self.active.put(doc);
        }
    }

    /// Apply a delete whose shadows were computed by [`State::shadows`] on this same state.
    pub fn apply_delete(&mut self, ids: &[String], shadows: &[Shadow]) {
        self.mark(shadows);
        for id in ids {
            self.active.delete(id);
        }
    }

    fn mark(&mut self, shadows: &[Shadow]) {
        for &(i, row) in shadows {
            Arc::make_mut(&mut self.segments[i].deleted).insert(row);
        }
    }

    /// Live documents in the active memtable, plus the frozen memtable's rows it does not
    /// shadow, plus live segment rows.
    pub fn doc_count(&self) -> u64 {
        self.memtable_docs()
            + self
                .segments
                .iter()
                .map(LiveSegment::live_rows)
                .sum::<u64>()
    }

    /// Live documents held in memtables.
    pub fn memtable_docs(&self) -> u64 {
        let frozen = self.frozen_memtable().map_or(0, |f| {
            f.live_rows()
                .filter(|&r| self.active.lookup(f.id(r)).is_none())
                .count()
        });
        (self.active.live_count() + frozen) as u64
    }
}

/// Insert `item` into `list`, which is ordered by id, at its place (flushes and merges commit in
/// any order, so a new segment is not always the newest).
pub(crate) fn insert_by_id<T>(list: &mut Vec<T>, item: T, id: impl Fn(&T) -> u64) {
    let new = id(&item);
    let at = list.iter().position(|e| id(e) > new).unwrap_or(list.len());
    list.insert(at, item);
}
