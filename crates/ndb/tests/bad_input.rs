//! Bad input gets a clear error and changes nothing: each case asserts the error kind, and that
//! the stored documents, the document count and the WAL are as before, also after a reopen.

use ndb::{Collection, CollectionConfig, Database, Distance, Document, Error};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const DIM: usize = 4;

fn v(x: f32) -> Vec<f32> {
    vec![x, x + 1.0, -x, 0.5]
}

/// A database in `<tmp>/db` with collection "c" (dimension 4): five documents in a segment and
/// three in the memtable, with and without payloads.
struct Fx {
    dir: TempDir,
    path: PathBuf,
    db: Database,
    c: Collection,
}

fn fixture_with(distance: Distance) -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Database::open(&path).unwrap();
    let c = db
        .create_collection("c", CollectionConfig::new(DIM).with_distance(distance))
        .unwrap();
    for i in 0..5 {
        c.insert(Document::new(format!("s{i}"), v(i as f32)).with_payload(json!({"i": i})))
            .unwrap();
    }
    c.flush().unwrap();
    for i in 0..3 {
        c.insert(Document::new(format!("m{i}"), v(10.0 + i as f32)))
            .unwrap();
    }
    Fx { dir, path, db, c }
}

fn fixture() -> Fx {
    fixture_with(Distance::Euclidean)
}

fn contents(c: &Collection) -> Vec<Document> {
    let mut all: Vec<Document> = c.iter().unwrap().map(|d| d.unwrap()).collect();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all
}

/// What a failed write must leave as it was.
#[derive(Debug, PartialEq)]
struct Snapshot {
    docs: Vec<Document>,
    doc_count: u64,
    wal_bytes: u64,
}

fn snapshot(c: &Collection) -> Snapshot {
    let s = c.stats().unwrap();
    Snapshot {
        docs: contents(c),
        doc_count: s.doc_count,
        wal_bytes: s.wal_bytes,
    }
}

impl Fx {
    /// Check that the collection still holds `before` (every document by `get` and by `iter`,
    /// the count, nothing appended to the WAL), then reopen and check the documents again.
    #[track_caller]
    fn assert_unchanged(self, before: &Snapshot) -> Fx {
        assert_eq!(&snapshot(&self.c), before);
        for d in &before.docs {
            assert_eq!(self.c.get(&d.id).unwrap().as_ref(), Some(d));
        }
        let Fx { dir, path, db, c } = self;
        drop((c, db));
        let db = Database::open(&path).unwrap();
        let c = db.get_collection("c").unwrap();
        assert_eq!(contents(&c), before.docs, "after reopen");
        assert_eq!(c.stats().unwrap().doc_count, before.doc_count);
        Fx { dir, path, db, c }
    }
}

#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(r: ndb::Result<T>) {
    match r {
        Err(Error::InvalidArgument(msg)) => assert!(!msg.is_empty()),
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[track_caller]
fn assert_wrong_dim<T: std::fmt::Debug>(r: ndb::Result<T>, got: usize) {
    match r {
        Err(Error::WrongDimension { expected, got: g }) => {
            assert_eq!((expected, g), (DIM, got));
        }
        other => panic!("expected WrongDimension, got {other:?}"),
    }
}

/// Names of the entries of `dir` (empty if it does not exist).
fn entries(dir: &Path) -> BTreeSet<String> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

#[test]
fn wrong_dimension_is_refused() {
    let fx = fixture();
    let before = snapshot(&fx.c);
    for n in [1, 3, 5, 384] {
        assert_wrong_dim(fx.c.insert(Document::new("new", vec![1.0; n])), n);
        // Replacing an existing document (in a segment, in the memtable) with a bad vector.
        assert_wrong_dim(fx.c.insert(Document::new("s1", vec![1.0; n])), n);
        assert_wrong_dim(fx.c.insert(Document::new("m1", vec![1.0; n])), n);
        assert_wrong_dim(
            fx.c.insert_batch(vec![
                Document::new("b1", v(1.0)),
                Document::new("b2", vec![1.0; n]),
            ]),
            n,
        );
    }
    fx.assert_unchanged(&before);
}

#[test]
fn non_finite_components_are_refused() {
    let fx = fixture();
    let before = snapshot(&fx.c);
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -f32::NAN] {
        for pos in 0..DIM {
            let mut vector = v(1.0);
            vector[pos] = bad;
            assert_invalid(fx.c.insert(Document::new("new", vector.clone())));
            assert_invalid(fx.c.insert(Document::new("s2", vector.clone())));
            assert_invalid(fx.c.insert(Document::new("m2", vector.clone())));
            assert_invalid(fx.c.insert_batch(vec![
                Document::new("b1", v(1.0)),
                Document::new("b2", vector),
            ]));
        }
    }
    fx.assert_unchanged(&before);
}

