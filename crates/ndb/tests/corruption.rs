//! Damage on disk: bit flips and truncations in WAL files, segments, deletion files and
//! manifests are reported as `Error::Corruption` (or `UnsupportedFormat`) naming the damaged
//! file, never as a panic or a wrong answer. A torn WAL tail is not damage: it is cut off.
//!
//! Most cases run on the simulated file system (`SimVfs`), which makes hundreds of reopenings
//! cheap and deterministic; the cases where the real `mmap` matters (truncated segments, which
//! would raise SIGBUS if mapped) and a sample of each kind run on real files.
//!
//! What is checked where (see `Segment::open` and `Segment::verify`):
//! - Segment header, id offsets, ids, id index, payload offsets and the row and vector block
//!   checksum sections are checksummed when the collection is opened: damage there fails the
//!   open.
//! - The bulk sections (vectors, payloads) are not read at open, so that opening stays
//!   proportional to the metadata, not the data: the open succeeds, and reading a damaged row
//!   (get, iter, search) and `verify` must report the damage; no read returns wrong data
//!   (tests/damaged_rows.rs has the targeted cases).
//! - Checksums are checked before version fields: a damaged version is `Corruption`; only a
//!   newer version under a valid checksum is `UnsupportedFormat` (tests/version_flips.rs covers
//!   every file kind).

mod common;
use common::segment_file::{sections, u32_at, ID_BYTES, ID_OFFSETS, ID_SORTED};
use common::segment_file::{PAYLOAD_BYTES, PAYLOAD_OFFSETS, ROW_CHECKSUMS};
use common::segment_file::{VECTORS, VECTOR_BLOCK_CHECKSUMS};

use ndb::testing::SimVfs;
use ndb::{Collection, CollectionConfig, Database, Distance, Document, Error};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const DIM: usize = 4;
const DB: &str = "/db";

fn section_name(kind: u32) -> &'static str {
    match kind {
        VECTORS => "vectors",
        ID_OFFSETS => "id offsets",
        ID_BYTES => "ids",
        ID_SORTED => "id index",
        PAYLOAD_OFFSETS => "payload offsets",
        PAYLOAD_BYTES => "payloads",
        ROW_CHECKSUMS => "row checksums",
        VECTOR_BLOCK_CHECKSUMS => "vector block checksums",
        _ => "unknown",
    }
}

fn config() -> CollectionConfig {
    CollectionConfig::new(DIM).with_distance(Distance::Euclidean)
}

fn vector(i: usize) -> Vec<f32> {
    (0..DIM).map(|j| (i * 10 + j) as f32 * 0.5 - 3.0).collect()
}

fn id(i: usize) -> String {
    format!("doc-{i:03}")
}

/// Document `i`; even documents carry a payload, odd ones none.
fn doc(i: usize) -> Document {
    let d = Document::new(id(i), vector(i));
    if i.is_multiple_of(2) {
        d.with_payload(json!({"i": i, "name": format!("name {i}")}))
    } else {
        d
    }
}

fn open_sim(vfs: &SimVfs) -> ndb::Result<Database> {
    Database::open_with_vfs(DB, Arc::new(vfs.clone()), false)
}

fn open_sim_read_only(vfs: &SimVfs) -> ndb::Result<Database> {
    Database::open_with_vfs(DB, Arc::new(vfs.clone()), true)
}

fn coll_dir(db: &Path) -> PathBuf {
    db.join("c")
}

fn wal_path(db: &Path, gen: u64) -> PathBuf {
    coll_dir(db).join(format!("wal-{gen:06}.log"))
}

fn seg_path(db: &Path, id: u64) -> PathBuf {
    coll_dir(db).join("segments").join(format!("{id:06}.ndb"))
}

fn del_path(db: &Path, seg: u64, gen: u64) -> PathBuf {
    coll_dir(db)
        .join("segments")
        .join(format!("{seg:06}-{gen:06}.del"))
}

/// Set the bytes at `offset` to `new` through XOR masks (SimVfs only offers `corrupt`).
fn patch(vfs: &SimVfs, path: &Path, offset: usize, new: &[u8]) {
    let old = vfs.volatile_contents(path).unwrap();
    for (i, &b) in new.iter().enumerate() {
        let mask = old[offset + i] ^ b;
        if mask != 0 {
            vfs.corrupt(path, (offset + i) as u64, mask).unwrap();
        }
    }
}

#[track_caller]
fn assert_corruption_in(err: &Error, file: &Path, ctx: &str) {
    match err {
        Error::Corruption { file: f, .. } => {
            assert_eq!(
                f, file,
                "{ctx}: corruption reported in the wrong file: {err}"
            )
        }
        other => panic!(
            "{ctx}: expected Corruption in {}, got {other:?}",
            file.display()
        ),
    }
}

/// Every document of `expected` is present with its exact contents, and nothing else is.
#[track_caller]
fn assert_contents(c: &Collection, expected: &[Document]) {
    for d in expected {
        assert_eq!(c.get(&d.id).unwrap().as_ref(), Some(d), "document {}", d.id);
    }
    let mut all: Vec<Document> = c.iter().unwrap().map(|d| d.unwrap()).collect();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = expected.to_vec();
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(all, want);
    assert_eq!(c.stats().unwrap().doc_count, expected.len() as u64);
}

