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
    "open.unlink.before",
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
