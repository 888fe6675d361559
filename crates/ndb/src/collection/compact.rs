//! Compaction: merge every segment into one, dropping deleted and replaced rows.
//!
//! Crash safety: the merged segment (and its index) is written and fsynced, its directory
//! fsynced, then one manifest swap replaces the old segments; the old files are unlinked only
//! after that. A crash before the swap leaves the old state (the new files are garbage removed
//! at the next open); a crash after it leaves the new state (the old files are garbage).
//!
//! Background merges apply only the *persisted* deletion state: rows hidden by writes that are
//! still only in the WAL are carried over and hidden again in the merged segment, so a crash
//! that loses those (un-synced) writes can never also lose the older version they replaced.
//! `compact()` syncs the WAL first and then leaves out every row hidden so far.
//!
//! The steps: `reserve_merge` (phase 1, under the manifest lock), `gather_rows` and
//! `write_new_segment` (phase 2, unlocked), `commit_merge` → `persisted_since`,
//! `install_merge`, `remove_merged_files` (phase 3).

use super::catalog::Reserved;
use super::new_segment::{Graph, NewSegment};
use super::open::SEGMENTS_DIR;
use super::state::{insert_by_id, Frozen, LiveSegment};
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

/// Bytes of a segment's files: the segment, its deletion, graph, payload index and code files.
pub(super) fn segment_bytes(s: &LiveSegment) -> u64 {
    s.segment.file_len()
        + s.persisted_bytes
        + s.index.as_ref().map_or(0, |i| i.file_bytes)
        + s.payload_index_bytes
        + s.codes.as_ref().map_or(0, |c| c.file_bytes)
}

impl CollectionInner {
    /// Merge every segment into one, dropping every row deleted or replaced so far: the
    /// memtables are flushed first (graphs left to the merge), which persists every deletion
    /// and replacement acknowledged before the call.
    pub(crate) fn compact(&self) -> Result<CompactionStats> {
        let _merging = self.jobs.merge.lock();
        self.writer()?;
        self.flush_memtable(true, Graph::Later)?;
        let all: Vec<u64> = self
            .state
            .read()
            .segments
            .iter()
            .map(|s| s.segment.id())
            .collect();
        self.merge(&all, Graph::Now)
    }

    /// Merge the segments with ids `which` into one new segment (placed by id). The caller holds
    /// the merge lock. The manifest lock is taken only to reserve ids and to commit, so flushes
    /// (and the writers waiting on them) proceed while the merged segment and its index are
    /// written.
    ///
    /// A merge leaves out only rows whose deletion is persisted: rows hidden by writes still only
    /// in the WAL are carried over and hidden again, so a crash that loses those writes can never
    /// also lose the older version they replaced, and replaying a payload update (whose log
    /// record holds no vector) always finds the version it updates.
    pub(crate) fn merge(&self, which: &[u64], graph: Graph) -> Result<CompactionStats> {
        let started = Instant::now();
        let (segments, plan, id, mut gens) = self.reserve_merge(which);
        let mut stats = CompactionStats {
            docs_before: segments.iter().map(|s| u64::from(s.segment.rows())).sum(),
            bytes_before: segments.iter().map(segment_bytes).sum(),
            segments_before: segments.len(),
            ..CompactionStats::default()
        };
        // The rows to leave out.
        let dead: Vec<Arc<RoaringBitmap>> =
            segments.iter().map(|s| Arc::clone(&s.persisted)).collect();
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
        let (rows, moves) = gather_rows(&segments, &dead)?;
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let new_segment = match rows.is_empty() {
            true => None,
            false => {
                let seed = (graph == Graph::Now)
                    .then(|| graph_seed(&segments, &dead, &moves))
                    .flatten();
                let now = graph == Graph::Now;
                let new = self.write_new_segment(
                    &plan,
                    &mut gens,
                    &seg_dir,
                    id,
                    &rows,
                    now,
                    seed.as_ref(),
                )?;
                Some(new)
            }
        };
        self.vfs.sync_dir(&seg_dir).at(&seg_dir)?;
        crate::failpoint::hit("merge.segment.written");
        let merged = Merged {
            which,
            segments: &segments,
            moves: &moves,
            id,
            deletes_gen: gens.take()?,
        };
        if let Some(live) = self.commit_merge(&merged, new_segment)? {
            stats.docs_after = live.0;
            stats.bytes_after = live.1;
            stats.segments_after = 1;
        }
        stats.duration = started.elapsed();
        Ok(stats)
    }

