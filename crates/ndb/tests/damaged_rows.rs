//! Damaged payload, vector and id bytes in a flushed segment are never returned (issue 12,
//! item 4): `get`, `iter`, search results and filters that read the damaged row fail with
//! `Error::Corruption` naming the segment and the row; undamaged rows still read fine.
//!
//! Ids (and the offset sections) are checked when the segment is opened, so a flipped id byte
//! fails the open; payloads and vectors are checked per row (a row checksum over id, payload
//! and vector) and per block of vectors (exact scans, graph traversals) when read.

mod common;
use common::segment_file::{row_of, row_start, section, ID_BYTES, ID_OFFSETS, PAYLOAD_BYTES};
use common::segment_file::{PAYLOAD_OFFSETS, VECTORS};
use common::{quiet, small_graphs};

use ndb::{Database, Document, Error, Filter, Search};
use serde_json::json;
use std::path::{Path, PathBuf};

const DIM: usize = 8;
const DOCS: usize = 300;

fn doc(i: usize) -> Document {
    let v = (0..DIM)
        .map(|j| ((i * 31 + j * 7) % 97) as f32 / 10.0)
        .collect();
    Document::new(format!("doc-{i:04}"), v).with_payload(json!({"i": i, "tag": "t"}))
}

/// One flushed segment of `DOCS` documents with an HNSW graph.
fn build(dir: &Path) -> PathBuf {
    let db = Database::open_with_options(dir, quiet()).unwrap();
    let c = db.create_collection("c", small_graphs(DIM, 8, 40)).unwrap();
    c.insert_batch((0..DOCS).map(doc)).unwrap();
    c.flush().unwrap();
    assert!(c.has_index());
    dir.join("c/segments/000001.ndb")
}

#[track_caller]
fn assert_row_corruption(r: ndb::Result<impl std::fmt::Debug>, file: &Path, what: &str) {
    match r {
        Err(Error::Corruption {
            file: f, reason, ..
        }) => {
            assert_eq!(f, file, "{what}");
            assert!(
                reason.contains("row") || reason.contains("block"),
                "{what}: {reason}"
            );
        }
        other => panic!(
            "{what}: expected Corruption in {}, got {other:?}",
            file.display()
        ),
    }
}

/// A new temporary directory holding the database of [`build`], its segment file and that
/// file's bytes.
fn built() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let seg = build(dir.path());
    let bytes = std::fs::read(&seg).unwrap();
    (dir, seg, bytes)
}

/// Write `bytes` (the segment file `seg`) back with one bit of document `id`'s vector flipped.
fn flip_vector_byte(seg: &Path, mut bytes: Vec<u8>, id: &str) {
    let row = row_of(&bytes, id);
    let at = section(&bytes, VECTORS).start + row * DIM * 4 + 2;
    bytes[at] ^= 0x40;
    std::fs::write(seg, &bytes).unwrap();
}

fn open(dir: &Path) -> (Database, ndb::Collection) {
    let db = Database::open(dir).unwrap();
    let c = db.get_collection("c").unwrap();
    (db, c)
}

/// Every other document reads back exactly.
fn assert_others_intact(c: &ndb::Collection, damaged: &str) {
    for i in (0..DOCS).step_by(7) {
        let d = doc(i);
        if d.id != damaged {
            assert_eq!(c.get(&d.id).unwrap(), Some(d));
        }
    }
}

#[test]
fn a_flipped_payload_byte_is_corruption_for_get_iter_search_and_filters() {
    let (dir, seg, mut bytes) = built();
    let victim = doc(123);
    let row = row_of(&bytes, &victim.id);
    // `"i":123` -> `"i":124`: still valid JSON, a different answer if it were returned.
    let at = row_start(&bytes, PAYLOAD_OFFSETS, PAYLOAD_BYTES, row) + 5;
    assert_eq!(bytes[at..at + 3].to_vec(), b"123".to_vec());
    bytes[at + 2] = b'4';
    std::fs::write(&seg, &bytes).unwrap();

    let (_db, c) = open(dir.path());
    assert_row_corruption(c.get(&victim.id), &seg, "get");
    let failed = c.iter().unwrap().find_map(|d| d.err());
    assert_row_corruption(failed.map_or(Ok(()), Err), &seg, "iter");
    for approximate in [false, true] {
        let s = Search::new(&victim.vector)
            .top_k(5)
            .approximate(approximate);
        assert_row_corruption(c.search(s), &seg, "search");
    }
    // A filter that decodes payloads row by row reaches the damaged row.
    let f = Search::new(&victim.vector)
        .top_k(5)
        .filter(Filter::eq("i", 124))
        .approximate(false);
    assert_row_corruption(c.search(f), &seg, "filtered search");
    assert_row_corruption(c.verify(), &seg, "verify");
    assert_others_intact(&c, &victim.id);
}

