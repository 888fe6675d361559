//! Salvage: copy every document that can still be read from a damaged database into a new one,
//! and report what was lost (ADR 0010).
//!
//! Opening a damaged database stops at the first checksum that fails; salvage goes past damage
//! with the same decoders, at the level where each still proves what it returns:
//!
//! - **Segments** (`segments.rs`, `Segment::open_for_salvage`): a version 2 segment is read row
//!   by row, each row returned only after its row checksum (over id, payload and vector)
//!   matched, so damaged ids, offsets or a damaged header cost only the rows they touch (a
//!   damaged header is replaced by the writer's layout). Rows known to be deleted are skipped.
//! - **Deletion files**: a damaged one leaves its segment's deletion state unknown: its rows
//!   are recovered and the report says that deleted documents may have reappeared.
//! - **WAL** (`wal.rs`): records are read past a damaged one, resuming at the next valid record
//!   as recovery's resynchronisation finds it; sequence numbers around a gap say how many
//!   records were lost.
//! - **Manifests** (`collection.rs`): a lost database manifest is replaced by the directories
//!   that look like collections; a lost collection manifest by every segment file present (its
//!   newest deletion file) and every WAL record, the configuration inferred from the data.
//! - **Graphs and payload indexes** are derived data: checked and reported, never needed.
//!
//! The newest readable version of each document wins: WAL records over segments (in sequence
//! order, deletions honoured), a segment row known to be live over one whose deletion state is
//! unknown, otherwise the higher segment id. The source is read only through
//! [`source::ReadOnlyVfs`], which refuses every change; the new database is created and filled
//! through the public API (`Database::open`, `create_collection`, `insert_batch`, `flush`).

mod collection;
mod load;
mod report;
mod segments;
mod source;
mod wal;

pub use report::{CollectionRecovery, Damage, FileKind, FileRecovery, RecoverReport};

use crate::error::IoContext;
use crate::manifest::{self, MANIFEST_FILE};
use crate::{Database, Error, Result};
use ndb_storage::{OsVfs, Vfs};
use report::{Damage as DamageEntry, FileRecovery as FileEntry};
use source::ReadOnlyVfs;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Where the newest readable version of a document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Winner {
    /// Row `row` of the `segment`-th opened segment; `certain`: the segment's deletion state
    /// was read and says the row is live.
    Row {
        segment: usize,
        row: u32,
        certain: bool,
    },
    /// The `n`-th document of the collection's WAL put records.
    Wal(usize),
}

/// What an error says went wrong, without the file (a report names the file already).
fn reason_of(e: &Error) -> String {
    match e {
        Error::Corruption { reason, .. } => reason.clone(),
        Error::Io { source, .. } => format!("I/O error: {source}"),
        other => other.to_string(),
    }
}

/// Copy every document that can still be read from the database at `src`, damaged or not,
/// into a new database at `dest`, and report per collection and per file what was read and
/// what was lost (rows, byte ranges, WAL records) and why.
///
/// The source is never written, locked or otherwise changed: its files are opened read-only,
/// through a file layer that refuses every change. Run it on a copy, or while no process
/// writes to the source. `dest` must not exist or must be an empty directory
/// ([`Error::DestinationNotEmpty`] otherwise, and nothing is written), and must not lie inside
/// `src`. The new database is an ordinary one, created through the public API: each collection
/// gets its configuration from its manifest (inferred from the data when the manifest is lost;
/// the report says how), its documents are written with `insert_batch`, and it is flushed
/// (durable, with its graphs). Cosine vectors, stored normalized, are normalized again on
/// insert, which can change their last bit.
///
/// Of several versions of a document the newest readable one wins: the WAL over segments,
/// newer segments over older ones; deletions are honoured where they can be read, and the
/// report says where they could not (a deleted document may then reappear). A document whose
/// newest version is damaged is lost, not replaced by an older version.
///
/// Errors: `src` is not a directory or holds nothing that looks like a database
/// ([`Error::NotADatabase`]); `dest` is not new and empty; an error writing `dest` (which then
/// holds what was written so far). Damage in the source is never an error: it is reported.
///
/// ```
/// use ndb::{CollectionConfig, Database, Document};
/// # let dir = tempfile::tempdir()?;
/// # let src = dir.path().join("data");
/// # let db = Database::open(&src)?;
/// # db.create_collection("docs", CollectionConfig::new(2))?.insert(Document::new("a", vec![1.0, 0.0]))?;
/// # drop(db);
/// let report = ndb::recover(&src, dir.path().join("salvaged"))?;
/// println!("{report}");
/// let salvaged = Database::open(dir.path().join("salvaged"))?;
/// assert!(salvaged.get_collection("docs")?.get("a")?.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn recover(src: impl AsRef<Path>, dest: impl AsRef<Path>) -> Result<RecoverReport> {
    let (src, dest) = (src.as_ref(), dest.as_ref());
    let vfs = ReadOnlyVfs(Arc::new(OsVfs));
    check_source(&vfs, src)?;
    check_dest(&OsVfs, src, dest)?;
    let (files, names, notes) = survey(&vfs, src)?;
    let db = Database::open(dest)?;
    let mut report = RecoverReport {
        source: src.to_path_buf(),
        dest: dest.to_path_buf(),
        files,
        collections: Vec::with_capacity(names.len()),
        notes,
    };
    for name in names {
        match collection::salvage(&vfs, src, &name) {
            Ok(salvaged) => report.collections.push(salvaged.write_into(&db)?),
            // The directory itself could not be listed or read.
            Err(e) => report
                .notes
                .push(format!("collection {name:?} could not be read at all: {e}")),
        }
    }
    Ok(report)
}

