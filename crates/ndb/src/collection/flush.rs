//! Flush: the active memtable becomes an immutable segment, in two parts.
//!
//! **Freeze** (a memtable swap, under the WAL lock): sync the WAL and rotate to a new
//! generation, move the active memtable to the frozen slot (it stays readable), snapshot every
//! segment's deletion bitmap. Writers continue into a fresh memtable and the new WAL file.
//!
//! **Write** (without blocking writers or readers):
//! 1. Under the manifest lock, briefly: reserve a segment id and file generations.
//! 2. Without locks: write the segment (and, for flushes on the caller's thread, its HNSW
//!    graph; the background flusher leaves graphs to the indexer, see `maintenance.rs`,
//!    unless the backlog is at its bound, see `backlog.rs`) and its payload indexes, fsync
//!    each.
//! 3. Under the manifest lock: write the changed deletion files, fsync the segments directory,
//!    replace the manifest (which names the new files, the new WAL generation and the flushed
//!    sequence number) atomically; then, under the WAL lock, install the segment (marking rows
//!    that writes since the freeze shadowed) and empty the frozen slot.
//! 4. Only then delete the old WAL file and replaced deletion files.
//!
//! One `flush_lock` serializes writes of the frozen memtable (index and payload index changes
//! take it too, so the configuration reserved in step 1 is still the one committed in step 3). There is one frozen slot: a
//! writer that fills a second memtable while the first is still being written waits for that
//! write (back-pressure when the disk cannot keep up), and for a graph build only when the
//! backlog of segments without graphs is at its bound.
//!
//! A failure at any step poisons the collection: on disk, the old manifest (or the new one, if
//! its rename happened) is consistent with the WAL, and reopening recovers.

use super::catalog::Reserved;
use super::new_segment::{Graph, NewSegment};
use super::open::SEGMENTS_DIR;
use super::state::{insert_by_id, Frozen};
use super::stats::Counters;
use super::CollectionInner;
use crate::error::IoContext;
use crate::manifest::{self, DeletesEntry};
use crate::memtable::Memtable;
use crate::segment::deletes::{self, deletes_file_name};
use crate::segment::RowRef;
use crate::wal::{list_generations, wal_file_name};
use crate::Result;
use roaring::RoaringBitmap;
use std::sync::Arc;

/// A segment whose deletion file a flush rewrote: its id, the new file, the bitmap it holds.
type ChangedDeletes = (u64, DeletesEntry, Arc<RoaringBitmap>);

impl CollectionInner {
    /// Flush on the caller's thread: write a frozen memtable if there is one, then freeze the
    /// active memtable and write it, graphs included. With `force == false` (threshold
    /// flushes), the active memtable is frozen only if it is still over the threshold.
    /// `graph` says when the new segments get their graphs (`Graph::Later` before a
    /// compaction, which builds the merged graph anyway).
    pub(crate) fn flush_memtable(&self, force: bool, graph: Graph) -> Result<()> {
        let _flushing = self.jobs.flush.lock();
        self.write_frozen(graph)?;
        if self.freeze(force)? {
            self.write_frozen(graph)?;
        }
        Ok(())
    }

    /// The background flusher's job: write the frozen memtable (one a writer froze), or freeze
    /// the active one if it is over the threshold and write that.
    /// The new segments get their graphs from the indexer, unless the backlog is at its bound.
    pub(crate) fn background_flush(&self) -> Result<()> {
        let _flushing = self.jobs.flush.lock();
        self.write_frozen(self.background_flush_graph())?;
        if self.freeze(false)? {
            crate::failpoint::gate("flush.write");
            self.write_frozen(self.background_flush_graph())?;
        }
        Ok(())
    }

    /// A writer filled the active memtable to twice the threshold while the frozen one is
    /// still being written: wait for that write, then swap memtables (the background flusher
    /// writes the new frozen one).
    pub(crate) fn swap_memtable(&self) -> Result<()> {
        let started = std::time::Instant::now();
        let _flushing = self.jobs.flush.lock();
        if self.state.read().active.bytes() < 2 * self.config().flush_threshold_bytes() {
            return Ok(()); // another writer swapped meanwhile
        }
        // The flusher had not started on it yet: write it here (without its graph unless the
        // backlog is at its bound).
        self.write_frozen(self.background_flush_graph())?;
        self.freeze(false)?;
        Counters::count(&self.counters.write_stalls, 1);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        Counters::count(&self.counters.write_stall_nanos, nanos);
        Ok(())
    }

