//! Writing a new segment with its indexes, and opening it for installation: shared by flushes
//! and merges.

use super::catalog::Reserved;
use super::state::LiveSegment;
use super::CollectionInner;
use crate::manifest::{CollectionManifest, IndexEntry, SegmentEntry};
use crate::payload_index::{payload_index_file_name, SegmentPayloadIndex};
use crate::segment::codes::{self, codes_file_name, SegmentCodes};
use crate::segment::index::{self, graph_metric, index_file_name, GraphSeed, SegmentIndex};
use crate::segment::{segment_file_name, write_segment, BuildVectors, RowRef, RowVectors, Segment};
use crate::Result;
use roaring::RoaringBitmap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// When a new segment (of a flush or merge) gets its HNSW graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Graph {
    /// Built before the segment is installed.
    Now,
    /// Left to the background indexer (the segment is searched exactly until then).
    Later,
}

/// A segment whose files are written and fsynced but not yet named by a manifest.
pub(crate) struct NewSegment {
    pub entry: SegmentEntry,
    path: PathBuf,
    payload_index: Option<Arc<SegmentPayloadIndex>>,
}

/// Why a background graph build stopped early (logged, never returned to a user: a build is
/// cancelled only when the last handle is gone).
pub(crate) const CANCELLED: &str = "graph build abandoned: the collection is closing";

impl CollectionInner {
    /// Write segment `id` from `rows`, its HNSW graph (if `with_graph`, the index is enabled
    /// and the segment large enough; started from `start_from`'s graph if given) and its
    /// payload indexes (if any are declared), as `plan` (the manifest it is written for) says,
    /// taking file generations from `gens`. Every file is fsynced; the caller syncs the
    /// directory before naming them in a manifest.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write_new_segment(
        &self,
        plan: &CollectionManifest,
        gens: &mut Reserved,
        seg_dir: &Path,
        id: u64,
        rows: &[RowRef<'_>],
        with_graph: bool,
        start_from: Option<&GraphSeed<'_>>,
    ) -> Result<NewSegment> {
        let dim = self.config().dim();
        let path = seg_dir.join(segment_file_name(id));
        let file_bytes = write_segment(&*self.vfs, &path, id, dim, self.config().distance(), rows)?;
        let index = if with_graph && self.wants_graph(plan.index_enabled, rows.len() as u64) {
            let gen = gens.take()?;
            Some(self.write_index(seg_dir, id, gen, &BuildVectors::of(rows, dim), start_from)?)
        } else {
            None
        };
        let payload_index =
            self.write_payload_index(&plan.payload_indexes, gens, seg_dir, id, rows)?;
        let codes = self.write_codes(gens, seg_dir, id, &RowVectors { rows, dim })?;
        Ok(NewSegment {
            entry: SegmentEntry {
                id,
                rows: rows.len() as u64,
                file_bytes,
                deletes: None,
                index,
                payload_index: payload_index.as_ref().map(|p| p.0),
                codes,
            },
            path,
            payload_index: payload_index.map(|p| p.1),
        })
    }

    /// Whether a segment of `rows` rows should have an HNSW graph, given the manifest's
    /// `index_enabled`.
    pub(crate) fn wants_graph(&self, index_enabled: bool, rows: u64) -> bool {
        index_enabled && rows >= self.config().index().min_rows as u64
    }

    /// Map a segment written by [`CollectionInner::write_new_segment`] (after its manifest
    /// swap) with the given deletion state. An index file that does not open is logged and
    /// skipped: the segment is then searched exactly until `rebuild_index`.
    pub(crate) fn open_new_segment(
        &self,
        seg_dir: &Path,
        new: NewSegment,
        deleted: RoaringBitmap,
        persisted: RoaringBitmap,
        persisted_bytes: u64,
    ) -> Result<LiveSegment> {
        let e = &new.entry;
        let vfs = &*self.vfs;
        let segment = Segment::open(
            vfs,
            &new.path,
            e.id,
            self.config().dim(),
            self.config().distance(),
            e.rows,
        )?;
        let index = e
            .index
            .and_then(|ix| self.open_graph(seg_dir, e.id, ix.gen, segment.rows()));
        let codes = e
            .codes
            .and_then(|c| self.open_codes(seg_dir, e.id, c.gen, segment.rows()));
        if codes.is_some() {
            segment.advise_random();
        }
        Ok(LiveSegment {
            auto_index: Arc::default(),
            segment: Arc::new(segment),
            deleted: Arc::new(deleted),
            persisted: Arc::new(persisted),
            persisted_bytes,
            index_gen: e.index.map(|ix| ix.gen),
            index,
            payload_index_bytes: e.payload_index.map_or(0, |p| p.file_bytes),
            payload_index_gen: e.payload_index.map(|p| p.gen),
            payload_index: new.payload_index,
            codes_gen: e.codes.map(|c| c.gen),
            codes,
        })
    }

