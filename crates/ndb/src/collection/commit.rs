//! Group commit: concurrent writers under `FdatasyncEachBatch` share one `fdatasync`.
//!
//! The first waiter whose record is not yet durable becomes the leader: it syncs the WAL file
//! (covering every record appended so far, including other threads'), publishes the new durable
//! sequence number and wakes the others. Writers that arrive during the sync wait for the next
//! round, which one of them leads.

use crate::error::IoContext;
use crate::{Error, Result};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
struct SyncState {
    durable_seq: u64,
    leader_active: bool,
}

/// Durable-sequence tracking shared by a collection's writers.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    state: Mutex<SyncState>,
    wake: Condvar,
    syncs: AtomicU64,
}

impl GroupCommit {
    pub fn new(durable_seq: u64) -> Self {
        Self {
            state: Mutex::new(SyncState {
                durable_seq,
                leader_active: false,
            }),
            wake: Condvar::new(),
            syncs: AtomicU64::new(0),
        }
    }

    /// Record that everything up to `seq` is durable (e.g. after a WAL rotation synced it).
    pub fn mark_durable(&self, seq: u64) {
        let mut s = self.state.lock();
        s.durable_seq = s.durable_seq.max(seq);
        self.wake.notify_all();
    }

    /// Number of `fdatasync` calls made by leaders.
    pub fn sync_calls(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Wait until record `seq` is durable, leading a sync if nobody else is.
    ///
    /// `sync_now` syncs the WAL and returns the last sequence number it covers; `poisoned`
    /// reports a failure that happened elsewhere (then no sync is attempted). A failed sync
    /// returns its error; the caller poisons the collection.
    pub fn wait(
        &self,
        seq: u64,
        poisoned: impl Fn() -> Option<Error>,
        sync_now: impl Fn() -> Result<u64>,
    ) -> Result<()> {
        let mut s = self.state.lock();
        loop {
            if s.durable_seq >= seq {
                return Ok(());
            }
            if let Some(err) = poisoned() {
                return Err(err);
            }
            if s.leader_active {
                self.wake.wait(&mut s);
                continue;
            }
            s.leader_active = true;
            drop(s);
            self.syncs.fetch_add(1, Ordering::Relaxed);
            let result = sync_now();
            s = self.state.lock();
            s.leader_active = false;
            self.wake.notify_all();
            match result {
                Ok(covered) => s.durable_seq = s.durable_seq.max(covered),
                Err(e) => return Err(e),
            }
        }
    }
}

/// `fdatasync` a WAL file handle, for [`GroupCommit::wait`].
pub(crate) fn sync_file(file: &dyn ndb_storage::VfsFile, path: &std::path::Path) -> Result<()> {
    file.sync_data().at(path)
}
