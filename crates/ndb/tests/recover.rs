//! Salvage (`ndb::recover`, issue 18): databases damaged in each file kind give back every
//! undamaged document, with its vector and payload, in a new database that opens and verifies
//! cleanly; the report names exactly what was lost; the source is byte-identical afterwards;
//! a destination that is not new and empty is refused with nothing written.
//!
//! The source database (`build`): collection `c` (Euclidean, dimension 8, a graph and a
//! payload index per segment) with segment 1 (documents 0..300), segment 2 (a replacement of
//! doc-0010 and doc-0011, plus documents 300..310; doc-0005 and doc-0006 deleted, which makes
//! segment 1's deletion file), and a WAL of four records after them (puts of 310..315,
//! 315..320, 320..325, then a delete of doc-0020); collection `w` (cosine, dimension 4) with
//! a WAL only. Damage is made by flipping bytes where docs/FORMAT.md puts them.

mod common;
use common::segment_file::{row_bytes, row_of, section, u32_at, u64_at};
use common::segment_file::{ID_BYTES, ID_OFFSETS, PAYLOAD_BYTES, PAYLOAD_OFFSETS, VECTORS};
use common::{env_number, quiet, small_graphs};
use ndb::{
    CollectionConfig, Database, Distance, Document, Error, FileKind, FileRecovery,
    PayloadIndexKind, RecoverReport,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

const DIM: usize = 8;

fn doc(i: usize, version: u32) -> Document {
    let v = (0..DIM)
        .map(|j| ((i * 31 + j * 7) % 97) as f32 / 10.0 + version as f32)
        .collect();
    Document::new(format!("doc-{i:04}"), v)
        .with_payload(json!({"i": i, "tag": format!("t{}", i % 3), "v": version}))
}

fn wal_doc(i: usize) -> Document {
    let mut v = vec![0.0f32; 4];
    v[i % 4] = 1.0;
    Document::new(format!("w-{i}"), v).with_payload(json!({"w": i}))
}

/// The documents that should be live in each collection, by id.
type Model = BTreeMap<String, BTreeMap<String, Document>>;

/// Build the source database in `dir/src` (module doc); returns its path and the model.
fn build(dir: &Path) -> (PathBuf, Model) {
    let src = dir.join("src");
    let db = Database::open_with_options(&src, quiet()).unwrap();
    let c = db.create_collection("c", small_graphs(DIM, 8, 40)).unwrap();
    c.create_payload_index("tag", PayloadIndexKind::Keyword)
        .unwrap();
    let mut live = BTreeMap::new();
    let put = |live: &mut BTreeMap<String, Document>, docs: Vec<Document>| {
        for d in &docs {
            live.insert(d.id.clone(), d.clone());
        }
        c.insert_batch(docs).unwrap();
    };
    put(&mut live, (0..300).map(|i| doc(i, 0)).collect());
    c.flush().unwrap();
    put(&mut live, vec![doc(10, 1), doc(11, 1)]);
    put(&mut live, (300..310).map(|i| doc(i, 0)).collect());
    for id in ["doc-0005", "doc-0006"] {
        assert!(c.delete(id).unwrap());
        live.remove(id);
    }
    c.flush().unwrap();
    put(&mut live, (310..315).map(|i| doc(i, 0)).collect());
    put(&mut live, (315..320).map(|i| doc(i, 0)).collect());
    put(&mut live, (320..325).map(|i| doc(i, 0)).collect());
    assert!(c.delete("doc-0020").unwrap());
    live.remove("doc-0020");
    let w = db
        .create_collection(
            "w",
            CollectionConfig::new(4).with_distance(Distance::Cosine),
        )
        .unwrap();
    let wal: BTreeMap<String, Document> = (0..12).map(|i| (format!("w-{i}"), wal_doc(i))).collect();
    w.insert_batch(wal.values().cloned()).unwrap();
    let mut model = Model::new();
    model.insert("c".into(), live);
    model.insert("w".into(), wal);
    (src, model)
}

/// A source database (`build`) in a temporary directory, the documents it should give back,
/// and where a salvage of it goes.
struct Source {
    dir: tempfile::TempDir,
    src: PathBuf,
    model: Model,
    dest: PathBuf,
}

fn source() -> Source {
    let dir = tempfile::tempdir().unwrap();
    let (src, model) = build(dir.path());
    let dest = dir.path().join("dest");
    Source {
        dir,
        src,
        model,
        dest,
    }
}

impl Source {
    /// Salvage the source into `dest` (as `recover`).
    fn salvage(&self) -> RecoverReport {
        recover(&self.src, &self.dest).unwrap()
    }

    /// The salvaged database opens, verifies, and holds exactly the model's documents.
    fn assert_recovered(&self) {
        assert_same(&recovered(&self.dest), &self.model);
    }

    /// The WAL file of collection `c` and its bytes.
    fn wal_of_c(&self) -> (PathBuf, Vec<u8>) {
        let path = wal_file(&self.src, "c");
        let bytes = std::fs::read(&path).unwrap();
        (path, bytes)
    }

    /// `path` relative to the source, as the report names files.
    fn rel(&self, path: &Path) -> String {
        path.strip_prefix(&self.src).unwrap().display().to_string()
    }
}

// ---- the files of the source, per docs/FORMAT.md ----

fn seg(src: &Path, id: u64) -> PathBuf {
    src.join(format!("c/segments/{id:06}.ndb"))
}

/// The one file in `c/segments/` of segment `id` with extension `ext`.
fn sidecar(src: &Path, id: u64, ext: &str) -> PathBuf {
    let prefix = format!("{id:06}-");
    let mut found: Vec<PathBuf> = std::fs::read_dir(src.join("c/segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with(&prefix) && name.ends_with(&format!(".{ext}"))
        })
        .collect();
    assert_eq!(found.len(), 1, "{ext} files of segment {id}: {found:?}");
    found.pop().unwrap()
}

fn wal_file(src: &Path, coll: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir(src.join(coll))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("wal-"))
        .collect();
    found.sort();
    found.pop().unwrap()
}

