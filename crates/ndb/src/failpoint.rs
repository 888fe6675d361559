//! Named kill points for crash tests. With the `testing` feature, a process whose environment
//! sets `NDB_FAILPOINT=<name>` aborts (like a power cut for the process: no destructors, no
//! flushing) the `NDB_FAILPOINT_SKIP + 1`-th time it reaches the point `<name>`. Without the
//! feature every point compiles to nothing.

/// Every named point, for tests that enumerate them.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub const POINTS: &[&str] = &[
    "wal.sync.before",
    "wal.sync.after",
    "wal.rotate.before",
    "wal.rotate.after",
    "flush.segment.written",
    "flush.deletes.written",
    "flush.dir.synced",
    "flush.manifest.before",
    "flush.manifest.after",
    "flush.unlink.before",
    "flush.unlink.after",
    "merge.segment.written",
    "merge.manifest.before",
    "merge.manifest.after",
    "merge.unlink.before",
    "merge.unlink.after",
    "index.graph.written",
    "index.manifest.before",
    "index.manifest.after",
    "open.unlink.before",
    "backup.files.copied",
    "backup.rename.before",
];

#[cfg(feature = "testing")]
pub(crate) fn hit(name: &'static str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);
    debug_assert!(POINTS.contains(&name), "unlisted failpoint {name}");
    let target = TARGET.get_or_init(|| {
        let name = std::env::var("NDB_FAILPOINT").ok()?;
        let skip = std::env::var("NDB_FAILPOINT_SKIP")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Some((name, skip))
    });
    if let Some((target, skip)) = target {
        if target == name && HITS.fetch_add(1, Ordering::Relaxed) >= *skip {
            eprintln!("failpoint {name}: aborting");
            std::process::abort();
        }
    }
}

#[cfg(not(feature = "testing"))]
#[inline(always)]
pub(crate) fn hit(_name: &'static str) {}

/// Gates: named places in background work that a test can hold shut, to make an interleaving
/// happen on purpose (a graph build that never ends, a flush that has frozen its memtable but
/// not written it). Without the `testing` feature every gate compiles to nothing.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub const GATES: &[&str] = &[
    // The background flusher, after the freeze, before the segment is written.
    "flush.write",
    // A background merge or index build, before its graph is built.
    "background.build",
];

#[cfg(feature = "testing")]
mod gates {
    use parking_lot::{Condvar, Mutex};
    use std::collections::HashSet;

    static CLOSED: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    static CHANGED: Condvar = Condvar::new();

    /// Hold gate `name` shut until [`open`].
    pub fn close(name: &'static str) {
        assert!(super::GATES.contains(&name), "unknown gate {name}");
        CLOSED.lock().get_or_insert_with(HashSet::new).insert(name);
    }

    /// Let everything waiting at gate `name` through.
    pub fn open(name: &'static str) {
        if let Some(set) = CLOSED.lock().as_mut() {
            set.remove(name);
        }
        CHANGED.notify_all();
    }

    static WAITING: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

    /// How many threads wait at gate `name` now.
    pub fn waiting(name: &'static str) -> usize {
        WAITING.lock().iter().filter(|&&n| n == name).count()
    }

    pub(crate) fn pass(name: &'static str) {
        debug_assert!(super::GATES.contains(&name), "unlisted gate {name}");
        let mut closed = CLOSED.lock();
        if !closed.as_ref().is_some_and(|s| s.contains(name)) {
            return;
        }
        WAITING.lock().push(name);
        while closed.as_ref().is_some_and(|s| s.contains(name)) {
            CHANGED.wait(&mut closed);
        }
        let mut waiting = WAITING.lock();
        if let Some(i) = waiting.iter().position(|&n| n == name) {
            waiting.swap_remove(i);
        }
    }
}

#[cfg(feature = "testing")]
pub use gates::{close as close_gate, open as open_gate, waiting as gate_waiters};

#[cfg(feature = "testing")]
pub(crate) fn gate(name: &'static str) {
    gates::pass(name);
}

#[cfg(not(feature = "testing"))]
#[inline(always)]
pub(crate) fn gate(_name: &'static str) {}

/// Panic points: named places in background work where a test can make the next pass panic
/// (to check that a panic poisons the collection instead of being lost). Without the `testing`
/// feature every point compiles to nothing.
#[cfg(feature = "testing")]
mod panics {
    use parking_lot::Mutex;

    static ARMED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

    /// Make the next pass of panic point `name` panic.
    pub fn arm(name: &'static str) {
        ARMED.lock().push(name);
    }

    pub(crate) fn pass(name: &'static str) {
        let mut armed = ARMED.lock();
        if let Some(i) = armed.iter().position(|&n| n == name) {
            armed.swap_remove(i);
            drop(armed);
            panic!("injected panic at {name}");
        }
    }
}

#[cfg(feature = "testing")]
pub use panics::arm as arm_panic;

#[cfg(feature = "testing")]
pub(crate) fn panic_point(name: &'static str) {
    panics::pass(name);
}

#[cfg(not(feature = "testing"))]
#[inline(always)]
pub(crate) fn panic_point(_name: &'static str) {}
