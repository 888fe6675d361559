//! What the addon returns: plain JavaScript objects (payloads are objects, not JSON strings;
//! vectors are `Float32Array`s handed over without a copy).

use crate::error::{Code, Failure, Result};
use napi::bindgen_prelude::Float32Array;
use napi_derive::napi;
use serde_json::Value;
use std::time::Duration;

/// A stored document, as `Collection.get` returns it.
#[napi(object)]
pub struct Document {
    pub id: String,
    pub vector: Float32Array,
    #[napi(ts_type = "Payload | null")]
    pub payload: Value,
}

/// Search results as the text of a JSON array of `{ id, score, payload }` objects, which
/// `index.js` parses with `JSON.parse`: V8 builds those objects several times faster than
/// N-API can, property by property. Scores are `f32` widened to `f64`, printed exactly;
/// payloads are the stored JSON text, copied in without being parsed (`null` for none).
pub struct RawHits(pub String);

/// What `Collection.compact` did.
#[napi(object)]
pub struct CompactionStats {
    pub docs_before: f64,
    pub docs_after: f64,
    pub bytes_before: f64,
    pub bytes_after: f64,
    pub segments_before: u32,
    pub segments_after: u32,
    pub duration_ms: f64,
}

/// What `Database.backup` did.
#[napi(object)]
pub struct BackupStats {
    /// The new database directory (absolute).
    pub dest: String,
    /// Collections copied.
    pub collections: u32,
    /// Immutable files (segments, deletion, graph and payload index files) hard-linked.
    pub files_linked: f64,
    /// Files copied (write-ahead logs, and immutable files where hard links are impossible).
    pub files_copied: f64,
    pub bytes_copied: f64,
    pub duration_ms: f64,
}

/// A collection's settings as of now, from `Collection.config` and `Collection.updateConfig`:
/// its dimension and distance, and the settings `updateConfig` may change.
#[napi(object)]
pub struct CollectionConfig {
    pub dim: u32,
    #[napi(ts_type = "Distance")]
    pub distance: String,
    #[napi(ts_type = "Durability")]
    pub durability: String,
    /// Memtable size that triggers a flush to a new segment.
    pub flush_threshold_bytes: f64,
    /// HNSW neighbours per node, for graphs built from now on.
    pub m: u32,
    /// HNSW candidate list size while building, for graphs built from now on.
    pub ef_construction: u32,
    /// HNSW candidate list size of searches that give no `ef`.
    pub ef_search: u32,
    /// Segments with at least this many rows get an HNSW graph.
    pub min_rows: f64,
    /// The codes of segments written from now on.
    #[napi(ts_type = "Quantization")]
    pub quantization: String,
}

/// One segment, in `CollectionStats.segments`.
#[napi(object)]
pub struct SegmentStats {
    pub id: f64,
    pub rows: f64,
    pub deleted: f64,
    pub bytes: f64,
    pub indexed: bool,
    /// `'none'` when the segment has no usable codes.
    #[napi(ts_type = "Quantization")]
    pub quantization: String,
    pub code_bytes: f64,
}

/// A declared payload index.
#[napi(object)]
pub struct PayloadIndex {
    pub field: String,
    #[napi(ts_type = "PayloadIndexKind")]
    pub kind: String,
}

