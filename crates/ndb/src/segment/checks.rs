//! Row and vector block checksums (segment format version 2, docs/FORMAT.md): checked when a
//! row or a block of vectors is read for an answer, so that damaged bytes give
//! `Error::Corruption` naming the file and the row instead of an answer.
//!
//! - A row's checksum covers its id, payload and vector bytes; [`Segment::payload_of`] checks
//!   it, and every path that returns a row (get, iter/export, search results, filters that
//!   decode payloads, compaction, payload index builds) reads the row's payload.
//! - A vector block's checksum covers the vectors of [`VECTOR_BLOCK_ROWS`] rows; exact scans
//!   ([`Segment::checked_vectors`]) and graph traversals ([`GraphVectors`]) check each block
//!   the first time they touch it. A block that matched once is remembered in a bitset (the
//!   mapping is immutable), so later scans and searches cost one atomic load per block or
//!   vector; [`Segment::verify`] recomputes every checksum.
//! - A row that matched its checksum is remembered the same way: a search returns its results'
//!   payloads, and rescoring after a quantized walk reads rows one by one, so the same rows'
//!   checksums were recomputed on every search (a quarter of an int8 search of fashion-mnist).
//!
//! Version 1 segments have neither section: nothing is checked on read (only `verify`'s section
//! checksums).

use super::format::VECTOR_BLOCK_ROWS;
use super::writer::row_crc;
use super::Segment;
use crate::codec::u32_at;
use crate::Result;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Where a segment's checksums are, and which vector blocks and rows matched theirs.
#[derive(Debug, Default)]
pub(super) struct RowChecks {
    /// Byte range of the row checksum section in the mapping (empty in version 1).
    pub row_crcs: Range<usize>,
    /// Byte range of the vector block checksum section (empty in version 1).
    pub block_crcs: Range<usize>,
    /// Bit `b` set: vector block `b` matched its checksum.
    pub verified: Box<[AtomicU64]>,
    /// Bit `r` set: row `r` matched its checksum (its id, payload and vector were read for an
    /// answer before; a result row is read again by every search that returns it, and rows
    /// rescored after a quantized walk lie in blocks no scan verifies).
    pub verified_rows: Box<[AtomicU64]>,
    /// Whether the segment has checksum sections (format version 2).
    pub enabled: bool,
}

impl RowChecks {
    pub fn new(row_crcs: Range<usize>, block_crcs: Range<usize>, rows: u32) -> Self {
        let blocks = rows.div_ceil(VECTOR_BLOCK_ROWS) as usize;
        Self {
            row_crcs,
            block_crcs,
            verified: bits(blocks),
            verified_rows: bits(rows as usize),
            enabled: true,
        }
    }

    fn is_verified(&self, block: u32) -> bool {
        !self.enabled || bit(&self.verified, block)
    }

    fn mark_verified(&self, block: u32) {
        set_bit(&self.verified, block);
    }
}

/// A bitset of `n` bits, all clear.
fn bits(n: usize) -> Box<[AtomicU64]> {
    (0..n.div_ceil(64)).map(|_| AtomicU64::new(0)).collect()
}

fn bit(bits: &[AtomicU64], i: u32) -> bool {
    bits.get(i as usize / 64)
        .is_some_and(|w| w.load(Ordering::Relaxed) & (1 << (i % 64)) != 0)
}

fn set_bit(bits: &[AtomicU64], i: u32) {
    if let Some(w) = bits.get(i as usize / 64) {
        w.fetch_or(1 << (i % 64), Ordering::Relaxed);
    }
}

/// Number of vector blocks of a segment of `rows` rows.
pub(super) fn block_count(rows: u64) -> u64 {
    rows.div_ceil(u64::from(VECTOR_BLOCK_ROWS))
}

impl Segment {
    /// The vector bytes of rows `rows` (clamped to the segment).
    fn vector_bytes(&self, rows: Range<u32>) -> &[u8] {
        let row_bytes = self.dim * 4;
        let end = rows.end.min(self.rows) as usize;
        let start = (rows.start as usize).min(end);
        let base = self.vectors.start;
        &self.map[base + start * row_bytes..base + end * row_bytes]
    }

    /// Check `row`'s checksum over its `id`, `payload` and vector bytes (version 2 segments).
    pub(super) fn check_row(&self, row: u32, id: &[u8], payload: &[u8], force: bool) -> Result<()> {
        if !self.checks.enabled || (!force && bit(&self.checks.verified_rows, row)) {
            return Ok(());
        }
        let at = self.checks.row_crcs.start + row as usize * 4;
        let stored = u32_at(&self.map, at)
            .filter(|_| at + 4 <= self.checks.row_crcs.end)
            .ok_or_else(|| self.corrupt(at as u64, format!("row {row} has no checksum")))?;
        let actual = row_crc(id, payload, self.vector_bytes(row..row + 1));
        if actual != stored {
            return Err(self.corrupt(
                at as u64,
                format!(
                    "row {row} (id {:?}) checksum mismatch (stored {stored:#010x}, computed {actual:#010x}): its payload or vector bytes are damaged",
                    String::from_utf8_lossy(id)
                ),
            ));
        }
        set_bit(&self.checks.verified_rows, row);
        Ok(())
    }

