//! Background maintenance: two threads per writable collection.
//!
//! - The **flusher** freezes the memtable when it passes its threshold and writes it as a
//!   segment (without its HNSW graph), so writers never wait for segment writes or graph
//!   builds; it runs at normal priority, since a writer that fills a second memtable waits for it.
//! - The **maintainer** applies the merge policy and builds the graphs of segments that should
//!   have one (the largest first), one job at a time, on the low-priority background pool
//!   (`crate::background`). Merges come first: under a fast ingest, small segments are merged
//!   before anyone spends a graph build on them.
//!
//! Both threads hold only a weak reference to the collection between jobs; when the last
//! handle is dropped they are stopped (and joined, unless the drop happens on one of them, which
//! then just ends). A job in progress is finished first; work in progress at a crash is safe to
//! abandon: flushes, merges and index builds each commit by one manifest swap.

use super::merge_policy::{self, SegmentMeta};
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
    /// A flush completed: the maintainer has new segments to consider.
    segments_changed: bool,
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
        let jobs: [(&str, Job); 2] = [("flush", run_flusher), ("maint", run_maintainer)];
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
                signal.state.lock().segments_changed = true;
                signal.wake.notify_all();
            }
            Err(e) => log::error!("collection {:?}: background flush failed: {e}", inner.name),
        }
    }
}

fn run_maintainer(weak: Weak<CollectionInner>, signal: Arc<Signal>) {
    crate::background::lower_priority();
    loop {
        {
            let mut s = signal.state.lock();
            if !s.stop && !s.segments_changed {
                signal.wake.wait_for(&mut s, IDLE_CHECK);
            }
            if s.stop {
                return;
            }
            s.segments_changed = false;
        }
        let Some(inner) = weak.upgrade() else {
            return;
        };
        if inner.writer().is_err() {
            continue;
        }
        // Merge until the layout satisfies the policy, then build missing graphs; re-plan
        // after every job (a flush may have added segments meanwhile).
        loop {
            let step = crate::background::run(|| match inner.merge_step() {
                Ok(false) => inner.index_step().map_err(|e| ("index build", e)),
                Ok(true) => Ok(true),
                Err(e) => Err(("merge", e)),
            });
            match step {
                Ok(true) => {}
                Ok(false) => break,
                Err((what, e)) => {
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

impl CollectionInner {
    /// Apply the merge policy once (at most one merge).
    pub(crate) fn merge_step(&self) -> crate::Result<bool> {
        let _merging = self.merge_lock.lock();
        self.writer()?;
        let (ids, metas): (Vec<u64>, Vec<SegmentMeta>) = self
            .state
            .read()
            .segments
            .iter()
            .map(|s| {
                let meta = SegmentMeta {
                    rows: u64::from(s.segment.rows()),
                    deleted: s.persisted.len(),
                };
                (s.segment.id(), meta)
            })
            .unzip();
        match merge_policy::plan(&metas) {
            Some(which) => {
                let which: Vec<u64> = which.iter().map(|&i| ids[i]).collect();
                crate::failpoint::gate("background.build");
                self.merge(&which)?;
                self.merges
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
