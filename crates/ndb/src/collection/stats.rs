//! What a collection reports about itself: the public figures ([`CollectionStats`]) and the
//! counters and open report they are made from.

use super::CollectionInner;
use crate::Result;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What opening a collection found and did, for [`CollectionStats`].
#[derive(Clone, Debug, Default)]
pub(crate) struct OpenReport {
    pub wal_replayed_records: u64,
    pub wal_truncated_bytes: u64,
    /// Bytes of valid WAL read at open (what a read-only handle reports as `wal_bytes`).
    pub wal_bytes: u64,
    pub open_duration: Duration,
    pub manifest_duration: Duration,
    pub segments_duration: Duration,
    pub wal_replay_duration: Duration,
}

/// Work done since the collection was opened.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub flushes: AtomicU64,
    pub write_stalls: AtomicU64,
    pub write_stall_nanos: AtomicU64,
    pub merges: AtomicU64,
}

impl Counters {
    pub(crate) fn count(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Figures about a collection, from [`Collection::stats`](crate::Collection::stats).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct CollectionStats {
    /// Live documents.
    pub doc_count: u64,
    /// Rows in segments that are deleted or replaced (space a compaction would reclaim).
    pub deleted_count: u64,
    /// Immutable segments.
    pub segment_count: usize,
    /// Live documents still in memory (written to the WAL, not yet to a segment).
    pub memtable_docs: u64,
    /// Bytes the memtable counts against its flush threshold.
    pub memtable_bytes: u64,
    /// Bytes on disk: segments, deletion files and the WAL.
    pub disk_bytes: u64,
    /// Bytes in the current WAL file.
    pub wal_bytes: u64,
    /// Documents covered by an approximate-search index.
    pub indexed_docs: u64,
    /// Rows in segments that should have an HNSW graph and have none yet (searched exactly
    /// until the background index builds, [`Collection::flush`](crate::Collection::flush) or
    /// [`Collection::wait_for_index`](crate::Collection::wait_for_index) build it).
    pub index_backlog_rows: u64,
    /// Segments waiting for a graph.
    pub index_backlog_segments: usize,
    /// Whether HNSW graphs are built for this collection (false after
    /// [`Collection::delete_index`](crate::Collection::delete_index)).
    pub index_enabled: bool,
    /// Memtable flushes since the collection was opened.
    pub flushes: u64,
    /// Times a writer filled a second memtable before the frozen one was written, and so
    /// waited for that write and a memtable swap (back-pressure from the disk; never for a
    /// graph build), since the collection was opened.
    pub write_stalls: u64,
    /// Total time writers spent in those waits.
    pub write_stall_time: Duration,
    /// Background merges since the collection was opened.
    pub merges: u64,
    /// WAL `fdatasync` calls made for durable writes since open (group commit shares them).
    pub wal_syncs: u64,
    /// WAL records replayed into the memtable when the collection was opened.
    pub wal_replayed_records: u64,
    /// Bytes of a torn WAL tail cut off when the collection was opened (0 after a clean close).
    pub wal_truncated_bytes: u64,
    /// Time the collection took to open (manifest, segments, WAL replay).
    pub open_duration: Duration,
    /// Of `open_duration`: reading and checking the manifest.
    pub open_manifest_duration: Duration,
    /// Of `open_duration`: checking and mapping segments and their deletion and index files.
    pub open_segments_duration: Duration,
    /// Of `open_duration`: reading and replaying the WAL.
    pub open_wal_replay_duration: Duration,
    /// Each segment, oldest first.
    pub segments: Vec<SegmentStats>,
    /// Declared payload indexes: field and kind.
    pub payload_indexes: Vec<(String, crate::PayloadIndexKind)>,
    /// The quantization of segments written from now on.
    pub quantization: crate::Quantization,
    /// Live documents in segments with usable quantized codes (searched on them).
    pub quantized_docs: u64,
    /// Bytes of `f32` vectors in segments (rows × dim × 4). With quantization, searches touch
    /// them only to rescore candidates.
    pub vector_bytes: u64,
    /// Bytes of quantized code files.
    pub code_bytes: u64,
    /// Bytes of HNSW graph files.
    pub graph_bytes: u64,
    /// Bytes per segment row that searches read at random and so want in RAM: the graph plus
    /// the codes of quantized segments, the graph plus the `f32` vector of the others.
    pub resident_bytes_per_vector: f64,
}

/// Figures about one segment, in [`CollectionStats::segments`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentStats {
    /// Segment id (its file is `segments/<id>.ndb`).
    pub id: u64,
    /// Rows stored, live or not.
    pub rows: u64,
    /// Rows deleted or replaced.
    pub deleted: u64,
    /// Bytes of the segment file plus its deletion, index and payload index files.
    pub bytes: u64,
    /// Whether it has a usable HNSW index.
    pub indexed: bool,
    /// The quantization of its usable codes (`None` if it has none).
    pub quantization: crate::Quantization,
    /// Bytes of its code file.
    pub code_bytes: u64,
}
impl CollectionInner {
    pub(super) fn stats(&self) -> Result<CollectionStats> {
        self.check_alive()?;
        let wal_bytes = self
            .writer
            .wal_bytes()
            .unwrap_or(self.open_report.wal_bytes);
        let (backlog, index_enabled) = (self.backlog(), self.catalog.index_enabled());
        let c = &self.counters;
        let st = self.state.read();
        let segment_bytes: u64 = st.segments.iter().map(super::compact::segment_bytes).sum();
        let resident = Resident::of(&st.segments, self.config().dim());
        Ok(CollectionStats {
            doc_count: st.doc_count(),
            deleted_count: st.segments.iter().map(|s| s.deleted.len()).sum(),
            segment_count: st.segments.len(),
            memtable_docs: st.memtable_docs(),
            memtable_bytes: (st.active.bytes() + st.frozen_memtable().map_or(0, |f| f.bytes()))
                as u64,
            disk_bytes: segment_bytes + wal_bytes,
            wal_bytes,
            indexed_docs: st
                .segments
                .iter()
                .filter(|s| s.index.is_some())
                .map(|s| s.live_rows())
                .sum(),
            index_backlog_rows: backlog.rows,
            index_backlog_segments: backlog.segments.len(),
            index_enabled,
            flushes: Counters::get(&c.flushes),
            write_stalls: Counters::get(&c.write_stalls),
            write_stall_time: Duration::from_nanos(Counters::get(&c.write_stall_nanos)),
            merges: Counters::get(&c.merges),
            wal_syncs: self.writer.sync_calls(),
            wal_replayed_records: self.open_report.wal_replayed_records,
            wal_truncated_bytes: self.open_report.wal_truncated_bytes,
            open_duration: self.open_report.open_duration,
            open_manifest_duration: self.open_report.manifest_duration,
            open_segments_duration: self.open_report.segments_duration,
            open_wal_replay_duration: self.open_report.wal_replay_duration,
            segments: st
                .segments
                .iter()
                .map(|s| SegmentStats {
                    id: s.segment.id(),
                    rows: u64::from(s.segment.rows()),
                    deleted: s.deleted.len(),
                    bytes: super::compact::segment_bytes(s),
                    indexed: s.index.is_some(),
                    quantization: s
                        .codes
                        .as_ref()
                        .map_or(crate::Quantization::None, |c| c.quantizer().quantization()),
                    code_bytes: s.codes.as_ref().map_or(0, |c| c.file_bytes),
                })
                .collect(),
            payload_indexes: self.catalog.payload_indexes(),
            quantization: self.config().quantization(),
            quantized_docs: resident.quantized_docs,
            vector_bytes: resident.vector_bytes,
            code_bytes: resident.code_bytes,
            graph_bytes: resident.graph_bytes,
            resident_bytes_per_vector: resident.per_vector(),
        })
    }
}

/// What searches read at random, summed over segments.
#[derive(Default)]
struct Resident {
    rows: u64,
    quantized_docs: u64,
    vector_bytes: u64,
    code_bytes: u64,
    graph_bytes: u64,
    /// Graph plus codes (quantized segments) or `f32` vectors (the others).
    random_bytes: u64,
}

impl Resident {
    fn of(segments: &[super::state::LiveSegment], dim: usize) -> Self {
        let mut r = Resident::default();
        for s in segments {
            let rows = u64::from(s.segment.rows());
            let vectors = rows * dim as u64 * 4;
            let graph = s.index.as_ref().map_or(0, |i| i.file_bytes);
            let codes = s.codes.as_ref().map_or(0, |c| c.file_bytes);
            r.rows += rows;
            r.vector_bytes += vectors;
            r.code_bytes += codes;
            r.graph_bytes += graph;
            r.random_bytes += graph + if s.codes.is_some() { codes } else { vectors };
            if s.codes.is_some() {
                r.quantized_docs += s.live_rows();
            }
        }
        r
    }

    fn per_vector(&self) -> f64 {
        if self.rows == 0 {
            0.0
        } else {
            self.random_bytes as f64 / self.rows as f64
        }
    }
}
