//! Flush: the active memtable becomes an immutable segment.
//!
//! 1. Under the WAL lock: sync the WAL and rotate to a new generation, freeze the memtable (it
//!    stays readable), snapshot every segment's deletion bitmap. Writers continue into a fresh
//!    memtable and the new WAL file.
//! 2. Without blocking writers or readers: write the segment and changed deletion files, fsync
//!    each, fsync the segments directory, then replace the manifest (which names them, the new
//!    WAL generation and the flushed sequence number) atomically.
//! 3. Under the WAL lock: install the segment (marking rows that later writes shadowed), drop
//!    the frozen memtable.
//! 4. Only then delete the old WAL file and replaced deletion files.
//!
//! A failure at any step poisons the collection: on disk, the old manifest (or the new one, if
//! its rename happened) is consistent with the WAL, and reopening recovers.

use super::open::SEGMENTS_DIR;
use super::CollectionInner;
use crate::error::IoContext;
use crate::manifest::{self, CollectionManifest, DeletesEntry};
use crate::memtable::Memtable;
use crate::segment::deletes::{self, deletes_file_name};
use crate::segment::RowRef;
use crate::wal::{list_generations, wal_file_name};
use crate::Result;
use roaring::RoaringBitmap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What step 1 captured.
struct Frozen {
    memtable: Arc<Memtable>,
    deleted: Vec<Arc<RoaringBitmap>>,
    flushed_seq: u64,
    wal_gen: u64,
}

impl CollectionInner {
    /// Flush the active memtable. With `force == false` (threshold flushes), does nothing if
    /// the memtable shrank below the threshold meanwhile (another thread flushed it).
    pub(crate) fn flush_memtable(&self, force: bool) -> Result<()> {
        let mut manifest = self.manifest.lock();
        let wal_lock = self.writer()?;
        let frozen = {
            let mut wal = wal_lock.lock();
            {
                let st = self.state.read();
                if st.active.is_empty()
                    || (!force && st.active.bytes() < self.config.flush_threshold_bytes())
                {
                    return Ok(());
                }
            }
            crate::failpoint::hit("wal.rotate.before");
            let rotated = wal.rotate(&*self.vfs);
            crate::failpoint::hit("wal.rotate.after");
            if let Err(e) = rotated {
                self.poison(format!("WAL rotation failed: {e}"));
                return Err(e);
            }
            self.commit.mark_durable(wal.last_seq());
            let mut st = self.state.write();
            let memtable = Arc::new(std::mem::replace(
                &mut st.active,
                Memtable::new(self.config.dim()),
            ));
            st.frozen = Some(Arc::clone(&memtable));
            Frozen {
                memtable,
                deleted: st.segments.iter().map(|s| Arc::clone(&s.deleted)).collect(),
                flushed_seq: wal.last_seq(),
                wal_gen: wal.generation(),
            }
        };
        match self.commit_flush(&mut manifest, frozen) {
            Ok(()) => {
                self.flushes.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.poison(format!("flush failed: {e}"));
                Err(e)
            }
        }
    }

    fn commit_flush(&self, manifest: &mut CollectionManifest, frozen: Frozen) -> Result<()> {
        let vfs = &*self.vfs;
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let mut next = manifest.clone();

        // Step 2: new files, each fsynced, then the directory, then the manifest.
        let mut new_segment = None;
        let mem = &frozen.memtable;
        if mem.live_count() > 0 {
            let id = next.next_segment_id;
            next.next_segment_id += 1;
            let rows: Vec<RowRef<'_>> = mem
                .live_rows()
                .map(|r| RowRef {
                    id: mem.id(r),
                    vector: mem.vector(r),
                    payload: mem.payload(r),
                })
                .collect();
            let new = self.write_new_segment(&mut next, &seg_dir, id, &rows)?;
            next.segments.push(new.entry.clone());
            new_segment = Some(new);
            crate::failpoint::hit("flush.segment.written");
        }
        let mut replaced_deletes = Vec::new();
        let mut changed = Vec::new();
        for (i, bitmap) in frozen.deleted.iter().enumerate() {
            let entry = &mut next.segments[i];
            if bitmap.len() == entry.deletes.map_or(0, |d| d.count) {
                continue; // bitmaps only grow: same size, same contents
            }
            let gen = next.next_file_gen;
            next.next_file_gen += 1;
            let path = seg_dir.join(deletes_file_name(entry.id, gen));
            let file_bytes = deletes::write(vfs, &path, entry.id, bitmap)?;
            if let Some(old) = entry.deletes {
                replaced_deletes.push(seg_dir.join(deletes_file_name(entry.id, old.gen)));
            }
            let d = DeletesEntry {
                gen,
                count: bitmap.len(),
                file_bytes,
            };
            entry.deletes = Some(d);
            changed.push((i, d, Arc::clone(bitmap)));
        }
        crate::failpoint::hit("flush.deletes.written");
        vfs.sync_dir(&seg_dir).at(&seg_dir)?;
        crate::failpoint::hit("flush.dir.synced");
        next.wal_gen = frozen.wal_gen;
        next.flushed_seq = frozen.flushed_seq;
        crate::failpoint::hit("flush.manifest.before");
        manifest::write_collection(vfs, &self.dir, &next)?;
        crate::failpoint::hit("flush.manifest.after");

        // Step 3: install.
        {
            let wal_lock = self.writer()?;
            let _wal = wal_lock.lock();
            let mut st = self.state.write();
            for (i, d, bitmap) in changed {
                let s = &mut st.segments[i];
                s.persisted = bitmap;
                s.persisted_bytes = d.file_bytes;
            }
            if let Some(new) = new_segment {
                let mut live = self.open_new_segment(
                    &seg_dir,
                    new,
                    RoaringBitmap::new(),
                    RoaringBitmap::new(),
                    0,
                )?;
                // Rows that writes since the freeze shadowed.
                let mut deleted = RoaringBitmap::new();
                for id in st.active.touched_ids() {
                    if let Some(row) = live.segment.find(id)? {
                        deleted.insert(row);
                    }
                }
                live.deleted = Arc::new(deleted);
                st.segments.push(live);
            }
            st.frozen = None;
        }
        *manifest = next;

        // Step 4: obsolete files. Failing to remove one leaves garbage that the next open
        // removes; it never affects what the manifest names.
        let mut obsolete = replaced_deletes;
        for gen in list_generations(vfs, &self.dir)? {
            if gen < manifest.wal_gen {
                obsolete.push(self.dir.join(wal_file_name(gen)));
            }
        }
        for path in obsolete {
            crate::failpoint::hit("flush.unlink.before");
            if let Err(e) = vfs.remove_file(&path) {
                log::warn!("could not remove obsolete {}: {e}", path.display());
            }
            crate::failpoint::hit("flush.unlink.after");
        }
        Ok(())
    }
}