#[test]
fn empty_vector_is_refused() {
    let fx = fixture();
    let before = snapshot(&fx.c);
    assert_invalid(fx.c.insert(Document::new("new", vec![])));
    assert_invalid(fx.c.insert(Document::new("s0", vec![])));
    assert_invalid(fx.c.insert_batch(vec![Document::new("new", vec![])]));
    fx.assert_unchanged(&before);
}

#[test]
fn id_rules_empty_and_over_1024_bytes_are_refused_1024_is_fine() {
    let fx = fixture();
    let before = snapshot(&fx.c);
    let long = "x".repeat(1025);
    let long_multibyte = format!("{}x", "é".repeat(512)); // 1,025 bytes, 513 characters
    for bad in ["", long.as_str(), long_multibyte.as_str()] {
        assert_invalid(fx.c.insert(Document::new(bad, v(1.0))));
        assert_invalid(fx.c.insert_batch(vec![
            Document::new("ok", v(1.0)),
            Document::new(bad, v(1.0)),
        ]));
        assert_invalid(fx.c.get(bad));
        assert_invalid(fx.c.delete(bad));
    }
    let fx = fx.assert_unchanged(&before);

    // The limit itself is fine, in bytes not characters, and survives flush and reopen.
    let max_ascii = "y".repeat(1024);
    let max_multibyte = "é".repeat(512);
    // Unusual but valid ids round-trip too.
    let odd = ["\0", "a\nb", "../x", "/etc/passwd", "日本語", "🦀", " "];
    let mut ids: Vec<String> = vec![max_ascii, max_multibyte];
    ids.extend(odd.iter().map(|s| s.to_string()));
    for (i, id) in ids.iter().enumerate() {
        fx.c.insert(Document::new(id.clone(), v(i as f32))).unwrap();
    }
    fx.c.flush().unwrap();
    let Fx { dir, path, db, c } = fx;
    drop((c, db));
    let db = Database::open(&path).unwrap();
    let c = db.get_collection("c").unwrap();
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(c.get(id).unwrap().unwrap().vector, v(i as f32), "{id:?}");
    }
    assert_eq!(
        c.stats().unwrap().doc_count,
        before.doc_count + ids.len() as u64
    );
    // Nothing was created outside the collection by the path-like ids.
    assert_eq!(entries(dir.path()), BTreeSet::from(["db".to_string()]));
}

