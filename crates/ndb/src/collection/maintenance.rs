//! Background maintenance of a writable collection: three kinds of work, run as tasks on the
//! process-wide pools (`crate::background`), so a collection has no thread of its own.
//!
//! - The **flusher** freezes the memtable when it passes its threshold and writes it as a
//!   segment (without its HNSW graph), so writers never wait for segment writes or graph
//!   builds; it runs at normal priority, since a writer that fills a second memtable waits for it.
//! - The **merger** applies the merge policy: first among segments without a graph (the result
//!   gets none either: under a fast ingest, small segments are merged before anyone spends a
//!   graph build on them), then among segments with a graph (the merged graph is built,
//!   starting from the largest input's graph where it can, before the commit, so searches keep
//!   using the old graphs meanwhile; a segment waiting for its graph is left to the indexer).
//! - The **indexer** builds the graphs of segments that should have one and have none, the
//!   largest first, beside a running merge (a fresh segment is not searched exactly for as long
//!   as a big merge takes). The two skip each other's segments (`busy`).
//!
//! Flushes run on the normal-priority flush pool, merges and index builds on the low-priority
//! pools. A collection has at most one task of each kind queued or running; work asked for
//! while one runs makes it run once more. Tasks hold only a weak reference to the collection
//! while queued; when the last handle is dropped, queued tasks end without working and the
//! running ones are waited for (a job in progress is finished first; work in progress at a
//! crash is safe to abandon: flushes, merges and index builds each commit by one manifest
//! swap). A panic in a task poisons the collection.

use super::merge_policy::{self, SegmentMeta};
use super::new_segment::Graph;
use super::CollectionInner;
use crate::background::{self, Pool};
use parking_lot::{Condvar, Mutex};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};

/// The three kinds of background work of a collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Flush,
    Merge,
    Index,
}

impl Kind {
    fn slot(self) -> usize {
        self as usize
    }

    fn pool(self) -> Pool {
        match self {
            Kind::Flush => Pool::Flushes,
            Kind::Merge => Pool::Merges,
            Kind::Index => Pool::Indexes,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Flush => "flush",
            Kind::Merge => "merge",
            Kind::Index => "index build",
        }
    }

    /// One step of this kind of work; whether it did something (then there may be more).
    fn step(self, inner: &CollectionInner) -> crate::Result<bool> {
        match self {
            Kind::Flush => inner.background_flush().map(|()| false),
            Kind::Merge => Ok(inner.merge_step(MergeScope::Graphless)?
                || inner.merge_step(MergeScope::All)?
                || inner.consolidate_step()?),
            Kind::Index => inner.index_step(),
        }
    }

    /// What to reconsider after this kind of work changed the segments.
    fn follow_ups(self) -> &'static [Kind] {
        match self {
            Kind::Flush => &[Kind::Merge, Kind::Index],
            // A merged segment may need a graph; a segment the merge claimed may be indexed now.
            Kind::Merge => &[Kind::Index],
            // A segment with a graph may join merges of segments with graphs.
            Kind::Index => &[Kind::Merge],
        }
    }
}

/// Where one kind of work of a collection stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Task {
    #[default]
    Idle,
    /// On a pool's queue, not started yet.
    Queued,
    /// Running; `again`: asked for once more meanwhile.
    Running { again: bool },
}

#[derive(Default)]
struct Schedule {
    tasks: [Task; 3],
    /// Tasks running now (queued ones are not counted: they see `stop` and end at once).
    running: usize,
    stop: bool,
}

/// A collection's background work, run as tasks on the process-wide pools.
#[derive(Default)]
pub(crate) struct Maintenance {
    /// The collection, set by `start`.
    collection: OnceLock<Weak<CollectionInner>>,
    /// Set when the last handle goes: running graph builds stop at the next node.
    cancel: AtomicBool,
    /// Set when the collection goes quiet (opened, or flushed by a user): merge the segments
    /// with graphs into one once none is waiting for its graph.
    consolidate: AtomicBool,
    schedule: Mutex<Schedule>,
    idle: Condvar,
}

impl Maintenance {
    /// Start: look for merges and missing graphs (segments a previous process left).
    pub(crate) fn start(inner: &Arc<CollectionInner>) {
        if let Some(m) = inner.jobs.maintenance.as_ref() {
            let _ = m.collection.set(Arc::downgrade(inner));
            m.consolidate.store(true, Ordering::Relaxed);
            m.request(Kind::Merge);
            m.request(Kind::Index);
        }
    }

    /// Whether background work is on (flushes can be left to it).
    pub(crate) fn running(&self) -> bool {
        !self.schedule.lock().stop
    }

