//! Payload-only updates (issue 18): `set_payload` and `patch_payload` change what searches,
//! filters and payload indexes see at once, keep the vector, write a WAL record without it,
//! survive flush, compaction, reopen and a power loss at every sync, and refuse bad input
//! without changing anything.

use ndb::testing::{CrashMode, Fault, SimVfs, Vfs};
use ndb::{
    CollectionConfig, Database, DatabaseOptions, Distance, Document, Durability, Error, Filter,
    PayloadIndexKind, Search,
};
use serde_json::{json, Value};
use std::sync::Arc;

/// A distinct vector per `i` (its first component), never zero.
fn vector(i: usize, dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|d| match d {
            0 => i as f32 + 1.0,
            _ => ((i * 31 + d * 7) % 97) as f32 / 97.0,
        })
        .collect()
}

fn payload_of(c: &ndb::Collection, id: &str) -> Option<Value> {
    c.get(id).unwrap().expect("document present").payload
}

fn hits(c: &ndb::Collection, q: &[f32], filter: Filter) -> Vec<String> {
    let search = Search::new(q).top_k(100).filter(filter);
    c.search(search)
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect()
}

#[test]
fn set_and_patch_replace_and_merge_keeping_the_vector() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = db.create_collection("c", CollectionConfig::new(4)).unwrap();
    let original = json!({"lang": "en", "meta": {"year": 2020, "draft": true}, "tags": ["a"]});
    c.insert(Document::new("a", vector(1, 4)).with_payload(original))
        .unwrap();
    c.insert(Document::new("bare", vector(2, 4))).unwrap();
    let stored_vector = c.get("a").unwrap().unwrap().vector;

    assert!(c
        .patch_payload(
            "a",
            json!({"meta": {"year": 2024, "draft": null}, "tags": ["b", "c"]})
        )
        .unwrap());
    assert_eq!(
        payload_of(&c, "a"),
        Some(json!({"lang": "en", "meta": {"year": 2024}, "tags": ["b", "c"]}))
    );
    assert!(c.set_payload("a", Some(json!({"lang": "fr"}))).unwrap());
    assert_eq!(payload_of(&c, "a"), Some(json!({"lang": "fr"})));
    assert!(c.set_payload("a", None).unwrap());
    assert_eq!(payload_of(&c, "a"), None);
    // A patch on a document without a payload starts from an empty object.
    assert!(c
        .patch_payload("bare", json!({"k": 1, "gone": null}))
        .unwrap());
    assert_eq!(payload_of(&c, "bare"), Some(json!({"k": 1})));
    assert_eq!(c.get("a").unwrap().unwrap().vector, stored_vector);
    assert_eq!(c.stats().unwrap().doc_count, 2);

    // Absent documents: false, and nothing is written.
    let wal = c.stats().unwrap().wal_bytes;
    assert!(!c.set_payload("missing", Some(json!({"x": 1}))).unwrap());
    assert!(!c.patch_payload("missing", json!({"x": 1})).unwrap());
    c.delete("bare").unwrap();
    let wal = wal.max(c.stats().unwrap().wal_bytes);
    assert!(!c.set_payload("bare", None).unwrap());
    assert_eq!(c.stats().unwrap().wal_bytes, wal);
}

#[test]
fn searches_filters_and_payload_indexes_see_updates_through_flush_compaction_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (n, dim) = (3_000, 8);
    let config = CollectionConfig::new(dim).with_distance(Distance::Euclidean);
    let q = vector(17, dim);
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db.create_collection("c", config).unwrap();
        c.create_payload_index("lang", PayloadIndexKind::Keyword)
            .unwrap();
        c.insert_batch((0..n).map(|i| {
            Document::new(format!("d{i}"), vector(i, dim))
                .with_payload(json!({"lang": "en", "i": i}))
        }))
        .unwrap();
        c.flush().unwrap(); // in a segment, with a payload index
        assert!(c.set_payload("d17", Some(json!({"lang": "de"}))).unwrap());
        assert!(c.patch_payload("d18", json!({"lang": "de"})).unwrap());
        let want = vec!["d17".to_string(), "d18".to_string()];
        let check = |c: &ndb::Collection, when: &str| {
            let mut de = hits(c, &q, Filter::eq("lang", "de"));
            de.sort();
            assert_eq!(de, want, "{when}");
            let en = hits(c, &q, Filter::eq("lang", "en"));
            assert!(!en.contains(&want[0]) && !en.contains(&want[1]), "{when}");
            // The vector still places it first for its own query.
            let nearest = c.search(Search::new(&q).top_k(1)).unwrap();
            assert_eq!(nearest[0].id, "d17", "{when}");
            assert_eq!(
                payload_of(c, "d18"),
                Some(json!({"lang": "de", "i": 18})),
                "{when}"
            );
            assert_eq!(c.stats().unwrap().doc_count, n as u64, "{when}");
        };
        check(&c, "in the memtable");
        c.flush().unwrap();
        check(&c, "after flush");
        c.compact().unwrap();
        check(&c, "after compaction");
        c.patch_payload("d17", json!({"lang": null, "x": true}))
            .unwrap();
        c.set_payload("d17", Some(json!({"lang": "de"}))).unwrap();
        check(&c, "after more updates");
    }
    // Reopen: the last updates are replayed from the WAL.
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    let mut de = hits(&c, &q, Filter::eq("lang", "de"));
    de.sort();
    assert_eq!(de, vec!["d17".to_string(), "d18".to_string()]);
    assert_eq!(payload_of(&c, "d17"), Some(json!({"lang": "de"})));
}

