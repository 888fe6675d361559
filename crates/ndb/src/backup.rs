//! Online backup: [`Database::backup`] writes a consistent copy of every collection into a new
//! directory while readers and writers go on (ADR 0013).
//!
//! The copy is assembled in a staging directory beside the destination,
//! `.<dest name>.ndb-backup`, which holds a marker file from its creation, and renamed to the
//! destination only when every file in it is durable; the marker is removed after the rename.
//! A crash leaves no unfinished directory under the destination's name, and the next backup
//! to the same destination removes the staging directory it can prove is its own (by the
//! marker).

use crate::error::IoContext;
use crate::manifest::{self, DatabaseManifest};
use crate::{Database, Error, Result};
use ndb_storage::Vfs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The marker of an incomplete backup, and its exact contents.
const MARKER: &str = "BACKUP-INCOMPLETE";
const MARKER_TEXT: &[u8] = b"nDB backup marker. In a directory named .<name>.ndb-backup: an \
unfinished backup, which may be removed. In a backup under its final name: the backup finished \
(every file was durable before the rename) and only this file was left; remove it.\n";

/// What [`Database::backup`] did.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct BackupStats {
    /// The new database directory.
    pub dest: PathBuf,
    /// Collections copied.
    pub collections: usize,
    /// Immutable files (segments, deletion, graph and payload index files) hard-linked.
    pub files_linked: u64,
    /// Files copied (WAL files, and immutable files where hard links are not possible).
    pub files_copied: u64,
    /// Bytes copied.
    pub bytes_copied: u64,
    /// Time the backup took.
    pub duration: Duration,
}

impl Database {
    /// Write a consistent, point-in-time copy of every collection into `dest`, a new directory
    /// (or an empty one), while other threads go on reading and writing: each collection is
    /// copied as of one moment during the call (every write acknowledged before the call began
    /// is in it, nothing half-written is), holding its manifest lock only while its files are
    /// hard-linked (copied where the file system has no hard links) and its write-ahead log is
    /// copied. The copy is durable when this returns and is an ordinary database for
    /// [`Database::open`] and `ndb verify`; a crash during the backup leaves the source
    /// untouched and no directory at `dest`.
    ///
    /// Needs the writer handle (the read-only one cannot see the log's end).
    ///
    /// ```
    /// use ndb::{CollectionConfig, Database, Document};
    /// # let dir = tempfile::tempdir()?;
    /// let db = Database::open(dir.path().join("data"))?;
    /// let c = db.create_collection("c", CollectionConfig::new(2))?;
    /// c.insert(Document::new("a", vec![1.0, 0.0]))?;
    /// let stats = db.backup(dir.path().join("backup"))?;
    /// assert_eq!(stats.collections, 1);
    /// let copy = Database::open(dir.path().join("backup"))?;
    /// assert!(copy.get_collection("c")?.get("a")?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn backup(&self, dest: impl AsRef<Path>) -> Result<BackupStats> {
        let started = Instant::now();
        if self.is_read_only() {
            return Err(Error::ReadOnly);
        }
        let vfs = &**self.vfs();
        let dest = absolute(dest.as_ref())?;
        check_dest(vfs, self.path(), &dest)?;
        let staging = staging_for(&dest)?;
        prepare_staging(vfs, &staging)?;
        let mut stats = BackupStats {
            dest: dest.clone(),
            ..BackupStats::default()
        };
        let names = self.collection_names()?;
        for name in &names {
            let copied = self
                .get_collection(name)?
                .backup_into(&staging.join(name))?;
            stats.collections += 1;
            stats.files_linked += copied.files_linked;
            stats.files_copied += copied.files_copied;
            stats.bytes_copied += copied.bytes_copied;
        }
        let manifest = DatabaseManifest { collections: names };
        // Syncs the staging directory (the collection directories' names included).
        manifest::write_database(vfs, &staging, &manifest)?;
        crate::failpoint::hit("backup.rename.before");
        vfs.rename(&staging, &dest).at(&dest)?;
        let parent = parent_of(&dest)?;
        vfs.sync_dir(parent).at(parent)?;
        // Complete and durable under its name; the marker goes last, so that a staging
        // directory is always provably ours.
        let marker = dest.join(MARKER);
        vfs.remove_file(&marker).at(&marker)?;
        vfs.sync_dir(&dest).at(&dest)?;
        stats.duration = started.elapsed();
        Ok(stats)
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).at(path)
}

fn parent_of(dest: &Path) -> Result<&Path> {
    dest.parent().ok_or_else(|| {
        Error::invalid(format!(
            "backup destination {} has no parent",
            dest.display()
        ))
    })
}

/// `dest` must be new or an empty directory, and not inside the database.
fn check_dest(vfs: &dyn Vfs, source: &Path, dest: &Path) -> Result<()> {
    let source = absolute(source)?;
    if dest.starts_with(&source) || source.starts_with(dest) {
        return Err(Error::invalid(format!(
            "backup destination {} overlaps the database {}",
            dest.display(),
            source.display()
        )));
    }
    if vfs.exists(dest).at(dest)? {
        let empty_dir = vfs.is_dir(dest).at(dest)? && vfs.list_dir(dest).at(dest)?.is_empty();
        if !empty_dir {
            return Err(Error::DestinationNotEmpty {
                path: dest.to_path_buf(),
            });
        }
    }
    Ok(())
}

fn staging_for(dest: &Path) -> Result<PathBuf> {
    let name = dest.file_name().ok_or_else(|| {
        Error::invalid(format!("backup destination {} has no name", dest.display()))
    })?;
    let mut staging = std::ffi::OsString::from(".");
    staging.push(name);
    staging.push(".ndb-backup");
    Ok(parent_of(dest)?.join(staging))
}

/// Create the staging directory with its marker (durable before anything is copied), first
/// removing an earlier backup's leftover if it is provably one: its marker is intact, or it
/// holds nothing but (a temporary file of) the marker, as a crash while writing the marker
/// leaves it.
fn prepare_staging(vfs: &dyn Vfs, staging: &Path) -> Result<()> {
    if vfs.exists(staging).at(staging)? {
        let marker = staging.join(MARKER);
        let marked = vfs
            .open(&marker, ndb_storage::OpenMode::Read)
            .and_then(|f| f.read_all())
            .is_ok_and(|bytes| bytes == MARKER_TEXT);
        let only_marker = vfs
            .list_dir(staging)
            .at(staging)?
            .iter()
            .all(|e| !e.is_dir && e.name.starts_with(MARKER));
        if !marked && !only_marker {
            return Err(Error::DestinationNotEmpty {
                path: staging.to_path_buf(),
            });
        }
        vfs.remove_dir_all(staging).at(staging)?;
    }
    vfs.create_dir_all(staging).at(staging)?;
    let marker = staging.join(MARKER);
    ndb_storage::write_atomic(vfs, &marker, MARKER_TEXT).at(&marker)?;
    let parent = staging.parent().unwrap_or(Path::new("."));
    vfs.sync_dir(parent).at(parent)?;
    Ok(())
}