/// The vector bytes of `row` (dimension `DIM`).
fn vector_bytes(bytes: &[u8], row: usize) -> Range<u64> {
    let start = (section(bytes, VECTORS).start + row * DIM * 4) as u64;
    start..start + (DIM * 4) as u64
}

/// (offset, length, sequence number) of every record of a WAL file.
fn wal_records(bytes: &[u8]) -> Vec<(usize, usize, u64)> {
    let mut out = Vec::new();
    let mut pos = 32;
    while pos < bytes.len() {
        let len = 16 + u32_at(bytes, pos + 8) as usize;
        out.push((pos, len, u64_at(bytes, pos)));
        pos += len;
    }
    out
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

// ---- running a salvage and checking it ----

/// Every file under `dir`, by path, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.insert(p.clone(), Vec::new());
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn set_read_only(dir: &Path, read_only: bool) {
    use std::os::unix::fs::PermissionsExt;
    let mut paths: Vec<PathBuf> = snapshot(dir).into_keys().collect();
    paths.push(dir.to_path_buf());
    for p in paths {
        let mode = match (p.is_dir(), read_only) {
            (true, true) => 0o555,
            (true, false) => 0o755,
            (false, true) => 0o444,
            (false, false) => 0o644,
        };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

/// Recover `src` into `dest` with the source read-only (where permissions bind) and check it
/// is byte-identical afterwards.
fn recover(src: &Path, dest: &Path) -> ndb::Result<RecoverReport> {
    let before = snapshot(src);
    set_read_only(src, true);
    let result = ndb::recover(src, dest);
    set_read_only(src, false);
    assert!(before == snapshot(src), "the source changed");
    if let Ok(report) = &result {
        println!("{report}");
    }
    result
}

/// The recovered database: opens cleanly, every collection verifies; its documents by id.
fn recovered(dest: &Path) -> Model {
    let db = Database::open(dest).unwrap();
    let mut out = Model::new();
    for name in db.collection_names().unwrap() {
        let c = db.get_collection(&name).unwrap();
        c.verify().unwrap();
        let docs = c
            .iter()
            .unwrap()
            .map(|d| d.map(|d| (d.id.clone(), d)))
            .collect::<ndb::Result<_>>()
            .unwrap();
        out.insert(name, docs);
    }
    out
}

/// `got` equals `want`: exactly for Euclidean collections; cosine vectors, normalized again on
/// insert, within a float rounding.
fn assert_same(got: &Model, want: &Model) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (name, docs) in want {
        let got = &got[name];
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            docs.keys().collect::<Vec<_>>(),
            "ids of {name}"
        );
        for (id, d) in docs {
            let g = &got[id];
            assert_eq!(g.payload, d.payload, "{name}/{id}");
            let close = g
                .vector
                .iter()
                .zip(&d.vector)
                .all(|(a, b)| (a - b).abs() <= 1e-6 * b.abs().max(1.0));
            assert!(close, "{name}/{id}: {:?} vs {:?}", g.vector, d.vector);
        }
    }
}

fn file<'a>(report: &'a RecoverReport, coll: &str, path: &str) -> &'a FileRecovery {
    let c = report.collections.iter().find(|c| c.name == coll).unwrap();
    c.files
        .iter()
        .find(|f| f.path == Path::new(path))
        .unwrap_or_else(|| panic!("no report of {path}: {report}"))
}