fn check_source(vfs: &dyn Vfs, src: &Path) -> Result<()> {
    if vfs.is_dir(src).at(src)? {
        return Ok(());
    }
    let reason = if vfs.exists(src).at(src)? {
        "it is not a directory"
    } else {
        "it does not exist"
    };
    Err(Error::NotADatabase {
        path: src.to_path_buf(),
        reason: reason.into(),
    })
}

/// `dest` must be new or an empty directory, outside `src`.
fn check_dest(vfs: &dyn Vfs, src: &Path, dest: &Path) -> Result<()> {
    if vfs.exists(dest).at(dest)?
        && (!vfs.is_dir(dest).at(dest)? || !vfs.list_dir(dest).at(dest)?.is_empty())
    {
        return Err(Error::DestinationNotEmpty {
            path: dest.to_path_buf(),
        });
    }
    let src_real = std::fs::canonicalize(src).at(src)?;
    if resolved(dest)?.starts_with(&src_real) {
        return Err(Error::invalid(format!(
            "the destination {} lies inside the source database {}: recover never writes into the source",
            dest.display(),
            src.display()
        )));
    }
    Ok(())
}

/// `path` with its longest existing prefix resolved (symbolic links, `..`), the rest appended.
fn resolved(path: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(path).at(path)?;
    let mut rest = Vec::new();
    let mut base = absolute.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(base) {
            let mut out = real;
            for c in rest.iter().rev() {
                match c {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(s) => out.push(s),
                    _ => {}
                }
            }
            return Ok(out);
        }
        match (base.parent(), base.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                base = parent;
            }
            _ => return Ok(absolute),
        }
    }
}

/// The database manifest's report, the collections to salvage (named by the manifest, or the
/// directories that look like collections when it is lost) and notes.
fn survey(vfs: &dyn Vfs, src: &Path) -> Result<(Vec<FileEntry>, Vec<String>, Vec<String>)> {
    let path = src.join(MANIFEST_FILE);
    let mut file = FileEntry::new(PathBuf::from(MANIFEST_FILE), FileKind::DatabaseManifest);
    let found = source::collection_dirs(vfs, src)?;
    let mut notes = Vec::new();
    let names = match manifest::read_database(vfs, src) {
        Ok(Some(m)) => {
            let unnamed: Vec<&str> = found
                .iter()
                .filter(|n| !m.collections.contains(n))
                .map(String::as_str)
                .collect();
            if !unnamed.is_empty() {
                notes.push(format!(
                    "not named by the database manifest, so not recovered (a collection dropped, \
                     or not yet created, when a crash came; or a copy of the user's): {}",
                    unnamed.join(", ")
                ));
            }
            let mut names = m.collections;
            names.sort();
            names
        }
        read => {
            let reason = match read {
                Ok(_) if found.is_empty() => {
                    return Err(Error::NotADatabase {
                        path: src.to_path_buf(),
                        reason: "no MANIFEST file and no collection directories".into(),
                    })
                }
                Ok(_) => "missing".to_string(),
                Err(e) => reason_of(&e),
            };
            file.damage.push(DamageEntry::new(
                0..source::file_len(vfs, &path),
                format!(
                    "{reason}: the collections recovered are the directories that look like \
                     collections"
                ),
            ));
            for name in &found {
                if crate::ownership::has_marker(vfs, &src.join(name)).unwrap_or(false) {
                    notes.push(format!(
                        "{name} holds the UNCOMMITTED marker: it was being created or dropped \
                         when the database manifest was lost. It was recovered anyway: drop it \
                         if it was being dropped"
                    ));
                }
            }
            found
        }
    };
    Ok((vec![file], names, notes))
}
