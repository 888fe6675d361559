//! Undoing a failed `import --create`: remove what this command created, and nothing else.

use crate::error::CliError;
use ndb::{Collection, Database};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The files `Database::open` puts in a new database directory (the manifest, its temporary
/// file while it is replaced, the lock file). Anything else found there is left alone.
fn is_database_file(name: &str) -> bool {
    name == "LOCK" || name.starts_with("MANIFEST")
}

/// What the database directory was before the command opened it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Before {
    /// Not there: the command creates it.
    Missing,
    /// An empty directory: the command fills it with a new database.
    Empty,
    /// Anything else: not the command's to remove.
    Other,
}

/// The database directory's state before the command, to undo a new database.
pub struct FreshDir {
    path: PathBuf,
    before: Before,
}

impl FreshDir {
    /// Note the state of `path` before it is opened.
    pub fn note(path: &Path) -> Self {
        let before = match fs::read_dir(path) {
            Ok(mut entries) => match entries.next() {
                None => Before::Empty,
                Some(_) => Before::Other,
            },
            Err(e) if e.kind() == ErrorKind::NotFound && fs::symlink_metadata(path).is_err() => {
                Before::Missing
            }
            Err(_) => Before::Other,
        };
        Self {
            path: path.to_path_buf(),
            before,
        }
    }

    /// After the command failed and closed the database: if it made a new database, remove
    /// the database's own files, and the directory if the command created it. Returns `e`,
    /// with a note if something could not be removed.
    pub fn undo(&self, mut e: CliError) -> CliError {
        if self.before == Before::Other {
            return e;
        }
        if let Err(why) = self.remove() {
            e.msg.push_str(&format!(
                "; the database directory {} it created was left: {why}",
                self.path.display()
            ));
        }
        e
    }

    fn remove(&self) -> Result<(), String> {
        let entries = match fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        let mut ours = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| e.to_string())?;
            let name = entry.file_name();
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            match name.to_str() {
                Some(n) if is_file && is_database_file(n) => ours.push(entry.path()),
                _ => return Err(format!("it holds {:?}", name)),
            }
        }
        for path in ours {
            fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        if self.before == Before::Missing {
            fs::remove_dir(&self.path).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Undo a failed import: drop the collection it created (with what was written to it), close
/// the database, then remove a database directory it created. Returns `e` with what was done.
pub fn undo(
    mut e: CliError,
    db: Database,
    name: &str,
    created: Option<Collection>,
    fresh: &FreshDir,
) -> CliError {
    if let Some(coll) = created {
        drop(coll);
        match db.drop_collection(name) {
            Ok(_) => e
                .msg
                .push_str(&format!("; the collection {name:?} it created was removed")),
            Err(why) => e.msg.push_str(&format!(
                "; the collection {name:?} it created could not be removed: {why}"
            )),
        }
    }
    drop(db);
    fresh.undo(e)
}
