//! Compaction: merge every segment into one, dropping deleted and replaced rows.
//!
//! Crash safety: the merged segment (and its index) is written and fsynced, its directory
//! fsynced, then one manifest swap replaces the old segments; the old files are unlinked only
//! after that. A crash before the swap leaves the old state (the new files are garbage removed
//! at the next open); a crash after it leaves the new state (the old files are garbage).
//!
//! Only the *persisted* deletion state is applied: rows hidden by writes that are still only in
//! the WAL are carried over and hidden again in the merged segment, so a crash that loses those
//! (un-synced) writes can never also lose the older version they replaced.

use super::open::SEGMENTS_DIR;
use super::state::LiveSegment;
use super::CollectionInner;
use crate::error::IoContext;
use crate::manifest::{self, CollectionManifest, SegmentEntry};
use crate::segment::deletes::deletes_file_name;
use crate::segment::index::{graph_metric, index_file_name, SegmentIndex};
use crate::segment::{segment_file_name, write_segment, RowRef, RowVectors, Segment};
use crate::Result;
use roaring::RoaringBitmap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What [`Collection::compact`](crate::Collection::compact) did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompactionStats {
    /// Rows stored in segments before (live plus deleted or replaced ones).
    pub docs_before: u64,
    /// Rows stored in segments after.
    pub docs_after: u64,
    /// Bytes of segment, deletion and index files before.
    pub bytes_before: u64,
    /// Bytes of segment, deletion and index files after.
    pub bytes_after: u64,
    /// Segments before.
    pub segments_before: usize,
    /// Segments after.
    pub segments_after: usize,
    /// Wall time of the compaction.
    pub duration: Duration,
}

fn segment_bytes(s: &LiveSegment) -> u64 {
    s.segment.file_len()
        + s.persisted_bytes
        + s.index.as_ref().map_or(0, |i| i.file_bytes)
        + s.payload_index_bytes
}

impl CollectionInner {
    /// Merge every segment into one.
    pub(crate) fn compact(&self) -> Result<CompactionStats> {
        let mut manifest = self.manifest.lock();
        self.writer()?;
        let all: Vec<usize> = (0..self.state.read().segments.len()).collect();
        self.merge(&mut manifest, &all)
    }

