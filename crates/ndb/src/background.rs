//! The process-wide thread pools for background work of every collection: flushes, merges
//! (with their HNSW graph builds), and graphs of segments the background flusher wrote without
//! one. No collection has threads of its own, so a process may open thousands.
//!
//! Each has one thread per core. Merges and index builds run at a lower CPU priority (nice 10
//! on Linux): background
//! work uses every core the machine has spare, and yields them to searches and writers (a
//! nice-10 thread gets about a tenth of the CPU time of a normal one it competes with).
//! Work the caller waits for (`flush`, `compact`, `rebuild_index`, flushes with maintenance
//! off) runs on the global rayon pool instead, at full speed.

use std::sync::OnceLock;

/// Threads of the background pool on this machine.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Which background pool a job runs on. Merges and index builds have a pool each, so that a
/// long merge never keeps a fresh segment's graph build waiting (rayon runs a pool's injected
/// jobs only when its threads have no other work).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pool {
    /// Background flushes of every collection: normal priority (a writer that fills a second
    /// memtable waits for one).
    Flushes,
    Merges,
    Indexes,
}

fn pool(which: Pool) -> Option<&'static rayon::ThreadPool> {
    static POOLS: [OnceLock<Option<rayon::ThreadPool>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let (slot, name, low) = match which {
        Pool::Flushes => (&POOLS[0], "ndb-flush", false),
        Pool::Merges => (&POOLS[1], "ndb-merge", true),
        Pool::Indexes => (&POOLS[2], "ndb-index", true),
    };
    slot.get_or_init(|| {
        let built = rayon::ThreadPoolBuilder::new()
            .num_threads(threads())
            .thread_name(move |i| format!("{name}-{i}"))
            .start_handler(move |_| {
                if low {
                    lower_priority()
                }
            })
            .build();
        match built {
            Ok(pool) => Some(pool),
            Err(e) => {
                log::warn!(
                    "no background thread pool ({e}); background builds use the global pool"
                );
                None
            }
        }
    })
    .as_ref()
}

/// Lower the calling thread's CPU priority (logged if it fails; work goes on regardless).
pub(crate) fn lower_priority() {
    if let Err(e) = ndb_storage::lower_current_thread_priority() {
        log::debug!("could not lower a background thread's priority: {e}");
    }
}

/// Start `job` on background pool `which` and return at once. Without the pool (it could not
/// be created) the job runs on rayon's global pool.
pub(crate) fn spawn(which: Pool, job: impl FnOnce() + Send + 'static) {
    match pool(which) {
        Some(pool) => pool.spawn(job),
        None => rayon::spawn(job),
    }
}