    /// Check vector block `block` unless it matched before (or `force`).
    pub(super) fn check_vector_block(&self, block: u32, force: bool) -> Result<()> {
        if !force && self.checks.is_verified(block) {
            return Ok(());
        }
        if !self.checks.enabled {
            return Ok(());
        }
        let at = self.checks.block_crcs.start + block as usize * 4;
        let stored = u32_at(&self.map, at)
            .filter(|_| at + 4 <= self.checks.block_crcs.end)
            .ok_or_else(|| {
                self.corrupt(at as u64, format!("vector block {block} has no checksum"))
            })?;
        let first = block.saturating_mul(VECTOR_BLOCK_ROWS);
        let rows = first..first.saturating_add(VECTOR_BLOCK_ROWS).min(self.rows);
        let actual = crate::codec::crc32c(self.vector_bytes(rows.clone()));
        if actual != stored {
            let offset = self.vectors.start + rows.start as usize * self.dim * 4;
            return Err(self.corrupt(
                offset as u64,
                format!(
                    "vector block {block} (rows {}..{}) checksum mismatch (stored {stored:#010x}, computed {actual:#010x})",
                    rows.start, rows.end
                ),
            ));
        }
        self.checks.mark_verified(block);
        Ok(())
    }

    /// The vector of `row`, its block checked (once).
    pub fn checked_vector(&self, row: u32) -> Result<&[f32]> {
        self.check_vector_block(row / VECTOR_BLOCK_ROWS, false)?;
        Ok(self.vector(row))
    }

    /// The vector of `row`, checked by its block if that matched before, else by the row's own
    /// checksum (which reads only this row's id, payload and vector, not the block's 64 rows):
    /// for rescoring a few rows at random, where checking whole blocks would read most of the
    /// vectors once.
    pub fn row_checked_vector(&self, row: u32) -> Result<&[f32]> {
        if !self.checks.is_verified(row / VECTOR_BLOCK_ROWS) {
            self.payload_of(row)?;
        }
        Ok(self.vector(row))
    }

    /// The vectors of rows `rows` (row-major; clamped to the segment), every block they touch
    /// checked (once). For exact scans.
    pub fn checked_vectors(&self, rows: Range<u32>) -> Result<&[f32]> {
        let end = rows.end.min(self.rows);
        let start = rows.start.min(end);
        if start < end {
            for block in start / VECTOR_BLOCK_ROWS..=(end - 1) / VECTOR_BLOCK_ROWS {
                self.check_vector_block(block, false)?;
            }
        }
        Ok(&self.vectors()[start as usize * self.dim..end as usize * self.dim])
    }

    /// The vectors as a graph search reads them: each block checked the first time the
    /// traversal touches it. Call [`GraphVectors::finish`] after the search.
    pub fn graph_vectors(&self) -> GraphVectors<'_> {
        GraphVectors {
            segment: self,
            vectors: self.vectors(),
            failed_block: AtomicU32::new(u32::MAX),
        }
    }

    /// Recompute every row and vector block checksum.
    pub(super) fn verify_rows(&self) -> Result<()> {
        for block in 0..block_count(u64::from(self.rows)) as u32 {
            self.check_vector_block(block, true)?;
        }
        for row in 0..self.rows {
            self.payload_checked(row, true)?;
        }
        Ok(())
    }
}

/// A segment's vectors for `ndb_hnsw` searches: each vector block is checked the first time
/// the traversal reads a vector of it (then remembered). A damaged block is recorded and
/// reported by [`GraphVectors::finish`]; the traversal itself goes on (it cannot fail), and
/// its result must be discarded.
pub(crate) struct GraphVectors<'a> {
    segment: &'a Segment,
    vectors: &'a [f32],
    /// The first block that failed its check, or `u32::MAX`.
    failed_block: AtomicU32,
}

impl GraphVectors<'_> {
    /// `Err(Corruption)` if the traversal touched a damaged vector block.
    pub fn finish(self) -> Result<()> {
        match self.failed_block.into_inner() {
            u32::MAX => Ok(()),
            block => self.segment.check_vector_block(block, true),
        }
    }
}

