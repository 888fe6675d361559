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

use super::new_segment::Graph;
use super::open::SEGMENTS_DIR;
use super::state::LiveSegment;
use super::CollectionInner;
use crate::error::IoContext;
use crate::manifest::{self};
use crate::segment::deletes::deletes_file_name;
use crate::segment::index::{index_file_name, GraphSeed};
use crate::segment::{segment_file_name, RowRef};
use crate::Result;
use roaring::RoaringBitmap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which deleted or replaced rows a merge leaves out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DropRows {
    /// Only those whose deletion is persisted (background merges: rows hidden by writes still
    /// only in an unsynced WAL are carried over, so a crash that loses those writes can never
    /// also lose the older version they replaced).
    Persisted,
    /// Every one acknowledged before the merge, after syncing the WAL (`compact`).
    Acknowledged,
}

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
    /// Merge every segment into one, dropping every row deleted or replaced so far (also by
    /// writes not yet flushed, once the WAL holds them durably).
    pub(crate) fn compact(&self) -> Result<CompactionStats> {
        let _merging = self.merge_lock.lock();
        self.writer()?;
        let all: Vec<u64> = self
            .state
            .read()
            .segments
            .iter()
            .map(|s| s.segment.id())
            .collect();
        self.merge(&all, Graph::Now, DropRows::Acknowledged)
    }

    /// Merge the segments with ids `which` into one new segment (placed by id). The caller holds
    /// the merge lock. The manifest lock is taken only to reserve ids and to commit, so flushes
    /// (and the writers waiting on them) proceed while the merged segment and its index are
    /// written.
    pub(crate) fn merge(
        &self,
        which: &[u64],
        graph: Graph,
        leave_out: DropRows,
    ) -> Result<CompactionStats> {
        let started = Instant::now();
        // Phase 1: snapshot, reserve a segment id and three file generations.
        let (segments, mut scratch) = {
            let mut manifest = self.manifest.lock();
            let all = self.state.read().segments.clone();
            let segments: Vec<LiveSegment> = all
                .into_iter()
                .filter(|s| which.contains(&s.segment.id()))
                .collect();
            let mut scratch = manifest.clone();
            manifest.next_segment_id += 1;
            manifest.next_file_gen += 3;
            scratch.segments.clear();
            (segments, scratch)
        };
        let mut stats = CompactionStats {
            docs_before: segments.iter().map(|s| u64::from(s.segment.rows())).sum(),
            bytes_before: segments.iter().map(segment_bytes).sum(),
            segments_before: segments.len(),
            ..CompactionStats::default()
        };
        // The rows to leave out. Acknowledged deletions are taken before the WAL sync below, so
        // every one of them is durable in the WAL before the merged segment can commit.
        let dead: Vec<Arc<RoaringBitmap>> = segments
            .iter()
            .map(|s| match leave_out {
                DropRows::Persisted => Arc::clone(&s.persisted),
                DropRows::Acknowledged => Arc::clone(&s.deleted),
            })
            .collect();
        if leave_out == DropRows::Acknowledged {
            self.sync()?;
        }
        let nothing_to_drop = dead.iter().all(|d| d.is_empty());
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

        // Phase 2: the rows not in each segment's persisted deletion state, oldest first, into a
        // new segment (and its indexes); remember where each old row went.
        let mut rows: Vec<RowRef<'_>> = Vec::new();
        let mut moved: Vec<Vec<u32>> = Vec::with_capacity(segments.len());
        for (s, dead) in segments.iter().zip(&dead) {
            let seg = &s.segment;
            let mut map = vec![u32::MAX; seg.rows() as usize];
            for row in 0..seg.rows() {
                if dead.contains(row) {
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
        let map_rows = |from: &[(usize, RoaringBitmap)]| {
            let mut out = RoaringBitmap::new();
            for (i, bitmap) in from {
                for row in bitmap.iter() {
                    match moved[*i].get(row as usize) {
                        Some(&r) if r != u32::MAX => {
                            out.insert(r);
                        }
                        _ => {}
                    }
                }
            }
            out
        };
        let vfs = &*self.vfs;
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let id = scratch.next_segment_id;
        // Of the three reserved generations, the index and payload index take the first two.
        let deletes_gen = scratch.next_file_gen + 2;
        let mut new_segment = None;
        if !rows.is_empty() {
            // Start the merged graph from the largest input graph whose rows all move over
            // (no persisted deletions): only the other rows are inserted.
            let seed = segments
                .iter()
                .zip(&moved)
                .zip(&dead)
                .filter(|(_, dead)| graph == Graph::Now && dead.is_empty())
                .filter_map(|((s, map), _)| s.index.as_ref().map(|ix| (s.segment.rows(), ix, map)))
                .max_by_key(|&(rows, _, _)| rows)
                .and_then(|(_, ix, map)| match ix.view() {
                    Ok(graph) => Some(GraphSeed { graph, map }),
                    Err(e) => {
                        log::warn!("merge: not starting from segment graph: {e}");
                        None
                    }
                });
            new_segment = Some(self.write_new_segment(
                &mut scratch,
                &seg_dir,
                id,
                &rows,
                graph == Graph::Now,
                seed.as_ref(),
            )?);
        }
        vfs.sync_dir(&seg_dir).at(&seg_dir)?;
        crate::failpoint::hit("merge.segment.written");

        // Phase 3: commit. Deletions persisted by flushes since phase 1 move to the new segment.
        let mut manifest = self.manifest.lock();
        self.writer()?;
        let current = self.state.read().segments.clone();
        let now: Vec<&LiveSegment> = which
            .iter()
            .filter_map(|id| current.iter().find(|s| s.segment.id() == *id))
            .collect();
        if now.len() != segments.len() {
            return Err(crate::Error::invalid("segments changed during a merge"));
        }
        let extra: Vec<(usize, RoaringBitmap)> = now
            .iter()
            .enumerate()
            .map(|(i, s)| (i, &*s.persisted - &*segments[i].persisted))
            .collect();
        let persisted_new = map_rows(&extra);
        let mut next = manifest.clone();
        next.segments.retain(|e| !which.contains(&e.id));
        let mut persisted_bytes = 0;
        if let Some(entry) = new_segment.as_mut().map(|n| &mut n.entry) {
            if !persisted_new.is_empty() {
                let path = seg_dir.join(deletes_file_name(id, deletes_gen));
                let file_bytes = crate::segment::deletes::write(vfs, &path, id, &persisted_new)?;
                vfs.sync_dir(&seg_dir).at(&seg_dir)?;
                entry.deletes = Some(crate::manifest::DeletesEntry {
                    gen: deletes_gen,
                    count: persisted_new.len(),
                    file_bytes,
                });
                persisted_bytes = file_bytes;
            }
            // Keep the list ordered by id (a flush during the merge may have added newer ones).
            let at = next
                .segments
                .iter()
                .position(|e| e.id > id)
                .unwrap_or(next.segments.len());
            next.segments.insert(at, entry.clone());
        }
        crate::failpoint::hit("merge.manifest.before");
        if let Err(e) = manifest::write_collection(vfs, &self.dir, &next) {
            self.poison(format!("manifest update for a merge failed: {e}"));
            return Err(e);
        }
        crate::failpoint::hit("merge.manifest.after");
        // Install under the WAL lock: no write is between computing its shadows and applying.
        {
            let wal = self.writer()?;
            let _wal = wal.lock();
            let mut st = self.state.write();
            // Rows hidden since phase 1 or by writes not yet flushed (a superset of
            // `persisted_new`).
            let hidden: Vec<(usize, RoaringBitmap)> = segments
                .iter()
                .enumerate()
                .filter_map(|(i, old)| {
                    st.segments
                        .iter()
                        .find(|s| s.segment.id() == old.segment.id())
                        .map(|s| (i, &*s.deleted - &*old.persisted))
                })
                .collect();
            let deleted = map_rows(&hidden);
            // A frozen memtable's deletion snapshot names the old segments: move it over.
            if let Some(frozen) = st.frozen.as_mut() {
                let parts: Vec<(usize, RoaringBitmap)> = segments
                    .iter()
                    .enumerate()
                    .filter_map(|(i, old)| {
                        frozen
                            .deleted
                            .iter()
                            .find(|(sid, _)| *sid == old.segment.id())
                            .map(|(_, b)| (i, (**b).clone()))
                    })
                    .collect();
                frozen.deleted.retain(|(sid, _)| !which.contains(sid));
                if new_segment.is_some() && !parts.is_empty() {
                    let mut snapshot = map_rows(&parts);
                    snapshot |= &persisted_new;
                    frozen.deleted.push((id, std::sync::Arc::new(snapshot)));
                }
            }
            st.segments.retain(|s| !which.contains(&s.segment.id()));
            if let Some(new) = new_segment {
                let live = match self.open_new_segment(
                    &seg_dir,
                    new,
                    deleted,
                    persisted_new,
                    persisted_bytes,
                ) {
                    Ok(live) => live,
                    Err(e) => {
                        self.poison(format!("merged segment does not open: {e}"));
                        return Err(e);
                    }
                };
                stats.docs_after = u64::from(live.segment.rows());
                stats.bytes_after = segment_bytes(&live);
                stats.segments_after = 1;
                let at = st
                    .segments
                    .iter()
                    .position(|s| s.segment.id() > id)
                    .unwrap_or(st.segments.len());
                st.segments.insert(at, live);
            }
        }
        let old = std::mem::replace(&mut *manifest, next);
        drop(manifest);
        for e in old.segments.iter().filter(|e| which.contains(&e.id)) {
            let mut files = vec![seg_dir.join(segment_file_name(e.id))];
            files.extend(
                e.deletes
                    .map(|d| seg_dir.join(deletes_file_name(e.id, d.gen))),
            );
            files.extend(
                e.index
                    .map(|ix| seg_dir.join(index_file_name(e.id, ix.gen))),
            );
            files.extend(e.payload_index.map(|ix| {
                seg_dir.join(crate::payload_index::payload_index_file_name(e.id, ix.gen))
            }));
            for path in files {
                crate::failpoint::hit("merge.unlink.before");
                let removed = vfs.remove_file(&path);
                crate::failpoint::hit("merge.unlink.after");
                if let Err(err) = removed {
                    log::warn!("could not remove merged {}: {err}", path.display());
                }
            }
        }
        stats.duration = started.elapsed();
        Ok(stats)
    }
}