/// Every file of the report but those named in `except` has no damage.
fn only_damaged(report: &RecoverReport, except: &[&str]) {
    let mut damaged: Vec<String> = report
        .files
        .iter()
        .chain(report.collections.iter().flat_map(|c| c.files.iter()))
        .filter(|f| !f.damage.is_empty())
        .map(|f| f.path.display().to_string())
        .collect();
    damaged.sort();
    let mut want: Vec<String> = except.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(damaged, want, "{report}");
}

fn segment_1_id_range() -> String {
    "c/segments/000001.ndb".to_string()
}

// ---- the scenarios ----

#[test]
fn an_undamaged_database_recovers_completely() {
    let s = source();
    let report = s.salvage();
    assert!(report.is_complete(), "{report}");
    only_damaged(&report, &[]);
    assert_eq!(report.rows_lost(), 0);
    let want: u64 = s.model.values().map(|d| d.len() as u64).sum();
    assert_eq!(report.documents_recovered(), want);
    assert!(report.collections.iter().all(|c| c.config_from_manifest));
    s.assert_recovered();
    // The configuration and the payload indexes came over.
    let db = Database::open(&s.dest).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(c.config().distance(), Distance::Euclidean);
    assert_eq!(c.config().index().m, 8);
    assert_eq!(
        c.payload_indexes(),
        vec![("tag".to_string(), PayloadIndexKind::Keyword)]
    );
    assert_eq!(
        db.get_collection("w").unwrap().config().distance(),
        Distance::Cosine
    );
    // Every file was read and reported: manifests, segments, deletion, graph, payload index,
    // WAL files.
    for kind in [
        FileKind::CollectionManifest,
        FileKind::Segment,
        FileKind::Deletions,
        FileKind::Graph,
        FileKind::PayloadIndex,
        FileKind::Wal,
    ] {
        assert!(
            report.collections[0].files.iter().any(|f| f.kind == kind),
            "{kind:?}"
        );
    }
    assert_eq!(
        file(&report, "c", "c/segments/000001.ndb").documents_read,
        296
    );
}

