//! `ndb export FILE` (and every command that writes a file) never destroys what it writes
//! over: never a file inside the database directory, the previous file kept when the export
//! fails, FIFOs and devices written in place and left where they are (issue 12, item 2).

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};

/// The database still opens and holds what it held.
fn assert_intact(
    db: &Path,
    before: &std::collections::BTreeMap<String, (Vec<f32>, serde_json::Value)>,
) {
    assert_eq!(&dump(db, "docs"), before);
    ok(&["verify", p(db)]);
}

#[test]
fn export_into_the_database_directory_is_refused() {
    let (dir, db) = sample_db();
    ok(&["compact", p(&db), "docs"]); // a segment file to aim at
    let before = dump(&db, "docs");
    let seg = std::fs::read_dir(db.join("docs").join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "ndb"))
        .expect("a segment file");
    let manifest = db.join("docs").join("MANIFEST");
    let manifest_bytes = std::fs::read(&manifest).unwrap();
    let targets = [
        manifest.clone(),
        seg.clone(),
        db.join("MANIFEST"),
        db.join("docs").join("new.jsonl"),
        db.join("new.jsonl"),
        dir.path()
            .join("db")
            .join("..")
            .join("db")
            .join("docs")
            .join("MANIFEST"),
    ];
    for t in &targets {
        let err = fails(&["export", p(&db), "docs", p(t)], 2);
        assert!(
            err.contains("inside the database directory"),
            "{t:?}: {err}"
        );
    }
    assert_eq!(std::fs::read(&manifest).unwrap(), manifest_bytes);
    assert!(!db.join("docs").join("new.jsonl").exists());
    assert_intact(&db, &before);
}

/// Run `ndb args` in the working directory `dir`.
fn ndb_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ndb"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn export_into_the_database_through_links_and_relative_paths_is_refused() {
    let (dir, db) = sample_db();
    let before = dump(&db, "docs");
    let link = dir.path().join("innocent.jsonl");
    std::os::unix::fs::symlink(db.join("docs").join("MANIFEST"), &link).unwrap();
    let err = fails(&["export", p(&db), "docs", p(&link)], 2);
    assert!(err.contains("inside the database directory"), "{err}");
    let dir_link = dir.path().join("elsewhere");
    std::os::unix::fs::symlink(db.join("docs"), &dir_link).unwrap();
    fails(
        &["export", p(&db), "docs", p(&dir_link.join("MANIFEST"))],
        2,
    );
    // Relative paths, from the directory above the database.
    let o = ndb_in(dir.path(), &["export", "db", "docs", "db/docs/MANIFEST"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let o = ndb_in(&db.join("docs"), &["export", "..", "docs", "MANIFEST"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_intact(&db, &before);
    // A relative path outside the database is fine.
    let o = ndb_in(dir.path(), &["export", "db", "docs", "out.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(
        parse_jsonl(&std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap()),
        before
    );
}

#[test]
fn failed_re_export_keeps_the_previous_export() {
    let (dir, db) = sample_db();
    let out = write_file(&dir, "backup.fvecs", b"the previous good export");
    // The ids are not row numbers, so an .fvecs export fails part-way.
    let err = fails(&["export", p(&db), "docs", p(&out)], 1);
    assert!(err.contains("row numbers"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"the previous good export");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains("tmp")),
        "a temporary file was left: {names:?}"
    );
    // A successful export replaces it, and keeps its permissions.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
    ok(&["export", p(&db), "docs", p(&out), "--format", "jsonl"]);
    assert_eq!(
        parse_jsonl(&std::fs::read_to_string(&out).unwrap()),
        dump(&db, "docs")
    );
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
}

#[test]
fn export_to_a_directory_fails_and_leaves_it() {
    let (dir, db) = sample_db();
    let d = dir.path().join("a-dir");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(d.join("keep"), "x").unwrap();
    let err = fails(&["export", p(&db), "docs", p(&d)], 1);
    assert!(err.contains("is a directory"), "{err}");
    assert_eq!(std::fs::read_to_string(d.join("keep")).unwrap(), "x");
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(st.success());
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_fifo())
        .unwrap_or(false)
}

#[test]
fn export_to_a_fifo_writes_in_place_and_keeps_it() {
    let (dir, db) = sample_db();
    let fifo = dir.path().join("pipe.jsonl");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    ok(&["export", p(&db), "docs", p(&fifo)]);
    let text = reader.join().unwrap();
    assert_eq!(parse_jsonl(&text), dump(&db, "docs"));
    assert!(is_fifo(&fifo), "the FIFO is still there");

    // A failed export to a FIFO leaves it too.
    let fifo2 = dir.path().join("pipe.fvecs");
    mkfifo(&fifo2);
    let reader = {
        let fifo = fifo2.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    fails(&["export", p(&db), "docs", p(&fifo2)], 1);
    let _ = reader.join().unwrap();
    assert!(is_fifo(&fifo2), "a failed export removed the FIFO");
}

#[test]
fn export_to_dev_stdout_and_dev_null() {
    let (_dir, db) = sample_db();
    // /dev/stdout is a link to /proc/self/fd/1 (checked: a test machine where something removed
    // it would otherwise get a regular file there).
    let stdout =
        if std::fs::symlink_metadata("/dev/stdout").is_ok_and(|m| m.file_type().is_symlink()) {
            "/dev/stdout"
        } else {
            "/proc/self/fd/1"
        };
    let o = ndb(&["export", p(&db), "docs", stdout]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(parse_jsonl(&o.stdout), dump(&db, "docs"));
    // Standard output redirected to a regular file: written through standard output, not
    // replaced under the redirection nor overwritten by a summary line.
    let dir = tempfile::tempdir().unwrap();
    let redirected = dir.path().join("redirected.jsonl");
    let st = Command::new(env!("CARGO_BIN_EXE_ndb"))
        .args(["export", p(&db), "docs", stdout])
        .stdout(std::fs::File::create(&redirected).unwrap())
        .status()
        .unwrap();
    assert!(st.success());
    let text = std::fs::read_to_string(&redirected).unwrap();
    assert_eq!(parse_jsonl(&text), dump(&db, "docs"));
    ok(&["export", p(&db), "docs", "/dev/null", "--format", "jsonl"]);
    use std::os::unix::fs::FileTypeExt;
    let m = std::fs::metadata("/dev/null").unwrap();
    assert!(m.file_type().is_char_device());
}

#[test]
fn bench_report_paths_inside_the_database_are_refused() {
    let (dir, db) = sample_db();
    let before = dump(&db, "docs");
    let manifest = db.join("docs").join("MANIFEST");
    for opt in ["--md", "--json", "--plot"] {
        let err = fails(
            &[
                "bench",
                "--",
                "--synthetic",
                "100,4",
                "--db",
                p(&db),
                opt,
                p(&manifest),
            ],
            2,
        );
        assert!(
            err.contains("inside the database directory"),
            "{opt}: {err}"
        );
        let joined = format!("{opt}={}", p(&manifest));
        fails(&["bench", "--", "--db", p(&db), &joined], 2);
    }
    let _ = dir;
    assert_intact(&db, &before);
}
