//! nDB removes only what it can prove it created: the user's own files and directories inside a
//! database directory survive every open, create and drop, and are reported as foreign; what an
//! unfinished create or drop left is removed.

mod common;
use common::copy_dir;

use ndb::testing::{CrashMode, Fault, SimVfs, Vfs};
use ndb::{CollectionConfig, Database, Document, Error};
use ndb_storage::OpenMode;
use std::fs;
use std::path::Path;
use std::sync::Arc;

fn config() -> CollectionConfig {
    CollectionConfig::new(2)
}

/// A database in `<tmp>/db` with collection "c" holding one flushed document, closed.
fn one_flushed_collection() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Database::open(&path).unwrap();
    let c = db.create_collection("c", config()).unwrap();
    c.insert(Document::new("a", vec![1.0, 0.0])).unwrap();
    c.flush().unwrap();
    (dir, path)
}

fn user_dir(db: &Path, name: &str) {
    fs::create_dir_all(db.join(name)).unwrap();
    fs::write(db.join(name).join("file.txt"), b"important").unwrap();
}

fn assert_user_dir(db: &Path, name: &str) {
    let got = fs::read(db.join(name).join("file.txt"))
        .unwrap_or_else(|e| panic!("{name}/file.txt is gone: {e}"));
    assert_eq!(got, b"important");
}

#[test]
fn a_writer_open_keeps_the_users_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Database::open(&path).unwrap();
    db.create_collection("c", config()).unwrap();
    user_dir(&path, "backup");
    user_dir(&path, ".hidden-stuff");
    fs::write(path.join("notes.txt"), b"mine").unwrap();
    db.create_collection("other", config()).unwrap();
    drop(db);
    let db = Database::open(&path).unwrap();
    db.create_collection("third", config()).unwrap();
    db.drop_collection("other").unwrap();
    drop(db);
    let db = Database::open(&path).unwrap();
    assert_user_dir(&path, "backup");
    assert_user_dir(&path, ".hidden-stuff");
    assert_eq!(fs::read(path.join("notes.txt")).unwrap(), b"mine");
    assert_eq!(
        db.foreign_entries().unwrap(),
        vec![
            path.join(".hidden-stuff"),
            path.join("backup"),
            path.join("notes.txt")
        ]
    );
    assert_eq!(db.collection_names().unwrap(), vec!["c", "third"]);
    let ro = Database::open_read_only(&path).unwrap();
    assert_eq!(ro.foreign_entries().unwrap().len(), 3);
}

#[test]
fn creating_over_a_foreign_directory_is_an_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Database::open(&path).unwrap();
    user_dir(&path, "docs");
    let err = db.create_collection("docs", config()).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("not made by nDB")),
        "{err}"
    );
    assert_user_dir(&path, "docs");
    assert!(!db.has_collection("docs").unwrap());
    // A file in the way is refused too.
    fs::write(path.join("plain"), b"x").unwrap();
    assert!(db.create_collection("plain", config()).is_err());
    assert_eq!(fs::read(path.join("plain")).unwrap(), b"x");
}

#[test]
fn a_copy_of_a_collection_directory_is_the_users() {
    let (_dir, path) = one_flushed_collection();
    copy_dir(&path.join("c"), &path.join("c-copy"));
    let db = Database::open(&path).unwrap();
    db.create_collection("x", config()).unwrap();
    assert!(path.join("c-copy").join("MANIFEST").exists());
    assert_eq!(db.foreign_entries().unwrap(), vec![path.join("c-copy")]);
}

#[test]
fn garbage_collection_inside_a_collection_spares_foreign_files() {
    let (_dir, path) = one_flushed_collection();
    fs::write(path.join("c").join("README"), b"mine").unwrap();
    fs::write(path.join("c/segments/notes.txt"), b"mine").unwrap();
    // nDB's own leftovers: an unnamed segment file is garbage.
    fs::write(path.join("c/segments/000099.ndb"), b"half").unwrap();
    let db = Database::open(&path).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(c.get("a").unwrap().unwrap().vector, vec![1.0, 0.0]);
    assert!(path.join("c/README").exists());
    assert!(path.join("c/segments/notes.txt").exists());
    assert!(!path.join("c/segments/000099.ndb").exists());
}

