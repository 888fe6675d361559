//! Readers that follow the writer: `Collection::refresh` moves a read-only handle to the newest
//! committed state without reopening the database.
//!
//! What a reader last saw is a [`Fingerprint`]: the checksum of the collection manifest and the
//! length of every WAL file. When it is unchanged, a refresh costs a manifest read and a
//! directory listing and changes nothing. Otherwise the collection is recovered again as an
//! open would (manifest, segments, WAL replay; retried when it races with a writer's swap), and
//! the new state replaces the old one in one step under the state lock, so a search sees either
//! the old state or the new one. Searches already running keep the segments of their snapshot
//! (mapped files stay readable after the writer unlinks them).

use super::locks::{Mutex, Rank};
use super::CollectionInner;
use crate::error::IoContext;
use crate::manifest::MANIFEST_FILE;
use crate::wal::{list_generations, wal_file_name};
use crate::Result;
use ndb_storage::{OpenMode, Vfs};
use std::path::Path;
use std::time::{Duration, Instant};

/// What a reader saw on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    manifest_crc: u32,
    manifest_len: u64,
    /// (generation, length) of every WAL file.
    wal: Vec<(u64, u64)>,
}

impl Fingerprint {
    pub(crate) fn take(vfs: &dyn Vfs, dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = vfs
            .open(&path, OpenMode::Read)
            .and_then(|f| f.read_all())
            .at(&path)?;
        let mut wal = Vec::new();
        for gen in list_generations(vfs, dir)? {
            let path = dir.join(wal_file_name(gen));
            match vfs.open(&path, OpenMode::Read).and_then(|f| f.len()) {
                Ok(len) => wal.push((gen, len)),
                // Removed by the writer's flush since the listing: it changed.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => wal.push((gen, u64::MAX)),
                Err(e) => return Err(crate::Error::io(&path, e)),
            }
        }
        Ok(Self {
            manifest_crc: crate::codec::crc32c(&bytes),
            manifest_len: bytes.len() as u64,
            wal,
        })
    }
}

struct Seen {
    fingerprint: Option<Fingerprint>,
    checked: Instant,
}

/// A read-only handle's position: what it saw, when it last looked, how often searches look.
pub(crate) struct Follow {
    seen: Mutex<Seen>,
    every: std::sync::OnceLock<Duration>,
}

impl Default for Follow {
    fn default() -> Self {
        Self {
            seen: Mutex::new(
                Rank::Refresh,
                Seen {
                    fingerprint: None,
                    checked: Instant::now(),
                },
            ),
            every: std::sync::OnceLock::new(),
        }
    }
}

impl Follow {
    /// At open: what the reader saw, and how often searches refresh (`None`: only
    /// `refresh()` does).
    pub(crate) fn start(&self, seen: Fingerprint, every: Option<Duration>) {
        self.seen.lock().fingerprint = Some(seen);
        if let Some(every) = every {
            let _ = self.every.set(every);
        }
    }
}

impl CollectionInner {
    /// Move a read-only handle to the newest committed state; whether anything changed. A
    /// writer's handle is always current (`false`).
    pub(crate) fn refresh(&self) -> Result<bool> {
        self.check_alive()?;
        if !self.writer.is_read_only() {
            return Ok(false);
        }
        let mut seen = self.follow.seen.lock();
        seen.checked = Instant::now();
        let now = Fingerprint::take(&*self.vfs, &self.dir)?;
        if seen.fingerprint.as_ref() == Some(&now) {
            return Ok(false);
        }
        let rec = super::open::recover_read_only(&*self.vfs, &self.dir, &self.name)?;
        {
            let mut manifest = self.catalog.lock();
            *self.state.write() = rec.state;
            self.config
                .store(std::sync::Arc::new(rec.manifest.config.clone()));
            self.catalog.publish(&mut manifest, rec.manifest);
        }
        seen.fingerprint = Some(now);
        Ok(true)
    }

    /// Before a search: refresh if this handle follows the writer by itself and the last look
    /// is older than its interval.
    pub(crate) fn refresh_if_due(&self) -> Result<()> {
        let Some(every) = self.follow.every.get() else {
            return Ok(());
        };
        if self.follow.seen.lock().checked.elapsed() >= *every {
            self.refresh()?;
        }
        Ok(())
    }
}
