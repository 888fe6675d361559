//! Building and removing segments' HNSW indexes outside flushes.

use super::open::SEGMENTS_DIR;
use super::CollectionInner;
use crate::error::IoContext;
use crate::manifest::{self, IndexEntry};
use crate::segment::index::{graph_metric, index_file_name, SegmentIndex};
use crate::Result;
use std::sync::Arc;

impl CollectionInner {
    pub(crate) fn rebuild_index(&self) -> Result<()> {
        let _merging = self.merge_lock.lock();
        let _flushing = self.flush_lock.lock();
        let mut manifest = self.manifest.lock();
        let segments = self.state.read().segments.clone();
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let mut next = manifest.clone();
        next.index_enabled = true;
        let mut built: Vec<(usize, IndexEntry)> = Vec::new();
        let mut obsolete = Vec::new();
        for (i, s) in segments.iter().enumerate() {
            let gen = next.next_file_gen;
            next.next_file_gen += 1;
            let vectors = ndb_hnsw::FlatVectors::new(s.segment.vectors(), self.config.dim());
            let entry = &mut next.segments[i];
            let ix = self.write_index(&seg_dir, entry.id, gen, &vectors, None)?;
            if let Some(old) = entry.index.replace(ix) {
                obsolete.push(seg_dir.join(index_file_name(entry.id, old.gen)));
            }
            built.push((i, ix));
        }
        self.vfs.sync_dir(&seg_dir).at(&seg_dir)?;
        self.commit_index_change(&mut manifest, next, built, obsolete)
    }

    pub(crate) fn delete_index(&self) -> Result<()> {
        let _merging = self.merge_lock.lock();
        let _flushing = self.flush_lock.lock();
        let mut manifest = self.manifest.lock();
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let mut next = manifest.clone();
        next.index_enabled = false;
        let mut obsolete = Vec::new();
        for entry in &mut next.segments {
            if let Some(old) = entry.index.take() {
                obsolete.push(seg_dir.join(index_file_name(entry.id, old.gen)));
            }
        }
        self.commit_index_change(&mut manifest, next, Vec::new(), obsolete)
    }

    /// The background indexer's job: build the HNSW graph of one segment that should have one
    /// and has none (flushes by the background thread leave graphs to it), the largest first,
    /// skipping segments a merge is working on. The graph is built without locks, beside
    /// merges; the commit (under the manifest lock) names it in one manifest swap if the
    /// segment is still there without a graph and indexes are still enabled, else the file is
    /// removed. Returns whether it did something.
    pub(crate) fn index_step(&self) -> Result<bool> {
        self.writer()?;
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        // Choose and claim a segment no merge is working on; reserve a file generation.
        let claimed = self.busy.claim_for_index(|merging| {
            let mut manifest = self.manifest.lock();
            let st = self.state.read();
            let target = st
                .segments
                .iter()
                // A segment whose named index failed to open waits for `rebuild_index`.
                .filter(|s| s.index_gen.is_none())
                .filter(|s| !merging.contains(&s.segment.id()))
                .filter(|s| self.wants_graph(manifest.index_enabled, u64::from(s.segment.rows())))
                .max_by_key(|s| (s.segment.rows(), std::cmp::Reverse(s.segment.id())))
                .map(|s| Arc::clone(&s.segment))?;
            let gen = manifest.next_file_gen;
            manifest.next_file_gen += 1;
            Some((target.id(), (target, gen)))
        });
        let Some((_claim, (target, gen))) = claimed else {
            return Ok(false);
        };
        let id = target.id();
        crate::failpoint::gate("background.build");
        let vectors = ndb_hnsw::FlatVectors::new(target.vectors(), self.config.dim());
        let ix = self.write_index(&seg_dir, id, gen, &vectors, None)?;
        self.vfs.sync_dir(&seg_dir).at(&seg_dir)?;
        crate::failpoint::hit("index.graph.written");

        let path = seg_dir.join(index_file_name(id, gen));
        let mut manifest = self.manifest.lock();
        self.writer()?;
        let mut next = manifest.clone();
        let usable = next.index_enabled;
        let Some(entry) = next
            .segments
            .iter_mut()
            .find(|e| e.id == id && e.index.is_none())
            .filter(|_| usable)
        else {
            // Merged away, or indexes were deleted or rebuilt meanwhile.
            drop(manifest);
            if let Err(e) = self.vfs.remove_file(&path) {
                log::warn!("could not remove unused {}: {e}", path.display());
            }
            return Ok(true);
        };
        entry.index = Some(ix);
        let index = SegmentIndex::open(
            &*self.vfs,
            &path,
            id,
            target.rows(),
            graph_metric(self.config.distance()),
        )?;
        crate::failpoint::hit("index.manifest.before");
        if let Err(e) = manifest::write_collection(&*self.vfs, &self.dir, &next) {
            self.poison(format!("manifest update for a new index failed: {e}"));
            return Err(e);
        }
        crate::failpoint::hit("index.manifest.after");
        {
            let mut st = self.state.write();
            if let Some(s) = st.segments.iter_mut().find(|s| s.segment.id() == id) {
                s.index = Some(Arc::new(index));
                s.index_gen = Some(gen);
            }
        }
        *manifest = next;
        Ok(true)
    }