impl ndb_hnsw::Vectors for GraphVectors<'_> {
    fn dim(&self) -> usize {
        self.segment.dim
    }

    fn len(&self) -> usize {
        self.segment.rows as usize
    }

    #[inline]
    fn vector(&self, i: u32) -> &[f32] {
        let block = i / VECTOR_BLOCK_ROWS;
        if !self.segment.checks.is_verified(block)
            && self.segment.check_vector_block(block, false).is_err()
        {
            self.failed_block.store(block, Ordering::Relaxed);
        }
        let start = i as usize * self.segment.dim;
        &self.vectors[start..start + self.segment.dim]
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{rewrite_as_version_1, write_sample};
    use super::*;
    use crate::config::Distance;
    use crate::Error;
    use ndb_storage::SimVfs;
    use std::path::Path;

    const ROWS: u32 = 150;

    fn open(vfs: &SimVfs, path: &Path) -> Result<Segment> {
        Segment::open(vfs, path, 7, 3, Distance::Euclidean, u64::from(ROWS))
    }

    #[test]
    fn every_flipped_payload_or_vector_byte_fails_its_row_and_block_only() {
        let vfs = SimVfs::new(0);
        let path = write_sample(&vfs, ROWS as usize);
        let seg = open(&vfs, &path).unwrap();
        let (vectors, payloads) = (seg.vectors.clone(), seg.payload_bytes.clone());
        let row_of_payload: Vec<u32> = (0..ROWS)
            .flat_map(|r| {
                let n = seg.payload_of(r).unwrap().len();
                std::iter::repeat_n(r, n)
            })
            .collect();
        drop(seg);
        for offset in vectors.clone().step_by(5).chain(payloads.clone()) {
            vfs.corrupt(&path, offset as u64, 0x10).unwrap();
            let seg = open(&vfs, &path).unwrap();
            let bad_row = if offset < vectors.end {
                ((offset - vectors.start) / 12) as u32
            } else {
                row_of_payload[offset - payloads.start]
            };
            for row in 0..ROWS {
                let read = seg.payload_of(row);
                assert_eq!(read.is_err(), row == bad_row, "offset {offset}, row {row}");
            }
            let err = seg.payload_of(bad_row).unwrap_err();
            assert!(matches!(&err, Error::Corruption { file, .. } if *file == path));
            assert!(err.to_string().contains(&format!("row {bad_row}")), "{err}");
            let in_vectors = offset < vectors.end;
            let scan = seg.checked_vectors(0..ROWS);
            assert_eq!(scan.is_err(), in_vectors, "offset {offset}");
            assert_eq!(seg.checked_vector(bad_row).is_err(), in_vectors);
            let graph = seg.graph_vectors();
            for i in 0..ROWS {
                ndb_hnsw::Vectors::vector(&graph, i);
            }
            assert_eq!(graph.finish().is_err(), in_vectors, "offset {offset}");
            assert!(seg.verify().is_err());
            vfs.corrupt(&path, offset as u64, 0x10).unwrap();
        }
    }

    #[test]
    fn a_matched_block_is_not_hashed_again_until_verify() {
        let vfs = SimVfs::new(0);
        let path = write_sample(&vfs, ROWS as usize);
        let seg = open(&vfs, &path).unwrap();
        seg.checked_vectors(0..ROWS).unwrap();
        assert!((0..3).all(|b| seg.checks.is_verified(b)));
        // The bits live with the open segment: a fresh open checks again.
        let fresh = open(&vfs, &path).unwrap();
        assert!(!fresh.checks.is_verified(0));
        fresh.checked_vector(70).unwrap();
        assert!(fresh.checks.is_verified(1) && !fresh.checks.is_verified(2));
    }

    /// A version 1 segment (no checksum sections) still opens and reads, unchecked per row.
    #[test]
    fn version_1_segments_open_and_read_without_row_checksums() {
        let vfs = SimVfs::new(0);
        let path = write_sample(&vfs, ROWS as usize);
        rewrite_as_version_1(&vfs, &path, true);
        let seg = open(&vfs, &path).unwrap();
        assert!(!seg.checks.enabled);
        seg.verify().unwrap();
        for row in 0..ROWS {
            assert_eq!(seg.checked_vector(row).unwrap(), seg.vector(row));
            seg.payload_of(row).unwrap();
        }
    }

    #[test]
    fn a_version_1_header_may_not_name_the_checksum_sections() {
        let vfs = SimVfs::new(0);
        let path = write_sample(&vfs, ROWS as usize);
        // Version 1 with the checksum sections still in the table.
        rewrite_as_version_1(&vfs, &path, false);
        let err = open(&vfs, &path).unwrap_err();
        assert!(err.to_string().contains("unknown section kind 7"), "{err}");
    }
}