    /// Ask for a flush.
    pub(crate) fn request_flush(self: &Arc<Self>) {
        self.request(Kind::Flush);
    }

    /// Ask for the segments with graphs to be merged into one (after the backlog is built).
    pub(crate) fn request_consolidation(self: &Arc<Self>) {
        self.consolidate.store(true, Ordering::Relaxed);
        self.request(Kind::Merge);
    }

    /// Ask for work of `kind`: queue a task unless one is queued; a running one runs again.
    fn request(self: &Arc<Self>, kind: Kind) {
        let mut s = self.schedule.lock();
        if s.stop {
            return;
        }
        match s.tasks[kind.slot()] {
            Task::Idle => s.tasks[kind.slot()] = Task::Queued,
            Task::Queued => return,
            Task::Running { .. } => {
                s.tasks[kind.slot()] = Task::Running { again: true };
                return;
            }
        }
        drop(s);
        let m = Arc::clone(self);
        background::spawn(kind.pool(), move || run_task(m, kind));
    }

    /// The flag running graph builds poll.
    pub(crate) fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }

    /// Stop: no new task starts, queued ones end without working, running graph builds are
    /// abandoned (the next open resumes the work); wait for the running tasks.
    pub(crate) fn stop(&self) {
        self.cancel.store(true, Ordering::Relaxed);
        let mut s = self.schedule.lock();
        s.stop = true;
        while s.running > 0 {
            self.idle.wait(&mut s);
        }
    }

    /// Stop without waiting.
    pub(crate) fn halt(&self) {
        self.schedule.lock().stop = true;
    }

    /// A task begins: false if it should not (stopped, or the collection is gone).
    fn begin(&self, kind: Kind) -> bool {
        let mut s = self.schedule.lock();
        if s.stop {
            s.tasks[kind.slot()] = Task::Idle;
            return false;
        }
        s.tasks[kind.slot()] = Task::Running { again: false };
        s.running += 1;
        true
    }

    /// A task ends: whether it should run again (asked for meanwhile, and not stopped).
    fn end(&self, kind: Kind) -> bool {
        let mut s = self.schedule.lock();
        let again = s.tasks[kind.slot()] == Task::Running { again: true } && !s.stop;
        s.tasks[kind.slot()] = if again { Task::Queued } else { Task::Idle };
        s.running -= 1;
        if s.running == 0 {
            self.idle.notify_all();
        }
        again
    }

    fn stopped(&self) -> bool {
        self.schedule.lock().stop
    }
}

/// The body of a background task: run `kind`'s steps until there is nothing left, then ask for
/// the work that may follow. A panic poisons the collection (memory and disk may disagree).
/// The task holds the collection only while it runs, and lets go of it before it reports its
/// end, so the last handle's drop (which waits for that) also closes the collection.
fn run_task(m: Arc<Maintenance>, kind: Kind) {
    if !m.begin(kind) {
        return;
    }
    if let Some(inner) = m.collection.get().and_then(Weak::upgrade) {
        let outcome = catch_unwind(AssertUnwindSafe(|| work(&inner, &m, kind)));
        if let Err(panic) = outcome {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            inner.poison(format!("background {} panicked: {msg}", kind.what()));
        }
    }
    if m.end(kind) {
        background::spawn(kind.pool(), move || run_task(m, kind));
    }
}

fn work(inner: &CollectionInner, m: &Arc<Maintenance>, kind: Kind) {
    let mut changed = false;
    while inner.writer().is_ok() && !m.stopped() {
        crate::failpoint::panic_point("maintenance.step");
        match kind.step(inner) {
            Ok(did) => {
                changed |= did || kind == Kind::Flush;
                if !did {
                    break;
                }
            }
            Err(e) => {
                log::error!(
                    "collection {:?}: background {} failed: {e}",
                    inner.name,
                    kind.what()
                );
                break;
            }
        }
    }
    if changed {
        for &next in kind.follow_ups() {
            m.request(next);
        }
    }
}

/// Which segments a merge step considers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MergeScope {
    /// Only segments without a graph; the merged segment gets none either (one graph build
    /// later for the result instead of one per input).
    Graphless,
    /// Segments with a graph (and those too small for one); the merged segment's graph is
    /// built before the commit.
    All,
    /// Every segment with a graph, into one whose graph starts from the largest input's
    /// (`merge_policy::consolidation`): what makes a quiet collection search like one segment.
    Consolidate,
}