    /// Swap in `next` (whose new index files are durable), install the built indexes (every
    /// other segment loses its index), then remove the obsolete files.
    fn commit_index_change(
        &self,
        manifest: &mut manifest::CollectionManifest,
        next: manifest::CollectionManifest,
        built: Vec<(usize, IndexEntry)>,
        obsolete: Vec<std::path::PathBuf>,
    ) -> Result<()> {
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        if let Err(e) = manifest::write_collection(&*self.vfs, &self.dir, &next) {
            self.poison(format!("manifest update for the index failed: {e}"));
            return Err(e);
        }
        let mut opened = Vec::with_capacity(built.len());
        for (i, ix) in built {
            let entry = &next.segments[i];
            let path = seg_dir.join(index_file_name(entry.id, ix.gen));
            let index = SegmentIndex::open(
                &*self.vfs,
                &path,
                entry.id,
                entry.rows as u32,
                graph_metric(self.config.distance()),
            )?;
            opened.push((i, ix.gen, Arc::new(index)));
        }
        {
            let mut st = self.state.write();
            for s in st.segments.iter_mut() {
                s.index = None;
                s.index_gen = None;
            }
            for (i, gen, index) in opened {
                st.segments[i].index = Some(index);
                st.segments[i].index_gen = Some(gen);
            }
        }
        self.index_enabled
            .store(next.index_enabled, std::sync::atomic::Ordering::Release);
        *manifest = next;
        for path in obsolete {
            if let Err(e) = self.vfs.remove_file(&path) {
                log::warn!("could not remove obsolete {}: {e}", path.display());
            }
        }
        Ok(())
    }
}

impl CollectionInner {
    /// Declare (or change the kind of) a payload index and build it over every segment.
    pub(crate) fn set_payload_index(
        &self,
        field: &str,
        kind: Option<crate::PayloadIndexKind>,
    ) -> Result<()> {
        let valid = !field.is_empty()
            && field.len() <= 256
            && !field.starts_with('$')
            && field.split('.').all(|s| !s.is_empty());
        if !valid {
            return Err(crate::Error::invalid(format!(
                "payload index field {field:?} must be a dotted path of non-empty names (at most 256 bytes, not starting with '$')"
            )));
        }
        let _merging = self.merge_lock.lock();
        let _flushing = self.flush_lock.lock();
        let mut manifest = self.manifest.lock();
        let mut next = manifest.clone();
        next.payload_indexes.retain(|(f, _)| f != field);
        if let Some(kind) = kind {
            next.payload_indexes.push((field.to_string(), kind));
        }
        if next.payload_indexes == manifest.payload_indexes {
            return Ok(());
        }
        let segments = self.state.read().segments.clone();
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let mut built = Vec::with_capacity(segments.len());
        let mut obsolete = Vec::new();
        for (i, s) in segments.iter().enumerate() {
            let seg = &s.segment;
            let payloads = (0..seg.rows())
                .map(|row| seg.payload_of(row))
                .collect::<Result<Vec<&[u8]>>>()?;
            let rows: Vec<crate::segment::RowRef<'_>> = payloads
                .iter()
                .map(|p| crate::segment::RowRef {
                    id: "",
                    vector: &[],
                    payload: p,
                })
                .collect();
            let id = next.segments[i].id;
            let new = self.write_payload_index(&mut next, &seg_dir, id, &rows)?;
            let entry = &mut next.segments[i];
            if let Some(old) =
                std::mem::replace(&mut entry.payload_index, new.as_ref().map(|n| n.0))
            {
                obsolete
                    .push(seg_dir.join(crate::payload_index::payload_index_file_name(id, old.gen)));
            }
            built.push(new);
        }
        self.vfs.sync_dir(&seg_dir).at(&seg_dir)?;
        if let Err(e) = manifest::write_collection(&*self.vfs, &self.dir, &next) {
            self.poison(format!("manifest update for a payload index failed: {e}"));
            return Err(e);
        }
        {
            let mut st = self.state.write();
            for (s, new) in st.segments.iter_mut().zip(built) {
                s.payload_index_bytes = new.as_ref().map_or(0, |n| n.0.file_bytes);
                s.payload_index_gen = new.as_ref().map(|n| n.0.gen);
                s.payload_index = new.map(|n| n.1);
            }
        }
        *self.payload_index_defs.write() = next.payload_indexes.clone();
        self.index_enabled
            .store(next.index_enabled, std::sync::atomic::Ordering::Release);
        *manifest = next;
        for path in obsolete {
            if let Err(e) = self.vfs.remove_file(&path) {
                log::warn!("could not remove obsolete {}: {e}", path.display());
            }
        }
        Ok(())
    }

    /// The declared payload indexes. Read from a copy kept beside the manifest, so that it
    /// never waits for a flush or merge (which hold the manifest lock for long) and never takes
    /// the manifest lock under the state lock.
    pub(crate) fn payload_indexes(&self) -> Vec<(String, crate::PayloadIndexKind)> {
        self.payload_index_defs.read().clone()
    }
}
