//! Background maintenance: one thread per writable collection flushes the memtable when it
//! passes its threshold (so writers do not wait for segment writes) and applies the merge policy.
//!
//! The thread holds only a weak reference to the collection between jobs; when the last handle
//! is dropped it is stopped (and joined, unless the drop happens on the thread itself, when it
//! just ends). Work in progress at a crash is safe to abandon: flushes and merges commit by one
//! manifest swap.

use super::merge_policy::{self, SegmentMeta};
use super::CollectionInner;
use parking_lot::{Condvar, Mutex};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the thread looks for merges when nothing wakes it.
const IDLE_CHECK: Duration = Duration::from_millis(200);

#[derive(Default)]
struct SignalState {
    flush: bool,
    stop: bool,
}

#[derive(Default)]
struct Signal {
    state: Mutex<SignalState>,
    wake: Condvar,
}

/// The handle of a collection's maintenance thread.
#[derive(Default)]
pub(crate) struct Maintenance {
    signal: Arc<Signal>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Maintenance {
    /// Start the thread for `inner`.
    pub(crate) fn start(inner: &Arc<CollectionInner>) {
        let Some(m) = inner.maintenance.as_ref() else {
            return;
        };
        let weak = Arc::downgrade(inner);
        let signal = Arc::clone(&m.signal);
        let spawned = std::thread::Builder::new()
            .name(format!("ndb-maintenance-{}", inner.name))
            .spawn(move || run(weak, signal));
        match spawned {
            Ok(handle) => *m.thread.lock() = Some(handle),
            Err(e) => log::warn!(
                "collection {:?}: no maintenance thread ({e}); flushes happen on the write path",
                inner.name
            ),
        }
    }

    /// Whether the thread is running (flushes can be left to it).
    pub(crate) fn running(&self) -> bool {
        self.thread.lock().is_some()
    }

    /// Ask for a flush.
    pub(crate) fn request_flush(&self) {
        self.signal.state.lock().flush = true;
        self.signal.wake.notify_one();
    }

    /// Stop the thread and wait for it (unless called from it).
    pub(crate) fn stop(&self) {
        self.signal.state.lock().stop = true;
        self.signal.wake.notify_one();
        if let Some(handle) = self.thread.lock().take() {
            if handle.thread().id() != std::thread::current().id() {
                // A panic on the thread was already reported by the panic hook.
                let _ = handle.join();
            }
        }
    }
}

fn run(weak: Weak<CollectionInner>, signal: Arc<Signal>) {
    loop {
        let flush = {
            let mut s = signal.state.lock();
            if !s.stop && !s.flush {
                signal.wake.wait_for(&mut s, IDLE_CHECK);
            }
            if s.stop {
                return;
            }
            std::mem::take(&mut s.flush)
        };
        let Some(inner) = weak.upgrade() else {
            return;
        };
        if inner.writer().is_err() {
            // Poisoned or dropped: nothing more to do until reopened.
            continue;
        }
        if flush {
            if let Err(e) = inner.flush_memtable(false) {
                log::error!("collection {:?}: background flush failed: {e}", inner.name);
                continue;
            }
        }
        // Merge until the layout satisfies the policy, unless asked to stop or flush.
        loop {
            match inner.merge_step() {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    log::error!("collection {:?}: background merge failed: {e}", inner.name);
                    break;
                }
            }
            let s = signal.state.lock();
            if s.stop || s.flush {
                break;
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
                self.merge(&which)?;
                self.merges
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