#[test]
fn payload_must_be_an_object_or_null() {
    let fx = fixture();
    let before = snapshot(&fx.c);
    for bad in [
        json!("a string"),
        json!(42),
        json!(1.5),
        json!([1, 2]),
        json!([{"a": 1}]),
        json!(true),
    ] {
        assert_invalid(fx.c.insert(Document::new("new", v(1.0)).with_payload(bad.clone())));
        // Replacing an existing document must not half-happen either.
        assert_invalid(fx.c.insert(Document::new("s3", v(9.0)).with_payload(bad.clone())));
        assert_invalid(fx.c.insert_batch(vec![
            Document::new("b1", v(1.0)),
            Document::new("b2", v(1.0)).with_payload(bad),
        ]));
    }
    // Over the payload size limit (16 MiB).
    let huge = json!({"blob": "z".repeat(16 << 20)});
    assert_invalid(fx.c.insert(Document::new("new", v(1.0)).with_payload(huge)));
    let fx = fx.assert_unchanged(&before);

    // null means no payload; objects (also empty, also nested) are stored as given.
    fx.c.insert(Document::new("null", v(1.0)).with_payload(Value::Null))
        .unwrap();
    let nested = json!({"a": {"b": [1, {"c": null}]}, "s": "ü\u{0}", "f": -0.5});
    fx.c.insert(Document::new("obj", v(2.0)).with_payload(nested.clone()))
        .unwrap();
    fx.c.insert(Document::new("empty", v(3.0)).with_payload(json!({})))
        .unwrap();
    for round in 0..2 {
        let c = &fx.c;
        assert_eq!(c.get("null").unwrap().unwrap().payload, None, "{round}");
        assert_eq!(c.get("obj").unwrap().unwrap().payload, Some(nested.clone()));
        assert_eq!(c.get("empty").unwrap().unwrap().payload, Some(json!({})));
        c.flush().unwrap();
    }
}

#[test]
fn a_bad_document_in_a_batch_stores_nothing_of_the_batch() {
    let fx = fixture();
    let before = snapshot(&fx.c);
    let good = |id: &str| Document::new(id, v(7.0)).with_payload(json!({"new": true}));
    let bads: Vec<(Document, &str)> = vec![
        (Document::new("bad", vec![1.0; 3]), "dim"),
        (Document::new("bad", vec![f32::NAN; DIM]), "nan"),
        (Document::new("", v(1.0)), "id"),
        (
            Document::new("bad", v(1.0)).with_payload(json!(3)),
            "payload",
        ),
    ];
    for (bad, what) in bads {
        // New ids and replacements of existing ones (segment and memtable) around the bad one.
        let batch = vec![
            good("n1"),
            good("s0"),
            good("m0"),
            bad,
            good("n2"),
            good("s4"),
        ];
        let r = fx.c.insert_batch(batch);
        match what {
            "dim" => assert_wrong_dim(r, 3),
            _ => assert_invalid(r),
        }
        for id in ["n1", "n2"] {
            assert_eq!(fx.c.get(id).unwrap(), None, "{what}: {id} was stored");
        }
    }
    fx.assert_unchanged(&before);
}

#[test]
fn a_batch_with_the_same_id_twice_keeps_the_last() {
    let fx = fixture();
    let before = snapshot(&fx.c);
    fx.c.insert_batch(vec![
        Document::new("dup", v(1.0)).with_payload(json!({"n": 1})),
        Document::new("s1", v(20.0)),
        Document::new("dup", v(2.0)),
        Document::new("s1", v(21.0)).with_payload(json!({"n": 21})),
        Document::new("dup", v(3.0)).with_payload(json!({"n": 3})),
    ])
    .unwrap();
    let check = |c: &Collection| {
        let dup = c.get("dup").unwrap().unwrap();
        assert_eq!((dup.vector, dup.payload), (v(3.0), Some(json!({"n": 3}))));
        let s1 = c.get("s1").unwrap().unwrap();
        assert_eq!((s1.vector, s1.payload), (v(21.0), Some(json!({"n": 21}))));
        assert_eq!(c.stats().unwrap().doc_count, before.doc_count + 1);
        let ids: Vec<String> = contents(c).into_iter().map(|d| d.id).collect();
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(ids.len(), unique.len(), "iter yields duplicates: {ids:?}");
    };
    check(&fx.c);
    let Fx { dir, path, db, c } = fx;
    drop((c, db));
    // Replayed from the WAL.
    let db = Database::open(&path).unwrap();
    let c = db.get_collection("c").unwrap();
    check(&c);
    c.flush().unwrap();
    check(&c);
    drop((c, db));
    let db = Database::open(&path).unwrap();
    let c = db.get_collection("c").unwrap();
    check(&c);
    drop(dir);
}

#[test]
fn empty_batch_and_deleting_a_missing_id_change_nothing() {
    let fx = fixture();
    let before = snapshot(&fx.c);
    fx.c.insert_batch(Vec::new()).unwrap();
    assert!(!fx.c.delete("missing").unwrap());
    fx.assert_unchanged(&before);
}

