//! The process-wide thread pools for background CPU work: HNSW graph builds of background
//! merges, and of segments the background flusher wrote without a graph.
//!
//! Each has one thread per core, running at a lower CPU priority (nice 10 on Linux): background
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
    Merges,
    Indexes,
}

fn pool(which: Pool) -> Option<&'static rayon::ThreadPool> {
    static POOLS: [OnceLock<Option<rayon::ThreadPool>>; 2] = [OnceLock::new(), OnceLock::new()];
    let (slot, name) = match which {
        Pool::Merges => (&POOLS[0], "ndb-merge"),
        Pool::Indexes => (&POOLS[1], "ndb-index"),
    };
    slot.get_or_init(|| {
        let built = rayon::ThreadPoolBuilder::new()
            .num_threads(threads())
            .thread_name(move |i| format!("{name}-{i}"))
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

/// Run `job` on background pool `which` (its parallel parts too) and wait for it.
pub(crate) fn run<R: Send>(which: Pool, job: impl FnOnce() -> R + Send) -> R {
    match pool(which) {
        Some(pool) => pool.install(job),
        None => job(),
    }
}
