//! The writer: the WAL, group commit and the poison flag, and the write path through them
//! (append to the WAL, apply to the memtable, wait for durability, trigger flushes).

use super::commit::{self, GroupCommit};
use super::locks::{Mutex, Rank};
use super::state::{self, State};
use super::CollectionInner;
use crate::config::Durability;
use crate::document::{encode_payload, validate_id, PreparedDoc};
use crate::wal::{AppendError, EncodedRecord, WalWriter};
use crate::{Error, Result};
use serde_json::Value;

/// What only a writable collection has, and what stops it writing.
pub(crate) struct Writer {
    /// `None` when opened read-only.
    wal: Option<Mutex<WalWriter>>,
    commit: GroupCommit,
    /// Why the collection refuses writes, once an I/O failure left memory and disk apart.
    poison: Mutex<Option<String>>,
}

impl Writer {
    /// `durable_seq`: the last sequence number known to be durable.
    pub(crate) fn new(wal: Option<WalWriter>, durable_seq: u64) -> Self {
        Self {
            wal: wal.map(|w| Mutex::new(Rank::Wal, w)),
            commit: GroupCommit::new(durable_seq),
            poison: Mutex::new(Rank::Poison, None),
        }
    }

    pub(crate) fn is_read_only(&self) -> bool {
        self.wal.is_none()
    }

    /// Bytes in the current WAL file (`None` when read-only).
    pub(crate) fn wal_bytes(&self) -> Option<u64> {
        self.wal.as_ref().map(|w| w.lock().bytes())
    }

    /// The WAL generation being written and its length, read under the WAL lock (so at a
    /// record boundary); `None` when read-only.
    pub(crate) fn wal_position(&self) -> Option<(u64, u64)> {
        self.wal.as_ref().map(|w| {
            let w = w.lock();
            (w.generation(), w.bytes())
        })
    }

    pub(crate) fn sync_calls(&self) -> u64 {
        self.commit.sync_calls()
    }

    /// Everything up to `seq` is durable (a WAL rotation synced it).
    pub(crate) fn mark_durable(&self, seq: u64) {
        self.commit.mark_durable(seq);
    }
}

impl CollectionInner {
    pub(super) fn poisoned(&self) -> Option<Error> {
        self.writer
            .poison
            .lock()
            .as_ref()
            .map(|reason| Error::Poisoned {
                collection: self.name.clone(),
                reason: reason.clone(),
            })
    }

    /// Refuse writes from now on, for `reason` (the first reason is kept).
    pub(crate) fn poison(&self, reason: String) {
        log::error!("collection {:?} poisoned: {reason}", self.name);
        self.writer.poison.lock().get_or_insert(reason);
    }

    /// The WAL, if this handle may write now (alive, writable, not poisoned).
    pub(super) fn writer(&self) -> Result<&Mutex<WalWriter>> {
        self.check_alive()?;
        let wal = self.writer.wal.as_ref().ok_or(Error::ReadOnly)?;
        match self.poisoned() {
            Some(err) => Err(err),
            None => Ok(wal),
        }
    }

    /// Append `rec` and apply it to the memtable under the WAL lock, so that memtable order is
    /// WAL order. `shadows_of` computes the segment rows the write hides (before the append, so
    /// a lookup failure changes nothing), or `None` when there is nothing to write; `apply` must
    /// not fail. Returns the record's sequence number, or `None` if nothing was written.
    fn write_record<T>(
        &self,
        rec: EncodedRecord,
        op: T,
        shadows_of: impl FnOnce(&State, &T) -> Result<Option<Vec<state::Shadow>>>,
        apply: impl FnOnce(&mut State, T, &[state::Shadow]),
    ) -> Result<Option<u64>> {
        self.write_record_with(
            |st| Ok(shadows_of(st, &op)?.map(|shadows| (rec, op, shadows))),
            apply,
        )
    }

    /// [`CollectionInner::write_record`] for a record that depends on the state it applies to
    /// (`prepare` sees the state under the WAL lock and returns the record, what to apply and
    /// the shadows, or `None` to write nothing).
    fn write_record_with<T>(
        &self,
        prepare: impl FnOnce(&State) -> Result<Option<(EncodedRecord, T, Vec<state::Shadow>)>>,
        apply: impl FnOnce(&mut State, T, &[state::Shadow]),
    ) -> Result<Option<u64>> {
        let wal_lock = self.writer()?;
        let mut wal = wal_lock.lock();
        // A flush may have failed while we waited for the lock.
        if let Some(err) = self.poisoned() {
            return Err(err);
        }
        let Some((mut rec, op, shadows)) = prepare(&self.state.read())? else {
            return Ok(None);
        };
        let seq = match wal.append(&mut rec) {
            Ok(seq) => seq,
            Err(AppendError::Failed(e)) => return Err(e),
            Err(AppendError::Fatal(reason)) => {
                self.poison(reason.clone());
                return Err(Error::Poisoned {
                    collection: self.name.clone(),
                    reason,
                });
            }
        };
        apply(&mut self.state.write(), op, &shadows);
        Ok(Some(seq))
    }