#[test]
fn a_damaged_segment_row_loses_that_row_only() {
    let mut s = source();
    let path = seg(&s.src, 1);
    let bytes = std::fs::read(&path).unwrap();
    // doc-0042: a payload byte; doc-0100 and doc-0101: a vector byte each; doc-0200: an id
    // byte (which fails a normal open of the segment, ids are checked there).
    let mut lost = Vec::new();
    for (id, at) in [
        (
            "doc-0042",
            row_bytes(
                &bytes,
                PAYLOAD_OFFSETS,
                PAYLOAD_BYTES,
                row_of(&bytes, "doc-0042"),
            )
            .start
                + 3,
        ),
        (
            "doc-0100",
            vector_bytes(&bytes, row_of(&bytes, "doc-0100")).start as usize + 2,
        ),
        (
            "doc-0101",
            vector_bytes(&bytes, row_of(&bytes, "doc-0101")).start as usize + 5,
        ),
        (
            "doc-0200",
            row_bytes(&bytes, ID_OFFSETS, ID_BYTES, row_of(&bytes, "doc-0200")).start + 6,
        ),
    ] {
        lost.push((id, row_of(&bytes, id)));
        flip(&path, at);
    }
    let err = Database::open_read_only(&s.src)
        .and_then(|db| db.get_collection("c"))
        .unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err}");

    let report = s.salvage();
    assert!(!report.is_complete());
    only_damaged(&report, &[&segment_1_id_range()]);
    let f = file(&report, "c", "c/segments/000001.ndb");
    assert_eq!(f.rows_lost, 4);
    assert_eq!(f.documents_read, 296 - 4);
    // The ids section failed its checksum (one entry, no rows by itself), then one entry per
    // run of lost rows: doc-0042, doc-0100..=0101 (consecutive rows, one entry), doc-0200.
    let ids_section = section(&bytes, ID_BYTES);
    assert_eq!(
        f.damage[0].bytes,
        ids_section.start as u64..ids_section.end as u64
    );
    assert_eq!(f.damage[0].rows, None);
    let rows: Vec<_> = f.damage[1..]
        .iter()
        .map(|d| d.rows.clone().unwrap())
        .collect();
    let r = |id: &str| lost.iter().find(|l| l.0 == id).unwrap().1 as u64;
    assert_eq!(
        rows,
        vec![
            r("doc-0042")..r("doc-0042") + 1,
            r("doc-0100")..r("doc-0101") + 1,
            r("doc-0200")..r("doc-0200") + 1,
        ]
    );
    assert_eq!(f.damage[1].ids, vec!["doc-0042"]);
    assert_eq!(f.damage[2].ids, vec!["doc-0100", "doc-0101"]);
    assert_eq!(
        f.damage[1].bytes,
        vector_bytes(&bytes, r("doc-0042") as usize)
    );
    assert_eq!(
        f.damage[2].bytes.start,
        vector_bytes(&bytes, r("doc-0100") as usize).start
    );
    assert_eq!(
        f.damage[2].bytes.end,
        vector_bytes(&bytes, r("doc-0101") as usize).end
    );
    assert!(
        f.damage[3].reason.contains("checksum"),
        "{}",
        f.damage[3].reason
    );
    for (id, _) in &lost {
        s.model.get_mut("c").unwrap().remove(*id);
    }
    assert_eq!(report.rows_lost(), 4);
    s.assert_recovered();
}

#[test]
fn a_segment_that_cannot_be_opened_loses_its_rows_and_no_older_version_comes_back() {
    let mut s = source();
    let path = seg(&s.src, 2);
    let len = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len - 100).unwrap();
    drop(f);
    let report = s.salvage();
    only_damaged(&report, &["c/segments/000002.ndb"]);
    let f = file(&report, "c", "c/segments/000002.ndb");
    assert_eq!(f.rows_lost, 12);
    assert_eq!(f.damage.len(), 1);
    assert_eq!(f.damage[0].rows, Some(0..12));
    assert_eq!(f.damage[0].bytes, 0..len - 100);
    assert_eq!(report.rows_lost(), 12);
    // Segment 2 held the newest versions of doc-0010 and doc-0011: their older versions in
    // segment 1 are deleted there, and stay lost.
    let live = s.model.get_mut("c").unwrap();
    for i in [10, 11].into_iter().chain(300..310) {
        live.remove(&format!("doc-{i:04}"));
    }
    s.assert_recovered();
}