// ---------------------------------------------------------------------------------------------
// WAL
// ---------------------------------------------------------------------------------------------

/// A collection whose WAL (generation 1) holds `n` records, one `insert` each.
struct WalFixture {
    vfs: SimVfs,
    path: PathBuf,
    bytes: Vec<u8>,
    records: Vec<Range<usize>>,
}

fn record_ranges(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut pos = 32;
    while pos < bytes.len() {
        let len = u32_at(bytes, pos + 8) as usize;
        out.push(pos..pos + 16 + len);
        pos += 16 + len;
    }
    assert_eq!(pos, bytes.len());
    out
}

fn wal_fixture(n: usize) -> WalFixture {
    let vfs = SimVfs::new(7);
    {
        let db = open_sim(&vfs).unwrap();
        let c = db.create_collection("c", config()).unwrap();
        for i in 0..n {
            c.insert(doc(i)).unwrap();
        }
    }
    let path = wal_path(Path::new(DB), 1);
    let bytes = vfs.volatile_contents(&path).unwrap();
    let records = record_ranges(&bytes);
    assert_eq!(records.len(), n);
    WalFixture {
        vfs,
        path,
        bytes,
        records,
    }
}

/// Damage in record `r` followed by valid records: the open fails with Corruption naming the
/// WAL, and the WAL is left as it was (nothing after the damage is cut off).
fn check_mid_log_damage(f: &WalFixture, offset: usize, mask: u8, ctx: &str) {
    f.vfs.corrupt(&f.path, offset as u64, mask).unwrap();
    let damaged = f.vfs.volatile_contents(&f.path).unwrap();
    let db = open_sim(&f.vfs).unwrap();
    match db.get_collection("c") {
        Ok(c) => panic!(
            "{ctx}: mid-log damage went unnoticed; the collection opened with {} documents and {} truncated bytes",
            c.stats().unwrap().doc_count,
            c.stats().unwrap().wal_truncated_bytes
        ),
        Err(e) => assert_corruption_in(&e, &f.path, ctx),
    }
    // Read-only opens see the same damage.
    let ro = open_sim_read_only(&f.vfs).unwrap();
    let e = ro.get_collection("c").unwrap_err();
    assert_corruption_in(&e, &f.path, ctx);
    drop((db, ro));
    assert_eq!(
        f.vfs.volatile_contents(&f.path).unwrap(),
        damaged,
        "{ctx}: a failed open changed the WAL"
    );
    f.vfs.corrupt(&f.path, offset as u64, mask).unwrap();
}

#[test]
fn wal_flip_in_a_record_followed_by_valid_records_is_corruption() {
    let f = wal_fixture(4);
    // Every byte of every record but the last, except the length field, which
    // `wal_flip_in_the_length_of_a_record_followed_by_valid_records_is_corruption` covers.
    for (r, rec) in f.records[..3].iter().enumerate() {
        for offset in rec.clone() {
            if (rec.start + 8..rec.start + 12).contains(&offset) {
                continue;
            }
            for mask in [0x01, 0x80, 0xff] {
                check_mid_log_damage(
                    &f,
                    offset,
                    mask,
                    &format!("record {r}, offset {offset}, mask {mask:#04x}"),
                );
            }
        }
    }
    // Untouched afterwards: everything is there.
    let db = open_sim(&f.vfs).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_contents(&c, &(0..4).map(doc).collect::<Vec<_>>());
}

/// A flip in a high bit of a record's length makes the record look longer than the rest of
/// the file. The scanner treats that as an incomplete (torn) last record and cuts off every
/// valid record after it: acknowledged writes are silently lost.
#[test]
fn wal_flip_in_the_length_of_a_record_followed_by_valid_records_is_corruption() {
    let f = wal_fixture(4);
    for (r, rec) in f.records[..3].iter().enumerate() {
        for offset in rec.start + 8..rec.start + 12 {
            for bit in 0..8 {
                check_mid_log_damage(
                    &f,
                    offset,
                    1 << bit,
                    &format!(
                        "record {r}, length byte {}, bit {bit}",
                        offset - rec.start - 8
                    ),
                );
            }
        }
    }
}

