//! Background maintenance: three threads per writable collection.
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
//! Merger and indexer run their jobs on the low-priority background pool (`crate::background`).
//! All three hold only a weak reference to the collection between jobs; when the last handle
//! is dropped they are stopped (and joined, unless the drop happens on one of them, which then
//! just ends). A job in progress is finished first; work in progress at a crash is safe to
//! abandon: flushes, merges and index builds each commit by one manifest swap.

use super::merge_policy::{self, SegmentMeta};
use super::new_segment::Graph;
use super::CollectionInner;
use parking_lot::{Condvar, Mutex};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the maintainer looks for work when nothing wakes it.
const IDLE_CHECK: Duration = Duration::from_millis(200);

#[derive(Default)]
struct SignalState {
    flush: bool,
    /// The segment layout changed: the merger has something to consider.
    merge_dirty: bool,
    /// A segment may need a graph: the indexer has something to consider.
    index_dirty: bool,
    stop: bool,
}

#[derive(Default)]
struct Signal {
    state: Mutex<SignalState>,
    wake: Condvar,
}

/// A maintenance thread's body.
type Job = fn(Weak<CollectionInner>, Arc<Signal>);

/// The handles of a collection's maintenance threads.
#[derive(Default)]
pub(crate) struct Maintenance {
    signal: Arc<Signal>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Maintenance {
    /// Start the threads for `inner`.
    pub(crate) fn start(inner: &Arc<CollectionInner>) {
        let Some(m) = inner.maintenance.as_ref() else {
            return;
        };
        let jobs: [(&str, Job); 3] = [
            ("flush", run_flusher),
            ("merge", run_merger),
            ("index", run_indexer),
        ];
        let mut threads = m.threads.lock();
        for (what, job) in jobs {
            let weak = Arc::downgrade(inner);
            let signal = Arc::clone(&m.signal);
            let spawned = std::thread::Builder::new()
                .name(format!("ndb-{what}-{}", inner.name))
                .spawn(move || job(weak, signal));
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(e) => {
                    log::warn!(
                        "collection {:?}: no maintenance threads ({e}); flushes happen on the write path",
                        inner.name
                    );
                    drop(threads);
                    m.stop();
                    return;
                }
            }
        }
    }

    /// Whether the threads are running (flushes can be left to them).
    pub(crate) fn running(&self) -> bool {
        !self.threads.lock().is_empty()
    }

    /// Ask for a flush.
    pub(crate) fn request_flush(&self) {
        self.signal.state.lock().flush = true;
        self.signal.wake.notify_all();
    }

    /// Stop the threads and wait for them (unless called from one of them).
    pub(crate) fn stop(&self) {
        self.signal.state.lock().stop = true;
        self.signal.wake.notify_all();
        let handles = std::mem::take(&mut *self.threads.lock());
        for handle in handles {
            if handle.thread().id() != std::thread::current().id() {
                // A panic on the thread was already reported by the panic hook.
                let _ = handle.join();
            }
        }
    }
}

fn run_flusher(weak: Weak<CollectionInner>, signal: Arc<Signal>) {
    loop {
        {
            let mut s = signal.state.lock();
            while !s.stop && !s.flush {
                signal.wake.wait(&mut s);
            }
            if s.stop {
                return;
            }
            s.flush = false;
        }
        let Some(inner) = weak.upgrade() else {
            return;
        };
        if inner.writer().is_err() {
            continue; // poisoned or dropped: nothing more to do until reopened
        }
        match inner.background_flush() {
            Ok(()) => {
                let mut st = signal.state.lock();
                st.merge_dirty = true;
                st.index_dirty = true;
                drop(st);
                signal.wake.notify_all();
            }
            Err(e) => log::error!("collection {:?}: background flush failed: {e}", inner.name),
        }
    }
}

/// The body of the merger and the indexer: wait for a change (or `IDLE_CHECK`), then run `job`
/// on the background pool until it has nothing to do; `job` returns whether it did something.
fn run_background(
    weak: Weak<CollectionInner>,
    signal: Arc<Signal>,
    what: &'static str,
    pool: crate::background::Pool,
    dirty: fn(&mut SignalState) -> &mut bool,
    job: fn(&CollectionInner, &Signal) -> crate::Result<bool>,
) {
    crate::background::lower_priority();
    loop {
        {
            let mut s = signal.state.lock();
            if !s.stop && !*dirty(&mut s) {
                signal.wake.wait_for(&mut s, IDLE_CHECK);
            }
            if s.stop {
                return;
            }
            *dirty(&mut s) = false;
        }
        let Some(inner) = weak.upgrade() else {
            return;
        };
        if inner.writer().is_err() {
            continue;
        }
        // Re-plan after every job: flushes and the other thread change the layout meanwhile.
        loop {
            match crate::background::run(pool, || job(&inner, &signal)) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    log::error!("collection {:?}: background {what} failed: {e}", inner.name);
                    break;
                }
            }
            if signal.state.lock().stop {
                return;
            }
        }
    }
}

fn run_merger(weak: Weak<CollectionInner>, signal: Arc<Signal>) {
    run_background(
        weak,
        signal,
        "merge",
        crate::background::Pool::Merges,
        |s| &mut s.merge_dirty,
        |inner, signal| {
            let merged =
                inner.merge_step(MergeScope::Graphless)? || inner.merge_step(MergeScope::All)?;
            if merged {
                // The merged segment may need a graph.
                signal.state.lock().index_dirty = true;
                signal.wake.notify_all();
            }
            Ok(merged)
        },
    );
}

fn run_indexer(weak: Weak<CollectionInner>, signal: Arc<Signal>) {
    run_background(
        weak,
        signal,
        "index build",
        crate::background::Pool::Indexes,
        |s| &mut s.index_dirty,
        |inner, _| inner.index_step(),
    );
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
}

impl CollectionInner {
    /// Apply the merge policy once (at most one merge) to the segments `scope` names.
    pub(crate) fn merge_step(&self, scope: MergeScope) -> crate::Result<bool> {
        let _merging = self.merge_lock.lock();
        self.writer()?;
        let index_enabled = self.manifest.lock().index_enabled;
        // Plan and claim the inputs in one step, so the indexer never starts on one of them.
        let claimed = self.busy.claim_for_merge(|indexing| {
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
            merge_policy::plan(&metas).map(|which| which.iter().map(|&i| ids[i]).collect())
        });
        match claimed {
            Some(claim) => {
                let which = claim.ids().to_vec();
                let graph = match scope {
                    MergeScope::Graphless => Graph::Later,
                    MergeScope::All => {
                        crate::failpoint::gate("background.build");
                        Graph::Now
                    }
                };
                self.merge(&which, graph)?;
                self.merges
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// The segments a background merge or index build is working on, so that the other one leaves
/// them alone (work on a segment that the other replaces meanwhile would be thrown away; it is
/// still correct, since commits check that their segments still exist).
#[derive(Debug, Default)]
pub(crate) struct Busy {
    state: Mutex<BusyState>,
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
