//! What nDB may remove: proof that a directory or file in a database is nDB's own.
//!
//! nDB removes, truncates or overwrites only what it can prove it created. A database directory
//! may also hold the user's own files and directories (a backup, notes, a copy of a collection);
//! those are never touched, only reported ([`crate::Database::foreign_entries`]). The proofs:
//!
//! - A collection directory that the database manifest does not name is removed only if it holds
//!   the [`MARKER_FILE`] with nDB's exact contents. `create_collection` puts the marker in a new
//!   collection before the manifest names it (and removes it once it does); `drop_collection`
//!   writes it before the manifest stops naming the collection. A crash in either leaves a
//!   marked directory that the next writer open removes.
//! - A new collection is assembled in a staging directory, [`staging_dir_name`] (a name no
//!   collection can have), and renamed into place once its marker and manifest are durable, so a
//!   collection directory is never visible without its marker. A staging directory is removed
//!   only while it holds nothing but what `create_collection` puts there.
//! - Inside a collection, files are removed as garbage only when their names are ones nDB gives
//!   (segments, deletion, graph and payload-index files, WAL generations, temporary files).

use crate::error::IoContext;
use crate::manifest::MANIFEST_FILE;
use crate::Result;
use ndb_storage::{OpenMode, Vfs};
use std::path::Path;

/// The marker of a collection directory that is not (or no longer) part of its database.
pub(crate) const MARKER_FILE: &str = "UNCOMMITTED";

/// The marker's exact contents: a file of that name with other contents proves nothing.
const MARKER_CONTENTS: &[u8] = b"nDB: this collection directory is not part of its database \
(an unfinished create_collection or drop_collection); the next writer open removes it.\n";

/// The suffix of staging directories (`.<name>.ndb-creating`).
const STAGING_SUFFIX: &str = ".ndb-creating";

/// The staging directory in which the collection `name` is assembled before it is renamed into
/// place. Collection names cannot contain dots, so no collection has this name.
pub(crate) fn staging_dir_name(name: &str) -> String {
    format!(".{name}{STAGING_SUFFIX}")
}

/// Whether `entry` is named like a staging directory.
pub(crate) fn is_staging_name(entry: &str) -> bool {
    entry.starts_with('.') && entry.ends_with(STAGING_SUFFIX) && entry.len() > 14
}

/// Write the marker into `dir` and make it durable (the file; the caller syncs `dir`).
pub(crate) fn write_marker(vfs: &dyn Vfs, dir: &Path) -> Result<()> {
    let path = dir.join(MARKER_FILE);
    let file = vfs.open(&path, OpenMode::CreateTruncate).at(&path)?;
    file.write_all_at(MARKER_CONTENTS, 0).at(&path)?;
    file.sync_all().at(&path)
}

/// Whether `dir` holds the marker with nDB's contents.
pub(crate) fn has_marker(vfs: &dyn Vfs, dir: &Path) -> Result<bool> {
    let path = dir.join(MARKER_FILE);
    if !vfs.exists(&path).at(&path)? || vfs.is_dir(&path).at(&path)? {
        return Ok(false);
    }
    let file = vfs.open(&path, OpenMode::Read).at(&path)?;
    if file.len().at(&path)? != MARKER_CONTENTS.len() as u64 {
        return Ok(false);
    }
    Ok(file.read_all().at(&path)? == MARKER_CONTENTS)
}

/// Remove the marker from a collection the database manifest names. Not synced: a marker that
/// comes back after a power loss is in a named collection, where it means nothing and is removed
/// again at the next writer open.
pub(crate) fn remove_marker(vfs: &dyn Vfs, dir: &Path) {
    let path = dir.join(MARKER_FILE);
    if let Err(e) = vfs.remove_file(&path) {
        log::warn!("could not remove {}: {e}", path.display());
    }
}

/// Whether the staging directory `dir` holds only what `create_collection` puts there: the
/// marker, the collection manifest (or its temporary file) and an empty `segments` directory.
pub(crate) fn is_staging_leftover(vfs: &dyn Vfs, dir: &Path) -> Result<bool> {
    let segments = crate::collection::SEGMENTS_DIR_NAME;
    let manifest_tmp = format!("{MANIFEST_FILE}.tmp");
    for e in vfs.list_dir(dir).at(dir)? {
        let ours = match e.is_dir {
            true => e.name == segments && vfs.list_dir(&dir.join(segments)).at(dir)?.is_empty(),
            false => e.name == MARKER_FILE || e.name == MANIFEST_FILE || e.name == manifest_tmp,
        };
        if !ours {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether `name` is one nDB gives a file inside a collection's `segments` directory:
/// `NNNNNN.ndb` or `NNNNNN-GGGGGG.{del,hnsw,pidx}`, optionally with `.tmp` appended.
pub(crate) fn is_segments_file_name(name: &str) -> bool {
    let name = name.strip_suffix(".tmp").unwrap_or(name);
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    let digits = |s: &str| s.len() >= 6 && s.bytes().all(|b| b.is_ascii_digit());
    match ext {
        "ndb" => digits(stem),
        "del" | "hnsw" | "pidx" | "codes" => stem
            .split_once('-')
            .is_some_and(|(a, b)| digits(a) && digits(b)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndb_storage::SimVfs;

    #[test]
    fn segment_file_names_are_recognised_and_nothing_else() {
        for ok in [
            "000001.ndb",
            "000012-000003.del",
            "000001-000002.hnsw",
            "000003-000004.codes",
            "1234567-000001.pidx",
        ] {
            assert!(is_segments_file_name(ok), "{ok}");
            assert!(is_segments_file_name(&format!("{ok}.tmp")), "{ok}.tmp");
        }
        for no in [
            "notes.txt",
            "1.ndb",
            "000001.NDB",
            "000001-x.del",
            "backup",
            "000001.ndb.bak",
            "",
        ] {
            assert!(!is_segments_file_name(no), "{no}");
        }
    }

    #[test]
    fn staging_names_cannot_be_collection_names() {
        let s = staging_dir_name("docs");
        assert!(is_staging_name(&s));
        assert!(crate::database::validate_collection_name(&s).is_err());
        assert!(!is_staging_name(".ndb-creating"));
    }

    #[test]
    fn only_the_exact_marker_counts() {
        let sim = SimVfs::new(1);
        let dir = Path::new("/d");
        sim.create_dir_all(dir).unwrap();
        assert!(!has_marker(&sim, dir).unwrap());
        let f = sim
            .open(&dir.join(MARKER_FILE), OpenMode::CreateNew)
            .unwrap();
        f.write_all_at(b"user notes", 0).unwrap();
        assert!(!has_marker(&sim, dir).unwrap());
        write_marker(&sim, dir).unwrap();
        assert!(has_marker(&sim, dir).unwrap());
        remove_marker(&sim, dir);
        assert!(!has_marker(&sim, dir).unwrap());
    }
}