/// Cut the last record at `cut` (or flip a byte in it), reopen, and check that the tail was
/// truncated, the earlier records survive, and writing goes on across another reopen.
fn check_torn_tail(f: &WalFixture, expected_truncated: u64, ctx: &str) {
    let n = f.records.len();
    let last = f.records[n - 1].clone();
    let kept: Vec<Document> = (0..n - 1).map(doc).collect();
    let damaged = f.vfs.volatile_contents(&f.path).unwrap();
    {
        // A read-only open sees the valid prefix and reports the tail, but cuts nothing.
        let ro = open_sim_read_only(&f.vfs).unwrap();
        let c = ro
            .get_collection("c")
            .unwrap_or_else(|e| panic!("{ctx}: read-only: {e}"));
        assert_eq!(
            c.stats().unwrap().wal_truncated_bytes,
            expected_truncated,
            "{ctx}"
        );
        assert_contents(&c, &kept);
        assert_eq!(f.vfs.volatile_contents(&f.path).unwrap(), damaged, "{ctx}");
    }
    {
        let db = open_sim(&f.vfs).unwrap();
        let c = db
            .get_collection("c")
            .unwrap_or_else(|e| panic!("{ctx}: {e}"));
        let s = c.stats().unwrap();
        assert_eq!(s.wal_truncated_bytes, expected_truncated, "{ctx}");
        assert_eq!(s.wal_replayed_records, n as u64 - 1, "{ctx}");
        assert_contents(&c, &kept);
        assert_eq!(
            f.vfs.volatile_contents(&f.path).unwrap(),
            f.bytes[..last.start],
            "{ctx}: the WAL was not cut back to its last whole record"
        );
        c.insert(doc(100)).unwrap();
        c.insert(doc(101)).unwrap();
    }
    let db = open_sim(&f.vfs).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(c.stats().unwrap().wal_truncated_bytes, 0, "{ctx}");
    let mut all = kept;
    all.push(doc(100));
    all.push(doc(101));
    assert_contents(&c, &all);
}

#[test]
fn wal_truncation_anywhere_in_the_last_record_is_a_torn_tail() {
    let probe = wal_fixture(4);
    let last = probe.records[3].clone();
    for cut in last.start..last.end {
        let f = wal_fixture(4);
        f.vfs.truncate_file(&f.path, cut as u64).unwrap();
        check_torn_tail(&f, (cut - last.start) as u64, &format!("cut at {cut}"));
    }
}

#[test]
fn wal_random_flips_in_the_last_record_are_a_torn_tail() {
    let mut rng = StdRng::seed_from_u64(0x7a11);
    let probe = wal_fixture(4);
    let last = probe.records[3].clone();
    for _ in 0..100 {
        let offset = rng.gen_range(last.clone());
        let mask: u8 = rng.gen_range(1..=255);
        let f = wal_fixture(4);
        f.vfs.corrupt(&f.path, offset as u64, mask).unwrap();
        check_torn_tail(
            &f,
            last.len() as u64,
            &format!("offset {offset}, mask {mask:#04x}"),
        );
    }
}

#[test]
fn wal_header_damage_is_reported() {
    let f = wal_fixture(2);
    for offset in 0..32 {
        for mask in [0x01u8, 0x80] {
            let ctx = format!("WAL header byte {offset}, mask {mask:#04x}");
            f.vfs.corrupt(&f.path, offset, mask).unwrap();
            let db = open_sim(&f.vfs).unwrap();
            let e = db.get_collection("c").unwrap_err();
            assert_corruption_in(&e, &f.path, &ctx);
            f.vfs.corrupt(&f.path, offset, mask).unwrap();
        }
    }
    // A newer WAL version, with a correct header checksum, is refused as such.
    let mut header = f.bytes[..32].to_vec();
    header[8..12].copy_from_slice(&99u32.to_le_bytes());
    let crc = crc32c::crc32c(&header[..28]);
    header[28..32].copy_from_slice(&crc.to_le_bytes());
    patch(&f.vfs, &f.path, 0, &header);
    let db = open_sim(&f.vfs).unwrap();
    match db.get_collection("c").unwrap_err() {
        Error::UnsupportedFormat {
            found: 99, file, ..
        } => assert_eq!(file, f.path),
        other => panic!("{other:?}"),
    }
}

