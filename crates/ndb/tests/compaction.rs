//! Compaction: drops deleted and replaced rows, keeps every live document and payload, shrinks
//! the files, and is crash-safe at every sync.

mod common;
use common::{graphs_from, temp_db};

use ndb::testing::{CrashMode, Fault, SimVfs};
use ndb::{CollectionConfig, Database, DatabaseOptions, Document, Search};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

type Model = BTreeMap<String, (Vec<f32>, serde_json::Value)>;

fn vector(i: usize, version: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..16)
        .map(|j| ((i * 13 + j * 7 + version * 31) % 101) as f32 / 50.0 - 1.0)
        .collect();
    v[0] = i as f32 / 100.0 + version as f32 * 40.0;
    v
}

fn config() -> CollectionConfig {
    graphs_from(16, 500)
}

/// 2,000 documents in 4 segments; every other one deleted, every fifth replaced; a few writes
/// left unflushed in the memtable.
fn load(c: &ndb::Collection) -> Model {
    let mut model = Model::new();
    for b in 0..4 {
        let docs: Vec<Document> = (b * 500..(b + 1) * 500)
            .map(|i| Document::new(format!("d{i}"), vector(i, 0)).with_payload(json!({"i": i})))
            .collect();
        for d in &docs {
            model.insert(d.id.clone(), (d.vector.clone(), d.payload.clone().unwrap()));
        }
        c.insert_batch(docs).unwrap();
        c.flush().unwrap();
    }
    for i in (0..2000).step_by(2) {
        assert!(c.delete(&format!("d{i}")).unwrap());
        model.remove(&format!("d{i}"));
    }
    for i in (1..2000).step_by(10) {
        let d = Document::new(format!("d{i}"), vector(i, 1)).with_payload(json!({"i": i, "v": 1}));
        model.insert(d.id.clone(), (d.vector.clone(), d.payload.clone().unwrap()));
        c.insert(d).unwrap();
    }
    c.flush().unwrap();
    // Unflushed: a delete and a replacement of rows that live in segments.
    c.delete("d3").unwrap();
    model.remove("d3");
    let d = Document::new("d5", vector(5, 2)).with_payload(json!({"i": 5, "v": 2}));
    model.insert("d5".into(), (d.vector.clone(), d.payload.clone().unwrap()));
    c.insert(d).unwrap();
    model
}

fn check(c: &ndb::Collection, model: &Model) {
    let mut got: Vec<Document> = c.iter().unwrap().map(|d| d.unwrap()).collect();
    got.sort_by(|a, b| a.id.cmp(&b.id));
    let want: Vec<(&String, &(Vec<f32>, serde_json::Value))> = model.iter().collect();
    assert_eq!(got.len(), want.len(), "document count");
    for (g, (id, (v, p))) in got.iter().zip(want) {
        assert_eq!(&g.id, id);
        assert_eq!(&g.vector, v, "{id}");
        assert_eq!(g.payload.as_ref(), Some(p), "{id}");
    }
    assert_eq!(c.stats().unwrap().doc_count, model.len() as u64);
    for i in [3usize, 4, 5, 11, 1999] {
        let id = format!("d{i}");
        assert_eq!(
            c.get(&id).unwrap().map(|d| d.vector),
            model.get(&id).map(|m| m.0.clone()),
            "{id}"
        );
    }
    // Search agrees with the model: the nearest to a live document's vector is itself.
    for (id, (v, _)) in model.iter().step_by(97) {
        let hits = c
            .search(Search::new(v).top_k(1).approximate(false))
            .unwrap();
        assert_eq!(&hits[0].id, id);
    }
}

#[test]
fn compaction_drops_dead_rows_and_keeps_everything_else() {
    let dir = tempfile::tempdir().unwrap();
    // Without background merges, so the segment counts below are exact.
    let quiet = DatabaseOptions::default().with_background_maintenance(false);
    let db = Database::open_with_options(dir.path(), quiet).unwrap();
    let c = db.create_collection("c", config()).unwrap();
    let model = load(&c);
    check(&c, &model);
    let before = c.stats().unwrap();
    let stats = c.compact().unwrap();
    // The five segments and the memtable, flushed first (so the unflushed delete of d3 and
    // replacement of d5 are persisted, and applied): every live document, in one segment.
    assert_eq!(stats.segments_before, 6);
    assert_eq!(stats.docs_after, model.len() as u64);
    assert_eq!(stats.segments_after, 1);
    assert!(stats.docs_after < stats.docs_before);
    // Half the documents were deleted: the files at most 55% of before.
    assert!(
        stats.bytes_after * 100 <= stats.bytes_before * 55,
        "{stats:?}"
    );
    assert!(c.stats().unwrap().disk_bytes < before.disk_bytes);
    check(&c, &model);
    assert!(c.has_index());
    c.verify().unwrap();
    // Idempotent.
    let again = c.compact().unwrap();
    assert_eq!(again.segments_after, 1);
    check(&c, &model);
    drop((c, db));
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    check(&c, &model);
    c.verify().unwrap();
    let seg_files = std::fs::read_dir(dir.path().join("c/segments"))
        .unwrap()
        .count();
    assert!(seg_files <= 3, "old files removed ({seg_files} left)");
}

#[test]
fn compaction_is_crash_safe_at_every_sync() {
    let mut k = 0;
    loop {
        let sim = SimVfs::new(k);
        let vfs: Arc<dyn ndb::testing::Vfs> = Arc::new(sim.clone());
        let db = Database::open_with_vfs("/db", Arc::clone(&vfs), false).unwrap();
        let c = db.create_collection("c", config()).unwrap();
        let model = load(&c);
        c.sync().unwrap();
        sim.inject(Fault::CrashAtSync { after: k });
        let result = c.compact();
        drop((c, db));
        sim.crash(CrashMode::PowerLossTorn);
        sim.clear_faults();
        let db = Database::open_with_vfs("/db", Arc::clone(&vfs), false).unwrap();
        let c = db.get_collection("c").unwrap();
        check(&c, &model);
        c.verify().unwrap();
        if result.is_ok() {
            assert!(k > 3, "compaction needs several syncs");
            break;
        }
        k += 1;
        assert!(k < 200, "compaction never finished");
    }
}

/// Issue 12.11: deletes still only in the memtable (acknowledged, not flushed) are applied by
/// `compact()`, which reclaims their space and reports the live count.
#[test]
fn compaction_applies_deletes_not_yet_flushed() {
    let (dir, db) = temp_db();
    let c = db.create_collection("c", CollectionConfig::new(8)).unwrap();
    let docs: Vec<Document> = (0..20_000)
        .map(|i| Document::new(format!("d{i}"), vector(i, 0)[..8].to_vec()))
        .collect();
    c.insert_batch(docs).unwrap();
    c.flush().unwrap();
    for i in (0..20_000).step_by(2) {
        assert!(c.delete(&format!("d{i}")).unwrap());
    }
    let stats = c.compact().unwrap();
    assert_eq!(stats.docs_before, 20_000, "{stats:?}");
    assert_eq!(stats.docs_after, 10_000, "{stats:?}");
    assert!(
        stats.bytes_after * 100 <= stats.bytes_before * 60,
        "{stats:?}"
    );
    let s = c.stats().unwrap();
    assert_eq!((s.doc_count, s.deleted_count), (10_000, 0));
    assert_eq!(c.get("d1").unwrap().unwrap().id, "d1");
    assert_eq!(c.get("d2").unwrap(), None);
    drop((c, db));
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(c.stats().unwrap().doc_count, 10_000);
    assert_eq!(c.iter().unwrap().count(), 10_000);
}