    /// Phase 1, under the manifest lock: snapshot the inputs, reserve a segment id and three
    /// file generations (index, payload index, deletion file).
    fn reserve_merge(
        &self,
        which: &[u64],
    ) -> (
        Vec<LiveSegment>,
        manifest::CollectionManifest,
        u64,
        Reserved,
    ) {
        let mut manifest = self.catalog.lock();
        let segments: Vec<LiveSegment> = self
            .state
            .read()
            .segments
            .iter()
            .filter(|s| which.contains(&s.segment.id()))
            .cloned()
            .collect();
        let mut plan = manifest.clone();
        plan.segments.clear();
        let id = manifest.reserve_segment_id();
        (segments, plan, id, manifest.reserve_gens(4))
    }

    /// Phase 3: write the deletions persisted since phase 1 for the new segment, swap the
    /// manifest, install the new segment, unlink the old files. Returns the new segment's live
    /// rows and bytes, if there is one.
    fn commit_merge(
        &self,
        m: &Merged<'_>,
        mut new_segment: Option<NewSegment>,
    ) -> Result<Option<(u64, u64)>> {
        let vfs = &*self.vfs;
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let mut manifest = self.catalog.lock();
        self.writer()?;
        let persisted_new = self.persisted_since(m)?;
        let mut next = manifest.clone();
        next.segments.retain(|e| !m.which.contains(&e.id));
        let mut persisted_bytes = 0;
        if let Some(entry) = new_segment.as_mut().map(|n| &mut n.entry) {
            if !persisted_new.is_empty() {
                let path = seg_dir.join(deletes_file_name(m.id, m.deletes_gen));
                let file_bytes = crate::segment::deletes::write(vfs, &path, m.id, &persisted_new)?;
                vfs.sync_dir(&seg_dir).at(&seg_dir)?;
                entry.deletes = Some(crate::manifest::DeletesEntry {
                    gen: m.deletes_gen,
                    count: persisted_new.len(),
                    file_bytes,
                });
                persisted_bytes = file_bytes;
            }
            insert_by_id(&mut next.segments, entry.clone(), |e| e.id);
        }
        crate::failpoint::hit("merge.manifest.before");
        if let Err(e) = manifest::write_collection(vfs, &self.dir, &next) {
            self.poison(format!("manifest update for a merge failed: {e}"));
            return Err(e);
        }
        crate::failpoint::hit("merge.manifest.after");
        let new = new_segment.map(|n| (n, persisted_new, persisted_bytes));
        let figures = self.install_merge(m, new)?;
        let old = self.catalog.publish(&mut manifest, next);
        drop(manifest);
        remove_merged_files(vfs, &seg_dir, &old, m.which);
        Ok(figures)
    }

    /// Deletions persisted by flushes since phase 1, moved to the new segment's rows.
    fn persisted_since(&self, m: &Merged<'_>) -> Result<RoaringBitmap> {
        let current = self.state.read().segments.clone();
        let now: Vec<&LiveSegment> = m
            .which
            .iter()
            .filter_map(|id| current.iter().find(|s| s.segment.id() == *id))
            .collect();
        if now.len() != m.segments.len() {
            return Err(crate::Error::internal("segments changed during a merge"));
        }
        let extra: Vec<(usize, RoaringBitmap)> = now
            .iter()
            .zip(m.segments)
            .enumerate()
            .map(|(i, (now, then))| (i, &*now.persisted - &*then.persisted))
            .collect();
        Ok(m.moves.map(&extra))
    }

    /// Install the merged segment (with the rows hidden since phase 1, and the frozen
    /// memtable's deletion snapshot moved over) in place of its inputs, under the WAL lock: no
    /// write is between computing its shadows and applying.
    fn install_merge(
        &self,
        m: &Merged<'_>,
        new: Option<(NewSegment, RoaringBitmap, u64)>,
    ) -> Result<Option<(u64, u64)>> {
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let wal = self.writer()?;
        let _wal = wal.lock();
        let mut st = self.state.write();
        // Rows hidden since phase 1 or by writes not yet flushed (a superset of the persisted).
        let hidden: Vec<(usize, RoaringBitmap)> = m
            .segments
            .iter()
            .enumerate()
            .filter_map(|(i, old)| {
                st.segments
                    .iter()
                    .find(|s| s.segment.id() == old.segment.id())
                    .map(|s| (i, &*s.deleted - &*old.persisted))
            })
            .collect();
        let deleted = m.moves.map(&hidden);
        if let Some(frozen) = st.frozen.as_mut() {
            let persisted_new = new.as_ref().map(|(_, p, _)| p);
            move_frozen_snapshot(frozen, m, persisted_new);
        }
        st.segments.retain(|s| !m.which.contains(&s.segment.id()));
        let Some((new, persisted_new, persisted_bytes)) = new else {
            return Ok(None);
        };
        let opened = self.open_new_segment(&seg_dir, new, deleted, persisted_new, persisted_bytes);
        let live = match opened {
            Ok(live) => live,
            Err(e) => {
                self.poison(format!("merged segment does not open: {e}"));
                return Err(e);
            }
        };
        let figures = (live.live_rows(), segment_bytes(&live));
        insert_by_id(&mut st.segments, live, |s| s.segment.id());
        Ok(Some(figures))
    }
}