#[test]
fn wal_damage_on_real_files() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db");
    {
        let db = Database::open(&db_path).unwrap();
        let c = db.create_collection("c", config()).unwrap();
        for i in 0..3 {
            c.insert(doc(i)).unwrap();
        }
    }
    let path = wal_path(&db_path, 1);
    let original = std::fs::read(&path).unwrap();
    let records = record_ranges(&original);

    // A flip in the middle record: corruption, and the file is left alone.
    let mut damaged = original.clone();
    damaged[records[1].start + 20] ^= 0x10;
    std::fs::write(&path, &damaged).unwrap();
    {
        let db = Database::open(&db_path).unwrap();
        let e = db.get_collection("c").unwrap_err();
        assert_corruption_in(&e, &path, "middle record");
        assert!(e.to_string().contains("wal-000001.log"), "{e}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), damaged);

    // The same flip in the last record: a torn tail, cut off.
    let mut torn = original.clone();
    torn[records[2].start + 20] ^= 0x10;
    std::fs::write(&path, &torn).unwrap();
    {
        let db = Database::open(&db_path).unwrap();
        let c = db.get_collection("c").unwrap();
        assert_eq!(
            c.stats().unwrap().wal_truncated_bytes,
            records[2].len() as u64
        );
        assert_contents(&c, &[doc(0), doc(1)]);
        c.insert(doc(7)).unwrap();
    }
    let db = Database::open(&db_path).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(c.stats().unwrap().wal_truncated_bytes, 0);
    assert_contents(&c, &[doc(0), doc(1), doc(7)]);
}

// ---------------------------------------------------------------------------------------------
// Segments
// ---------------------------------------------------------------------------------------------

const SEG_DOCS: usize = 24;

/// A collection with one flushed segment of `SEG_DOCS` documents and two more in the WAL.
struct SegFixture {
    vfs: SimVfs,
    path: PathBuf,
    bytes: Vec<u8>,
    /// (kind, byte range) of each section.
    sections: Vec<(u32, Range<usize>)>,
    docs: Vec<Document>,
}

fn seg_fixture() -> SegFixture {
    let vfs = SimVfs::new(11);
    let docs: Vec<Document> = (0..SEG_DOCS + 2).map(doc).collect();
    {
        let db = open_sim(&vfs).unwrap();
        let c = db.create_collection("c", config()).unwrap();
        c.insert_batch(docs[..SEG_DOCS].to_vec()).unwrap();
        c.flush().unwrap();
        c.insert(docs[SEG_DOCS].clone()).unwrap();
        c.insert(docs[SEG_DOCS + 1].clone()).unwrap();
    }
    let path = seg_path(Path::new(DB), 1);
    let bytes = vfs.volatile_contents(&path).unwrap();
    let sections = sections(&bytes);
    assert_eq!(sections.len(), 8);
    for (kind, range) in &sections {
        assert!(!range.is_empty(), "section {kind} is empty");
    }
    SegFixture {
        vfs,
        path,
        bytes,
        sections,
        docs,
    }
}

impl SegFixture {
    /// Which part of the file `offset` is in: a section kind, 0 for the header, `None` for
    /// padding between sections.
    fn region(&self, offset: usize) -> Option<u32> {
        if offset < 512 {
            return Some(0);
        }
        self.sections
            .iter()
            .find(|(_, r)| r.contains(&offset))
            .map(|(k, _)| *k)
    }
}

#[test]
fn segment_flip_in_each_section_is_detected() {
    let f = seg_fixture();
    for (kind, range) in f.sections.clone() {
        let positions = [range.start, range.start + range.len() / 2, range.end - 1];
        for offset in positions {
            for mask in [0x01u8, 0x40] {
                let ctx = format!(
                    "section {} at offset {offset}, mask {mask:#04x}",
                    section_name(kind)
                );
                f.vfs.corrupt(&f.path, offset as u64, mask).unwrap();
                let db = open_sim(&f.vfs).unwrap();
                let opened = db.get_collection("c");
                match kind {
                    // Checked when the collection is opened.
                    ID_OFFSETS
                    | ID_BYTES
                    | ID_SORTED
                    | PAYLOAD_OFFSETS
                    | ROW_CHECKSUMS
                    | VECTOR_BLOCK_CHECKSUMS => {
                        assert_corruption_in(&opened.unwrap_err(), &f.path, &ctx)
                    }
                    // Bulk sections: opening does not read them; reading the damaged row
                    // (get, iter, an exact search) and `verify` must report them.
                    VECTORS | PAYLOAD_BYTES => {
                        let c = opened.unwrap_or_else(|e| panic!("{ctx}: {e}"));
                        assert_corruption_in(&c.verify().unwrap_err(), &f.path, &ctx);
                        let e = c.iter().unwrap().find_map(|d| d.err()).expect(&ctx);
                        assert_corruption_in(&e, &f.path, &ctx);
                        let query = vector(0);
                        let all = ndb::Search::new(&query).top_k(100);
                        assert_corruption_in(&c.search(all).unwrap_err(), &f.path, &ctx);
                    }
                    other => panic!("unexpected section kind {other}"),
                }
                drop(db);
                f.vfs.corrupt(&f.path, offset as u64, mask).unwrap();
            }
        }
    }
    let db = open_sim(&f.vfs).unwrap();
    let c = db.get_collection("c").unwrap();
    c.verify().unwrap();
    assert_contents(&c, &f.docs);
}

#[test]
fn segment_header_flips_fail_the_open() {
    let f = seg_fixture();
    // Bytes 0..504 are covered by the header checksum (504..508); 508..512 are reserved.
    for offset in 0..508usize {
        let mask = 1u8 << (offset % 8);
        let ctx = format!("header byte {offset}, mask {mask:#04x}");
        f.vfs.corrupt(&f.path, offset as u64, mask).unwrap();
        let db = open_sim(&f.vfs).unwrap();
        let e = db.get_collection("c").unwrap_err();
        assert_corruption_in(&e, &f.path, &ctx);
        drop(db);
        f.vfs.corrupt(&f.path, offset as u64, mask).unwrap();
    }
}

#[test]
fn segment_with_a_newer_version_is_unsupported_and_a_damaged_version_is_corruption() {
    let f = seg_fixture();
    // The header checksum is checked before the version: a version of 99 under the old checksum
    // is damage; under a valid checksum it is a newer format.
    patch(&f.vfs, &f.path, 8, &99u32.to_le_bytes());
    for fixed_crc in [false, true] {
        if fixed_crc {
            let bytes = f.vfs.volatile_contents(&f.path).unwrap();
            let crc = crc32c::crc32c(&bytes[..504]);
            patch(&f.vfs, &f.path, 504, &crc.to_le_bytes());
        }
        let db = open_sim(&f.vfs).unwrap();
        match db.get_collection("c").unwrap_err() {
            Error::UnsupportedFormat {
                found: 99,
                supported,
                file,
            } if fixed_crc => {
                assert_eq!(file, f.path);
                assert!(supported < 99);
            }
            Error::Corruption { file, .. } if !fixed_crc => assert_eq!(file, f.path),
            other => panic!("checksum fixed: {fixed_crc}: {other:?}"),
        }
    }
}

/// Open, verify, read every document and iterate after one byte of the segment was damaged.
/// Allowed: an error naming the segment, or the exact data — never wrong data (the bulk
/// sections, which the open does not check, are checked row by row and block by block when
/// read).
fn check_flip_outcome(f: &SegFixture, offset: usize, mask: u8, db: ndb::Result<Database>) {
    let region = f.region(offset);
    let ctx = format!(
        "offset {offset} ({}), mask {mask:#04x}",
        region.map_or("padding", section_name)
    );
    let db = db.unwrap();
    let c = match db.get_collection("c") {
        Err(e) => {
            assert_corruption_in(&e, &f.path, &ctx);
            return;
        }
        Ok(c) => c,
    };
    let verified = c.verify();
    if let Err(e) = &verified {
        assert_corruption_in(e, &f.path, &ctx);
    }
    let mut wrong = false;
    for d in &f.docs {
        match c.get(&d.id) {
            Ok(Some(got)) if got == *d => {}
            Ok(got) => panic!("{ctx}: get({}) returned {got:?}", d.id),
            Err(e) => assert_corruption_in(&e, &f.path, &ctx),
        }
    }
    assert_eq!(c.get("absent").unwrap(), None, "{ctx}");
    let items: Vec<ndb::Result<Document>> = c.iter().unwrap().collect();
    let mut got = Vec::new();
    for item in items {
        match item {
            Ok(d) => got.push(d),
            Err(e) => {
                assert_corruption_in(&e, &f.path, &ctx);
                wrong = true;
            }
        }
    }
    got.sort_by(|a, b| a.id.cmp(&b.id));
    for d in &got {
        assert!(
            f.docs.contains(d),
            "{ctx}: iter returned a wrong document {d:?}"
        );
    }
    if got.len() != f.docs.len() {
        assert!(wrong, "{ctx}: iter lost documents without an error");
    }
    assert_eq!(
        c.stats().unwrap().doc_count,
        f.docs.len() as u64,
        "{ctx}: doc_count"
    );
    if wrong {
        assert!(
            verified.is_err(),
            "{ctx}: reading failed but verify did not notice"
        );
    }
}

#[test]
fn segment_random_flips_never_panic_or_return_wrong_data() {
    let f = seg_fixture();
    let mut rng = StdRng::seed_from_u64(0xf11b);
    for _ in 0..400 {
        let offset = rng.gen_range(0..f.bytes.len());
        let mask: u8 = rng.gen_range(1..=255);
        f.vfs.corrupt(&f.path, offset as u64, mask).unwrap();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            check_flip_outcome(&f, offset, mask, open_sim(&f.vfs))
        }));
        if let Err(panic) = outcome {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("flip at offset {offset} with mask {mask:#04x}: panic: {msg}");
        }
        f.vfs.corrupt(&f.path, offset as u64, mask).unwrap();
    }
}