#[test]
fn bad_collection_names_are_refused_and_create_nothing() {
    let fx = fixture();
    let outside_before = entries(fx.dir.path());
    let inside_before = entries(&fx.path);
    let names_before = fx.db.collection_names().unwrap();
    let long = "a".repeat(65);
    let bad = [
        "../x",
        "..",
        ".",
        "/etc",
        "/tmp/ndb-bad-name",
        "a/b",
        "a\\b",
        "a\0b",
        "",
        long.as_str(),
        "MANIFEST",
        "LOCK",
        "a.b",
        "ümlaut",
        "名前",
        "a b",
        "a\n",
    ];
    for name in bad {
        match fx.db.create_collection(name, CollectionConfig::new(DIM)) {
            Err(Error::InvalidArgument(_)) => {}
            other => panic!("{name:?}: expected InvalidArgument, got {other:?}"),
        }
        match fx.db.get_collection(name) {
            Err(Error::CollectionNotFound(_) | Error::InvalidArgument(_)) => {}
            other => panic!("{name:?}: get_collection gave {other:?}"),
        }
        assert!(!fx.db.has_collection(name).unwrap());
        assert!(matches!(
            fx.db.drop_collection(name),
            Ok(false) | Err(Error::InvalidArgument(_))
        ));
        assert_eq!(entries(fx.dir.path()), outside_before, "{name:?}");
        assert_eq!(entries(&fx.path), inside_before, "{name:?}");
        // MANIFEST, the WAL and segments/.
        assert_eq!(entries(&fx.path.join("c")).len(), 3, "{name:?}");
    }
    assert!(!Path::new("/tmp/ndb-bad-name").exists());
    assert_eq!(fx.db.collection_names().unwrap(), names_before);

    // The edges of the rule are accepted.
    let max = "Z".repeat(64);
    for good in ["a", "A-b_9", max.as_str()] {
        fx.db
            .create_collection(good, CollectionConfig::new(DIM))
            .unwrap_or_else(|e| panic!("{good:?}: {e}"));
    }
    let before = snapshot(&fx.c);
    fx.assert_unchanged(&before);
}

#[test]
fn a_directory_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photos");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("holiday.jpg"), b"\xff\xd8\xff not a database").unwrap();
    match Database::open(&path) {
        Err(Error::NotADatabase { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected NotADatabase, got {other:?}"),
    }
    match Database::open_read_only(&path) {
        Err(Error::NotADatabase { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected NotADatabase, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(path.join("holiday.jpg")).unwrap(),
        b"\xff\xd8\xff not a database"
    );
    assert!(!path.join("MANIFEST").exists());

    // A directory holding only a subdirectory is not a database either.
    let sub = dir.path().join("project");
    std::fs::create_dir_all(sub.join("src")).unwrap();
    assert!(matches!(
        Database::open(&sub),
        Err(Error::NotADatabase { .. })
    ));
    assert!(sub.join("src").is_dir());
}

/// "Changes nothing" also means no `LOCK` file left in somebody else's directory.
#[test]
fn refusing_a_foreign_directory_leaves_no_lock_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photos");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("holiday.jpg"), b"jpeg").unwrap();
    assert!(matches!(
        Database::open(&path),
        Err(Error::NotADatabase { .. })
    ));
    assert_eq!(entries(&path), BTreeSet::from(["holiday.jpg".to_string()]));
}

#[test]
fn a_regular_file_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, b"hello").unwrap();
    match Database::open(&path) {
        Err(Error::NotADatabase { .. }) => {}
        other => panic!("expected NotADatabase, got {other:?}"),
    }
    assert!(Database::open_read_only(&path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), b"hello");
    // Below a regular file: an error, not a panic.
    assert!(Database::open(path.join("db")).is_err());
    assert_eq!(
        entries(dir.path()),
        BTreeSet::from(["notes.txt".to_string()])
    );
}

