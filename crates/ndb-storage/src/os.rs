//! The real file system.

use crate::{DirEntry, LockGuard, Mapping, OpenMode, Vfs, VfsFile};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsVfs;

#[derive(Debug)]
struct OsFile {
    file: File,
}

#[derive(Debug)]
struct OsLock {
    // The lock lives as long as this open file description.
    _file: File,
}

impl LockGuard for OsLock {}

impl VfsFile for OsFile {
    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(buf, offset)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }
    fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }
    fn map(&self, len: u64) -> io::Result<Mapping> {
        let actual = self.len()?;
        if actual < len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("cannot map {len} bytes of a {actual}-byte file"),
            ));
        }
        if len == 0 {
            // mmap of length 0 is an error on Linux.
            return Ok(Mapping::copy_from(&[]));
        }
        let len = usize::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "mapping too large"))?;
        #[expect(
            unsafe_code,
            reason = "memory-mapping is inherently unsafe; see SAFETY"
        )]
        // SAFETY: the map is read-only and covers `len` bytes that we just checked exist. nDB
        // maps only immutable files (segments, written once, fsynced, then named by a
        // manifest); they are never truncated or written while mapped, only unlinked, which
        // keeps the pages valid. A process outside nDB that truncates the file would violate
        // this (documented in docs/ARCHITECTURE.md).
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(&self.file)? };
        Ok(Mapping::from_mmap(map))
    }
}

impl Vfs for OsVfs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(path)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            out.push(DirEntry {
                name,
                is_dir: entry.file_type()?.is_dir(),
            });
        }
        out.sort();
        Ok(out)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }
    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        match fs::metadata(path) {
            Ok(m) => Ok(m.is_dir()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        let mut opts = OpenOptions::new();
        opts.read(true);
        match mode {
            OpenMode::Read => {}
            OpenMode::ReadWrite => {
                opts.write(true);
            }
            OpenMode::CreateNew => {
                opts.write(true).create_new(true);
            }
            OpenMode::CreateTruncate => {
                opts.write(true).create(true).truncate(true);
            }
            OpenMode::OpenOrCreate => {
                opts.write(true).create(true).truncate(false);
            }
        }
        Ok(Box::new(OsFile {
            file: opts.open(path)?,
        }))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::hard_link(from, to)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::remove_dir_all(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }
    fn try_lock(&self, path: &Path) -> io::Result<Option<Box<dyn LockGuard>>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        // `File::try_lock` is `flock(LOCK_EX | LOCK_NB)` on Linux: the lock belongs to this
        // open file description, so a second handle in the same process conflicts too, and the
        // kernel drops it when the process dies.
        match file.try_lock() {
            Ok(()) => Ok(Some(Box::new(OsLock { _file: file }))),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write_atomic;

    #[test]
    fn lock_conflicts_within_one_process_and_releases_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("LOCK");
        let a = OsVfs.try_lock(&p).unwrap();
        assert!(a.is_some());
        assert!(OsVfs.try_lock(&p).unwrap().is_none());
        drop(a);
        assert!(OsVfs.try_lock(&p).unwrap().is_some());
    }

    #[test]
    fn map_refuses_short_files_and_reads_contents() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomic(&OsVfs, &p, b"hello world").unwrap();
        let f = OsVfs.open(&p, OpenMode::Read).unwrap();
        assert!(f.map(100).is_err());
        let m = f.map(11).unwrap();
        assert_eq!(&m[..], b"hello world");
        assert_eq!(m.as_ptr() as usize % crate::mapping::MAPPING_ALIGN, 0);
        assert!(OsVfs
            .list_dir(dir.path())
            .unwrap()
            .iter()
            .all(|e| e.name == "f"));
    }
}
