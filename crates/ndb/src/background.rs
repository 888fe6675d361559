//! The process-wide thread pools for background work of every collection: flushes, merges
//! (with their HNSW graph builds), and graphs of segments the background flusher wrote without
//! one. No collection has threads of its own, so a process may open thousands.
//!
//! Each kind has one task thread per core, which runs tasks one at a time, and a rayon pool of
//! one thread per core for the parallel part of its tasks (graph builds, through
//! [`install`]). Tasks never run on the rayon pools themselves: a rayon worker waiting for its
//! parallel work steals other queued jobs, and a task stolen that way would run on a thread
//! that already holds another collection's merge or flush lock (ranks out of order, and two
//! such threads could wait for each other forever). Task threads are not rayon workers, so
//! they block, without stealing, until their parallel work is done.
//!
//! Merges and index builds run at a lower CPU priority (nice 10 on Linux), task threads and
//! pool threads alike: background
//! work uses every core the machine has spare, and yields them to searches and writers (a
//! nice-10 thread gets about a tenth of the CPU time of a normal one it competes with).
//! Work the caller waits for (`flush`, `compact`, `rebuild_index`, flushes with maintenance
//! off) runs on the global rayon pool instead, at full speed.

use parking_lot::{Condvar, Mutex};
use std::cell::Cell;
use std::collections::VecDeque;
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

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The queue of one kind's tasks and the threads that run them.
struct Tasks {
    queue: Mutex<VecDeque<Job>>,
    ready: Condvar,
}

thread_local! {
    /// The pool whose task the current thread is running, if it is a task thread.
    static RUNNING: Cell<Option<Pool>> = const { Cell::new(None) };
}

fn tasks(which: Pool) -> &'static Tasks {
    static TASKS: [OnceLock<&'static Tasks>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let (slot, name, low) = match which {
        Pool::Flushes => (&TASKS[0], "ndb-flush-task", false),
        Pool::Merges => (&TASKS[1], "ndb-merge-task", true),
        Pool::Indexes => (&TASKS[2], "ndb-index-task", true),
    };
    slot.get_or_init(|| {
        let tasks: &'static Tasks = Box::leak(Box::new(Tasks {
            queue: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
        }));
        for i in 0..threads() {
            let started = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || run_tasks(tasks, which, low));
            if let Err(e) = started {
                log::warn!("could not start background task thread {name}-{i}: {e}");
            }
        }
        tasks
    })
}

/// A task thread: run queued tasks of `which`, one at a time, forever.
fn run_tasks(tasks: &'static Tasks, which: Pool, low: bool) {
    if low {
        lower_priority();
    }
    RUNNING.with(|r| r.set(Some(which)));
    loop {
        let job = {
            let mut queue = tasks.queue.lock();
            loop {
                match queue.pop_front() {
                    Some(job) => break job,
                    None => tasks.ready.wait(&mut queue),
                }
            }
        };
        job();
    }
}

/// Start `job` on a task thread of `which` and return at once.
pub(crate) fn spawn(which: Pool, job: impl FnOnce() + Send + 'static) {
    let tasks = tasks(which);
    tasks.queue.lock().push_back(Box::new(job));
    tasks.ready.notify_one();
}

/// Run `work` (a parallel computation that takes no lock of a collection) on the rayon pool of
/// the task running on this thread, or, on any other thread, where it is (the global pool for
/// a user's thread).
pub(crate) fn install<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    match RUNNING.with(Cell::get).and_then(pool) {
        Some(pool) => pool.install(work),
        None => work(),
    }
}