#[test]
fn a_damaged_segment_header_costs_nothing() {
    let s = source();
    // A reserved header byte (covered by the header checksum) and a section table entry.
    flip(&seg(&s.src, 1), 52);
    flip(&seg(&s.src, 2), 56 + 32 + 9);
    let report = s.salvage();
    only_damaged(&report, &["c/segments/000001.ndb", "c/segments/000002.ndb"]);
    for id in [1, 2] {
        let f = file(&report, "c", &format!("c/segments/{id:06}.ndb"));
        assert_eq!(f.rows_lost, 0);
        assert_eq!(f.damage.len(), 1, "{:?}", f.damage);
        assert_eq!(f.damage[0].bytes, 0..512);
        assert!(f.damage[0].reason.contains("header checksum"));
        assert!(f.damage[0].reason.contains("where the writer puts them"));
    }
    assert_eq!(report.rows_lost(), 0);
    s.assert_recovered();
}

#[test]
fn damage_in_the_middle_of_the_wal_loses_that_record_only() {
    let mut s = source();
    let (path, bytes) = s.wal_of_c();
    let records = wal_records(&bytes);
    assert_eq!(
        records.len(),
        4,
        "three puts and a delete after the last flush"
    );
    // The second record (documents 315..320) damaged in its body; the delete after it is
    // still applied.
    let (at, len, seq) = records[1];
    flip(&path, at + len / 2);
    let err = Database::open_read_only(&s.src)
        .and_then(|db| db.get_collection("c"))
        .unwrap_err();
    assert!(matches!(err, Error::Corruption { .. }), "{err}");

    let report = s.salvage();
    let name = s.rel(&path);
    only_damaged(&report, &[&name]);
    let f = file(&report, "c", &name);
    assert_eq!(f.damage.len(), 1);
    assert_eq!(f.damage[0].bytes, at as u64..(at + len) as u64);
    assert_eq!(f.damage[0].records, Some(seq..seq + 1));
    assert!(
        f.damage[0].reason.contains("deletions"),
        "{}",
        f.damage[0].reason
    );
    assert_eq!(f.documents_read, 10);
    for i in 315..320 {
        s.model.get_mut("c").unwrap().remove(&format!("doc-{i:04}"));
    }
    s.assert_recovered();
}

#[test]
fn a_torn_wal_tail_is_reported_and_the_records_before_it_recovered() {
    let mut s = source();
    let (path, bytes) = s.wal_of_c();
    let (at, _, _) = *wal_records(&bytes).last().unwrap();
    // Cut into the last record (the delete of doc-0020): the delete is lost, doc-0020 is back.
    std::fs::write(&path, &bytes[..at + 7]).unwrap();
    let report = s.salvage();
    let f = &report.collections[0]
        .files
        .iter()
        .find(|f| f.kind == FileKind::Wal)
        .unwrap();
    assert_eq!(f.damage.len(), 1);
    assert_eq!(f.damage[0].bytes, at as u64..at as u64 + 7);
    assert_eq!(f.damage[0].records, None, "nothing after it says how many");
    s.model
        .get_mut("c")
        .unwrap()
        .insert("doc-0020".into(), doc(20, 0));
    s.assert_recovered();
}

