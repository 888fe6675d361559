//! nDB's file layer: every byte nDB reads or writes goes through the [`Vfs`] trait.
//!
//! Two backends implement it:
//! - [`OsVfs`]: the real file system (`std::fs`, `flock`, read-only `mmap` via `memmap2`).
//! - [`SimVfs`]: an in-memory file system for tests that keeps, for every file and every
//!   directory, a *volatile* image (what the running process sees) and a *durable* image (what
//!   survives a power loss), and can inject faults: lost un-synced data, a torn last write,
//!   failing `fsync`, `ENOSPC`, failing reads.
//!
//! The engine never calls `std::fs` directly, so every durability argument can be tested
//! against the simulated backend.
//!
//! Mapping invariant: nDB maps only files that are immutable once written and named by a
//! manifest; such files are never truncated or rewritten in place (only unlinked), so a mapping
//! never shrinks under its reader. [`VfsFile::map`] is given the length the caller verified.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod mapping;
mod os;
mod priority;
mod sim;

pub use mapping::Mapping;
/// The seeded generator behind [`SimVfs`]'s faults (re-exported from `ndb-rand`, whose sequence
/// for a seed never changes, so a failing seed of the simulation tests replays the same run).
pub use ndb_rand::SplitMix;
pub use os::OsVfs;
pub use priority::{lower_current_thread_priority, BACKGROUND_NICE};
pub use sim::{CrashMode, Fault, SimVfs};

use std::fmt::Debug;
use std::io;
use std::path::Path;

/// How to open a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Existing file, read only.
    Read,
    /// Existing file, read and write.
    ReadWrite,
    /// Create the file; fail with `AlreadyExists` if it exists. Read and write.
    CreateNew,
    /// Create the file or truncate an existing one to zero length. Read and write.
    CreateTruncate,
    /// Open an existing file or create an empty one. Read and write.
    OpenOrCreate,
}

impl OpenMode {
    /// Whether this mode may create a directory entry.
    pub fn creates(self) -> bool {
        matches!(
            self,
            OpenMode::CreateNew | OpenMode::CreateTruncate | OpenMode::OpenOrCreate
        )
    }
    /// Whether the handle may write.
    pub fn writable(self) -> bool {
        !matches!(self, OpenMode::Read)
    }
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DirEntry {
    /// File or directory name (not a path).
    pub name: String,
    /// Whether the entry is a directory.
    pub is_dir: bool,
}

/// An open file. All methods take `&self` (positional I/O), so one handle can be shared by a
/// thread that appends and a thread that syncs.
pub trait VfsFile: Send + Sync + Debug {
    /// Current length in bytes.
    fn len(&self) -> io::Result<u64>;
    /// Whether the file is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Fill `buf` from `offset`; `UnexpectedEof` if the file is shorter.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Write all of `buf` at `offset`, extending the file if needed. On error, any prefix of
    /// `buf` may have been written.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Truncate or extend (with zeros) to `len`.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// `fdatasync`: contents and length durable.
    fn sync_data(&self) -> io::Result<()>;
    /// `fsync`: contents, length and metadata durable.
    fn sync_all(&self) -> io::Result<()>;
    /// Map the first `len` bytes read-only. The caller must have checked that the file is at
    /// least `len` bytes long and must never change the file while the mapping lives.
    fn map(&self, len: u64) -> io::Result<Mapping>;
    /// Read the whole file.
    fn read_all(&self) -> io::Result<Vec<u8>> {
        let len = usize::try_from(self.len()?)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file too large"))?;
        let mut buf = vec![0u8; len];
        self.read_exact_at(&mut buf, 0)?;
        Ok(buf)
    }
}

/// A held exclusive lock; released on drop (or when the process dies).
pub trait LockGuard: Send + Sync + Debug {}

/// The file system as nDB sees it.
pub trait Vfs: Send + Sync + Debug + 'static {
    /// Create a directory and its parents.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// List a directory (not recursive), sorted by name.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>>;
    /// Whether `path` exists (file or directory).
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// Whether `path` is a directory.
    fn is_dir(&self, path: &Path) -> io::Result<bool>;
    /// Open a file.
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>>;
    /// Atomically rename a file, replacing `to` if it exists (POSIX `rename`).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Unlink a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Remove a directory and everything in it.
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// `fsync` a directory: make its entries (creations, renames, unlinks) durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Take an exclusive, non-blocking lock on `path` (created if missing). `Ok(None)` if another
    /// holder has it, including another handle in this process.
    fn try_lock(&self, path: &Path) -> io::Result<Option<Box<dyn LockGuard>>>;
    /// Make `to` a new name of the file `from` (a hard link). File systems (and `Vfs`
    /// implementations) without hard links return `ErrorKind::Unsupported`; callers copy then.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let _ = (from, to);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "hard links are not supported here",
        ))
    }
}

/// Write `bytes` to `path` atomically and durably: write a temporary sibling, fsync it, rename
/// it over `path`, fsync the directory. After `Ok`, a power loss leaves `path` with the new
/// contents; after a crash at any point, `path` holds either the old or the new contents.
pub fn write_atomic(vfs: &dyn Vfs, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    let mut tmp_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?
        .to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    {
        let file = vfs.open(&tmp, OpenMode::CreateTruncate)?;
        file.write_all_at(bytes, 0)?;
        file.sync_all()?;
    }
    vfs.rename(&tmp, path)?;
    vfs.sync_dir(dir)
}
