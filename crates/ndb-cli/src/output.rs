//! Writing a file a user names (`ndb export`'s FILE, the report paths `ndb bench` passes on):
//! the one place where the CLI creates output files, so every command follows the same rules.
//!
//! - Nothing is ever written inside a database directory: the target's real location (symbolic
//!   links and relative paths resolved) is compared with the database's, and refused with a
//!   usage error if it lies inside. An export over `db/c/MANIFEST` or a mapped segment would
//!   destroy the collection.
//! - A regular file (or a new path) is written to a temporary file beside it, created with
//!   `create_new` so nothing existing is touched, then fsync'ed, renamed over the target and the
//!   directory fsync'ed. On any error only the temporary file is removed: a failed re-export
//!   leaves the previous export as it was.
//! - A file that exists and is not a regular file (a FIFO, `/dev/stdout`, a character device)
//!   is written in place: never truncated, never unlinked.

use crate::error::{CliError, CliResult};
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};

/// How many temporary names are tried before giving up (each is created with `create_new`).
const TEMP_NAME_ATTEMPTS: u32 = 100;

/// Where the bytes go.
enum Target {
    /// An existing non-regular file, written in place.
    InPlace(PathBuf),
    /// A regular file (or a new one): written beside, then renamed to `path`.
    Replace {
        /// The real path (symbolic links resolved), so a link keeps pointing at the new file.
        path: PathBuf,
        dir: PathBuf,
        name: OsString,
        /// The permissions of the file being replaced, kept for its successor.
        permissions: Option<fs::Permissions>,
    },
}

/// Write `path` with `write`, by the rules in the module doc. `protect` lists database
/// directories the file must not be inside of.
pub fn write_file<T>(
    path: &Path,
    protect: &[&Path],
    write: impl FnOnce(&mut dyn Write) -> CliResult<T>,
) -> CliResult<T> {
    let target = resolve(path)?;
    let real = match &target {
        Target::InPlace(p) => fs::canonicalize(p).unwrap_or_else(|_| absolute(p)),
        Target::Replace { path, .. } => path.clone(),
    };
    for db in protect {
        refuse_inside(path, &real, db)?;
    }
    match target {
        Target::InPlace(p) => write_in_place(&p, write),
        Target::Replace {
            path: real,
            dir,
            name,
            permissions,
        } => write_replacing(path, &real, &dir, &name, permissions, write),
    }
}

/// Whether `path` is the process's standard output (`/dev/stdout`, `/dev/fd/1`, or the file
/// or pipe it is redirected to): writing it through a new handle would start at offset 0 and
/// collide with what the process prints, so the caller writes to standard output instead.
pub fn is_stdout(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::MetadataExt;
        let Ok(target) = fs::metadata(path) else {
            return false;
        };
        let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() else {
            return false;
        };
        File::from(fd)
            .metadata()
            .is_ok_and(|out| out.dev() == target.dev() && out.ino() == target.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Refuse `path` if it would be written inside the database directory `db` (usage error, so
/// a script sees exit code 2). For commands that hand the path to another program.
pub fn check_outside(path: &Path, db: &Path) -> CliResult<()> {
    let real = match resolve(path)? {
        Target::InPlace(p) => fs::canonicalize(&p).unwrap_or_else(|_| absolute(&p)),
        Target::Replace { path, .. } => path,
    };
    refuse_inside(path, &real, db)
}

fn refuse_inside(shown: &Path, real: &Path, db: &Path) -> CliResult<()> {
    let Ok(db_real) = fs::canonicalize(db) else {
        return Ok(()); // no database there (yet): nothing to protect
    };
    if real.starts_with(&db_real) {
        return Err(CliError::usage(format!(
            "refusing to write {}: it is inside the database directory {} (it would overwrite \
             the database's own files); write it outside the database",
            shown.display(),
            db.display()
        )));
    }
    Ok(())
}

/// Name the file in a write error (not in the silent exit of a closed pipe).
fn at(e: CliError, path: &Path) -> CliError {
    if e.msg.is_empty() {
        e
    } else {
        e.context(path.display())
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Find out what `path` is: an existing regular file, something else that exists, or a new
/// file in an existing directory.
fn resolve(path: &Path) -> CliResult<Target> {
    let cannot =
        |e: std::io::Error| CliError::fail(format!("cannot write {}: {e}", path.display()));
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(CliError::fail(format!(
            "cannot write {}: it is a directory",
            path.display()
        ))),
        Ok(m) if !m.is_file() || is_device_path(path) => Ok(Target::InPlace(path.to_path_buf())),
        Ok(m) => {
            let real = fs::canonicalize(path).map_err(cannot)?;
            let (dir, name) = split(&real, path)?;
            Ok(Target::Replace {
                path: real,
                dir,
                name,
                permissions: Some(m.permissions()),
            })
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if fs::symlink_metadata(path).is_ok() {
                return Err(CliError::fail(format!(
                    "cannot write {}: it is a symbolic link to a missing file",
                    path.display()
                )));
            }
            let (parent, name) = split(path, path)?;
            let dir = fs::canonicalize(&parent).map_err(|e| {
                CliError::fail(format!(
                    "cannot write {}: directory {}: {e}",
                    path.display(),
                    parent.display()
                ))
            })?;
            Ok(Target::Replace {
                path: dir.join(&name),
                dir,
                name,
                permissions: None,
            })
        }
        Err(e) => Err(cannot(e)),
    }
}

/// `/dev/stdout`, `/proc/self/fd/1` and the like name an open file of the process, which may be
/// a regular file (`> out.jsonl`): written in place, it receives the data; replaced, it would
/// be unlinked under the shell's redirection.
fn is_device_path(path: &Path) -> bool {
    path.starts_with("/dev") || path.starts_with("/proc")
}

/// The directory (`.` for a bare name) and the file name of `p`.
fn split(p: &Path, shown: &Path) -> CliResult<(PathBuf, OsString)> {
    let name = p
        .file_name()
        .ok_or_else(|| CliError::usage(format!("{} does not name a file", shown.display())))?;
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_os_string()))
}

fn write_in_place<T>(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> CliResult<T>,
) -> CliResult<T> {
    // No `create`, no `truncate`: a FIFO or a device is opened as it is.
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| CliError::fail(format!("cannot open {}: {e}", path.display())))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let value = write(&mut w).map_err(|e| at(e, path))?;
    w.flush().map_err(|e| CliError::io(path, e))?;
    Ok(value)
}

fn write_replacing<T>(
    shown: &Path,
    real: &Path,
    dir: &Path,
    name: &OsString,
    permissions: Option<fs::Permissions>,
    write: impl FnOnce(&mut dyn Write) -> CliResult<T>,
) -> CliResult<T> {
    let (temp, file) = create_temp(shown, dir, name)?;
    let result = (|| -> CliResult<T> {
        if let Some(p) = permissions {
            file.set_permissions(p)
                .map_err(|e| CliError::io(&temp, e))?;
        }
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let value = write(&mut w).map_err(|e| at(e, shown))?;
        let file = w
            .into_inner()
            .map_err(|e| CliError::io(shown, e.into_error()))?;
        file.sync_all().map_err(|e| CliError::io(shown, e))?;
        drop(file);
        fs::rename(&temp, real).map_err(|e| {
            CliError::fail(format!(
                "cannot rename {} to {}: {e}",
                temp.display(),
                real.display()
            ))
        })?;
        Ok(value)
    })();
    match result {
        Ok(value) => {
            // The rename is done; make it durable.
            File::open(dir).and_then(|d| d.sync_all()).map_err(|e| {
                CliError::fail(format!("cannot sync directory {}: {e}", dir.display()))
            })?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rm) = fs::remove_file(&temp) {
                return Err(e.context(format!(
                    "(the temporary file {} could not be removed: {rm})",
                    temp.display()
                )));
            }
            Err(e)
        }
    }
}

