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
            let ix = self.write_index(&seg_dir, entry.id, gen, &vectors)?;
            if let Some(old) = entry.index.replace(ix) {
                obsolete.push(seg_dir.join(index_file_name(entry.id, old.gen)));
            }
            built.push((i, ix));
        }
        self.vfs.sync_dir(&seg_dir).at(&seg_dir)?;
        self.commit_index_change(&mut manifest, next, built, obsolete)
    }

    pub(crate) fn delete_index(&self) -> Result<()> {
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
        *manifest = next;
        for path in obsolete {
            if let Err(e) = self.vfs.remove_file(&path) {
                log::warn!("could not remove obsolete {}: {e}", path.display());
            }
        }
        Ok(())
    }
}
