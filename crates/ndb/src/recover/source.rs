//! The source database as salvage sees it: a file system that refuses every change, and what
//! its directories hold.

use crate::error::IoContext;
use crate::manifest::MANIFEST_FILE;
use crate::Result;
use ndb_storage::{DirEntry, LockGuard, Mapping, OpenMode, Vfs, VfsFile};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A file system through which nothing can be written, created, renamed, removed, synced or
/// locked: salvage reads the source only through it, so it cannot change the source even by
/// mistake. Files are opened read-only (`O_RDONLY` on the real file system).
#[derive(Debug)]
pub(super) struct ReadOnlyVfs(pub Arc<dyn Vfs>);

fn refused(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{what} refused: recover never changes the source database"),
    )
}

impl Vfs for ReadOnlyVfs {
    fn create_dir_all(&self, _: &Path) -> io::Result<()> {
        Err(refused("creating a directory"))
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        self.0.list_dir(path)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.0.exists(path)
    }
    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        self.0.is_dir(path)
    }
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Box<dyn VfsFile>> {
        match mode {
            OpenMode::Read => Ok(Box::new(ReadOnlyFile(self.0.open(path, mode)?))),
            _ => Err(refused("opening a file for writing")),
        }
    }
    fn rename(&self, _: &Path, _: &Path) -> io::Result<()> {
        Err(refused("renaming"))
    }
    fn remove_file(&self, _: &Path) -> io::Result<()> {
        Err(refused("removing a file"))
    }
    fn remove_dir_all(&self, _: &Path) -> io::Result<()> {
        Err(refused("removing a directory"))
    }
    fn sync_dir(&self, _: &Path) -> io::Result<()> {
        Err(refused("syncing a directory"))
    }
    fn try_lock(&self, _: &Path) -> io::Result<Option<Box<dyn LockGuard>>> {
        Err(refused("locking"))
    }
}

/// A file of the source: reads only.
#[derive(Debug)]
struct ReadOnlyFile(Box<dyn VfsFile>);

impl VfsFile for ReadOnlyFile {
    fn len(&self) -> io::Result<u64> {
        self.0.len()
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.0.read_exact_at(buf, offset)
    }
    fn write_all_at(&self, _: &[u8], _: u64) -> io::Result<()> {
        Err(refused("writing"))
    }
    fn set_len(&self, _: u64) -> io::Result<()> {
        Err(refused("truncating"))
    }
    fn sync_data(&self) -> io::Result<()> {
        Err(refused("syncing"))
    }
    fn sync_all(&self) -> io::Result<()> {
        Err(refused("syncing"))
    }
    fn map(&self, len: u64) -> io::Result<Mapping> {
        self.0.map(len)
    }
}

/// Read a whole file of the source; `Ok(None)` if it does not exist.
pub(super) fn read_if_exists(vfs: &dyn Vfs, path: &Path) -> Result<Option<Vec<u8>>> {
    match vfs.open(path, OpenMode::Read) {
        Ok(f) => f.read_all().map(Some).at(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::Error::io(path, e)),
    }
}

/// The length of a file of the source (0 if it cannot be read: for reports only).
pub(super) fn file_len(vfs: &dyn Vfs, path: &Path) -> u64 {
    vfs.open(path, OpenMode::Read)
        .and_then(|f| f.len())
        .unwrap_or(0)
}

/// The directories of `db` that look like collections: a valid collection name, and a
/// manifest, a `segments` directory or a WAL file inside.
pub(super) fn collection_dirs(vfs: &dyn Vfs, db: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in vfs.list_dir(db).at(db)? {
        if !entry.is_dir || crate::database::validate_collection_name(&entry.name).is_err() {
            continue;
        }
        let dir = db.join(&entry.name);
        // A directory that cannot be listed cannot be salvaged either.
        let Ok(inside) = vfs.list_dir(&dir) else {
            continue;
        };
        let ours = inside.iter().any(|e| {
            e.name == MANIFEST_FILE
                || (e.is_dir && e.name == crate::collection::SEGMENTS_DIR_NAME)
                || (!e.is_dir && parse_wal_name(&e.name).is_some())
        });
        if ours {
            names.push(entry.name);
        }
    }
    names.sort();
    Ok(names)
}

/// The generation of a WAL file name (`wal-GGGGGG.log`).
pub(super) fn parse_wal_name(name: &str) -> Option<u64> {
    digits(name.strip_prefix("wal-")?.strip_suffix(".log")?)
}

/// The id of a segment file name (`SSSSSS.ndb`).
pub(super) fn parse_segment_name(name: &str) -> Option<u64> {
    digits(name.strip_suffix(".ndb")?)
}

/// The segment id and generation of a sidecar file name (`SSSSSS-GGGGGG.<ext>`).
pub(super) fn parse_sidecar_name(name: &str, ext: &str) -> Option<(u64, u64)> {
    let stem = name.strip_suffix(ext)?.strip_suffix('.')?;
    let (seg, gen) = stem.split_once('-')?;
    Some((digits(seg)?, digits(gen)?))
}

/// A number written as nDB writes them in file names: at least 6 decimal digits.
fn digits(s: &str) -> Option<u64> {
    let ok = s.len() >= 6 && s.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| s.parse().ok())
        .flatten()
        .filter(|&n| n <= crate::manifest::COUNTER_MAX)
}

/// `path` relative to the database directory `db`, for reports.
pub(super) fn relative(db: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(db).unwrap_or(path).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndb_storage::SimVfs;

    #[test]
    fn nothing_can_be_changed_through_it() {
        let sim = SimVfs::new(0);
        sim.create_dir_all(Path::new("/d")).unwrap();
        let f = sim.open(Path::new("/d/f"), OpenMode::CreateNew).unwrap();
        f.write_all_at(b"abc", 0).unwrap();
        drop(f);
        let ro = ReadOnlyVfs(Arc::new(sim.clone()));
        let p = Path::new("/d/f");
        for mode in [
            OpenMode::ReadWrite,
            OpenMode::CreateNew,
            OpenMode::CreateTruncate,
            OpenMode::OpenOrCreate,
        ] {
            assert!(ro.open(p, mode).is_err());
        }
        let f = ro.open(p, OpenMode::Read).unwrap();
        assert!(f.write_all_at(b"x", 0).is_err() && f.set_len(0).is_err());
        assert!(f.sync_data().is_err() && f.sync_all().is_err());
        assert_eq!(f.read_all().unwrap(), b"abc");
        assert!(ro.create_dir_all(Path::new("/d/x")).is_err());
        assert!(ro.rename(p, Path::new("/d/g")).is_err());
        assert!(ro.remove_file(p).is_err() && ro.remove_dir_all(Path::new("/d")).is_err());
        assert!(ro.sync_dir(Path::new("/d")).is_err());
        assert!(ro.try_lock(Path::new("/d/LOCK")).is_err());
        assert_eq!(sim.volatile_contents(p).unwrap(), b"abc");
    }

    #[test]
    fn file_names() {
        assert_eq!(parse_wal_name("wal-000003.log"), Some(3));
        assert_eq!(parse_wal_name("wal-3.log"), None);
        assert_eq!(parse_segment_name("000012.ndb"), Some(12));
        assert_eq!(parse_segment_name("000012.ndb.tmp"), None);
        assert_eq!(
            parse_sidecar_name("000012-000004.del", "del"),
            Some((12, 4))
        );
        assert_eq!(parse_sidecar_name("000012-000004.del", "hnsw"), None);
        assert_eq!(parse_sidecar_name("000012.del", "del"), None);
    }
}
