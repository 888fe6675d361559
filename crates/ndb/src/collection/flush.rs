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
use super::state::LiveSegment;
use super::CollectionInner;
use crate::error::IoContext;
use crate::manifest::{self, CollectionManifest, DeletesEntry, IndexEntry, SegmentEntry};
use crate::memtable::Memtable;
use crate::payload_index::{payload_index_file_name, SegmentPayloadIndex};
use crate::segment::deletes::{self, deletes_file_name};
use crate::segment::index::{self, graph_metric, index_file_name, SegmentIndex};
use crate::segment::{segment_file_name, write_segment, RowRef, RowVectors, Segment};
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
            if let Err(e) = wal.rotate(&*self.vfs) {
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
        vfs.sync_dir(&seg_dir).at(&seg_dir)?;
        next.wal_gen = frozen.wal_gen;
        next.flushed_seq = frozen.flushed_seq;
        manifest::write_collection(vfs, &self.dir, &next)?;

        // Step 3: install.
        let new_index_gen = next.segments.last().and_then(|e| e.index).map(|ix| ix.gen);
        let segment = match new_segment {
            Some((id, path, rows, index, payload_index)) => {
                let seg = Segment::open(
                    vfs,
                    &path,
                    id,
                    self.config.dim(),
                    self.config.distance(),
                    rows,
                )?;
                let index = match index {
                    Some(ix) => Some(Arc::new(SegmentIndex::open(
                        vfs,
                        &seg_dir.join(index_file_name(id, ix.gen)),
                        id,
                        seg.rows(),
                        graph_metric(self.config.distance()),
                    )?)),
                    None => None,
                };
                Some((Arc::new(seg), index, payload_index))
            }
            None => None,
        };
        {
            let wal_lock = self.writer()?;
            let _wal = wal_lock.lock();
            let mut st = self.state.write();
            for (i, d, bitmap) in changed {
                let s = &mut st.segments[i];
                s.persisted = bitmap;
                s.persisted_bytes = d.file_bytes;
            }
            if let Some((segment, index, payload_index)) = segment {
                let mut deleted = RoaringBitmap::new();
                for id in st.active.touched_ids() {
                    if let Some(row) = segment.find(id)? {
                        deleted.insert(row);
                    }
                }
                st.segments.push(LiveSegment {
                    segment,
                    deleted: Arc::new(deleted),
                    persisted: Arc::new(RoaringBitmap::new()),
                    persisted_bytes: 0,
                    index_gen: index.as_ref().and(new_index_gen),
                    index,
                    payload_index_bytes: payload_index.as_ref().map_or(0, |p| p.0.file_bytes),
                    payload_index_gen: payload_index.as_ref().map(|p| p.0.gen),
                    payload_index: payload_index.map(|p| p.1),
                });
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
            if let Err(e) = vfs.remove_file(&path) {
                log::warn!("could not remove obsolete {}: {e}", path.display());
            }
        }
        Ok(())
    }
}

impl CollectionInner {
    /// Build the HNSW graph over `vectors` and write it as index generation `gen` of segment
    /// `id` (fsynced; the caller syncs the directory before naming it in a manifest).
    pub(crate) fn write_index(
        &self,
        seg_dir: &std::path::Path,
        id: u64,
        gen: u64,
        vectors: &(impl ndb_hnsw::Vectors + ?Sized),
    ) -> Result<IndexEntry> {
        let graph = index::build_graph(vectors, self.config.distance(), self.config.index(), id);
        let path = seg_dir.join(index_file_name(id, gen));
        let file_bytes = index::write(
            &*self.vfs,
            &path,
            id,
            vectors.len() as u64,
            graph_metric(self.config.distance()),
            &graph.words,
        )?;
        Ok(IndexEntry { gen, file_bytes })
    }
}

impl CollectionInner {
    /// Build and write the declared payload indexes over `rows` (nothing if none are declared).
    pub(crate) fn write_payload_index(
        &self,
        next: &mut CollectionManifest,
        seg_dir: &std::path::Path,
        id: u64,
        rows: &[RowRef<'_>],
    ) -> Result<Option<(IndexEntry, Arc<SegmentPayloadIndex>)>> {
        if next.payload_indexes.is_empty() {
            return Ok(None);
        }
        let built =
            SegmentPayloadIndex::build(&next.payload_indexes, rows.iter().map(|r| r.payload));
        let gen = next.next_file_gen;
        next.next_file_gen += 1;
        let path = seg_dir.join(payload_index_file_name(id, gen));
        let file_bytes =
            crate::payload_index::write_file(&*self.vfs, &path, id, rows.len() as u64, &built)?;
        Ok(Some((IndexEntry { gen, file_bytes }, Arc::new(built))))
    }
}