/// What a merge wrote, for its commit.
struct Merged<'a> {
    which: &'a [u64],
    /// The inputs as snapshotted in phase 1.
    segments: &'a [LiveSegment],
    moves: &'a Moves,
    /// The new segment's id.
    id: u64,
    deletes_gen: u64,
}

/// Where each input row went: `rows[i][row]` is its row in the merged segment, or `u32::MAX`.
struct Moves {
    rows: Vec<Vec<u32>>,
}

impl Moves {
    /// The merged-segment rows of the given input rows (per input index); rows left out are
    /// skipped.
    fn map(&self, from: &[(usize, RoaringBitmap)]) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        for (i, bitmap) in from {
            let Some(map) = self.rows.get(*i) else {
                continue;
            };
            for row in bitmap.iter() {
                match map.get(row as usize) {
                    Some(&r) if r != u32::MAX => {
                        out.insert(r);
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

/// Phase 2's input: the rows not in `dead`, oldest segment first, and where each went.
fn gather_rows<'s>(
    segments: &'s [LiveSegment],
    dead: &[Arc<RoaringBitmap>],
) -> Result<(Vec<RowRef<'s>>, Moves)> {
    let mut rows: Vec<RowRef<'_>> = Vec::new();
    let mut moved: Vec<Vec<u32>> = Vec::with_capacity(segments.len());
    for (s, dead) in segments.iter().zip(dead) {
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
    Ok((rows, Moves { rows: moved }))
}

/// The largest input graph whose rows all move over (none left out): the merged graph starts
/// from it and inserts only the other rows.
fn graph_seed<'s>(
    segments: &'s [LiveSegment],
    dead: &[Arc<RoaringBitmap>],
    moves: &'s Moves,
) -> Option<GraphSeed<'s>> {
    segments
        .iter()
        .zip(&moves.rows)
        .zip(dead)
        .filter(|(_, dead)| dead.is_empty())
        .filter_map(|((s, map), _)| s.index.as_ref().map(|ix| (s.segment.rows(), ix, map)))
        .max_by_key(|&(rows, _, _)| rows)
        .and_then(|(_, ix, map)| match ix.view() {
            Ok(graph) => Some(GraphSeed { graph, map }),
            Err(e) => {
                log::warn!("merge: not starting from segment graph: {e}");
                None
            }
        })
}

/// A frozen memtable's deletion snapshot names the old segments: move it to the new one.
fn move_frozen_snapshot(
    frozen: &mut Frozen,
    m: &Merged<'_>,
    persisted_new: Option<&RoaringBitmap>,
) {
    let parts: Vec<(usize, RoaringBitmap)> = m
        .segments
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
    frozen.deleted.retain(|(sid, _)| !m.which.contains(sid));
    if let (Some(persisted_new), false) = (persisted_new, parts.is_empty()) {
        let mut snapshot = m.moves.map(&parts);
        snapshot |= persisted_new;
        frozen.deleted.push((m.id, Arc::new(snapshot)));
    }
}

/// Unlink the files of the merged inputs (after the manifest that stopped naming them is
/// durable; a failure leaves garbage for the next open).
fn remove_merged_files(
    vfs: &dyn ndb_storage::Vfs,
    seg_dir: &std::path::Path,
    old: &manifest::CollectionManifest,
    which: &[u64],
) {
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
        files.extend(
            e.payload_index.map(|ix| {
                seg_dir.join(crate::payload_index::payload_index_file_name(e.id, ix.gen))
            }),
        );
        files.extend(
            e.codes
                .map(|c| seg_dir.join(crate::segment::codes::codes_file_name(e.id, c.gen))),
        );
        for path in files {
            crate::failpoint::hit("merge.unlink.before");
            let removed = vfs.remove_file(&path);
            crate::failpoint::hit("merge.unlink.after");
            if let Err(err) = removed {
                log::warn!("could not remove merged {}: {err}", path.display());
            }
        }
    }
}