/// The same on real files, through the real `mmap`.
#[test]
fn segment_random_flips_on_real_files() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db");
    let docs: Vec<Document> = (0..SEG_DOCS).map(doc).collect();
    {
        let db = Database::open(&db_path).unwrap();
        let c = db.create_collection("c", config()).unwrap();
        c.insert_batch(docs.clone()).unwrap();
        c.flush().unwrap();
    }
    let path = seg_path(&db_path, 1);
    let original = std::fs::read(&path).unwrap();
    let f = SegFixture {
        vfs: SimVfs::new(0), // unused
        path: path.clone(),
        sections: sections(&original),
        bytes: original.clone(),
        docs,
    };
    let mut rng = StdRng::seed_from_u64(0x0f11b);
    for _ in 0..60 {
        let offset = rng.gen_range(0..original.len());
        let mask: u8 = rng.gen_range(1..=255);
        let mut damaged = original.clone();
        damaged[offset] ^= mask;
        std::fs::write(&path, &damaged).unwrap();
        check_flip_outcome(&f, offset, mask, Database::open(&db_path));
    }
    std::fs::write(&path, &original).unwrap();
}

/// A segment shorter or longer than its header says is refused before it is mapped (a mapped
/// file that is too short would kill the process with SIGBUS on access).
#[test]
fn truncated_or_extended_segment_is_corruption_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db");
    {
        let db = Database::open(&db_path).unwrap();
        let c = db.create_collection("c", config()).unwrap();
        c.insert_batch((0..SEG_DOCS).map(doc)).unwrap();
        c.flush().unwrap();
    }
    let path = seg_path(&db_path, 1);
    let original = std::fs::read(&path).unwrap();
    let len = original.len() as u64;
    let sections = sections(&original);
    let mut lengths = vec![0, 1, 8, 100, 511, 512, 513, len / 2, len - 64, len - 1];
    lengths.extend(sections.iter().map(|(_, r)| r.start as u64));
    lengths.extend([len + 1, len + 4096]);
    for new_len in lengths {
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(new_len).unwrap();
        drop(file);
        for read_only in [false, true] {
            let db = if read_only {
                Database::open_read_only(&db_path).unwrap()
            } else {
                Database::open(&db_path).unwrap()
            };
            let e = db.get_collection("c").unwrap_err();
            assert_corruption_in(
                &e,
                &path,
                &format!("length {new_len} of {len}, read-only {read_only}"),
            );
        }
        std::fs::write(&path, &original).unwrap();
    }
    let db = Database::open(&db_path).unwrap();
    let c = db.get_collection("c").unwrap();
    c.verify().unwrap();
    assert_contents(&c, &(0..SEG_DOCS).map(doc).collect::<Vec<_>>());
}