    /// Durability and flush work after a write was applied.
    fn after_write(&self, seq: u64) -> Result<()> {
        if self.config().durability() == Durability::FdatasyncEachBatch {
            self.wait_durable(seq)?;
        }
        let bytes = self.state.read().active.bytes();
        let threshold = self.config().flush_threshold_bytes();
        if bytes >= threshold {
            match &self.jobs.maintenance {
                // The background flusher freezes and writes the memtable; a writer waits only
                // if it fills a second one before the first is written, and then only for
                // that write (which builds a graph only when the backlog is at its bound) and
                // a memtable swap.
                Some(m) if m.running() => {
                    if bytes >= 2 * threshold {
                        self.swap_memtable()?;
                    }
                    m.request_flush();
                }
                _ => self.flush_memtable(false, super::new_segment::Graph::Now)?,
            }
        }
        Ok(())
    }

    /// [`CollectionInner::after_write`] if a record was written; whether one was.
    fn after_write_if(&self, seq: Option<u64>) -> Result<bool> {
        match seq {
            Some(seq) => self.after_write(seq).map(|()| true),
            None => Ok(false),
        }
    }

    fn wait_durable(&self, seq: u64) -> Result<()> {
        let wal = self.writer()?;
        self.writer.commit.wait(
            seq,
            || self.poisoned(),
            || {
                let (file, path, last) = {
                    let w = wal.lock();
                    let (file, path) = w.file();
                    (file, path, w.last_seq())
                };
                crate::failpoint::hit("wal.sync.before");
                let synced = commit::sync_file(&*file, &path);
                crate::failpoint::hit("wal.sync.after");
                if let Err(e) = synced {
                    // Poison before the leader wakes the other waiters, so none of them can
                    // run a second fsync that "succeeds" after the failed one.
                    self.poison(format!("fdatasync of the WAL failed: {e}"));
                    return Err(e);
                }
                Ok(last)
            },
        )
    }

    pub(super) fn put(&self, docs: Vec<PreparedDoc>) -> Result<()> {
        if docs.is_empty() {
            self.writer()?;
            return Ok(());
        }
        let rec = EncodedRecord::put(&docs).map_err(Error::InvalidArgument)?;
        let seq = self.write_record(
            rec,
            docs,
            |st, docs| st.shadows(docs.iter().map(|d| d.id.as_str())).map(Some),
            |st, docs, shadows| st.apply_put(docs, shadows),
        )?;
        self.after_write_if(seq).map(|_| ())
    }

    pub(super) fn delete(&self, id: &str) -> Result<bool> {
        validate_id(id)?;
        let ids = vec![id.to_string()];
        let rec = EncodedRecord::delete(&ids).map_err(Error::InvalidArgument)?;
        let seq = self.write_record(
            rec,
            ids,
            |st, ids| {
                if st.contains(id)? {
                    st.shadows(ids.iter().map(String::as_str)).map(Some)
                } else {
                    Ok(None)
                }
            },
            |st, ids, shadows| st.apply_delete(&ids, shadows),
        )?;
        self.after_write_if(seq)
    }

    /// Replace the payload of document `id` with what `update` makes of the current one
    /// (`None` for no payload), keeping its vector: the WAL record carries the id and the new
    /// payload only. Returns whether the document exists (nothing is written if not).
    pub(super) fn update_payload(
        &self,
        id: &str,
        update: impl FnOnce(Option<Value>) -> Result<Option<Value>>,
    ) -> Result<bool> {
        validate_id(id)?;
        let seq = self.write_record_with(
            |st| {
                let Some(found) = st.find(id)? else {
                    return Ok(None);
                };
                let payload = update(found.payload()?)?;
                let payload_json = encode_payload(id, payload.as_ref())?;
                let entry = [(id.to_string(), payload_json)];
                let rec = EncodedRecord::set_payload(&entry).map_err(Error::InvalidArgument)?;
                let [(id, payload_json)] = entry;
                let doc = PreparedDoc {
                    vector: found.vector()?,
                    id,
                    payload_json,
                };
                let shadows = st.shadows(std::iter::once(doc.id.as_str()))?;
                Ok(Some((rec, vec![doc], shadows)))
            },
            |st, docs, shadows| st.apply_put(docs, shadows),
        )?;
        self.after_write_if(seq)
    }

    /// Make every acknowledged write durable now.
    pub(super) fn sync(&self) -> Result<()> {
        let wal = self.writer()?;
        let last = wal.lock().last_seq();
        if last == 0 {
            return Ok(());
        }
        self.wait_durable(last)
    }
}