#[test]
fn a_flipped_vector_byte_is_corruption_for_get_iter_and_search() {
    let (dir, seg, bytes) = built();
    let victim = doc(200);
    flip_vector_byte(&seg, bytes, &victim.id);

    let (_db, c) = open(dir.path());
    assert_row_corruption(c.get(&victim.id), &seg, "get");
    let failed = c.iter().unwrap().find_map(|d| d.err());
    assert_row_corruption(failed.map_or(Ok(()), Err), &seg, "iter");
    // Exact search scans every block; a graph search that reaches the damaged block fails too.
    let query = doc(5).vector;
    let exact = Search::new(&query).top_k(3).approximate(false);
    assert_row_corruption(c.search(exact), &seg, "exact search");
    let graph = Search::new(&victim.vector).top_k(3).approximate(true);
    assert_row_corruption(c.search(graph), &seg, "graph search");
    assert_row_corruption(c.verify(), &seg, "verify");
    assert_others_intact(&c, &victim.id);
}

/// With quantized codes, searches rank on the codes (intact) and rescore candidates with the
/// vectors, each checked by its row's checksum: a damaged vector is still never scored.
#[test]
fn a_flipped_vector_byte_is_corruption_when_rescoring_quantized_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let seg = {
        let db = Database::open_with_options(dir.path(), quiet()).unwrap();
        let config = small_graphs(DIM, 8, 40).with_quantization(ndb::Quantization::Int8);
        let c = db.create_collection("c", config).unwrap();
        c.insert_batch((0..DOCS).map(doc)).unwrap();
        c.flush().unwrap();
        assert_eq!(c.stats().unwrap().quantized_docs, DOCS as u64);
        dir.path().join("c/segments/000001.ndb")
    };
    let victim = doc(200);
    flip_vector_byte(&seg, std::fs::read(&seg).unwrap(), &victim.id);

    let (_db, c) = open(dir.path());
    assert_eq!(c.stats().unwrap().quantized_docs, DOCS as u64);
    // Oversampling past the row count: every row is a candidate and rescored. (At these
    // near-duplicate vectors, 0.08 apart in squared distance at a scale of 10, int8 estimates
    // cannot rank the victim's twins first: see issue 17's notes.)
    let graph = Search::new(&victim.vector).top_k(3).oversampling(200.0);
    assert_row_corruption(c.search(graph), &seg, "quantized graph search");
    // Other rows still read.
    assert_others_intact(&c, &victim.id);
}

/// A row that matched its checksum once is not hashed again while the segment is open (its
/// bytes are mapped read-only and do not change under nDB), but `verify` recomputes every
/// checksum: bytes damaged after the row was read are still found.
#[test]
fn verify_finds_a_vector_damaged_after_its_row_was_read() {
    use std::io::{Seek, SeekFrom, Write};
    let (dir, seg, bytes) = built();
    let victim = doc(77);
    let (_db, c) = open(dir.path());
    assert_eq!(c.get(&victim.id).unwrap(), Some(victim.clone()));
    c.verify().unwrap();
    // Damage the file in place (no truncation: it is mapped).
    let at = section(&bytes, VECTORS).start + row_of(&bytes, &victim.id) * DIM * 4 + 2;
    let mut f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.seek(SeekFrom::Start(at as u64)).unwrap();
    f.write_all(&[bytes[at] ^ 0x40]).unwrap();
    f.sync_all().unwrap();
    assert_row_corruption(c.verify(), &seg, "verify after the row was read");
}

#[test]
fn a_flipped_id_byte_fails_the_open_naming_the_segment() {
    let (dir, seg, mut bytes) = built();
    let at = row_start(&bytes, ID_OFFSETS, ID_BYTES, 42) + 5;
    bytes[at] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();
    let db = Database::open(dir.path()).unwrap();
    match db.get_collection("c") {
        Err(Error::Corruption { file, .. }) => assert_eq!(file, seg),
        other => panic!("expected Corruption naming the segment, got {other:?}"),
    }
}