    /// Merge the segments at positions `which` (ascending) into one, placed last. The caller
    /// holds the manifest lock, so positions cannot change meanwhile.
    pub(crate) fn merge(
        &self,
        manifest: &mut CollectionManifest,
        which: &[usize],
    ) -> Result<CompactionStats> {
        let started = Instant::now();
        let all = self.state.read().segments.clone();
        let segments: Vec<LiveSegment> =
            which.iter().filter_map(|&i| all.get(i).cloned()).collect();
        let mut stats = CompactionStats {
            docs_before: segments.iter().map(|s| u64::from(s.segment.rows())).sum(),
            bytes_before: segments.iter().map(segment_bytes).sum(),
            segments_before: segments.len(),
            ..CompactionStats::default()
        };
        let nothing_to_drop = segments.iter().all(|s| s.persisted.is_empty());
        if segments.len() != which.len()
            || segments.is_empty()
            || (segments.len() == 1 && nothing_to_drop)
        {
            stats.docs_after = stats.docs_before;
            stats.bytes_after = stats.bytes_before;
            stats.segments_after = stats.segments_before;
            stats.duration = started.elapsed();
            return Ok(stats);
        }

        // Merge: the rows not in each segment's persisted deletion state, oldest first; remember
        // where each old row went.
        let mut rows: Vec<RowRef<'_>> = Vec::new();
        let mut moved: Vec<Vec<u32>> = Vec::with_capacity(segments.len());
        for s in &segments {
            let seg = &s.segment;
            let mut map = vec![u32::MAX; seg.rows() as usize];
            for row in 0..seg.rows() {
                if s.persisted.contains(row) {
                    continue;
                }
                map[row as usize] = rows.len() as u32;
                rows.push(RowRef {
                    id: seg.id_of(row)?,
                    vector: seg.vector(row),
                    payload: seg.payload_of(row)?,
                });
            }
            moved.push(map);
        }

        let vfs = &*self.vfs;
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let mut next = manifest.clone();
        let merged_ids: Vec<u64> = segments.iter().map(|s| s.segment.id()).collect();
        next.segments.retain(|e| !merged_ids.contains(&e.id));
        let mut new_segment = None;
        if !rows.is_empty() {
            let id = next.next_segment_id;
            next.next_segment_id += 1;
            let path = seg_dir.join(segment_file_name(id));
            let file_bytes = write_segment(
                vfs,
                &path,
                id,
                self.config.dim(),
                self.config.distance(),
                &rows,
            )?;
            let index = if next.index_enabled && rows.len() >= self.config.index().min_rows {
                let gen = next.next_file_gen;
                next.next_file_gen += 1;
                let vectors = RowVectors {
                    rows: &rows,
                    dim: self.config.dim(),
                };
                Some(self.write_index(&seg_dir, id, gen, &vectors)?)
            } else {
                None
            };
            let payload_index = self.write_payload_index(&mut next, &seg_dir, id, &rows)?;
            next.segments.push(SegmentEntry {
                id,
                rows: rows.len() as u64,
                file_bytes,
                deletes: None,
                index,
                payload_index: payload_index.as_ref().map(|p| p.0),
            });
            new_segment = Some((id, path, rows.len() as u64, index, payload_index));
        }
        vfs.sync_dir(&seg_dir).at(&seg_dir)?;
        if let Err(e) = manifest::write_collection(vfs, &self.dir, &next) {
            self.poison(format!("manifest update for compaction failed: {e}"));
            return Err(e);
        }
        let opened = match new_segment {
            Some((id, path, n, index, payload_index)) => {
                let seg =
                    Segment::open(vfs, &path, id, self.config.dim(), self.config.distance(), n);
                let seg = match seg {
                    Ok(s) => s,
                    Err(e) => {
                        self.poison(format!("compacted segment does not open: {e}"));
                        return Err(e);
                    }
                };
                let index = match index {
                    Some(ix) => SegmentIndex::open(
                        vfs,
                        &seg_dir.join(index_file_name(id, ix.gen)),
                        id,
                        seg.rows(),
                        graph_metric(self.config.distance()),
                    )
                    .map(|i| (Arc::new(i), ix.gen))
                    .map_err(|e| log::warn!("compacted index unusable, searching exactly: {e}"))
                    .ok(),
                    None => None,
                };
                Some((Arc::new(seg), index, payload_index))
            }
            None => None,
        };

        // Install under the WAL lock: no write is between computing its shadows and applying.
        {
            let wal = self.writer()?;
            let _wal = wal.lock();
            let mut st = self.state.write();
            let mut deleted = RoaringBitmap::new();
            for (i, &pos) in which.iter().enumerate() {
                let s = &st.segments[pos];
                // Rows hidden since the merge started, or by writes not yet flushed.
                for row in s.deleted.iter() {
                    if !s.persisted.contains(row) {
                        if let Some(&new_row) = moved[i].get(row as usize) {
                            if new_row != u32::MAX {
                                deleted.insert(new_row);
                            }
                        }
                    }
                }
            }
            let kept: Vec<LiveSegment> = std::mem::take(&mut st.segments)
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !which.contains(i))
                .map(|(_, s)| s)
                .collect();
            st.segments = kept;
            if let Some((segment, index, payload_index)) = opened {
                st.segments.push(LiveSegment {
                    segment,
                    deleted: Arc::new(deleted),
                    persisted: Arc::new(RoaringBitmap::new()),
                    persisted_bytes: 0,
                    index_gen: index.as_ref().map(|(_, g)| *g),
                    index: index.map(|(i, _)| i),
                    payload_index_bytes: payload_index.as_ref().map_or(0, |p| p.0.file_bytes),
                    payload_index: payload_index.map(|p| p.1),
                });
                let new = st
                    .segments
                    .last()
                    .map(|s| (u64::from(s.segment.rows()), segment_bytes(s)));
                if let Some((rows, bytes)) = new {
                    stats.docs_after = rows;
                    stats.bytes_after = bytes;
                    stats.segments_after = 1;
                }
            }
        }
        let old = std::mem::replace(manifest, next);
        for e in old.segments.iter().filter(|e| merged_ids.contains(&e.id)) {
            let mut files = vec![seg_dir.join(segment_file_name(e.id))];
            files.extend(
                e.deletes
                    .map(|d| seg_dir.join(deletes_file_name(e.id, d.gen))),
            );
            files.extend(
                e.index
                    .map(|ix| seg_dir.join(index_file_name(e.id, ix.gen))),
            );
            for path in files {
                if let Err(err) = vfs.remove_file(&path) {
                    log::warn!("could not remove compacted {}: {err}", path.display());
                }
            }
        }
        stats.duration = started.elapsed();
        Ok(stats)
    }
}
