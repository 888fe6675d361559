//! HNSW graphs outside flushes and merges: the background indexer's step, `rebuild_index` and
//! `delete_index`.
//!
//! Graphs are built without the manifest lock (which only reserves file generations and, at
//! the end, swaps the manifest), so flushes and the writers waiting on them go on meanwhile.
//! Commits pair built graphs with segments by id: a segment merged away in between loses its
//! graph file, a segment flushed in between keeps what its flush gave it.

use super::catalog::Reserved;
use super::locks::MutexGuard;
use super::open::SEGMENTS_DIR;
use super::CollectionInner;
use crate::error::IoContext;
use crate::manifest::{self, CollectionManifest, IndexEntry};
use crate::segment::codes::{codes_file_name, SegmentCodes};
use crate::segment::index::{index_file_name, SegmentIndex};
use crate::Result;
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl CollectionInner {
    /// Build the graph and the codes (as the collection's quantization now says) of every
    /// segment and turn graph building on.
    pub(crate) fn rebuild_index(&self) -> Result<()> {
        let _merging = self.jobs.merge.lock();
        let (segments, mut gens) = {
            let mut manifest = self.catalog.lock();
            let segments = self.state.read().segments.clone();
            let gens = manifest.reserve_gens(2 * segments.len() as u64);
            (segments, gens)
        };
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let mut built = Vec::with_capacity(segments.len());
        for s in &segments {
            let vectors = ndb_hnsw::FlatVectors::new(s.segment.vectors(), self.config().dim());
            let id = s.segment.id();
            let graph = self.write_index(&seg_dir, id, gens.take()?, &vectors, None)?;
            let codes = self.write_codes(&mut gens, &seg_dir, id, &vectors)?;
            built.push((id, graph, codes));
        }
        self.vfs.sync_dir(&seg_dir).at(&seg_dir)?;

        let mut manifest = self.catalog.lock();
        self.writer()?;
        let mut next = manifest.clone();
        next.index_enabled = true;
        let mut obsolete = Vec::new();
        for (id, ix, codes) in built {
            let codes_name = |c: IndexEntry| seg_dir.join(codes_file_name(id, c.gen));
            match next.segments.iter_mut().find(|e| e.id == id) {
                Some(entry) => {
                    if let Some(old) = entry.index.replace(ix) {
                        obsolete.push(seg_dir.join(index_file_name(id, old.gen)));
                    }
                    obsolete.extend(std::mem::replace(&mut entry.codes, codes).map(codes_name));
                }
                None => {
                    obsolete.push(seg_dir.join(index_file_name(id, ix.gen)));
                    obsolete.extend(codes.map(codes_name));
                }
            }
        }
        self.commit_graphs(&mut manifest, next, obsolete, "the index")
    }

    /// Remove every graph and stop building them.
    pub(crate) fn delete_index(&self) -> Result<()> {
        let _merging = self.jobs.merge.lock();
        // A flush reserves its graph under the configuration it started with.
        let _flushing = self.jobs.flush.lock();
        let mut manifest = self.catalog.lock();
        self.writer()?;
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let mut next = manifest.clone();
        next.index_enabled = false;
        let mut obsolete = Vec::new();
        for entry in &mut next.segments {
            if let Some(old) = entry.index.take() {
                obsolete.push(seg_dir.join(index_file_name(entry.id, old.gen)));
            }
        }
        self.commit_graphs(&mut manifest, next, obsolete, "the index")
    }

    /// The background indexer's job: build the HNSW graph of one segment that should have one
    /// and has none (flushes by the background thread leave graphs to it), the largest first,
    /// skipping segments a merge is working on. The graph is built without locks, beside
    /// merges; the commit names it in one manifest swap if the segment is still there without
    /// a graph and indexes are still enabled, else the file is removed. Returns whether it did
    /// something.
    pub(crate) fn index_step(&self) -> Result<bool> {
        self.writer()?;
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let Some((_claim, (target, mut gens))) = self.claim_for_index() else {
            return Ok(false);
        };
        let id = target.id();
        crate::failpoint::gate("background.build");
        let vectors = ndb_hnsw::FlatVectors::new(target.vectors(), self.config().dim());
        let ix = self.write_index(&seg_dir, id, gens.take()?, &vectors, None)?;
        self.vfs.sync_dir(&seg_dir).at(&seg_dir)?;
        crate::failpoint::hit("index.graph.written");

        let mut manifest = self.catalog.lock();
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
            self.remove_unused(&seg_dir.join(index_file_name(id, ix.gen)));
            return Ok(true);
        };
        entry.index = Some(ix);
        crate::failpoint::hit("index.manifest.before");
        self.commit_graphs(&mut manifest, next, Vec::new(), "a new index")?;
        crate::failpoint::hit("index.manifest.after");
        Ok(true)
    }

    /// Choose and claim a segment no merge is working on, the largest first; reserve the file
    /// generation of its graph.
    fn claim_for_index(
        &self,
    ) -> Option<(
        super::maintenance::IndexClaim<'_>,
        (Arc<crate::segment::Segment>, Reserved),
    )> {
        self.jobs.busy.claim_for_index(|merging| {
            let mut manifest = self.catalog.lock();
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
            Some((target.id(), (target, manifest.reserve_gens(1))))
        })
    }

    /// Swap in `next` (whose new graph files are durable), make every segment's graph the one
    /// `next` names, then remove the `obsolete` files. `what` names the change in the poison
    /// reason if the manifest cannot be written.
    fn commit_graphs(
        &self,
        manifest: &mut MutexGuard<'_, CollectionManifest>,
        next: CollectionManifest,
        obsolete: Vec<PathBuf>,
        what: &str,
    ) -> Result<()> {
        if let Err(e) = manifest::write_collection(&*self.vfs, &self.dir, &next) {
            self.poison(format!("manifest update for {what} failed: {e}"));
            return Err(e);
        }
        self.install_graphs(&next);
        self.catalog.publish(manifest, next);
        for path in &obsolete {
            self.remove_unused(path);
        }
        Ok(())
    }

    /// Make each live segment's graph and codes the ones `m` names: opened anew where the
    /// generation changed (before the state lock is taken), dropped where `m` names none. A file
    /// that fails to open is logged and the segment is searched without it until
    /// `rebuild_index` (as at open). The caller holds the manifest lock, so the segment list
    /// does not change.
    fn install_graphs(&self, m: &CollectionManifest) {
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        type Opened = (u64, Option<u64>, Option<Arc<SegmentIndex>>);
        type OpenedCodes = (u64, Option<u64>, Option<Arc<SegmentCodes>>);
        let (graphs, codes): (Vec<Opened>, Vec<OpenedCodes>) = {
            let st = self.state.read();
            let named = |id: u64| m.segments.iter().find(|e| e.id == id);
            let mut graphs = Vec::new();
            let mut codes = Vec::new();
            for s in &st.segments {
                let (id, rows) = (s.segment.id(), s.segment.rows());
                let gen = named(id).and_then(|e| e.index).map(|ix| ix.gen);
                if gen != s.index_gen {
                    graphs.push((id, gen, gen.map(|g| (g, rows))));
                }
                let gen = named(id).and_then(|e| e.codes).map(|c| c.gen);
                if gen != s.codes_gen {
                    codes.push((id, gen, gen.map(|g| (g, rows))));
                }
            }
            drop(st);
            let graphs = graphs
                .into_iter()
                .map(|(id, gen, open)| {
                    let opened = open.and_then(|(g, rows)| self.open_graph(&seg_dir, id, g, rows));
                    (id, gen, opened)
                })
                .collect();
            let codes = codes
                .into_iter()
                .map(|(id, gen, open)| {
                    let opened = open.and_then(|(g, rows)| self.open_codes(&seg_dir, id, g, rows));
                    (id, gen, opened)
                })
                .collect();
            (graphs, codes)
        };
        let mut st = self.state.write();
        for (id, gen, index) in graphs {
            if let Some(s) = st.segments.iter_mut().find(|s| s.segment.id() == id) {
                s.index_gen = gen;
                s.index = index;
            }
        }
        for (id, gen, codes) in codes {
            if let Some(s) = st.segments.iter_mut().find(|s| s.segment.id() == id) {
                if codes.is_some() {
                    s.segment.advise_random();
                }
                s.codes_gen = gen;
                s.codes = codes;
            }
        }
    }

    /// Remove a file nothing names (any longer); failing leaves garbage the next open removes.
    pub(super) fn remove_unused(&self, path: &Path) {
        if let Err(e) = self.vfs.remove_file(path) {
            log::warn!("could not remove unused {}: {e}", path.display());
        }
    }
}