    /// Open generation `gen` of segment `id`'s codes, just written and named by a manifest. A
    /// file that fails to open is logged and `None`: the segment is searched on its `f32`
    /// vectors until `rebuild_index`.
    pub(crate) fn open_codes(
        &self,
        seg_dir: &Path,
        id: u64,
        gen: u64,
        rows: u32,
    ) -> Option<Arc<SegmentCodes>> {
        let path = seg_dir.join(codes_file_name(id, gen));
        SegmentCodes::open(&*self.vfs, &path, id, rows, self.config().dim())
            .map_err(|e| log::warn!("segment {id}: codes unusable, searching f32 vectors: {e}"))
            .ok()
            .map(Arc::new)
    }

    /// Fit a quantizer to `vectors` and write their codes as a new generation of segment
    /// `id`'s code file (nothing when the collection does not quantize, or has no rows),
    /// taking the generation from `gens`.
    pub(crate) fn write_codes(
        &self,
        gens: &mut Reserved,
        seg_dir: &Path,
        id: u64,
        vectors: &(impl ndb_hnsw::Vectors + ?Sized),
    ) -> Result<Option<IndexEntry>> {
        let Some(quantizer) = codes::fit(vectors, self.config().quantization(), id)? else {
            return Ok(None);
        };
        let gen = gens.take()?;
        let path = seg_dir.join(codes_file_name(id, gen));
        let file_bytes = codes::write(&*self.vfs, &path, id, &quantizer, vectors)?;
        Ok(Some(IndexEntry { gen, file_bytes }))
    }

    /// Open generation `gen` of segment `id`'s graph, just written and named by a manifest. A
    /// file that fails to open is logged and `None`: the segment is searched exactly until
    /// `rebuild_index`.
    pub(crate) fn open_graph(
        &self,
        seg_dir: &Path,
        id: u64,
        gen: u64,
        rows: u32,
    ) -> Option<Arc<SegmentIndex>> {
        let path = seg_dir.join(index_file_name(id, gen));
        let metric = graph_metric(self.config().distance());
        SegmentIndex::open(&*self.vfs, &path, id, rows, metric)
            .map_err(|e| log::warn!("segment {id}: new index unusable, searching exactly: {e}"))
            .ok()
            .map(Arc::new)
    }

    /// The flag that background graph builds poll: set when the collection closes.
    pub(crate) fn cancel_flag(&self) -> &AtomicBool {
        static NEVER: AtomicBool = AtomicBool::new(false);
        self.jobs
            .maintenance
            .as_ref()
            .map_or(&NEVER, |m| m.cancel_flag())
    }

    /// Build the HNSW graph over `vectors` (starting from `start_from`'s graph if given) and
    /// write it as index generation `gen` of segment
    /// `id` (fsynced; the caller syncs the directory before naming it in a manifest).
    pub(crate) fn write_index(
        &self,
        seg_dir: &Path,
        id: u64,
        gen: u64,
        vectors: &(impl ndb_hnsw::Vectors + ?Sized),
        start_from: Option<&GraphSeed<'_>>,
    ) -> Result<IndexEntry> {
        let graph = index::build_graph(
            vectors,
            self.config().distance(),
            self.config().index(),
            id,
            start_from,
            self.cancel_flag(),
        );
        let path = seg_dir.join(index_file_name(id, gen));
        // An interrupted job, not a failure: the file is never written.
        let cancelled = || crate::Error::io(&path, std::io::Error::other(CANCELLED));
        let graph = graph.ok_or_else(cancelled)?;
        let file_bytes = index::write(
            &*self.vfs,
            &path,
            id,
            vectors.len() as u64,
            graph_metric(self.config().distance()),
            &graph.words,
        )?;
        Ok(IndexEntry { gen, file_bytes })
    }

    /// Build and write the payload indexes `defs` over `rows` (nothing if there are none),
    /// taking the file generation from `gens`.
    pub(crate) fn write_payload_index(
        &self,
        defs: &[(String, crate::PayloadIndexKind)],
        gens: &mut Reserved,
        seg_dir: &Path,
        id: u64,
        rows: &[RowRef<'_>],
    ) -> Result<Option<(IndexEntry, Arc<SegmentPayloadIndex>)>> {
        if defs.is_empty() {
            return Ok(None);
        }
        let built = SegmentPayloadIndex::build(defs, rows.iter().map(|r| r.payload));
        let gen = gens.take()?;
        let path = seg_dir.join(payload_index_file_name(id, gen));
        let file_bytes =
            crate::payload_index::write_file(&*self.vfs, &path, id, rows.len() as u64, &built)?;
        Ok(Some((IndexEntry { gen, file_bytes }, Arc::new(built))))
    }
}