    /// Swap the active memtable into the (empty) frozen slot. The caller holds `flush_lock`.
    /// Returns whether a memtable was frozen.
    fn freeze(&self, force: bool) -> Result<bool> {
        let wal_lock = self.writer()?;
        let mut wal = wal_lock.lock();
        {
            let st = self.state.read();
            debug_assert!(st.frozen.is_none(), "freeze with a frozen memtable");
            if st.frozen.is_some()
                || st.active.is_empty()
                || (!force && st.active.bytes() < self.config().flush_threshold_bytes())
            {
                return Ok(false);
            }
        }
        crate::failpoint::hit("wal.rotate.before");
        let rotated = wal.rotate(&*self.vfs);
        crate::failpoint::hit("wal.rotate.after");
        if let Err(e) = rotated {
            self.poison(format!("WAL rotation failed: {e}"));
            return Err(e);
        }
        self.writer.mark_durable(wal.last_seq());
        let mut st = self.state.write();
        let memtable = Arc::new(std::mem::replace(
            &mut st.active,
            Memtable::new(self.config().dim()),
        ));
        let deleted = st
            .segments
            .iter()
            .map(|s| (s.segment.id(), Arc::clone(&s.deleted)))
            .collect();
        st.frozen = Some(Frozen {
            memtable,
            deleted,
            flushed_seq: wal.last_seq(),
            wal_gen: wal.generation(),
        });
        Ok(true)
    }

    /// Write the frozen memtable (if any) as a segment and install it. The caller holds
    /// `flush_lock`.
    fn write_frozen(&self, graph: Graph) -> Result<()> {
        let Some(memtable) = self
            .state
            .read()
            .frozen
            .as_ref()
            .map(|f| Arc::clone(&f.memtable))
        else {
            return Ok(());
        };
        match self.commit_flush(&memtable, graph) {
            Ok(()) => {
                Counters::count(&self.counters.flushes, 1);
                Ok(())
            }
            Err(e) => {
                self.poison(format!("flush failed: {e}"));
                Err(e)
            }
        }
    }

    fn commit_flush(&self, mem: &Memtable, graph: Graph) -> Result<()> {
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let with_graph = graph == Graph::Now;
        // Step 1: reserve a segment id and the file generations of its graph and payload
        // index (those it will have).
        let (scratch, id, mut gens) = self.reserve_flush(mem, with_graph);
        // Step 2: the segment and its indexes, without locks.
        let new_segment = match mem.live_count() {
            0 => None,
            _ => {
                let rows: Vec<RowRef<'_>> = mem
                    .live_rows()
                    .map(|r| RowRef {
                        id: mem.id(r),
                        vector: mem.vector(r),
                        payload: mem.payload(r),
                    })
                    .collect();
                let new = self.write_new_segment(
                    &scratch, &mut gens, &seg_dir, id, &rows, with_graph, None,
                )?;
                crate::failpoint::hit("flush.segment.written");
                Some(new)
            }
        };
        // Step 3: deletion files, the directory, the manifest; then install.
        let mut manifest = self.catalog.lock();
        self.writer()?;
        let mut next = manifest.clone();
        if let Some(new) = &new_segment {
            insert_by_id(&mut next.segments, new.entry.clone(), |e| e.id);
        }
        let (replaced_deletes, changed) = self.write_frozen_deletes(&mut next, &seg_dir)?;
        self.vfs.sync_dir(&seg_dir).at(&seg_dir)?;
        crate::failpoint::hit("flush.dir.synced");
        let (wal_gen, flushed_seq) = {
            let st = self.state.read();
            let f = st.frozen.as_ref().ok_or_else(|| {
                crate::Error::internal("the frozen memtable vanished during its flush")
            })?;
            (f.wal_gen, f.flushed_seq)
        };
        next.wal_gen = wal_gen;
        next.flushed_seq = flushed_seq;
        crate::failpoint::hit("flush.manifest.before");
        manifest::write_collection(&*self.vfs, &self.dir, &next)?;
        crate::failpoint::hit("flush.manifest.after");
        self.install_flush(&seg_dir, new_segment, changed)?;
        self.catalog.publish(&mut manifest, next);
        // Step 4: obsolete files. Failing to remove one leaves garbage that the next open
        // removes; it never affects what the manifest names.
        let mut obsolete = replaced_deletes;
        for gen in list_generations(&*self.vfs, &self.dir)? {
            if gen < manifest.wal_gen {
                obsolete.push(self.dir.join(wal_file_name(gen)));
            }
        }
        drop(manifest);
        for path in obsolete {
            crate::failpoint::hit("flush.unlink.before");
            if let Err(e) = self.vfs.remove_file(&path) {
                log::warn!("could not remove obsolete {}: {e}", path.display());
            }
            crate::failpoint::hit("flush.unlink.after");
        }
        Ok(())
    }