#[test]
fn a_missing_wal_file_is_reported_and_its_writes_and_deletions_are_lost() {
    let mut s = source();
    let path = wal_file(&s.src, "c");
    std::fs::remove_file(&path).unwrap();
    let report = s.salvage();
    let name = s.rel(&path);
    only_damaged(&report, &[&name]);
    let f = file(&report, "c", &name);
    assert_eq!(f.damage[0].bytes, 0..0);
    assert!(
        f.damage[0].reason.starts_with("missing"),
        "{}",
        f.damage[0].reason
    );
    assert!(!report.is_complete());
    let live = s.model.get_mut("c").unwrap();
    for i in 310..325 {
        live.remove(&format!("doc-{i:04}"));
    }
    live.insert("doc-0020".into(), doc(20, 0));
    s.assert_recovered();
}

#[test]
fn a_lost_database_manifest_is_replaced_by_the_collection_directories() {
    let s = source();
    std::fs::remove_file(s.src.join("MANIFEST")).unwrap();
    std::fs::create_dir(s.src.join("notes")).unwrap(); // the user's: not a collection
    let report = s.salvage();
    assert_eq!(report.files.len(), 1);
    assert_eq!(report.files[0].kind, FileKind::DatabaseManifest);
    assert_eq!(report.files[0].damage[0].bytes, 0..0);
    assert!(report.files[0].damage[0].reason.starts_with("missing"));
    only_damaged(&report, &["MANIFEST"]);
    assert!(report.collections.iter().all(|c| c.is_complete()));
    s.assert_recovered();
}

#[test]
fn a_lost_collection_manifest_is_replaced_by_the_files_and_the_configuration_inferred() {
    let s = source();
    std::fs::remove_file(s.src.join("c/MANIFEST")).unwrap();
    // A damaged manifest is as good as lost.
    flip(&s.src.join("w/MANIFEST"), 40);
    let report = s.salvage();
    only_damaged(&report, &["c/MANIFEST", "w/MANIFEST"]);
    for c in &report.collections {
        assert!(!c.config_from_manifest);
        assert!(
            c.notes.iter().any(|n| n.contains("configuration inferred")),
            "{c}"
        );
    }
    // Deletions still honoured (segment 1's deletion file), replacements still newest.
    s.assert_recovered();
    let db = Database::open(&s.dest).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(
        (c.config().dim(), c.config().distance()),
        (DIM, Distance::Euclidean)
    );
    // `w` has only a WAL: the dimension from a record, cosine from its unit vectors.
    let w = db.get_collection("w").unwrap();
    assert_eq!(
        (w.config().dim(), w.config().distance()),
        (4, Distance::Cosine)
    );
}

#[test]
fn damaged_graph_and_payload_index_files_lose_nothing() {
    let s = source();
    let graph = sidecar(&s.src, 1, "hnsw");
    let pidx = sidecar(&s.src, 1, "pidx");
    let graph_len = std::fs::metadata(&graph).unwrap().len() as usize;
    flip(&graph, graph_len - 10);
    flip(&pidx, 50);
    let report = s.salvage();
    let (graph, pidx) = (s.rel(&graph), s.rel(&pidx));
    only_damaged(&report, &[&graph, &pidx]);
    assert_eq!(file(&report, "c", &graph).kind, FileKind::Graph);
    assert_eq!(file(&report, "c", &pidx).kind, FileKind::PayloadIndex);
    assert!(report.is_complete(), "derived files lose nothing: {report}");
    s.assert_recovered();
}

#[test]
fn a_damaged_deletion_file_brings_deleted_documents_back_and_says_so() {
    let mut s = source();
    let del = sidecar(&s.src, 1, "del");
    flip(&del, 50);
    let report = s.salvage();
    let rel = s.rel(&del);
    only_damaged(&report, &[&rel]);
    assert!(file(&report, "c", &rel).damage[0]
        .reason
        .contains("may reappear"));
    let c = &report.collections[0];
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("segment 1") && n.contains("may have been deleted")),
        "{c}"
    );
    // The deleted documents are back; the replaced ones keep their newer version (segment 2's
    // rows are known live and win over segment 1's, whose state is unknown).
    let live = s.model.get_mut("c").unwrap();
    live.insert("doc-0005".into(), doc(5, 0));
    live.insert("doc-0006".into(), doc(6, 0));
    s.assert_recovered();
}