#[test]
fn a_database_of_a_newer_format_is_refused_and_left_alone() {
    let fx = fixture();
    let before = snapshot(&fx.c);
    let Fx { dir, path, db, c } = fx;
    drop((c, db));
    let manifest = path.join("MANIFEST");
    let original = std::fs::read(&manifest).unwrap();
    let mut newer = original.clone();
    newer[8..12].copy_from_slice(&99u32.to_le_bytes());
    // A genuinely newer file: its checksum (bytes 0..24, then the body) is valid.
    let crc = crc32c::crc32c_append(crc32c::crc32c(&newer[..24]), &newer[32..]);
    newer[24..28].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&manifest, &newer).unwrap();
    for read_only in [false, true] {
        let r = if read_only {
            Database::open_read_only(&path)
        } else {
            Database::open(&path)
        };
        match r {
            Err(Error::UnsupportedFormat {
                found: 99,
                supported,
                file,
            }) => {
                assert_eq!(file, manifest);
                assert!(supported < 99);
            }
            other => panic!("read-only {read_only}: {other:?}"),
        }
    }
    assert_eq!(std::fs::read(&manifest).unwrap(), newer);
    assert_eq!(entries(&path.join("c")).len(), 3); // MANIFEST, the WAL and segments/
    std::fs::write(&manifest, &original).unwrap();
    let db = Database::open(&path).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(snapshot(&c), before);
    drop(dir);
}

#[test]
fn a_dropped_collection_refuses_every_operation() {
    let fx = fixture();
    let old = fx.c.clone();
    assert!(fx.db.drop_collection("c").unwrap());
    let nf = |r: ndb::Result<()>, what: &str| match r {
        Err(Error::CollectionNotFound(name)) => assert_eq!(name, "c"),
        other => panic!("{what}: expected CollectionNotFound, got {other:?}"),
    };
    let check_all = |h: &Collection| {
        nf(h.insert(Document::new("x", v(1.0))), "insert");
        nf(
            h.insert_batch(vec![Document::new("x", v(1.0))]),
            "insert_batch",
        );
        nf(h.insert_batch(Vec::new()), "empty insert_batch");
        nf(h.get("s0").map(|_| ()), "get");
        nf(h.delete("s0").map(|_| ()), "delete");
        nf(h.flush(), "flush");
        nf(h.sync(), "sync");
        nf(h.stats().map(|_| ()), "stats");
        nf(h.iter().map(|_| ()), "iter");
        nf(h.verify(), "verify");
    };
    check_all(&old);
    check_all(&fx.c);
    assert!(matches!(
        fx.db.get_collection("c"),
        Err(Error::CollectionNotFound(_))
    ));
    assert!(!fx.db.drop_collection("c").unwrap());
    assert!(!fx.path.join("c").exists());

    // The name is free again; the old handles stay dead and do not touch the new collection.
    let new = fx
        .db
        .create_collection("c", CollectionConfig::new(2))
        .unwrap();
    check_all(&old);
    assert_eq!(new.stats().unwrap().doc_count, 0);
    assert_eq!(new.get("s0").unwrap(), None);
    new.insert(Document::new("n", vec![1.0, 0.0])).unwrap();
    let Fx { dir, path, db, c } = fx;
    drop((c, old, new, db));
    let db = Database::open(&path).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(c.config().dim(), 2);
    assert_eq!(c.stats().unwrap().doc_count, 1);
    drop(dir);
}