/// Create a new, unused temporary file in `dir` named after `name`.
fn create_temp(shown: &Path, dir: &Path, name: &OsString) -> CliResult<(PathBuf, File)> {
    let pid = std::process::id();
    let mut last = None;
    for attempt in 0..TEMP_NAME_ATTEMPTS {
        let mut temp_name = OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".ndb-tmp-{pid}-{attempt}"));
        let temp = dir.join(temp_name);
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(f) => return Ok((temp, f)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => {
                return Err(CliError::fail(format!(
                    "cannot write {}: cannot create a temporary file in {}: {e}",
                    shown.display(),
                    dir.display()
                )))
            }
        }
    }
    Err(CliError::fail(format!(
        "cannot write {}: no free temporary file name in {} ({})",
        shown.display(),
        dir.display(),
        last.map_or_else(String::new, |e| e.to_string())
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_text(path: &Path, protect: &[&Path], text: &str) -> CliResult<()> {
        write_file(path, protect, |w| {
            w.write_all(text.as_bytes())
                .map_err(|e| CliError::fail(e.to_string()))
        })
    }

    #[test]
    fn replaces_and_keeps_the_old_file_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("out.txt");
        write_text(&f, &[], "one").unwrap();
        write_text(&f, &[], "two").unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "two");
        let e = write_file(&f, &[], |w| {
            w.write_all(b"partial").unwrap();
            Err::<(), _>(CliError::fail("boom"))
        })
        .unwrap_err();
        assert!(e.msg.contains("boom"), "{e}");
        assert_eq!(fs::read_to_string(&f).unwrap(), "two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "the temporary file is removed");
    }

    #[test]
    fn refuses_paths_inside_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        fs::create_dir_all(db.join("c")).unwrap();
        fs::write(db.join("c").join("MANIFEST"), "keep").unwrap();
        let inside = db.join("c").join("MANIFEST");
        let e = write_text(&inside, &[&db], "x").unwrap_err();
        assert_eq!(e.code, crate::error::EXIT_USAGE);
        assert!(e.msg.contains("inside the database directory"), "{e}");
        // Through `..`, and through a symbolic link from outside.
        let sneaky = dir
            .path()
            .join("db")
            .join("..")
            .join("db")
            .join("new.jsonl");
        assert!(write_text(&sneaky, &[&db], "x").is_err());
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&inside, &link).unwrap();
            assert!(write_text(&link, &[&db], "x").is_err());
            let dir_link = dir.path().join("dlink");
            std::os::unix::fs::symlink(&db, &dir_link).unwrap();
            assert!(write_text(&dir_link.join("x.jsonl"), &[&db], "x").is_err());
        }
        assert_eq!(fs::read_to_string(&inside).unwrap(), "keep");
        write_text(&dir.path().join("ok.jsonl"), &[&db], "x").unwrap();
    }

    #[test]
    fn writes_through_a_symbolic_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        fs::write(&real, "old").unwrap();
        #[cfg(unix)]
        {
            let link = dir.path().join("link.txt");
            std::os::unix::fs::symlink(&real, &link).unwrap();
            write_text(&link, &[], "new").unwrap();
            assert!(fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink());
            assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        }
    }
}