#[test]
fn missing_segment_file_is_a_clear_error_naming_it() {
    let f = seg_fixture();
    let original = f.bytes.clone();
    // Remove the segment: SimVfs has no unlink backdoor, so go through the file layer.
    use ndb::testing::Vfs;
    f.vfs.remove_file(&f.path).unwrap();
    for read_only in [false, true] {
        let db = if read_only {
            open_sim_read_only(&f.vfs).unwrap()
        } else {
            open_sim(&f.vfs).unwrap()
        };
        let e = db.get_collection("c").unwrap_err();
        match &e {
            Error::Io { path, source } => {
                assert_eq!(path, &f.path, "{e}");
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound, "{e}");
            }
            Error::Corruption { file, .. } => assert_eq!(file, &f.path, "{e}"),
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("000001.ndb"), "{e}");
    }
    // The failed opens removed nothing: the WAL still holds the unflushed documents.
    let wal = wal_path(Path::new(DB), 2);
    assert!(f.vfs.volatile_contents(&wal).is_some());
    assert!(f
        .vfs
        .volatile_contents(Path::new(DB).join("c/MANIFEST"))
        .is_some());
    // Putting the file back restores everything.
    let file = f
        .vfs
        .open(&f.path, ndb_storage::OpenMode::CreateTruncate)
        .unwrap();
    file.write_all_at(&original, 0).unwrap();
    drop(file);
    let db = open_sim(&f.vfs).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_contents(&c, &f.docs);
}

#[test]
fn missing_segment_file_on_real_files() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db");
    {
        let db = Database::open(&db_path).unwrap();
        let c = db.create_collection("c", config()).unwrap();
        c.insert_batch((0..4).map(doc)).unwrap();
        c.flush().unwrap();
    }
    let path = seg_path(&db_path, 1);
    std::fs::remove_file(&path).unwrap();
    let db = Database::open(&db_path).unwrap();
    let e = db.get_collection("c").unwrap_err();
    assert!(
        matches!(&e, Error::Io { path: p, .. } | Error::Corruption { file: p, .. } if *p == path),
        "{e:?}"
    );
    assert!(e.to_string().contains("000001.ndb"), "{e}");
}

#[test]
fn stray_files_in_the_segments_directory_are_removed_not_errors() {
    let f = seg_fixture();
    let stray = coll_dir(Path::new(DB)).join("segments/000099.ndb");
    {
        use ndb::testing::Vfs;
        let file = f
            .vfs
            .open(&stray, ndb_storage::OpenMode::CreateTruncate)
            .unwrap();
        file.write_all_at(b"garbage", 0).unwrap();
    }
    let db = open_sim(&f.vfs).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_contents(&c, &f.docs);
    assert!(f.vfs.volatile_contents(&stray).is_none());
}

// ---------------------------------------------------------------------------------------------
// Deletion files
// ---------------------------------------------------------------------------------------------

/// One segment of `SEG_DOCS` documents, three of them deleted and flushed: the deletion file
/// `000001-000001.del` exists.
fn del_fixture() -> (SimVfs, PathBuf, Vec<Document>) {
    let vfs = SimVfs::new(5);
    let mut docs: Vec<Document> = (0..SEG_DOCS).map(doc).collect();
    {
        let db = open_sim(&vfs).unwrap();
        let c = db.create_collection("c", config()).unwrap();
        c.insert_batch(docs.clone()).unwrap();
        c.flush().unwrap();
        for i in [3, 10, 17] {
            assert!(c.delete(&id(i)).unwrap());
        }
        c.flush().unwrap();
    }
    docs.retain(|d| ![id(3), id(10), id(17)].contains(&d.id));
    let path = del_path(Path::new(DB), 1, 1);
    assert!(vfs.volatile_contents(&path).is_some(), "no deletion file");
    (vfs, path, docs)
}

