//! Online backup (issue 18): `Database::backup` makes an ordinary, complete, point-in-time
//! copy while a writer goes on; a power loss at any sync of a backup leaves the source intact
//! and no directory that looks like a finished backup; bad destinations are refused.

use ndb::testing::{CrashMode, Fault, SimVfs, Vfs};
use ndb::{
    CollectionConfig, Database, DatabaseOptions, Distance, Document, Error, PayloadIndexKind,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

type Docs = BTreeMap<String, (Vec<f32>, Option<serde_json::Value>)>;

fn docs_of(db: &Database, name: &str) -> Docs {
    db.get_collection(name)
        .unwrap()
        .iter()
        .unwrap()
        .map(|d| {
            let d = d.unwrap();
            (d.id, (d.vector, d.payload))
        })
        .collect()
}

fn doc(i: u64) -> Document {
    Document::new(format!("d{i}"), vec![i as f32, 1.0, (i % 7) as f32])
        .with_payload(json!({"i": i, "even": i.is_multiple_of(2)}))
}

fn small(dim: usize) -> CollectionConfig {
    CollectionConfig::new(dim)
        .with_distance(Distance::Euclidean)
        .with_flush_threshold_bytes(16 << 10)
}

#[test]
fn a_backup_is_an_ordinary_database_holding_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    let a = db.create_collection("a", small(3)).unwrap();
    let b = db.create_collection("b", CollectionConfig::new(3)).unwrap();
    a.create_payload_index("even", PayloadIndexKind::Bool)
        .unwrap();
    a.insert_batch((0..2_000).map(doc)).unwrap();
    a.flush().unwrap(); // segments, deletion files, a payload index
    for i in (0..2_000).step_by(3) {
        a.delete(&format!("d{i}")).unwrap();
    }
    a.set_payload("d1", Some(json!({"changed": true}))).unwrap();
    a.insert_batch((5_000..5_050).map(doc)).unwrap(); // only in the WAL and memtable
    b.insert(doc(7)).unwrap();
    let stats = db.backup(dir.path().join("copy")).unwrap();
    assert_eq!(stats.collections, 2);
    assert!(stats.files_linked > 0, "{stats:?}");
    assert!(stats.files_copied > 0, "{stats:?}");

    let copy = Database::open(dir.path().join("copy")).unwrap();
    assert_eq!(copy.collection_names().unwrap(), ["a", "b"]);
    for name in ["a", "b"] {
        assert_eq!(docs_of(&copy, name), docs_of(&db, name), "{name}");
        copy.get_collection(name).unwrap().verify().unwrap();
    }
    let ca = copy.get_collection("a").unwrap();
    assert_eq!(ca.payload_indexes(), a.payload_indexes());
    assert_eq!(
        ca.get("d1").unwrap().unwrap().payload,
        Some(json!({"changed": true}))
    );
    // The copy is independent: writing to it leaves the source alone, and the other way round.
    ca.insert(doc(9_999)).unwrap();
    a.delete("d2").unwrap();
    assert!(a.get("d9999").unwrap().is_none());
    assert!(ca.get("d2").unwrap().is_some());
    assert!(copy.foreign_entries().unwrap().is_empty());
}

#[test]
fn a_backup_taken_during_a_fast_ingest_holds_a_prefix_of_the_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    let c = db.create_collection("c", small(3)).unwrap();
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (c, acked, stop) = (c.clone(), Arc::clone(&acked), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut batch = 0u64;
            while !stop.load(Ordering::Relaxed) {
                c.insert_batch((batch * 50..batch * 50 + 50).map(doc))
                    .unwrap();
                batch += 1;
                acked.store(batch, Ordering::SeqCst);
            }
        })
    };
    while acked.load(Ordering::SeqCst) < 20 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let before = acked.load(Ordering::SeqCst);
    db.backup(dir.path().join("copy")).unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let total = acked.load(Ordering::SeqCst);

    let copy = Database::open(dir.path().join("copy")).unwrap();
    let docs = docs_of(&copy, "c");
    assert_eq!(docs.len() % 50, 0, "whole batches only");
    let batches = docs.len() as u64 / 50;
    assert!(
        batches >= before,
        "{batches} batches, {before} were acknowledged before the backup"
    );
    assert!(batches <= total);
    for i in 0..batches * 50 {
        assert!(
            docs.contains_key(&format!("d{i}")),
            "d{i} missing: not a prefix"
        );
    }
}

#[test]
fn bad_destinations_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("db")).unwrap();
    db.create_collection("c", small(3))
        .unwrap()
        .insert(doc(1))
        .unwrap();
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("notes.txt"), "mine").unwrap();
    assert!(matches!(
        db.backup(&full),
        Err(Error::DestinationNotEmpty { path }) if path == full
    ));
    assert_eq!(
        std::fs::read_to_string(full.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(std::fs::read_dir(&full).unwrap().count(), 1);
    assert!(matches!(
        db.backup(dir.path().join("db").join("inside")),
        Err(Error::InvalidArgument(_))
    ));
    // An empty directory is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    db.backup(&empty).unwrap();
    drop(db);
    let reader = Database::open_read_only(dir.path().join("db")).unwrap();
    assert!(matches!(
        reader.backup(dir.path().join("other")),
        Err(Error::ReadOnly)
    ));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.contains("ndb-backup")), "{names:?}");
}

/// A power loss at every sync of a backup (on the simulated file system, where files are
/// copied, not linked): the source reopens with every document, the destination is either
/// absent or a complete backup, and a second backup to the same destination succeeds.
#[test]
fn a_power_loss_at_any_sync_of_a_backup_leaves_the_source_intact_and_no_partial_copy() {
    let mut finished = 0;
    for crash_after in 0..60 {
        let sim = SimVfs::new(crash_after);
        let vfs: Arc<dyn Vfs> = Arc::new(sim.clone());
        let quiet = DatabaseOptions::default().with_background_maintenance(false);
        let open = |vfs: &Arc<dyn Vfs>| {
            Database::open_with_vfs_options("/db", Arc::clone(vfs), false, quiet.clone()).unwrap()
        };
        let db = open(&vfs);
        let c = db.create_collection("c", small(3)).unwrap();
        c.insert_batch((0..300).map(doc)).unwrap();
        c.flush().unwrap();
        c.insert_batch((300..320).map(doc)).unwrap();
        c.sync().unwrap();
        let want = docs_of(&db, "c");
        sim.inject(Fault::CrashAtSync { after: crash_after });
        let result = db.backup("/copy");
        drop((c, db));
        sim.crash(CrashMode::PowerLossTorn);
        sim.clear_faults();

        let db = open(&vfs);
        assert_eq!(
            docs_of(&db, "c"),
            want,
            "crash after sync {crash_after}: source changed"
        );
        if vfs.exists(std::path::Path::new("/copy")).unwrap() {
            let copy = Database::open_with_vfs("/copy", Arc::clone(&vfs), false).unwrap();
            assert_eq!(
                docs_of(&copy, "c"),
                want,
                "crash after sync {crash_after}: copy"
            );
            finished += 1;
        } else {
            assert!(
                result.is_err(),
                "crash after sync {crash_after}: a backup that returned Ok is gone"
            );
            db.backup("/copy").unwrap();
            let copy = Database::open_with_vfs("/copy", Arc::clone(&vfs), false).unwrap();
            assert_eq!(docs_of(&copy, "c"), want);
        }
    }
    assert!(
        (1..60).contains(&finished),
        "{finished} of 60 backups finished before the cut"
    );
}