#[test]
fn missing_and_existing_collection_names() {
    let fx = fixture();
    let before = snapshot(&fx.c);
    match fx.db.get_collection("nope") {
        Err(Error::CollectionNotFound(name)) => assert_eq!(name, "nope"),
        other => panic!("{other:?}"),
    }
    assert!(!fx.path.join("nope").exists());
    // Creating an existing name fails and leaves the existing collection as it was, even with
    // another configuration.
    for config in [
        CollectionConfig::new(DIM),
        CollectionConfig::new(DIM + 1).with_distance(Distance::DotProduct),
    ] {
        match fx.db.create_collection("c", config) {
            Err(Error::CollectionExists(name)) => assert_eq!(name, "c"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(fx.c.config().dim(), DIM);
    let fx = fx.assert_unchanged(&before);
    assert_eq!(fx.c.config().dim(), DIM);
    assert_eq!(fx.c.config().distance(), Distance::Euclidean);
}

#[test]
fn zero_vector_in_a_cosine_collection_is_refused() {
    let fx = fixture_with(Distance::Cosine);
    let before = snapshot(&fx.c);
    for zero in [vec![0.0; DIM], vec![-0.0; DIM], vec![0.0, -0.0, 0.0, 0.0]] {
        assert_invalid(fx.c.insert(Document::new("z", zero.clone())));
        assert_invalid(fx.c.insert(Document::new("s1", zero.clone())));
        assert_invalid(
            fx.c.insert_batch(vec![Document::new("ok", v(1.0)), Document::new("z", zero)]),
        );
    }
    let fx = fx.assert_unchanged(&before);
    // Other metrics store a zero vector as given.
    let e = fx
        .db
        .create_collection(
            "e",
            CollectionConfig::new(DIM).with_distance(Distance::Euclidean),
        )
        .unwrap();
    e.insert(Document::new("z", vec![0.0; DIM])).unwrap();
    assert_eq!(e.get("z").unwrap().unwrap().vector, vec![0.0; DIM]);
}

#[test]
fn invalid_configurations_are_refused_and_create_nothing() {
    let fx = fixture();
    let inside_before = entries(&fx.path);
    let configs = [
        CollectionConfig::new(0),
        CollectionConfig::new(65_537),
        CollectionConfig::new(usize::MAX),
        CollectionConfig::new(DIM).with_flush_threshold_bytes(0),
        CollectionConfig::new(DIM).with_flush_threshold_bytes(4095),
    ];
    for config in configs {
        let shown = format!("{config:?}");
        match fx.db.create_collection("d", config) {
            Err(Error::InvalidArgument(_)) => {}
            other => panic!("{shown}: expected InvalidArgument, got {other:?}"),
        }
        assert_eq!(entries(&fx.path), inside_before, "{shown}");
        assert!(!fx.db.has_collection("d").unwrap());
    }
    // The edges are accepted.
    fx.db
        .create_collection("d1", CollectionConfig::new(1))
        .unwrap();
    fx.db
        .create_collection(
            "d2",
            CollectionConfig::new(DIM).with_flush_threshold_bytes(4096),
        )
        .unwrap();
}

#[test]
fn writes_through_a_read_only_database_are_refused() {
    let fx = fixture();
    let before = snapshot(&fx.c);
    let Fx { dir, path, db, c } = fx;
    drop((c, db));
    let ro = Database::open_read_only(&path).unwrap();
    assert!(ro.is_read_only());
    let ro_err = |r: ndb::Result<()>, what: &str| match r {
        Err(Error::ReadOnly) => {}
        other => panic!("{what}: expected ReadOnly, got {other:?}"),
    };
    ro_err(
        ro.create_collection("new", CollectionConfig::new(DIM))
            .map(|_| ()),
        "create_collection",
    );
    ro_err(ro.drop_collection("c").map(|_| ()), "drop_collection");
    let c = ro.get_collection("c").unwrap();
    ro_err(c.insert(Document::new("x", v(1.0))), "insert");
    ro_err(
        c.insert_batch(vec![Document::new("x", v(1.0))]),
        "insert_batch",
    );
    ro_err(c.insert_batch(Vec::new()), "empty insert_batch");
    ro_err(c.delete("s0").map(|_| ()), "delete");
    ro_err(c.delete("missing").map(|_| ()), "delete of a missing id");
    ro_err(c.flush(), "flush");
    ro_err(c.sync(), "sync");
    // Reads work and show the data.
    assert_eq!(contents(&c), before.docs);
    c.verify().unwrap();
    assert_eq!(ro.collection_names().unwrap(), vec!["c".to_string()]);
    drop((c, ro));
    let db = Database::open(&path).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(snapshot(&c), before);
    drop(dir);
}
