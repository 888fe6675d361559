//! `ndb backup`: a consistent copy of a database from the command line (issue 18).

mod common;
use common::{dump, fails, json_of, ok, p, sample_db};

#[test]
fn backup_makes_a_verified_copy_with_every_document() {
    let (dir, db) = sample_db();
    ok(&["delete", p(&db), "docs", "b"]); // a write only in the WAL
    let dest = dir.path().join("copy");
    let out = json_of(&["backup", p(&db), p(&dest)]);
    assert_eq!(out["collections"], 1, "{out}");
    assert_eq!(dump(&dest, "docs"), dump(&db, "docs"));
    ok(&["verify", p(&dest)]);
    let text = ok(&["backup", p(&db), p(&dir.path().join("again"))]);
    assert!(text.starts_with("backed up 1 collection to "), "{text}");
}

#[test]
fn backup_refuses_a_destination_that_is_not_empty() {
    let (dir, db) = sample_db();
    let err = fails(&["backup", p(&db), p(dir.path())], 1);
    assert!(
        err.contains("not empty") || err.contains("overlaps"),
        "{err}"
    );
    let dest = dir.path().join("full");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("keep.txt"), "mine").unwrap();
    fails(&["backup", p(&db), p(&dest)], 1);
    assert_eq!(
        std::fs::read_to_string(dest.join("keep.txt")).unwrap(),
        "mine"
    );
}
