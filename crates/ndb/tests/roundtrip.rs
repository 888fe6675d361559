//! Round trips through the public API: insert, get, replace, delete, across flush and reopen.

mod common;
use common::temp_db;

use ndb::{CollectionConfig, Database, Distance, Document, Durability, Error};
use serde_json::json;

fn vec_for(i: usize, dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|j| ((i * 31 + j * 7) % 97) as f32 - 48.0)
        .collect()
}

#[test]
fn insert_get_replace_delete_across_flush_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let dim = 8;
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db
            .create_collection(
                "docs",
                CollectionConfig::new(dim).with_distance(Distance::Euclidean),
            )
            .unwrap();
        for i in 0..100 {
            c.insert(
                Document::new(format!("d{i}"), vec_for(i, dim))
                    .with_payload(json!({"i": i, "tag": format!("t{}", i % 3)})),
            )
            .unwrap();
        }
        c.flush().unwrap();
        // Replace some that live in the segment, delete others, add new ones in the memtable.
        for i in 0..10 {
            c.insert(
                Document::new(format!("d{i}"), vec_for(i + 1000, dim))
                    .with_payload(json!({"i": i, "v": 2})),
            )
            .unwrap();
        }
        for i in 10..20 {
            assert!(c.delete(&format!("d{i}")).unwrap());
        }
        assert!(!c.delete("d15").unwrap(), "already deleted");
        assert!(!c.delete("never").unwrap());
        for i in 100..120 {
            c.insert(Document::new(format!("d{i}"), vec_for(i, dim)))
                .unwrap();
        }
        let s = c.stats().unwrap();
        assert_eq!(s.doc_count, 110);
        assert_eq!(s.segment_count, 1);
        assert_eq!(s.deleted_count, 20);
    }
    for round in 0..3 {
        let db = Database::open(dir.path()).unwrap();
        let c = db.get_collection("docs").unwrap();
        assert_eq!(c.stats().unwrap().doc_count, 110, "round {round}");
        for i in 0..120 {
            let got = c.get(&format!("d{i}")).unwrap();
            match i {
                0..=9 => {
                    let d = got.unwrap();
                    assert_eq!(d.vector, vec_for(i + 1000, dim));
                    assert_eq!(d.payload, Some(json!({"i": i, "v": 2})));
                }
                10..=19 => assert!(got.is_none(), "d{i} resurrected in round {round}"),
                20..=99 => {
                    let d = got.unwrap();
                    assert_eq!(d.vector, vec_for(i, dim));
                    assert_eq!(
                        d.payload,
                        Some(json!({"i": i, "tag": format!("t{}", i % 3)}))
                    );
                }
                _ => {
                    let d = got.unwrap();
                    assert_eq!(d.payload, None);
                }
            }
        }
        let mut ids: Vec<String> = c.iter().unwrap().map(|d| d.unwrap().id).collect();
        ids.sort();
        assert_eq!(ids.len(), 110);
        ids.dedup();
        assert_eq!(ids.len(), 110, "iter yields each document once");
        // Flushing other data must not resurrect the deleted or replaced rows.
        c.insert(Document::new(format!("extra{round}"), vec_for(round, dim)))
            .unwrap();
        c.flush().unwrap();
        assert_eq!(c.stats().unwrap().doc_count, 111);
        c.delete(&format!("extra{round}")).unwrap();
        c.flush().unwrap();
    }
}

#[test]
fn cosine_vectors_are_stored_normalized() {
    let (_dir, db) = temp_db();
    let c = db.create_collection("c", CollectionConfig::new(2)).unwrap();
    c.insert(Document::new("a", vec![3.0, 4.0])).unwrap();
    assert_eq!(c.get("a").unwrap().unwrap().vector, vec![0.6, 0.8]);
    c.flush().unwrap();
    assert_eq!(c.get("a").unwrap().unwrap().vector, vec![0.6, 0.8]);
}

#[test]
fn batches_with_duplicate_ids_keep_the_last() {
    let (dir, db) = temp_db();
    let c = db
        .create_collection(
            "c",
            CollectionConfig::new(1)
                .with_distance(Distance::DotProduct)
                .with_durability(Durability::FdatasyncEachBatch),
        )
        .unwrap();
    c.insert_batch(vec![
        Document::new("a", vec![1.0]),
        Document::new("a", vec![2.0]),
    ])
    .unwrap();
    assert_eq!(c.get("a").unwrap().unwrap().vector, vec![2.0]);
    assert_eq!(c.stats().unwrap().doc_count, 1);
    c.flush().unwrap();
    drop((c, db));
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(c.get("a").unwrap().unwrap().vector, vec![2.0]);
    assert_eq!(c.stats().unwrap().doc_count, 1);
}

#[test]
fn automatic_flush_bounds_the_memtable_and_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_with_options(
        dir.path(),
        ndb::DatabaseOptions::default().with_background_maintenance(false),
    )
    .unwrap();
    let threshold = 64 << 10;
    let c = db
        .create_collection(
            "c",
            CollectionConfig::new(16).with_flush_threshold_bytes(threshold),
        )
        .unwrap();
    for i in 0..3000 {
        c.insert(Document::new(format!("{i}"), vec_for(i, 16)))
            .unwrap();
        let s = c.stats().unwrap();
        assert!(
            s.wal_bytes <= 2 * threshold as u64,
            "WAL grew to {} bytes",
            s.wal_bytes
        );
    }
    let s = c.stats().unwrap();
    assert!(s.segment_count >= 5, "{s:?}");
    assert_eq!(s.doc_count, 3000);
    drop((c, db));
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(c.stats().unwrap().doc_count, 3000);
    assert!(c.stats().unwrap().wal_replayed_records < 600);
    c.verify().unwrap();
}

#[test]
fn collections_are_independent_and_drop_removes_everything() {
    let (dir, db) = temp_db();
    let a = db.create_collection("a", CollectionConfig::new(2)).unwrap();
    let b = db
        .create_collection("b-2_x", CollectionConfig::new(3))
        .unwrap();
    a.insert(Document::new("x", vec![1.0, 0.0])).unwrap();
    b.insert(Document::new("x", vec![1.0, 0.0, 0.0])).unwrap();
    assert!(matches!(
        db.create_collection("a", CollectionConfig::new(2)),
        Err(Error::CollectionExists(_))
    ));
    assert_eq!(db.collection_names().unwrap(), vec!["a", "b-2_x"]);
    assert!(db.drop_collection("a").unwrap());
    assert!(!db.drop_collection("a").unwrap());
    assert!(matches!(a.get("x"), Err(Error::CollectionNotFound(_))));
    assert!(matches!(
        a.insert(Document::new("y", vec![1.0, 0.0])),
        Err(Error::CollectionNotFound(_))
    ));
    assert!(!dir.path().join("a").exists());
    assert!(matches!(
        db.get_collection("a"),
        Err(Error::CollectionNotFound(_))
    ));
    // The name can be reused, and starts empty.
    let a2 = db.create_collection("a", CollectionConfig::new(2)).unwrap();
    assert_eq!(a2.get("x").unwrap(), None);
    assert!(b.get("x").unwrap().is_some());
}