impl CollectionInner {
    /// A consolidation, if one was asked for and no segment waits for its graph (the indexer's
    /// end asks for merges again). Whether it merged.
    fn consolidate_step(&self) -> crate::Result<bool> {
        let Some(m) = self.jobs.maintenance.as_ref() else {
            return Ok(false);
        };
        if !m.consolidate.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let backlog = self.backlog();
        if !backlog.segments.is_empty() {
            return Ok(false);
        }
        m.consolidate.store(false, Ordering::Relaxed);
        self.merge_step(MergeScope::Consolidate)
    }

    /// Apply the merge policy once (at most one merge) to the segments `scope` names.
    pub(crate) fn merge_step(&self, scope: MergeScope) -> crate::Result<bool> {
        let _merging = self.jobs.merge.lock();
        self.writer()?;
        let index_enabled = self.catalog.index_enabled();
        // Plan and claim the inputs in one step, so the indexer never starts on one of them.
        let claimed = self.jobs.busy.claim_for_merge(|indexing| {
            let (ids, metas): (Vec<u64>, Vec<SegmentMeta>) = self
                .state
                .read()
                .segments
                .iter()
                .filter(|s| match scope {
                    MergeScope::Graphless => s.index_gen.is_none(),
                    // A segment waiting for its graph is left to the indexer (a few seconds)
                    // rather than kept unindexed for as long as this merge takes.
                    MergeScope::All => {
                        s.index_gen.is_some()
                            || !self.wants_graph(index_enabled, u64::from(s.segment.rows()))
                    }
                    MergeScope::Consolidate => s.index.is_some(),
                })
                .filter(|s| Some(s.segment.id()) != indexing)
                .map(|s| {
                    let meta = SegmentMeta {
                        rows: u64::from(s.segment.rows()),
                        deleted: s.persisted.len(),
                    };
                    (s.segment.id(), meta)
                })
                .unzip();
            let plan = match scope {
                MergeScope::Consolidate => merge_policy::consolidation(&metas),
                _ => merge_policy::plan(&metas),
            };
            plan.map(|which| which.iter().map(|&i| ids[i]).collect())
        });
        match claimed {
            Some(claim) => {
                let which = claim.ids().to_vec();
                let graph = match scope {
                    MergeScope::Graphless => Graph::Later,
                    MergeScope::All | MergeScope::Consolidate => {
                        crate::failpoint::gate("background.build");
                        Graph::Now
                    }
                };
                self.merge(&which, graph)?;
                super::stats::Counters::count(&self.counters.merges, 1);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// The segments a background merge or index build is working on, so that the other one leaves
/// them alone (work on a segment that the other replaces meanwhile would be thrown away; it is
/// still correct, since commits check that their segments still exist).
#[derive(Debug)]
pub(crate) struct Busy {
    state: super::locks::Mutex<BusyState>,
}

impl Default for Busy {
    fn default() -> Self {
        Self {
            state: super::locks::Mutex::new(super::locks::Rank::Busy, BusyState::default()),
        }
    }
}

#[derive(Debug, Default)]
struct BusyState {
    merging: Vec<u64>,
    indexing: Option<u64>,
}

/// Inputs claimed by a merge; released on drop.
pub(crate) struct MergeClaim<'a> {
    busy: &'a Busy,
    ids: Vec<u64>,
}

impl MergeClaim<'_> {
    pub(crate) fn ids(&self) -> &[u64] {
        &self.ids
    }
}

impl Drop for MergeClaim<'_> {
    fn drop(&mut self) {
        self.busy.state.lock().merging.clear();
    }
}

/// A segment claimed by an index build; released on drop.
pub(crate) struct IndexClaim<'a> {
    busy: &'a Busy,
}

impl Drop for IndexClaim<'_> {
    fn drop(&mut self) {
        self.busy.state.lock().indexing = None;
    }
}

impl Busy {
    /// Let `plan` (given the segment being indexed, if any) choose a merge's inputs, and claim
    /// them.
    pub(crate) fn claim_for_merge(
        &self,
        plan: impl FnOnce(Option<u64>) -> Option<Vec<u64>>,
    ) -> Option<MergeClaim<'_>> {
        let mut st = self.state.lock();
        let ids = plan(st.indexing)?;
        st.merging.clone_from(&ids);
        Some(MergeClaim { busy: self, ids })
    }

    /// Let `choose` (given the segments being merged) pick a segment to index, and claim it.
    pub(crate) fn claim_for_index<T>(
        &self,
        choose: impl FnOnce(&[u64]) -> Option<(u64, T)>,
    ) -> Option<(IndexClaim<'_>, T)> {
        let mut st = self.state.lock();
        let (id, chosen) = choose(&st.merging)?;
        st.indexing = Some(id);
        Some((IndexClaim { busy: self }, chosen))
    }
}