    /// Step 1, under the manifest lock: the manifest the segment is written for, the segment id
    /// and the file generations of its graph, payload index and codes (those it will have).
    fn reserve_flush(
        &self,
        mem: &Memtable,
        with_graph: bool,
    ) -> (manifest::CollectionManifest, u64, Reserved) {
        let mut manifest = self.catalog.lock();
        let scratch = manifest.clone();
        let rows = mem.live_count() as u64;
        let gens =
            u64::from(rows > 0 && with_graph && self.wants_graph(manifest.index_enabled, rows))
                + u64::from(rows > 0 && !manifest.payload_indexes.is_empty())
                + u64::from(rows > 0 && self.config().quantization() != crate::Quantization::None);
        let id = manifest.reserve_segment_id();
        (scratch, id, manifest.reserve_gens(gens))
    }

    /// Write the deletion files of the segments whose bitmap in the frozen memtable's snapshot
    /// grew, naming them in `next`. Returns the files they replace and what changed.
    fn write_frozen_deletes(
        &self,
        next: &mut manifest::CollectionManifest,
        seg_dir: &std::path::Path,
    ) -> Result<(Vec<std::path::PathBuf>, Vec<ChangedDeletes>)> {
        let snapshot: Vec<(u64, Arc<RoaringBitmap>)> = self
            .state
            .read()
            .frozen
            .as_ref()
            .map(|f| f.deleted.clone())
            .unwrap_or_default();
        let mut replaced = Vec::new();
        let mut changed = Vec::new();
        // Segments merged away are skipped (the merge moved their deletions to the new
        // segment), and so are unchanged bitmaps (they only grow: same size, same contents).
        let grown = |(seg_id, bitmap): &&(u64, Arc<RoaringBitmap>)| {
            next.segments
                .iter()
                .any(|e| e.id == *seg_id && bitmap.len() != e.deletes.map_or(0, |d| d.count))
        };
        let grown: Vec<&(u64, Arc<RoaringBitmap>)> = snapshot.iter().filter(grown).collect();
        let mut gens = next.reserve_gens(grown.len() as u64);
        for (seg_id, bitmap) in grown {
            let Some(entry) = next.segments.iter_mut().find(|e| e.id == *seg_id) else {
                continue;
            };
            let gen = gens.take()?;
            let path = seg_dir.join(deletes_file_name(entry.id, gen));
            let file_bytes = deletes::write(&*self.vfs, &path, entry.id, bitmap)?;
            if let Some(old) = entry.deletes {
                replaced.push(seg_dir.join(deletes_file_name(entry.id, old.gen)));
            }
            let d = DeletesEntry {
                gen,
                count: bitmap.len(),
                file_bytes,
            };
            entry.deletes = Some(d);
            changed.push((*seg_id, d, Arc::clone(bitmap)));
        }
        crate::failpoint::hit("flush.deletes.written");
        Ok((replaced, changed))
    }

    /// Install the flushed segment (hiding rows that writes since the freeze shadowed) and the
    /// persisted deletion state, and empty the frozen slot, under the WAL lock.
    fn install_flush(
        &self,
        seg_dir: &std::path::Path,
        new_segment: Option<NewSegment>,
        changed: Vec<ChangedDeletes>,
    ) -> Result<()> {
        let wal_lock = self.writer()?;
        let _wal = wal_lock.lock();
        let mut st = self.state.write();
        for (seg_id, d, bitmap) in changed {
            if let Some(s) = st.segments.iter_mut().find(|s| s.segment.id() == seg_id) {
                s.persisted = bitmap;
                s.persisted_bytes = d.file_bytes;
            }
        }
        if let Some(new) = new_segment {
            let empty = RoaringBitmap::new;
            let mut live = self.open_new_segment(seg_dir, new, empty(), empty(), 0)?;
            let mut deleted = RoaringBitmap::new();
            for id in st.active.touched_ids() {
                if let Some(row) = live.segment.find(id)? {
                    deleted.insert(row);
                }
            }
            live.deleted = Arc::new(deleted);
            insert_by_id(&mut st.segments, live, |s| s.segment.id());
        }
        st.frozen = None;
        Ok(())
    }
}
