//! The CLI side of issue 12, items 1 and 10: a writer command never removes the user's own
//! directories in a database, `verify` lists them, and warns (instead of "ok") about a WAL tail
//! that may be damage as well as a crash.

mod common;

use common::*;
use std::fs;

#[test]
fn create_keeps_the_users_directory_and_verify_lists_it() {
    let (_dir, db) = new_db();
    ok(&["create", p(&db), "c", "--dim", "2"]);
    fs::create_dir(db.join("backup")).unwrap();
    fs::write(db.join("backup/file.txt"), "important").unwrap();
    ok(&["create", p(&db), "other", "--dim", "2"]);
    assert_eq!(
        fs::read_to_string(db.join("backup/file.txt")).unwrap(),
        "important"
    );
    let out = ok(&["verify", p(&db)]);
    assert!(out.contains("not part of the database"), "{out}");
    let out = ok(&["list", p(&db)]);
    assert!(
        out.contains("not part of the database") && out.contains("backup"),
        "{out}"
    );
    assert!(out.contains("backup"), "{out}");
    let v = json_of(&["verify", p(&db), "--json"]);
    assert_eq!(v["ok"], true);
    assert_eq!(
        v["foreign_entries"][0],
        db.join("backup").display().to_string()
    );
    // Creating a collection over it is refused and leaves it alone.
    let err = fails(&["create", p(&db), "backup", "--dim", "2"], 1);
    assert!(err.contains("not made by nDB"), "{err}");
    assert_eq!(
        fs::read_to_string(db.join("backup/file.txt")).unwrap(),
        "important"
    );
}

#[test]
fn verify_warns_about_a_wal_tail_that_may_be_damage() {
    let (_dir, db) = new_db();
    {
        let database = ndb::Database::open(&db).unwrap();
        let c = database
            .create_collection("docs", ndb::CollectionConfig::new(2))
            .unwrap();
        c.insert(ndb::Document::new("a", vec![1.0, 0.0])).unwrap();
        c.sync().unwrap();
    }
    let wal = db.join("docs/wal-000001.log");
    let mut bytes = fs::read(&wal).unwrap();
    assert!(bytes.len() > 40, "the sample leaves records in the WAL");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x5a;
    fs::write(&wal, bytes).unwrap();
    let out = ok(&["verify", p(&db)]);
    assert!(
        out.contains("warning") && out.contains("cannot be"),
        "{out}"
    );
    let v = json_of(&["verify", p(&db), "--json"]);
    assert_eq!(v["collections"][0]["status"], "warning");
    assert!(v["collections"][0]["wal_torn_tail_bytes"].as_u64().unwrap() > 0);
}