#[test]
fn a_staging_leftover_is_removed_but_not_a_users_directory_of_that_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Database::open(&path).unwrap();
    // A create that crashed before its rename leaves only what nDB puts in a staging directory.
    fs::create_dir_all(path.join(".new.ndb-creating/segments")).unwrap();
    drop(db);
    let db = Database::open(&path).unwrap();
    assert!(!path.join(".new.ndb-creating").exists());
    assert!(db.foreign_entries().unwrap().is_empty());
    // A staging-named directory holding the user's files stays, and blocks that name.
    user_dir(&path, ".x.ndb-creating");
    drop(db);
    let db = Database::open(&path).unwrap();
    assert_user_dir(&path, ".x.ndb-creating");
    assert!(db.create_collection("x", config()).is_err());
    assert_user_dir(&path, ".x.ndb-creating");
}

/// A drop or create interrupted at each of its syncs by a crash (process kill or power loss):
/// after a reopen the collection is either whole or gone without a trace, and the user's
/// directory beside it is untouched.
#[test]
fn an_interrupted_drop_or_create_leaves_no_trace_and_spares_user_files() {
    for crash in [CrashMode::ProcessKill, CrashMode::PowerLoss] {
        for creating in [false, true] {
            let mut syncs = None;
            for k in 0.. {
                let ctx = format!("{crash:?} creating={creating} at sync {k}");
                let sim = SimVfs::new(k + 11);
                let open =
                    |sim: &SimVfs| Database::open_with_vfs("/db", Arc::new(sim.clone()), false);
                let db = open(&sim).unwrap();
                sim.create_dir_all(Path::new("/db/backup")).unwrap();
                let f = sim
                    .open(Path::new("/db/backup/f"), OpenMode::CreateNew)
                    .unwrap();
                f.write_all_at(b"important", 0).unwrap();
                f.sync_all().unwrap();
                sim.sync_dir(Path::new("/db/backup")).unwrap();
                sim.sync_dir(Path::new("/db")).unwrap();
                if !creating {
                    let c = db.create_collection("c", config()).unwrap();
                    c.insert(Document::new("a", vec![1.0, 0.0])).unwrap();
                    c.sync().unwrap();
                }
                let before = sim.sync_count();
                if syncs.is_some() {
                    sim.inject(Fault::CrashAtSync { after: k - 1 });
                }
                let r = if creating {
                    db.create_collection("c", config()).map(|_| ())
                } else {
                    db.drop_collection("c").map(|_| ())
                };
                let made = sim.sync_count() - before;
                let n = *syncs.get_or_insert(made);
                drop(db);
                sim.crash(crash);
                sim.clear_faults();
                let db = open(&sim).unwrap_or_else(|e| panic!("{ctx}: reopen: {e}"));
                let f = sim.open(Path::new("/db/backup/f"), OpenMode::Read).unwrap();
                assert_eq!(f.read_all().unwrap(), b"important", "{ctx}");
                if db.has_collection("c").unwrap() {
                    let c = db.get_collection("c").unwrap();
                    let want = if creating { 0 } else { 1 };
                    assert_eq!(c.iter().unwrap().count(), want, "{ctx}");
                    assert!(
                        creating || r.is_err(),
                        "{ctx}: an acknowledged drop came back"
                    );
                } else {
                    assert!(
                        !sim.exists(Path::new("/db/c")).unwrap(),
                        "{ctx}: a trace is left"
                    );
                    assert!(
                        !creating || r.is_err(),
                        "{ctx}: an acknowledged create is gone"
                    );
                }
                assert_eq!(
                    db.foreign_entries().unwrap(),
                    vec![Path::new("/db/backup")],
                    "{ctx}"
                );
                if k >= n {
                    break;
                }
            }
        }
    }
}
