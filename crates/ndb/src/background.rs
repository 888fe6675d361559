//! The process-wide thread pool for background CPU work: HNSW graph builds of background
//! merges and of segments the background flusher wrote without a graph.
//!
//! It has one thread per core, running at a lower CPU priority (nice 10 on Linux): background
//! work uses every core the machine has spare, and yields them to searches and writers (a
//! nice-10 thread gets about a tenth of the CPU time of a normal one it competes with).
//! Work the caller waits for (`flush`, `compact`, `rebuild_index`, flushes with maintenance
//! off) runs on the global rayon pool instead, at full speed.

use std::sync::OnceLock;

/// Threads of the background pool on this machine.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let built = rayon::ThreadPoolBuilder::new()
            .num_threads(threads())
            .thread_name(|i| format!("ndb-background-{i}"))
            .start_handler(|_| lower_priority())
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

/// Run `job` on the background pool (its parallel parts too) and wait for it.
pub(crate) fn run<R: Send>(job: impl FnOnce() -> R + Send) -> R {
    match pool() {
        Some(pool) => pool.install(job),
        None => job(),
    }
}