/// Figures about a collection, from `Collection.stats`.
#[napi(object)]
pub struct CollectionStats {
    /// Live documents.
    pub doc_count: f64,
    /// Rows in segments that are deleted or replaced (what a compaction would reclaim).
    pub deleted_count: f64,
    pub segment_count: u32,
    /// Live documents still in memory (in the write-ahead log, not yet in a segment).
    pub memtable_docs: f64,
    pub memtable_bytes: f64,
    /// Bytes on disk: segments, deletion files and the write-ahead log.
    pub disk_bytes: f64,
    pub wal_bytes: f64,
    /// Documents covered by an HNSW index.
    pub indexed_docs: f64,
    /// Rows in segments that should have an HNSW graph and have none yet (searched exactly
    /// until built).
    pub index_backlog_rows: f64,
    /// Segments waiting for a graph.
    pub index_backlog_segments: u32,
    /// Whether HNSW graphs are built (false after `deleteIndex`).
    pub index_enabled: bool,
    /// The quantization of segments written from now on.
    #[napi(ts_type = "Quantization")]
    pub quantization: String,
    /// Live documents in segments with usable codes.
    pub quantized_docs: f64,
    /// Bytes of float32 vectors in segments.
    pub vector_bytes: f64,
    /// Bytes of code files.
    pub code_bytes: f64,
    /// Bytes of HNSW graph files.
    pub graph_bytes: f64,
    /// Per row: graph plus codes (quantized segments) or plus float32 vectors (the others),
    /// what searches read at random.
    pub resident_bytes_per_vector: f64,
    pub flushes: f64,
    pub write_stalls: f64,
    pub write_stall_ms: f64,
    pub merges: f64,
    pub wal_syncs: f64,
    pub wal_replayed_records: f64,
    pub wal_truncated_bytes: f64,
    pub open_ms: f64,
    pub segments: Vec<SegmentStats>,
    pub payload_indexes: Vec<PayloadIndex>,
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn kind_name(kind: ndb::PayloadIndexKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The library's name of a distance (`"dot_product"`).
pub fn distance_name(d: ndb::Distance) -> String {
    serde_json::to_value(d)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn collection_config(c: &ndb::CollectionConfig) -> CollectionConfig {
    let index = c.index();
    CollectionConfig {
        dim: c.dim() as u32,
        distance: distance_name(c.distance()),
        durability: match c.durability() {
            ndb::Durability::Buffered => "buffered",
            // The Node name of the library's fdatasync-each-batch mode.
            ndb::Durability::FdatasyncEachBatch => "sync",
        }
        .to_string(),
        flush_threshold_bytes: c.flush_threshold_bytes() as f64,
        m: index.m as u32,
        ef_construction: index.ef_construction as u32,
        ef_search: index.ef_search as u32,
        min_rows: index.min_rows as f64,
        quantization: c.quantization().name().to_string(),
    }
}

pub fn document(d: ndb::Document) -> Document {
    Document {
        id: d.id,
        vector: Float32Array::new(d.vector),
        payload: d.payload.unwrap_or(Value::Null),
    }
}

/// The failure of writing search results (a bug: ids, scores and stored payloads always make
/// JSON text).
fn results_failure(e: impl std::fmt::Display) -> Failure {
    Failure::new(
        Code::Internal,
        format!("internal error: search results: {e}"),
    )
}

/// A hit's payload as JSON text: the stored text as it is (never parsed here), `null` for none.
fn payload_text(m: &ndb::RawMatch) -> &str {
    m.payload_json.as_deref().unwrap_or("null")
}

/// [`RawHits`] of one search's matches. Ids and scores are written by `serde_json` (scores as
/// `f64`; a non-finite one as `null`), payloads copied in as stored (see [`payload_text`]).
pub fn raw_hits(matches: &[ndb::RawMatch]) -> Result<RawHits> {
    let bytes: usize = matches
        .iter()
        .map(|m| m.id.len() + payload_text(m).len() + 48)
        .sum();
    let mut json = Vec::with_capacity(bytes + 2);
    json.push(b'[');
    for (i, m) in matches.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        json.extend_from_slice(br#"{"id":"#);
        serde_json::to_writer(&mut json, m.id.as_str()).map_err(results_failure)?;
        json.extend_from_slice(br#","score":"#);
        serde_json::to_writer(&mut json, &f64::from(m.score)).map_err(results_failure)?;
        json.extend_from_slice(br#","payload":"#);
        json.extend_from_slice(payload_text(m).as_bytes());
        json.push(b'}');
    }
    json.push(b']');
    // Every piece is UTF-8 (serde_json writes UTF-8, payloads are `str`).
    String::from_utf8(json)
        .map(RawHits)
        .map_err(results_failure)
}

/// `searchSync`'s results packed for `index.js`, which builds the `{ id, score, payload }`
/// objects from them (V8 makes plain objects far faster in JavaScript than N-API can, and
/// numbers never go through text). `out` receives `[n, hasPayloads, idChars, score × n,
/// idLength × n]` (lengths in UTF-16 code units, as JavaScript counts); the returned text is
/// every id, one after the other, followed, when some hit has a payload, by the JSON array of
/// the n payloads: each as stored, unparsed, or `null` for none. `None` when `out` is too small
/// for the hits.
pub fn packed_hits(matches: &[ndb::RawMatch], out: &mut [f64]) -> Option<String> {
    let n = matches.len();
    if out.len() < 3 + 2 * n {
        return None;
    }
    let with_payloads = matches.iter().any(|m| m.payload_json.is_some());
    let mut bytes: usize = matches.iter().map(|m| m.id.len()).sum();
    if with_payloads {
        bytes += 1 + matches
            .iter()
            .map(|m| payload_text(m).len() + 1)
            .sum::<usize>();
    }
    let mut text = String::with_capacity(bytes);
    let mut chars = 0usize;
    for (i, m) in matches.iter().enumerate() {
        let len = if m.id.is_ascii() {
            m.id.len()
        } else {
            m.id.encode_utf16().count()
        };
        text.push_str(&m.id);
        chars += len;
        out[3 + i] = f64::from(m.score);
        out[3 + n + i] = len as f64;
    }
    out[0] = n as f64;
    out[1] = if with_payloads { 1.0 } else { 0.0 };
    out[2] = chars as f64;
    if with_payloads {
        text.push('[');
        for (i, m) in matches.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(payload_text(m));
        }
        text.push(']');
    }
    Some(text)
}

pub fn compaction_stats(s: &ndb::CompactionStats) -> CompactionStats {
    CompactionStats {
        docs_before: s.docs_before as f64,
        docs_after: s.docs_after as f64,
        bytes_before: s.bytes_before as f64,
        bytes_after: s.bytes_after as f64,
        segments_before: s.segments_before as u32,
        segments_after: s.segments_after as u32,
        duration_ms: ms(s.duration),
    }
}

pub fn backup_stats(s: &ndb::BackupStats) -> BackupStats {
    BackupStats {
        dest: s.dest.to_string_lossy().into_owned(),
        collections: s.collections as u32,
        files_linked: s.files_linked as f64,
        files_copied: s.files_copied as f64,
        bytes_copied: s.bytes_copied as f64,
        duration_ms: ms(s.duration),
    }
}

pub fn payload_indexes(list: Vec<(String, ndb::PayloadIndexKind)>) -> Vec<PayloadIndex> {
    list.into_iter()
        .map(|(field, kind)| PayloadIndex {
            field,
            kind: kind_name(kind),
        })
        .collect()
}

pub fn stats(s: &ndb::CollectionStats) -> CollectionStats {
    CollectionStats {
        doc_count: s.doc_count as f64,
        deleted_count: s.deleted_count as f64,
        segment_count: s.segment_count as u32,
        memtable_docs: s.memtable_docs as f64,
        memtable_bytes: s.memtable_bytes as f64,
        disk_bytes: s.disk_bytes as f64,
        wal_bytes: s.wal_bytes as f64,
        indexed_docs: s.indexed_docs as f64,
        index_backlog_rows: s.index_backlog_rows as f64,
        index_backlog_segments: s.index_backlog_segments as u32,
        index_enabled: s.index_enabled,
        quantization: s.quantization.name().to_string(),
        quantized_docs: s.quantized_docs as f64,
        vector_bytes: s.vector_bytes as f64,
        code_bytes: s.code_bytes as f64,
        graph_bytes: s.graph_bytes as f64,
        resident_bytes_per_vector: s.resident_bytes_per_vector,
        flushes: s.flushes as f64,
        write_stalls: s.write_stalls as f64,
        write_stall_ms: ms(s.write_stall_time),
        merges: s.merges as f64,
        wal_syncs: s.wal_syncs as f64,
        wal_replayed_records: s.wal_replayed_records as f64,
        wal_truncated_bytes: s.wal_truncated_bytes as f64,
        open_ms: ms(s.open_duration),
        segments: s
            .segments
            .iter()
            .map(|g| SegmentStats {
                id: g.id as f64,
                rows: g.rows as f64,
                deleted: g.deleted as f64,
                bytes: g.bytes as f64,
                indexed: g.indexed,
                quantization: g.quantization.name().to_string(),
                code_bytes: g.code_bytes as f64,
            })
            .collect(),
        payload_indexes: payload_indexes(s.payload_indexes.clone()),
    }
}
