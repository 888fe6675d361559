//! The collection's part of an online backup: a point-in-time copy of its files.
//!
//! Under the manifest lock (held for about as long as a manifest swap takes: hard links and
//! the WAL prefixes), the committed manifest is copied, every file it names is hard-linked
//! (copied where the file system has no hard links), and every WAL generation it needs is
//! copied up to the writer's position, read under the WAL lock, so the copy holds every
//! acknowledged write and no half-written record. While the manifest lock is held no file the
//! manifest names can be unlinked (that happens only after a swap that stops naming it), and
//! the WAL generations it needs stay (they go only after a flush's swap).

use super::open::SEGMENTS_DIR;
use super::CollectionInner;
use crate::error::IoContext;
use crate::manifest::{self, CollectionManifest};
use crate::payload_index::payload_index_file_name;
use crate::segment::codes::codes_file_name;
use crate::segment::deletes::deletes_file_name;
use crate::segment::index::index_file_name;
use crate::segment::segment_file_name;
use crate::wal::wal_file_name;
use crate::{Error, Result};
use ndb_storage::{OpenMode, Vfs};
use std::path::Path;

/// Bytes copied per read and write.
const COPY_CHUNK: usize = 8 << 20;

/// What copying one collection did.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Copied {
    pub files_linked: u64,
    pub files_copied: u64,
    pub bytes_copied: u64,
}

impl CollectionInner {
    /// Write a point-in-time copy of the collection into the new directory `dest` (synced).
    pub(crate) fn backup_into(&self, dest: &Path) -> Result<Copied> {
        self.check_alive()?;
        let vfs = &*self.vfs;
        let seg_dest = dest.join(SEGMENTS_DIR);
        vfs.create_dir_all(&seg_dest).at(&seg_dest)?;
        let mut copied = Copied::default();
        let snapshot = {
            let manifest = self.catalog.lock();
            let wal_end = self.writer.wal_position();
            let snapshot = manifest.clone();
            self.link_named_files(&snapshot, &seg_dest, &mut copied)?;
            self.copy_wal(&snapshot, wal_end, dest, &mut copied)?;
            snapshot
        };
        crate::failpoint::hit("backup.files.copied");
        vfs.sync_dir(&seg_dest).at(&seg_dest)?;
        // Syncs `dest` too, making the WAL copies' names durable.
        manifest::write_collection(vfs, dest, &snapshot)?;
        Ok(copied)
    }

    fn link_named_files(
        &self,
        m: &CollectionManifest,
        seg_dest: &Path,
        copied: &mut Copied,
    ) -> Result<()> {
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        for e in &m.segments {
            let mut names = vec![segment_file_name(e.id)];
            names.extend(e.deletes.map(|d| deletes_file_name(e.id, d.gen)));
            names.extend(e.index.map(|ix| index_file_name(e.id, ix.gen)));
            names.extend(
                e.payload_index
                    .map(|p| payload_index_file_name(e.id, p.gen)),
            );
            names.extend(e.codes.map(|c| codes_file_name(e.id, c.gen)));
            for name in names {
                let (from, to) = (seg_dir.join(&name), seg_dest.join(&name));
                match self.vfs.hard_link(&from, &to) {
                    Ok(()) => copied.files_linked += 1,
                    Err(e) if can_copy_instead(&e) => {
                        copied.bytes_copied += copy_prefix(&*self.vfs, &from, &to, None)?;
                        copied.files_copied += 1;
                    }
                    Err(e) => return Err(Error::io(&to, e)),
                }
            }
        }
        Ok(())
    }

    /// Copy every WAL generation from the manifest's `wal_gen` to the writer's, the last one up
    /// to `end` (generation, bytes); older ones whole (they were synced when they were rotated).
    fn copy_wal(
        &self,
        m: &CollectionManifest,
        end: Option<(u64, u64)>,
        dest: &Path,
        copied: &mut Copied,
    ) -> Result<()> {
        let Some((last_gen, last_len)) = end else {
            return Err(Error::ReadOnly);
        };
        for gen in m.wal_gen..=last_gen {
            let (from, to) = (
                self.dir.join(wal_file_name(gen)),
                dest.join(wal_file_name(gen)),
            );
            let len = (gen == last_gen).then_some(last_len);
            copied.bytes_copied += copy_prefix(&*self.vfs, &from, &to, len)?;
            copied.files_copied += 1;
        }
        Ok(())
    }
}

fn can_copy_instead(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    // EXDEV (another file system) has no stable ErrorKind: 18 on Linux and macOS.
    matches!(e.kind(), Unsupported | PermissionDenied) || e.raw_os_error() == Some(18)
}

/// Copy the first `len` bytes of `from` (all of it for `None`) into the new file `to`, synced.
fn copy_prefix(vfs: &dyn Vfs, from: &Path, to: &Path, len: Option<u64>) -> Result<u64> {
    let src = vfs.open(from, OpenMode::Read).at(from)?;
    let len = match len {
        Some(len) => len,
        None => src.len().at(from)?,
    };
    let dst = vfs.open(to, OpenMode::CreateNew).at(to)?;
    let mut buf = vec![0u8; COPY_CHUNK.min(usize::try_from(len).unwrap_or(COPY_CHUNK))];
    let mut at = 0u64;
    while at < len {
        let n = usize::try_from(len - at).map_or(buf.len(), |left| left.min(buf.len()));
        let chunk = &mut buf[..n];
        src.read_exact_at(chunk, at).at(from)?;
        dst.write_all_at(chunk, at).at(to)?;
        at += n as u64;
    }
    dst.sync_all().at(to)?;
    Ok(len)
}