#[test]
fn deletion_file_flips_are_corruption() {
    let (vfs, path, docs) = del_fixture();
    let len = vfs.volatile_contents(&path).unwrap().len();
    for offset in 0..len {
        for mask in [0x01u8, 0x80] {
            let ctx = format!("deletion file byte {offset}, mask {mask:#04x}");
            vfs.corrupt(&path, offset as u64, mask).unwrap();
            let db = open_sim(&vfs).unwrap();
            let e = db.get_collection("c").unwrap_err();
            assert_corruption_in(&e, &path, &ctx);
            drop(db);
            vfs.corrupt(&path, offset as u64, mask).unwrap();
        }
    }
    for cut in [0, 20, 47, 48, len as u64 - 1] {
        let original = vfs.volatile_contents(&path).unwrap();
        vfs.truncate_file(&path, cut).unwrap();
        let db = open_sim(&vfs).unwrap();
        let e = db.get_collection("c").unwrap_err();
        assert_corruption_in(&e, &path, &format!("deletion file cut at {cut}"));
        drop(db);
        vfs.truncate_file(&path, len as u64).unwrap();
        patch(&vfs, &path, 0, &original);
    }
    let db = open_sim(&vfs).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_contents(&c, &docs);
}

#[test]
fn missing_deletion_file_is_an_error_naming_it() {
    let (vfs, path, _) = del_fixture();
    use ndb::testing::Vfs;
    vfs.remove_file(&path).unwrap();
    let db = open_sim(&vfs).unwrap();
    let e = db.get_collection("c").unwrap_err();
    assert!(
        matches!(&e, Error::Io { path: p, .. } | Error::Corruption { file: p, .. } if *p == path),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------------------------

fn manifest_fixture() -> (SimVfs, Vec<Document>) {
    let vfs = SimVfs::new(3);
    let docs: Vec<Document> = (0..6).map(doc).collect();
    {
        let db = open_sim(&vfs).unwrap();
        let c = db.create_collection("c", config()).unwrap();
        c.insert_batch(docs[..4].to_vec()).unwrap();
        c.flush().unwrap();
        c.insert_batch(docs[4..].to_vec()).unwrap();
    }
    (vfs, docs)
}

#[test]
fn database_manifest_flips_are_corruption() {
    let (vfs, docs) = manifest_fixture();
    let path = Path::new(DB).join("MANIFEST");
    let len = vfs.volatile_contents(&path).unwrap().len();
    for offset in 0..len {
        let mask = 1u8 << (offset % 8);
        let ctx = format!("database MANIFEST byte {offset}, mask {mask:#04x}");
        vfs.corrupt(&path, offset as u64, mask).unwrap();
        let damaged = vfs.volatile_contents(&path).unwrap();
        for read_only in [false, true] {
            let e = Database::open_with_vfs(DB, Arc::new(vfs.clone()), read_only).unwrap_err();
            assert_corruption_in(&e, &path, &ctx);
        }
        assert_eq!(vfs.volatile_contents(&path).unwrap(), damaged, "{ctx}");
        assert!(vfs
            .volatile_contents(Path::new(DB).join("c/MANIFEST"))
            .is_some());
        vfs.corrupt(&path, offset as u64, mask).unwrap();
    }
    let db = open_sim(&vfs).unwrap();
    assert_contents(&db.get_collection("c").unwrap(), &docs);
}

#[test]
fn collection_manifest_flips_are_corruption() {
    let (vfs, docs) = manifest_fixture();
    let path = coll_dir(Path::new(DB)).join("MANIFEST");
    let len = vfs.volatile_contents(&path).unwrap().len();
    let files_before = vfs.list_all();
    for offset in 0..len {
        let mask = 1u8 << (offset % 8);
        let ctx = format!("collection MANIFEST byte {offset}, mask {mask:#04x}");
        vfs.corrupt(&path, offset as u64, mask).unwrap();
        for read_only in [false, true] {
            let db = Database::open_with_vfs(DB, Arc::new(vfs.clone()), read_only).unwrap();
            let e = db.get_collection("c").unwrap_err();
            assert_corruption_in(&e, &path, &ctx);
        }
        vfs.corrupt(&path, offset as u64, mask).unwrap();
    }
    // Nothing was removed as garbage while the manifest could not be read.
    let mut files_after = vfs.list_all();
    files_after.retain(|p| !p.ends_with("LOCK"));
    let mut before = files_before;
    before.retain(|p| !p.ends_with("LOCK"));
    assert_eq!(files_after, before);
    let db = open_sim(&vfs).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_contents(&c, &docs);
    c.verify().unwrap();
}

/// Replace the manifest at `path` by `body` in a valid envelope with `version`.
fn write_manifest(vfs: &SimVfs, path: &Path, version: u32, body: &[u8]) {
    let old = vfs.volatile_contents(path).unwrap();
    let mut out = old[..8].to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&old[12..16]); // kind
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out), body);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(body);
    vfs.truncate_file(path, out.len() as u64).unwrap();
    patch(vfs, path, 0, &out);
}

fn manifest_body(vfs: &SimVfs, path: &Path) -> Vec<u8> {
    vfs.volatile_contents(path).unwrap()[32..].to_vec()
}