#[test]
fn the_wal_record_carries_the_id_and_the_payload_not_the_vector() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let dim = 384;
    let c = db
        .create_collection("c", CollectionConfig::new(dim))
        .unwrap();
    let big = json!({"text": "x".repeat(1000)});
    c.insert(Document::new("a", vector(1, dim)).with_payload(big.clone()))
        .unwrap();
    let payload_len = serde_json::to_vec(&big).unwrap().len() as u64;
    let before = c.stats().unwrap().wal_bytes;
    c.set_payload("a", Some(big.clone())).unwrap();
    let update = c.stats().unwrap().wal_bytes - before;
    let before = c.stats().unwrap().wal_bytes;
    c.insert(Document::new("a", vector(1, dim)).with_payload(big))
        .unwrap();
    let reinsert = c.stats().unwrap().wal_bytes - before;
    // Header 16 + op 1 + count 4 + id length 2 + id 1 + payload length 4 + payload.
    assert_eq!(update, 28 + payload_len);
    assert_eq!(reinsert, update + 4 * dim as u64);
}

#[test]
fn bad_input_is_a_typed_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db.create_collection("c", CollectionConfig::new(2)).unwrap();
        c.insert(Document::new("a", vec![1.0, 0.0]).with_payload(json!({"k": 1})))
            .unwrap();
        let wal = c.stats().unwrap().wal_bytes;
        let too_big = json!({"text": "x".repeat(ndb::limits::PAYLOAD_BYTES_MAX)});
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!({ "d": deep });
        }
        let refused: Vec<(&str, ndb::Result<bool>)> = vec![
            ("array payload", c.set_payload("a", Some(json!([1, 2])))),
            ("string payload", c.set_payload("a", Some(json!("text")))),
            (
                "oversized payload",
                c.set_payload("a", Some(too_big.clone())),
            ),
            ("deep payload", c.set_payload("a", Some(deep.clone()))),
            ("empty id", c.set_payload("", None)),
            ("array patch", c.patch_payload("a", json!([1]))),
            ("null patch", c.patch_payload("a", Value::Null)),
            ("deep patch", c.patch_payload("a", deep)),
            (
                "patch growing past the limit",
                c.patch_payload("a", too_big),
            ),
        ];
        for (what, result) in refused {
            assert!(
                matches!(result, Err(Error::InvalidArgument(_))),
                "{what}: {result:?}"
            );
        }
        assert_eq!(payload_of(&c, "a"), Some(json!({"k": 1})));
        assert_eq!(c.stats().unwrap().wal_bytes, wal);
    }
    let db = Database::open_read_only(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    assert!(matches!(c.set_payload("a", None), Err(Error::ReadOnly)));
    assert!(matches!(
        c.patch_payload("a", json!({"k": 2})),
        Err(Error::ReadOnly)
    ));
    assert_eq!(payload_of(&c, "a"), Some(json!({"k": 1})));
}

