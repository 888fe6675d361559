//! The graph backlog: segments that should have an HNSW graph and have none yet (written by the
//! background flusher without one, or merged without one), how big it is, and waiting for it.
//!
//! A segment without a graph is searched exactly, so the backlog is what makes searches right
//! after an ingest slow. The background index builds work it off; `flush` and
//! `wait_for_index` also build on the caller's thread, at full priority, beside them. The
//! backlog is bounded: once it holds [`BACKLOG_MEMTABLES`] memtables' worth of vectors, the
//! background flusher builds each new segment's graph before committing it (ADR 0008).

use super::new_segment::Graph;
use super::CollectionInner;
use crate::Result;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The backlog may hold the vectors of this many full memtables (`flush_threshold_bytes`
/// each) before the background flusher builds each new segment's graph itself.
pub(crate) const BACKLOG_MEMTABLES: usize = 2;

/// How often a waiter looks again while the segments it waits for are claimed by background
/// work.
const POLL: Duration = Duration::from_millis(5);

/// The backlog at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Backlog {
    /// Ids of segments waiting for a graph.
    pub segments: BTreeSet<u64>,
    /// Their rows.
    pub rows: u64,
    /// Segments that should have a graph whose graph file failed to open (they wait for
    /// `rebuild_index`, not for background work).
    pub unusable: usize,
}

impl CollectionInner {
    /// The most rows the backlog may hold before flushes build graphs themselves: the rows
    /// whose vectors fill [`BACKLOG_MEMTABLES`] memtables.
    pub(crate) fn backlog_bound_rows(&self) -> u64 {
        let config = self.config();
        let vector_bytes = config.dim().max(1) * std::mem::size_of::<f32>();
        (BACKLOG_MEMTABLES * config.flush_threshold_bytes() / vector_bytes) as u64
    }

    /// When the background flusher's next segment gets its graph: later (from the indexer)
    /// while the backlog is under its bound, else now, on the flusher's thread. Building there
    /// holds the flush lock, so writers that fill the next memtable meanwhile wait for it:
    /// ingest slows to the speed of graph builds instead of the backlog growing.
    pub(crate) fn background_flush_graph(&self) -> Graph {
        match self.backlog().rows >= self.backlog_bound_rows() {
            true => Graph::Now,
            false => Graph::Later,
        }
    }

    pub(crate) fn backlog(&self) -> Backlog {
        let enabled = self.catalog.index_enabled();
        let st = self.state.read();
        let mut out = Backlog::default();
        for s in &st.segments {
            let rows = u64::from(s.segment.rows());
            if s.index.is_some() || !self.wants_graph(enabled, rows) {
                continue;
            }
            if s.index_gen.is_some() {
                out.unusable += 1;
            } else {
                out.segments.insert(s.segment.id());
                out.rows += rows;
            }
        }
        out
    }

    /// Whether the collection has an index: graphs are built, at least one segment has one, and
    /// every segment that should have one has one.
    pub(crate) fn has_index(&self) -> bool {
        let any = self.state.read().segments.iter().any(|s| s.index.is_some());
        let backlog = self.backlog();
        any && self.catalog.index_enabled() && backlog.rows == 0 && backlog.unusable == 0
    }

    /// Build missing graphs on this thread (beside the background builds) until every segment
    /// that was waiting for one when the call began has one, or `deadline` passes (`false`).
    /// Segments that replace those by a merge meanwhile are waited for too; segments written
    /// later by other writers are not (so a steady ingest cannot keep the caller waiting).
    pub(crate) fn wait_for_index(&self, deadline: Option<Instant>) -> Result<bool> {
        let mut waiting = self.backlog().segments;
        if self.writer.is_read_only() {
            return Ok(waiting.is_empty()); // a read-only handle: nothing here builds graphs
        }
        let mut newest = self.newest_segment_id();
        loop {
            if self.index_step()? {
                continue;
            }
            let now = self.backlog().segments;
            if waiting
                .iter()
                .any(|id| !now.contains(id) && !self.has_segment(*id))
            {
                // Merged away: its rows are in a segment newer than any seen so far.
                waiting.extend(now.iter().filter(|&&id| id > newest));
                newest = self.newest_segment_id();
            }
            waiting.retain(|id| now.contains(id));
            if waiting.is_empty() {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            std::thread::sleep(POLL);
        }
    }

    fn newest_segment_id(&self) -> u64 {
        let st = self.state.read();
        st.segments
            .iter()
            .map(|s| s.segment.id())
            .max()
            .unwrap_or(0)
    }

    fn has_segment(&self, id: u64) -> bool {
        self.state
            .read()
            .segments
            .iter()
            .any(|s| s.segment.id() == id)
    }
}