#[test]
fn a_destination_that_is_not_new_and_empty_is_refused_with_nothing_written() {
    let Source { dir, src, dest, .. } = source();
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("keep.txt"), "mine").unwrap();
    let before = snapshot(&dest);
    match recover(&src, &dest) {
        Err(Error::DestinationNotEmpty { path }) => assert_eq!(path, dest),
        other => panic!("expected DestinationNotEmpty, got {other:?}"),
    }
    assert!(before == snapshot(&dest));
    // A file.
    let file_dest = dir.path().join("file");
    std::fs::write(&file_dest, "x").unwrap();
    assert!(matches!(
        recover(&src, &file_dest),
        Err(Error::DestinationNotEmpty { .. })
    ));
    assert_eq!(std::fs::read(&file_dest).unwrap(), b"x");
    // Inside the source.
    let inside = src.join("salvaged");
    assert!(matches!(
        recover(&src, &inside),
        Err(Error::InvalidArgument(_))
    ));
    assert!(!inside.exists());
    // The source itself.
    assert!(matches!(
        recover(&src, &src),
        Err(Error::DestinationNotEmpty { .. })
    ));
    // Not a database: nothing is created.
    let nothing = dir.path().join("nothing");
    std::fs::create_dir(&nothing).unwrap();
    let dest2 = dir.path().join("dest2");
    for bad in [dir.path().join("missing"), nothing] {
        assert!(matches!(
            ndb::recover(&bad, &dest2),
            Err(Error::NotADatabase { .. })
        ));
        assert!(!dest2.exists());
    }
    // An empty directory is a fine destination.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(recover(&src, &empty).unwrap().is_complete());
}

#[test]
fn random_damage_never_panics_and_never_returns_a_wrong_document() {
    use rand::{Rng, SeedableRng};
    let Source { dir, src, .. } = source();
    let pristine = snapshot(&src);
    let files: Vec<PathBuf> = pristine
        .iter()
        .filter(|(_, b)| !b.is_empty())
        .map(|(p, _)| p.clone())
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(18);
    // NDB_RECOVER_ROUNDS=1000 for a long run.
    let rounds = env_number("NDB_RECOVER_ROUNDS").unwrap_or(24);
    for round in 0..rounds {
        for (p, b) in &pristine {
            if !b.is_empty() {
                std::fs::write(p, b).unwrap();
            }
        }
        for _ in 0..3 {
            let p = &files[rng.gen_range(0..files.len())];
            let len = pristine[p].len();
            flip(p, rng.gen_range(0..len));
        }
        let dest = dir.path().join(format!("dest-{round}"));
        let report = recover(&src, &dest).unwrap();
        // Whatever came back is a version some write made (a lost deletion may bring back a
        // deleted or replaced version, and the report says so).
        for (name, docs) in recovered(&dest) {
            for (id, d) in docs {
                let n: usize = id.rsplit('-').next().unwrap().parse().unwrap();
                let want = match name.as_str() {
                    "c" => {
                        let v = d
                            .payload
                            .as_ref()
                            .and_then(|p| p["v"].as_u64())
                            .unwrap_or(9);
                        assert!(
                            n < 325 && (v == 0 || (v == 1 && (n == 10 || n == 11))),
                            "{id} v{v}: {report}"
                        );
                        doc(n, v as u32)
                    }
                    _ => wal_doc(n),
                };
                assert_eq!(d.id, want.id);
                assert_eq!(d.payload, want.payload, "{name}/{id}: {report}");
                assert_eq!(d.vector, want.vector, "{name}/{id}: {report}");
            }
        }
    }
}