/// A power loss at every sync of a sequence of payload updates (acknowledged under
/// `FdatasyncEachBatch`), with a flush in the middle: after recovery every acknowledged update
/// is there, and the payloads are those after some prefix of the updates.
#[test]
fn payload_updates_survive_a_power_loss_at_every_sync() {
    let updates: Vec<(&str, bool, Value)> = vec![
        ("d1", false, json!({"v": 1})),
        ("d2", true, json!({"v": 2, "extra": {"a": 1}})),
        ("d1", true, json!({"w": 3})),
        ("flush", false, Value::Null),
        ("d2", true, json!({"extra": {"a": null, "b": 2}})),
        ("d3", false, Value::Null),
        ("d1", false, json!({"v": 4})),
    ];
    let mut cuts = 0;
    for crash_after in 0..40 {
        let sim = SimVfs::new(crash_after);
        let vfs: Arc<dyn Vfs> = Arc::new(sim.clone());
        let config = CollectionConfig::new(2)
            .with_durability(Durability::FdatasyncEachBatch)
            .with_distance(Distance::Euclidean);
        let quiet = DatabaseOptions::default().with_background_maintenance(false);
        let db =
            Database::open_with_vfs_options("/db", Arc::clone(&vfs), false, quiet.clone()).unwrap();
        let c = db.create_collection("c", config).unwrap();
        c.insert_batch((1..=3).map(|i| {
            Document::new(format!("d{i}"), vec![i as f32, 0.0]).with_payload(json!({"v": 0}))
        }))
        .unwrap();
        c.flush().unwrap();
        let mut model: Vec<Vec<Option<Value>>> =
            vec![(1..=3).map(|_| Some(json!({"v": 0}))).collect()];
        let mut acked = 0;
        sim.inject(Fault::CrashAtSync { after: crash_after });
        let mut cut = false;
        for (id, patch, value) in &updates {
            if *id == "flush" {
                if c.flush().is_err() {
                    cut = true;
                    break;
                }
                continue;
            }
            let i = id[1..].parse::<usize>().unwrap() - 1;
            let mut next = model.last().unwrap().clone();
            let result = if *patch {
                let mut p = next[i].clone().unwrap_or(Value::Null);
                json_patch(&mut p, value);
                next[i] = Some(p);
                c.patch_payload(id, value.clone())
            } else {
                next[i] = (!value.is_null()).then(|| value.clone());
                c.set_payload(id, (!value.is_null()).then(|| value.clone()))
            };
            model.push(next);
            match result {
                Ok(present) => {
                    assert!(present);
                    acked = model.len() - 1;
                }
                Err(_) => {
                    cut = true;
                    break;
                }
            }
        }
        drop((c, db));
        sim.crash(CrashMode::PowerLossTorn);
        sim.clear_faults();
        let db = Database::open_with_vfs_options("/db", Arc::clone(&vfs), false, quiet).unwrap();
        let c = db.get_collection("c").unwrap();
        let got: Vec<Option<Value>> = (1..=3)
            .map(|i| c.get(&format!("d{i}")).unwrap().unwrap().payload)
            .collect();
        let p = model.iter().rposition(|m| *m == got).unwrap_or_else(|| {
            panic!("crash after sync {crash_after}: {got:?} is no prefix of the updates")
        });
        assert!(
            p >= acked,
            "crash after sync {crash_after}: state after {p} updates, {acked} were acknowledged"
        );
        if !cut {
            assert_eq!(p, model.len() - 1);
        }
        cuts += u32::from(cut);
    }
    // The sweep covers every sync of the sequence: early cuts, and runs past the last sync.
    assert!((10..40).contains(&cuts), "{cuts} of 40 runs were cut");
}

/// The RFC 7396 reference the test checks against (written from the RFC's pseudocode).
fn json_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(members) => {
            if !target.is_object() {
                *target = json!({});
            }
            let fields = target.as_object_mut().unwrap();
            for (k, v) in members {
                if v.is_null() {
                    fields.remove(k);
                } else {
                    json_patch(fields.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Damage inside a payload-update record followed by a valid one is mid-log damage (reported),
/// never mistaken for a torn tail (which would silently drop the later update).
#[test]
fn damage_before_a_later_payload_update_is_reported_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let wal = dir.path().join("c").join("wal-000001.log");
    let len = || std::fs::metadata(&wal).unwrap().len();
    let (start, end) = {
        let quiet = DatabaseOptions::default().with_background_maintenance(false);
        let db = Database::open_with_options(dir.path(), quiet).unwrap();
        let c = db.create_collection("c", CollectionConfig::new(2)).unwrap();
        c.insert(Document::new("a", vec![1.0, 0.0])).unwrap();
        let start = len();
        c.set_payload("a", Some(json!({"first": "update"})))
            .unwrap();
        let end = len();
        c.set_payload("a", Some(json!({"second": "update"})))
            .unwrap();
        c.sync().unwrap();
        (start, end)
    };
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes[((start + end) / 2) as usize] ^= 0x40;
    std::fs::write(&wal, bytes).unwrap();
    match Database::open(dir.path()).and_then(|db| db.get_collection("c")) {
        Err(Error::Corruption { file, .. }) => assert_eq!(file, wal),
        other => panic!("expected mid-log corruption, got {other:?}"),
    }
}