#[test]
fn manifests_of_a_newer_version_are_unsupported_and_a_damaged_version_is_corruption() {
    for which in ["MANIFEST", "c/MANIFEST"] {
        for fixed_crc in [false, true] {
            let (vfs, _) = manifest_fixture();
            let path = Path::new(DB).join(which);
            if fixed_crc {
                let body = manifest_body(&vfs, &path);
                write_manifest(&vfs, &path, 99, &body);
            } else {
                patch(&vfs, &path, 8, &99u32.to_le_bytes());
            }
            let err = Database::open_with_vfs(DB, Arc::new(vfs.clone()), false)
                .and_then(|db| db.get_collection("c").map(|_| db));
            match err {
                Err(Error::UnsupportedFormat {
                    found: 99,
                    supported,
                    file,
                }) if fixed_crc => {
                    assert_eq!(file, path);
                    assert!(supported < 99);
                }
                // Under the old checksum a changed version is damage.
                Err(Error::Corruption { file, .. }) if !fixed_crc => assert_eq!(file, path),
                other => panic!("{which}, checksum fixed {fixed_crc}: {other:?}"),
            }
        }
    }
}

/// A manifest with a valid checksum whose contents are impossible must be refused, not trusted.
#[test]
fn collection_manifest_naming_a_segment_twice_is_refused() {
    let (vfs, docs) = manifest_fixture();
    let path = coll_dir(Path::new(DB)).join("MANIFEST");
    let mut m: serde_json::Value = serde_json::from_slice(&manifest_body(&vfs, &path)).unwrap();
    let segs = m["segments"].as_array_mut().unwrap();
    assert_eq!(segs.len(), 1);
    segs.push(segs[0].clone());
    write_manifest(&vfs, &path, 1, &serde_json::to_vec(&m).unwrap());
    let db = open_sim(&vfs).unwrap();
    match db.get_collection("c") {
        Err(e) => assert_corruption_in(&e, &path, "segment named twice"),
        Ok(c) => {
            // If it opened, it must at least not count or return documents twice.
            assert_contents(&c, &docs);
        }
    }
}

#[test]
fn collection_manifest_with_extreme_counters_does_not_panic() {
    let mut panicked = Vec::new();
    for field in [
        "flushed_seq",
        "next_segment_id",
        "wal_gen",
        "next_deletes_gen",
    ] {
        let (vfs, _) = manifest_fixture();
        let path = coll_dir(Path::new(DB)).join("MANIFEST");
        let mut m: serde_json::Value = serde_json::from_slice(&manifest_body(&vfs, &path)).unwrap();
        m[field] = json!(u64::MAX);
        write_manifest(&vfs, &path, 1, &serde_json::to_vec(&m).unwrap());
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let db = open_sim(&vfs).unwrap();
            // Either refused, or usable: a write and a flush work or fail cleanly.
            if let Ok(c) = db.get_collection("c") {
                let _ = c.insert(doc(50)).and_then(|_| c.flush());
            }
        }));
        if outcome.is_err() {
            panicked.push(field);
        }
    }
    assert!(
        panicked.is_empty(),
        "u64::MAX in {panicked:?} made nDB panic"
    );
}

/// The database manifest's collection names become paths: a name that is not a valid collection
/// name (a damaged or hand-made manifest with a correct checksum) must be refused, never used to
/// reach, or delete, a directory outside the database.
#[test]
fn database_manifest_naming_a_path_outside_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("db");
    let victim = dir.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("precious.txt"), b"keep me").unwrap();
    drop(Database::open(&db_path).unwrap());
    let manifest = db_path.join("MANIFEST");
    let old = std::fs::read(&manifest).unwrap();
    let body = serde_json::to_vec(&json!({"collections": ["../victim"]})).unwrap();
    let mut out = old[..16].to_vec();
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out), &body);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&body);
    std::fs::write(&manifest, &out).unwrap();
    match Database::open(&db_path) {
        Err(e) => assert_corruption_in(&e, &manifest, "collection name ../victim"),
        Ok(db) => {
            let _ = db.get_collection("../victim");
            let _ = db.drop_collection("../victim");
            assert!(
                victim.join("precious.txt").exists(),
                "drop_collection deleted a directory outside the database"
            );
            panic!("a manifest naming \"../victim\" was accepted");
        }
    }
    assert!(victim.join("precious.txt").exists());
}

/// A manifest whose `next_segment_id` is not above every live segment id would make the next
/// flush overwrite a live segment (`CreateTruncate` on a mapped file: data loss, and SIGBUS on
/// real files). It must be refused at open.
#[test]
fn collection_manifest_reusing_a_live_segment_id_is_refused() {
    let (vfs, _) = manifest_fixture();
    let path = coll_dir(Path::new(DB)).join("MANIFEST");
    let mut m: serde_json::Value = serde_json::from_slice(&manifest_body(&vfs, &path)).unwrap();
    assert_eq!(m["segments"][0]["id"], json!(1));
    m["next_segment_id"] = json!(1);
    write_manifest(&vfs, &path, 1, &serde_json::to_vec(&m).unwrap());
    let db = open_sim(&vfs).unwrap();
    match db.get_collection("c") {
        Err(e) => assert_corruption_in(&e, &path, "next_segment_id reuses a live id"),
        Ok(c) => {
            c.insert(doc(40)).unwrap();
            let flushed = c.flush();
            drop((c, db));
            let db = open_sim(&vfs).unwrap();
            let reopened = db.get_collection("c");
            panic!(
                "accepted; flush gave {flushed:?}, reopen gave {:?}",
                reopened.map(|c| c.stats().unwrap().doc_count)
            );
        }
    }
}
