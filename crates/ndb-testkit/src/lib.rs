//! Fuzz harnesses: one function per decoder of untrusted bytes, each driving the engine through
//! its public API on a [`SimVfs`]. The cargo-fuzz targets in `fuzz/` call them, and
//! `tests/fuzz_corpus.rs` replays the committed corpora through them (docs/FUZZING.md).
//!
//! This crate is test support, kept out of the engine's `src/`. Its encoders and checksum
//! fixers are an independent oracle, written from `docs/FORMAT.md` rather than from the
//! engine's code: it reads no engine internals (only the public API, and the `testing`
//! feature's simulated file system), so a format change the document does not describe fails
//! here.
//!
//! Every function accepts any bytes. An `Err` from the engine is an expected outcome; a panic
//! is a bug — either a decoder that trusts its input, or a broken invariant that the harness
//! checks (the messages say which). The invariants checked, besides "no panic, no hang":
//! - after a WAL of records nDB could have written, `iter`, `get`, `stats` and exact search
//!   agree, and a flush, a compaction and a reopen change nothing ([`fuzz_wal`]);
//! - damage that does not forge a checksum is detected by `open` or `verify`, or else changes
//!   no answer ([`fuzz_segment`], [`fuzz_manifest`]);
//! - acknowledged writes made after reopening damaged files survive the next reopen;
//! - a parsed filter prints back to itself, `not` negates it, and filtered search (through the
//!   payload indexes, the planner and the HNSW graph) returns exactly the documents it matches
//!   ([`fuzz_filter`]).
//!
//! Input layouts (the first byte selects a mode; see each function) are stable: the corpus
//! files in `fuzz/corpus/` depend on them.

use crc32c::crc32c;
use ndb::{
    Collection, CollectionConfig, Database, Distance, Document, Durability, Filter, IndexConfig,
    PayloadIndexKind, Search,
};
use ndb_storage::{OpenMode, SimVfs, Vfs};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

const DB_DIR: &str = "/db";
const COLLECTION: &str = "c";
const DIM: usize = 4;
/// At most this many documents are read back by one harness call (bounds the work per input).
const READ_MAX: usize = 10_000;

// ---------------------------------------------------------------------------------------------
// Input cursor

/// Reads the fuzz input front to back; past the end every read yields zeros.
struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        head
    }

    fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.data.len())
    }

    fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }

    fn u16(&mut self) -> u16 {
        let mut b = [0u8; 2];
        let src = self.bytes(2);
        b[..src.len()].copy_from_slice(src);
        u16::from_le_bytes(b)
    }

    fn u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        let src = self.bytes(4);
        b[..src.len()].copy_from_slice(src);
        u32::from_le_bytes(b)
    }

    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        let src = self.bytes(8);
        b[..src.len()].copy_from_slice(src);
        u64::from_le_bytes(b)
    }
}

// ---------------------------------------------------------------------------------------------
// File system images

/// Every file (and directory) of a simulated file system, to start each input from the same
/// state without rebuilding it.
#[derive(Clone, Debug)]
struct Image {
    dirs: BTreeSet<PathBuf>,
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl Image {
    fn capture(vfs: &SimVfs) -> Self {
        let mut dirs = BTreeSet::new();
        let mut files = BTreeMap::new();
        for path in vfs.list_all() {
            if let Some(bytes) = vfs.volatile_contents(&path) {
                let mut dir = path.parent();
                while let Some(d) = dir {
                    dirs.insert(d.to_path_buf());
                    dir = d.parent();
                }
                files.insert(path, bytes);
            }
        }
        dirs.insert(coll_dir().join("segments"));
        Self { dirs, files }
    }

    /// A fresh file system holding this image, every byte and entry durable.
    fn restore(&self) -> SimVfs {
        let vfs = SimVfs::new(0x5eed);
        for d in &self.dirs {
            vfs.create_dir_all(d).expect("SimVfs creates a directory");
        }
        for (path, bytes) in &self.files {
            write_file(&vfs, path, bytes);
        }
        for d in &self.dirs {
            vfs.sync_dir(d).expect("SimVfs syncs a directory");
        }
        vfs
    }

    fn file(&self, path: &Path) -> &[u8] {
        self.files.get(path).map_or(&[], Vec::as_slice)
    }
}

/// Replace (or create) `path` with `bytes`, durably.
fn write_file(vfs: &SimVfs, path: &Path, bytes: &[u8]) {
    let f = vfs
        .open(path, OpenMode::CreateTruncate)
        .expect("SimVfs opens a file");
    f.write_all_at(bytes, 0).expect("SimVfs writes");
    f.sync_all().expect("SimVfs syncs");
}

fn coll_dir() -> PathBuf {
    Path::new(DB_DIR).join(COLLECTION)
}

fn open_db(vfs: &SimVfs, read_only: bool) -> ndb::Result<Database> {
    Database::open_with_vfs(DB_DIR, Arc::new(vfs.clone()), read_only)
}

fn open_coll(vfs: &SimVfs, read_only: bool) -> ndb::Result<(Database, Collection)> {
    let db = open_db(vfs, read_only)?;
    let c = db.get_collection(COLLECTION)?;
    Ok((db, c))
}

/// Build an image by running `build` on a fresh database (a failure is an engine bug).
fn build_image(build: impl FnOnce(&Database)) -> Image {
    let vfs = SimVfs::new(1);
    let db = open_db(&vfs, false).expect("fixture: open a new database");
    build(&db);
    drop(db);
    Image::capture(&vfs)
}

// ---------------------------------------------------------------------------------------------
// What a collection answers

/// A document with its vector as bits, so that equality is exact (NaN included).
#[derive(Clone, Debug, PartialEq)]
struct DocBits {
    vector: Vec<u32>,
    payload: Option<Value>,
}

fn bits(doc: &Document) -> DocBits {
    DocBits {
        vector: doc.vector.iter().map(|x| x.to_bits()).collect(),
        payload: doc.payload.clone(),
    }
}

/// The documents `iter` yields: readable ones by id, and how many failed to read.
#[derive(Clone, Debug, Default, PartialEq)]
struct Contents {
    docs: BTreeMap<String, DocBits>,
    unreadable: usize,
}

/// Read every document; panics if `iter` yields an id twice (a shadowed copy leaking).
fn contents(c: &Collection) -> ndb::Result<Contents> {
    let mut out = Contents::default();
    for item in c.iter()?.take(READ_MAX) {
        match item {
            Ok(doc) => {
                let id = doc.id.clone();
                let prev = out.docs.insert(id.clone(), bits(&doc));
                assert!(prev.is_none(), "iter yielded id {id:?} twice");
            }
            Err(_) => out.unreadable += 1,
        }
    }
    Ok(out)
}

/// Check that `get`, `stats` and an exhaustive exact search agree with `iter` (valid for any
/// state the engine accepted: these are views of one snapshot).
fn check_views_agree(c: &Collection, seen: &Contents) {
    for (id, doc) in &seen.docs {
        match c.get(id) {
            Ok(Some(got)) => assert_eq!(
                &bits(&got),
                doc,
                "get({id:?}) differs from what iter yielded"
            ),
            Ok(None) => panic!("iter yielded {id:?} but get finds nothing"),
            Err(e) => panic!("iter yielded {id:?} but get fails: {e}"),
        }
    }
    if seen.unreadable > 0 || seen.docs.is_empty() {
        // `iter` stops at the first unreadable document.
        return;
    }
    let total = seen.docs.len();
    if let Ok(stats) = c.stats() {
        assert_eq!(
            stats.doc_count, total as u64,
            "stats.doc_count disagrees with iter"
        );
    }
    let dim = c.config().dim();
    let query: Vec<f32> = (0..dim).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect();
    let search = Search::new(&query).top_k(total).approximate(false);
    if let Ok(hits) = c.search(search) {
        let ids: BTreeSet<&str> = hits.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), hits.len(), "exact search returned an id twice");
        for id in &ids {
            assert!(
                seen.docs.contains_key(*id),
                "exact search returned {id:?}, which iter does not yield"
            );
        }
        let all_finite = seen
            .docs
            .values()
            .all(|d| d.vector.iter().all(|b| f32::from_bits(*b).is_finite()));
        if all_finite {
            assert_eq!(
                ids.len(),
                seen.docs.len(),
                "exact search with top_k = every document missed some"
            );
        }
    }
}

/// Read everything a collection offers without checking answers: every path must return
/// `Ok` or `Err`, never panic or hang.
fn exercise_reads(c: &Collection) {
    let _ = c.stats();
    let _ = c.has_index();
    let _ = c.payload_indexes();
    let mut ids = Vec::new();
    if let Ok(iter) = c.iter() {
        ids.extend(iter.take(READ_MAX).flatten().map(|d| d.id));
    }
    for id in ids.iter().take(64) {
        let _ = c.get(id);
    }
    for id in ["doc-00", "doc-05", "doc-13", "fz-new", "", "\u{0}"] {
        let _ = c.get(id);
    }
    let dim = c.config().dim();
    let queries: [Vec<f32>; 2] = [
        (0..dim).map(|i| i as f32 - 1.5).collect(),
        (0..dim)
            .map(|i| if i % 2 == 0 { 0.5 } else { -2.0 })
            .collect(),
    ];
    let filters = [
        None,
        Some(Filter::eq("k", "x")),
        Some(Filter::gte("n", 5)),
        Some(Filter::not(Filter::exists("k"))),
    ];
    for q in &queries {
        for approximate in [false, true] {
            for f in &filters {
                let mut s = Search::new(q).top_k(7).approximate(approximate);
                if let Some(f) = f {
                    s = s.filter(f.clone());
                }
                let _ = c.search(s);
            }
        }
    }
    let _ = c.search(
        Search::new(&queries[0])
            .top_k(3)
            .distance(Distance::DotProduct),
    );
    let _ = c.verify();
}

/// A document that only the harness writes.
fn new_doc(dim: usize) -> Document {
    let v = (0..dim).map(|i| 0.25 * i as f32 + 1.0).collect();
    Document::new("fz-new", v).with_payload(json!({"k": "fz", "n": 99}))
}

/// Write through a (possibly damaged) collection, then reopen: acknowledged writes must
/// survive. `vfs` is the collection's file system; the handles are consumed (closed).
fn exercise_writes_and_reopen(vfs: &SimVfs, db: Database, c: Collection) {
    let dim = c.config().dim();
    // Damage with forged checksums can leave a segment inconsistent in ways only `verify`
    // sees (an unordered id index hides ids from `get` and `delete`); writes are checked only
    // on a collection that verifies.
    let consistent = c.verify().is_ok();
    let inserted = c.insert(new_doc(dim)).is_ok();
    let deleted = c.delete("doc-00").is_ok();
    let _ = c.flush();
    let _ = c.insert(Document::new("fz-2", vec![0.5; dim]));
    let _ = c.compact();
    let _ = c.create_payload_index("n", PayloadIndexKind::Float);
    let _ = c.rebuild_index();
    let _ = c.sync();
    exercise_reads(&c);
    drop(c);
    drop(db);
    // Every write above was acknowledged under `FdatasyncEachBatch` (or a flush/compaction
    // made it durable); a damaged collection may still refuse to open, which is fine.
    let durable = consistent
        && matches!(
            manifest_facts(vfs),
            Some(m) if m.durability == "fdatasync_each_batch"
        );
    let Ok((_db, c)) = open_coll(vfs, false) else {
        return;
    };
    if durable && inserted {
        if let Ok(got) = c.get("fz-new") {
            let got = got.expect("an acknowledged insert is lost after reopening");
            assert_eq!(
                bits(&got),
                bits(&normalized(new_doc(dim), c.config().distance())),
                "an acknowledged insert reads back different after reopening"
            );
        }
    }
    if durable && deleted {
        if let Ok(got) = c.get("doc-00") {
            assert!(
                got.is_none(),
                "an acknowledged delete is undone by reopening"
            );
        }
    }
    exercise_reads(&c);
}

/// `doc` as a collection with `distance` stores it (cosine: unit length).
fn normalized(mut doc: Document, distance: Distance) -> Document {
    if distance == Distance::Cosine {
        let _ = ndb_kernels::normalize(&mut doc.vector);
    }
    doc
}

// ---------------------------------------------------------------------------------------------
// WAL

struct WalBase {
    image: Image,
    /// The WAL file the manifest names, its generation and the last flushed sequence number.
    path: PathBuf,
    gen: u64,
    flushed_seq: u64,
}

fn wal_bases() -> &'static [WalBase; 2] {
    static BASES: OnceLock<[WalBase; 2]> = OnceLock::new();
    BASES.get_or_init(|| {
        let empty = build_image(|db| {
            db.create_collection(
                COLLECTION,
                CollectionConfig::new(DIM).with_distance(Distance::Euclidean),
            )
            .expect("fixture: create the collection");
        });
        // A cosine collection with three documents in a segment, so replayed records shadow
        // segment rows.
        let flushed = build_image(|db| {
            let c = db
                .create_collection(COLLECTION, CollectionConfig::new(DIM))
                .expect("fixture: create the collection");
            c.insert_batch((0..3).map(|i| {
                Document::new(format!("d{i}"), vec![1.0, i as f32, 0.5, -1.0])
                    .with_payload(json!({"k": i}))
            }))
            .expect("fixture: insert");
            c.flush().expect("fixture: flush");
        });
        [wal_base(empty), wal_base(flushed)]
    })
}

/// What the harnesses need of the collection manifest, read as docs/FORMAT.md specifies it: a
/// 32-byte envelope header, then the JSON body.
struct ManifestFacts {
    wal_gen: u64,
    flushed_seq: u64,
    durability: String,
}

fn manifest_facts(vfs: &SimVfs) -> Option<ManifestFacts> {
    let file = vfs
        .open(&coll_dir().join("MANIFEST"), OpenMode::Read)
        .ok()?;
    let bytes = file.read_all().ok()?;
    let body: Value = serde_json::from_slice(bytes.get(32..)?).ok()?;
    Some(ManifestFacts {
        wal_gen: body["wal_gen"].as_u64()?,
        flushed_seq: body["flushed_seq"].as_u64()?,
        durability: body["config"]["durability"].as_str()?.to_string(),
    })
}

fn wal_base(image: Image) -> WalBase {
    let vfs = image.restore();
    let m = manifest_facts(&vfs).expect("fixture: manifest");
    let path = coll_dir().join(format!("wal-{:06}.log", m.wal_gen));
    assert!(image.files.contains_key(&path), "fixture: no WAL file");
    WalBase {
        path,
        gen: m.wal_gen,
        flushed_seq: m.flushed_seq,
        image,
    }
}

const WAL_MAGIC: &[u8; 8] = b"NDBWAL\0\0";
const WAL_HEADER_LEN: usize = 32;

/// A valid WAL header (docs/FORMAT.md, "WAL").
fn wal_header(gen: u64) -> Vec<u8> {
    let mut h = vec![0u8; WAL_HEADER_LEN];
    h[0..8].copy_from_slice(WAL_MAGIC);
    h[8..12].copy_from_slice(&1u32.to_le_bytes());
    h[16..24].copy_from_slice(&gen.to_le_bytes());
    let crc = crc32c(&h[0..28]);
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    h
}

/// A WAL record with a valid checksum: `seq`, `len`, `crc`, then `op_and_body`.
fn wal_record(seq: u64, op_and_body: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(16 + op_and_body.len());
    r.extend_from_slice(&seq.to_le_bytes());
    r.extend_from_slice(&(op_and_body.len() as u32).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c(&r), op_and_body);
    r.extend_from_slice(&crc.to_le_bytes());
    r.extend_from_slice(op_and_body);
    r
}

/// Records whose bodies the input spells out (any bytes), framed with valid checksums.
/// Per record: `ctl u8`, then a sequence number choice, `len u16 % 1024`, `len` body bytes.
fn framed_records(cur: &mut Cursor<'_>, first_seq: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut next = first_seq;
    while !cur.is_empty() {
        let ctl = cur.u8();
        let seq = match ctl & 3 {
            0 | 1 => next,
            2 => next.wrapping_add(u64::from(cur.u8())),
            _ => cur.u64(),
        };
        let len = usize::from(cur.u16() % 1024);
        let body = cur.bytes(len);
        let mut rec = wal_record(seq, body);
        if ctl & 0x40 != 0 {
            // A damaged record (wrong checksum).
            if let Some(b) = rec.get_mut(12) {
                *b ^= 0x5a;
            }
        }
        if ctl & 0x20 != 0 {
            // A torn append: the record is cut short and ends the log.
            let keep = usize::from(cur.u8()) % rec.len();
            out.extend_from_slice(&rec[..keep]);
            break;
        }
        out.extend_from_slice(&rec);
        next = seq.wrapping_add(1);
    }
    out
}

/// A document id from the input: mostly from a small set (so writes collide), sometimes raw
/// bytes (possibly not UTF-8, too long or empty: records nDB would never write).
fn wal_id(cur: &mut Cursor<'_>, ctl: u8) -> Vec<u8> {
    let b = cur.u8();
    if ctl & 0x10 != 0 {
        let n = usize::from(b % 12);
        cur.bytes(n).to_vec()
    } else {
        format!("d{}", b % 16).into_bytes()
    }
}

/// Records that decode: puts and deletes of ids, vectors and payloads from the input, framed
/// with valid checksums and mostly consecutive sequence numbers. Also returns whether every
/// record is one nDB itself could have written (payloads JSON objects, vectors finite); records
/// that are not model damage that happens to keep a valid checksum.
fn semantic_records(cur: &mut Cursor<'_>, first_seq: u64, dim: usize) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut writable = true;
    let mut next = first_seq;
    while !cur.is_empty() {
        let ctl = cur.u8();
        let count = 1 + usize::from(cur.u8() % 4);
        let mut body = Vec::new();
        let delete = ctl & 1 == 1;
        body.push(if delete { 2 } else { 1 });
        body.extend_from_slice(&(count as u32).to_le_bytes());
        for _ in 0..count {
            let id = wal_id(cur, ctl);
            body.extend_from_slice(&(id.len() as u16).to_le_bytes());
            body.extend_from_slice(&id);
            if delete {
                continue;
            }
            let payload: Vec<u8> = match cur.u8() % 5 {
                0 | 1 => Vec::new(),
                2 => serde_json::to_vec(&json!({"k": cur.u8() % 4, "s": "v"}))
                    .expect("a JSON object serializes"),
                3 => {
                    writable = false;
                    b"[1]".to_vec()
                }
                _ => {
                    let n = usize::from(cur.u8() % 16);
                    let raw = cur.bytes(n).to_vec();
                    writable &= raw.is_empty()
                        || matches!(serde_json::from_slice(&raw), Ok(Value::Object(_)));
                    raw
                }
            };
            body.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            body.extend_from_slice(&payload);
            for _ in 0..dim {
                let x = if ctl & 0x08 != 0 {
                    // Any bits: NaN, infinities, subnormals.
                    f32::from_bits(cur.u32())
                } else {
                    (f32::from(cur.u8()) - 128.0) / 16.0
                };
                writable &= x.is_finite();
                body.extend_from_slice(&x.to_le_bytes());
            }
        }
        let seq = if ctl & 0x80 != 0 {
            next.wrapping_add(u64::from(cur.u8() % 3))
        } else {
            next
        };
        out.extend_from_slice(&wal_record(seq, &body));
        next = seq.wrapping_add(1);
    }
    (out, writable)
}

/// Fuzz the WAL decoder and recovery.
///
/// The input replaces the WAL file of collection `c` (dimension 4) and the database is
/// reopened. Byte 0 chooses: bit 2 the base state (an empty Euclidean collection, or a cosine
/// one with three documents in a segment), bits 0–1 how the rest becomes the file:
/// 0 = the file itself; 1 = a valid header, then the bytes; 2 = a valid header, then records
/// framed with valid checksums around bodies from the input (`framed_records`); 3 = a valid
/// header, then well-formed put/delete records built from the input (`semantic_records`).
///
/// Whatever opens is read in every way, flushed, compacted and reopened. When every record is
/// one nDB could have written (mode 3 without non-object payloads or non-finite vectors),
/// `iter`/`get`/`stats`/exact search must also agree, a read-only open must see the same
/// documents, and the flush, compaction and reopen must leave the documents unchanged.
pub fn fuzz_wal(data: &[u8]) {
    let mut cur = Cursor::new(data);
    let sel = cur.u8();
    let base = &wal_bases()[usize::from(sel >> 2 & 1)];
    let first_seq = base.flushed_seq + 1;
    let mut strict = false;
    let file = match sel & 3 {
        0 => cur.rest().to_vec(),
        1 => [wal_header(base.gen), cur.rest().to_vec()].concat(),
        2 => [wal_header(base.gen), framed_records(&mut cur, first_seq)].concat(),
        _ => {
            let (records, writable) = semantic_records(&mut cur, first_seq, DIM);
            strict = writable;
            [wal_header(base.gen), records].concat()
        }
    };
    let vfs = base.image.restore();
    write_file(&vfs, &base.path, &file);
    let Ok((db, c)) = open_coll(&vfs, false) else {
        return;
    };
    exercise_reads(&c);
    let before = contents(&c).expect("iter of an open collection");
    if strict {
        // Records nDB could have written: every view must agree, before and after moving the
        // documents into segments.
        check_views_agree(&c, &before);
        if let Ok((_ro_db, ro)) = open_coll(&vfs, true) {
            let ro_seen = contents(&ro).expect("iter of a read-only collection");
            assert_eq!(ro_seen, before, "a read-only open sees other documents");
        }
    }
    let compacted = c.flush().is_ok() && c.compact().is_ok();
    drop(c);
    drop(db);
    if !compacted {
        return;
    }
    let (_db, c) = match open_coll(&vfs, false) {
        Ok(x) => x,
        Err(e) => panic!("the collection opened, flushed and compacted, then fails to reopen: {e}"),
    };
    exercise_reads(&c);
    if strict {
        let after = contents(&c).expect("iter after reopening");
        assert_eq!(
            after, before,
            "documents changed through flush, compaction and reopen"
        );
        check_views_agree(&c, &after);
    }
}

// ---------------------------------------------------------------------------------------------
// The store fixture: segments with deletion, HNSW and payload index files; manifests

struct Store {
    image: Image,
    /// Files of `segments/`, in name order: the segment targets.
    segment_files: Vec<PathBuf>,
    /// What the intact store answers.
    baseline: Answers,
}

/// The answers compared between an intact and a damaged-but-accepted store.
#[derive(Debug, PartialEq)]
struct Answers {
    contents: Contents,
    searches: Vec<Vec<(String, u32)>>,
}

fn answers(c: &Collection) -> ndb::Result<Answers> {
    let contents = contents(c)?;
    let queries = [[0.0f32, 0.0, 0.0, 0.0], [5.0, -1.0, 2.0, -2.0]];
    let filters = [
        None,
        Some(Filter::eq("k", "x")),
        Some(Filter::gte("n", 5)),
        Some(Filter::not(Filter::exists("k"))),
    ];
    let mut searches = Vec::new();
    for q in &queries {
        for f in &filters {
            for k in [3, 100] {
                let mut s = Search::new(q).top_k(k).approximate(false);
                if let Some(f) = f {
                    s = s.filter(f.clone());
                }
                let hits = c.search(s)?;
                searches.push(
                    hits.into_iter()
                        .map(|m| (m.id, m.score.to_bits()))
                        .collect(),
                );
            }
        }
    }
    Ok(Answers { contents, searches })
}

fn store_doc(i: usize) -> Document {
    let v = vec![
        i as f32,
        i as f32 * 0.5 - 3.0,
        (i % 3) as f32,
        1.0 - i as f32 * 0.25,
    ];
    let d = Document::new(format!("doc-{i:02}"), v);
    if i % 4 == 3 {
        d
    } else {
        let k = ["x", "y", "z"][i % 3];
        d.with_payload(json!({"k": k, "n": i, "s": "text"}))
    }
}

fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let index = IndexConfig::default()
            .with_m(4)
            .with_ef_construction(16)
            .with_ef_search(16)
            .with_min_rows(4);
        let image = build_image(|db| {
            let config = CollectionConfig::new(DIM)
                .with_distance(Distance::Euclidean)
                .with_durability(Durability::FdatasyncEachBatch)
                .with_index(index);
            let c = db
                .create_collection(COLLECTION, config)
                .expect("fixture: create");
            c.create_payload_index("k", PayloadIndexKind::Keyword)
                .expect("fixture: payload index");
            c.create_payload_index("n", PayloadIndexKind::Integer)
                .expect("fixture: payload index");
            c.insert_batch((0..8).map(store_doc))
                .expect("fixture: insert");
            c.flush().expect("fixture: flush");
            c.insert_batch((8..14).map(store_doc))
                .expect("fixture: insert");
            c.insert(store_doc(2).with_payload(json!({"k": "x", "n": 2, "replaced": true})))
                .expect("fixture: replace");
            c.delete("doc-03").expect("fixture: delete");
            c.flush().expect("fixture: flush");
            c.insert_batch((14..16).map(store_doc))
                .expect("fixture: insert");
            c.delete("doc-09").expect("fixture: delete");
        });
        let seg_dir = coll_dir().join("segments");
        let segment_files: Vec<PathBuf> = image
            .files
            .keys()
            .filter(|p| p.parent() == Some(seg_dir.as_path()))
            .cloned()
            .collect();
        for ext in ["ndb", "del", "hnsw", "pidx"] {
            assert!(
                segment_files
                    .iter()
                    .any(|p| p.extension().is_some_and(|e| e == ext)),
                "fixture: no .{ext} file"
            );
        }
        let vfs = image.restore();
        let (_db, c) = open_coll(&vfs, false).expect("fixture: reopen");
        c.verify().expect("fixture: verify");
        let baseline = answers(&c).expect("fixture: answers");
        Store {
            image,
            segment_files,
            baseline,
        }
    })
}

/// Open the damaged store. If it opens and `verify` passes, and the damage forged no checksum,
/// it must answer exactly as the intact store; then write through it and reopen.
fn check_damaged_store(vfs: &SimVfs, forged: bool) {
    let Ok((db, c)) = open_coll(vfs, false) else {
        return;
    };
    exercise_reads(&c);
    if !forged {
        check_no_answer_from_damage(&c);
    }
    if !forged && c.verify().is_ok() {
        match answers(&c) {
            Ok(a) => assert_eq!(
                a,
                store().baseline,
                "damage passed open and verify but changed the answers"
            ),
            Err(e) => panic!("damage passed open and verify, but reading fails: {e}"),
        }
    }
    if let Ok((_ro_db, ro)) = open_coll(vfs, true) {
        exercise_reads(&ro);
    }
    exercise_writes_and_reopen(vfs, db, c);
}

/// Damage that forged no checksum may make reads fail, but never changes an answer: every
/// document read and every search that succeeds answers as the intact store does (row and
/// vector block checksums, docs/RELIABILITY.md).
fn check_no_answer_from_damage(c: &Collection) {
    let baseline = &store().baseline;
    if let Ok(seen) = contents(c) {
        for (id, doc) in &seen.docs {
            assert_eq!(
                baseline.contents.docs.get(id),
                Some(doc),
                "unforged damage: iter returned {id:?} with different contents"
            );
        }
    }
    if let Ok(a) = answers(c) {
        for (got, want) in a.searches.iter().zip(&baseline.searches) {
            assert_eq!(got, want, "unforged damage changed a search answer");
        }
    }
}

/// Checksum fields (`(offset, length)`) of a file of the store, by its name (docs/FORMAT.md).
fn checksum_fields(name: &str) -> Vec<(usize, usize)> {
    match extension(name) {
        "ndb" => {
            // The header CRC, and the CRC of each of the 14 section table entries.
            let mut out = vec![(504, 4)];
            out.extend((0..14).map(|i| (56 + i * 32 + 24, 4)));
            out
        }
        "del" | "hnsw" | "pidx" => vec![(40, 8)],
        _ if name.ends_with("MANIFEST") => vec![(24, 4)],
        _ => Vec::new(),
    }
}

fn extension(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(_, e)| e)
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    if let Some(dst) = b.get_mut(at..at + 4) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
}

/// The byte range of section `kind` of a segment file, if its table entry is readable.
fn segment_section(b: &[u8], kind: u32) -> Option<Range<usize>> {
    let count = le_u32(b, 48).map_or(0, |n| (n as usize).min(14));
    let at = (0..count)
        .map(|i| 56 + i * 32)
        .find(|&at| le_u32(b, at) == Some(kind))?;
    let off = usize::try_from(le_u64(b, at + 8)?).ok()?;
    let len = usize::try_from(le_u64(b, at + 16)?).ok()?;
    let end = off.checked_add(len).filter(|&e| e <= b.len())?;
    Some(off..end)
}

/// Row `row`'s bytes in a section indexed by an offsets section (`u64` per row, then the end).
fn segment_row<'a>(
    b: &'a [u8],
    offsets: &Range<usize>,
    bytes: &Range<usize>,
    row: usize,
) -> &'a [u8] {
    let at = offsets.start.saturating_add(row.saturating_mul(8));
    let (Some(start), Some(end)) = (le_u64(b, at), le_u64(b, at.saturating_add(8))) else {
        return &[];
    };
    let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
        return &[];
    };
    b.get(bytes.start.saturating_add(start)..bytes.start.saturating_add(end))
        .filter(|_| bytes.start.saturating_add(end) <= bytes.end)
        .unwrap_or(&[])
}

/// Recompute a version 2 segment's row checksums (CRC-32C of id, payload and vector bytes)
/// and vector block checksums (CRC-32C of each 64 rows' vectors), docs/FORMAT.md.
fn fix_row_checksums(b: &mut [u8]) {
    let (Some(rows), Some(dim)) = (le_u64(b, 24), le_u32(b, 16)) else {
        return;
    };
    let sections: Option<Vec<Range<usize>>> = (1..=8).map(|k| segment_section(b, k)).collect();
    let Some(s) = sections else {
        return;
    };
    let (vectors, rows) = (&s[0], (rows as usize).min(s[6].len() / 4));
    let row_bytes = dim as usize * 4;
    let mut row_crcs = Vec::with_capacity(rows);
    for row in 0..rows {
        let id = segment_row(b, &s[1], &s[2], row);
        let payload = segment_row(b, &s[4], &s[5], row);
        let v_at = vectors.start.saturating_add(row.saturating_mul(row_bytes));
        let vector = b.get(v_at..v_at.saturating_add(row_bytes)).unwrap_or(&[]);
        let crc = crc32c::crc32c_append(crc32c::crc32c_append(crc32c(id), payload), vector);
        row_crcs.push(crc);
    }
    for (row, crc) in row_crcs.into_iter().enumerate() {
        put_u32(b, s[6].start + row * 4, crc);
    }
    let block_bytes = 64 * row_bytes;
    for block in 0..s[7].len() / 4 {
        let start = vectors
            .start
            .saturating_add(block.saturating_mul(block_bytes));
        let end = start.saturating_add(block_bytes).min(vectors.end);
        let crc = b.get(start..end).map_or(0, crc32c);
        put_u32(b, s[7].start + block * 4, crc);
    }
}

/// Recompute every checksum of a file of the store (docs/FORMAT.md), so that damage reaches the checks behind them.
fn fix_checksums(name: &str, b: &mut [u8]) {
    match extension(name) {
        "ndb" => {
            if le_u32(b, 8) == Some(2) {
                fix_row_checksums(b);
            }
            let count = le_u32(b, 48).map_or(0, |n| (n as usize).min(14));
            for i in 0..count {
                let at = 56 + i * 32;
                let (Some(off), Some(len)) = (le_u64(b, at + 8), le_u64(b, at + 16)) else {
                    continue;
                };
                let Some(end) = off.checked_add(len) else {
                    continue;
                };
                let (Ok(off), Ok(end)) = (usize::try_from(off), usize::try_from(end)) else {
                    continue;
                };
                if let Some(section) = b.get(off..end) {
                    let crc = crc32c(section);
                    put_u32(b, at + 24, crc);
                }
            }
            if b.len() >= 508 {
                let crc = crc32c(&b[..504]);
                put_u32(b, 504, crc);
            }
        }
        "del" | "pidx" | "hnsw" => {
            let body_start = if extension(name) == "hnsw" { 64 } else { 48 };
            if let Some(body) = b.get(body_start..) {
                let crc = crc32c(body);
                put_u32(b, 40, crc);
            }
            if b.len() >= 48 {
                let crc = crc32c(&b[..44]);
                put_u32(b, 44, crc);
            }
        }
        _ => {}
    }
}

/// Apply `(offset u16, xor u8)` mutations from the input to `bytes`; an xor of 0 sets the
/// length instead (truncating, or extending with zeros). Mutations of checksum fields are
/// skipped unless `forge` (so that unforged damage stays detectable by design).
fn mutate(cur: &mut Cursor<'_>, bytes: &mut Vec<u8>, name: &str, forge: bool) {
    let protected = checksum_fields(name);
    let mut ops = 0;
    while !cur.is_empty() && ops < 64 {
        ops += 1;
        let offset = usize::from(cur.u16());
        let x = cur.u8();
        if x == 0 {
            let len = offset % (bytes.len() + 65);
            bytes.resize(len, 0);
            continue;
        }
        if bytes.is_empty() {
            continue;
        }
        let at = offset % bytes.len();
        if !forge
            && protected
                .iter()
                .any(|&(start, len)| (start..start + len).contains(&at))
        {
            continue;
        }
        bytes[at] ^= x;
    }
}

/// Fuzz segment opening and reading: segment (`.ndb`), deletion (`.del`), HNSW index
/// (`.hnsw`) and payload index (`.pidx`) files.
///
/// The store fixture is a Euclidean collection `c` (dimension 4, HNSW indexes from 4 rows,
/// payload indexes on `k` and `n`) with two flushed segments, a deletion file, a replaced and
/// a deleted document, and unflushed WAL records. Byte 0 chooses: bits 0–3 the target file
/// (index into the sorted files of `segments/`, modulo their number); bits 4–5 the mode:
/// 0 = the rest of the input replaces the file; 1 = the rest is `(offset u16, xor u8)`
/// mutations (xor 0: set the length) that leave checksum fields alone; 2 and 3 = the same
/// mutations, then every checksum of the file is recomputed, so the damage reaches the
/// structural checks behind them.
///
/// Then the database is opened (writer and read-only) and read in every way (get, iter,
/// exact and approximate search with and without filters, verify), written to (insert,
/// delete, flush, compact, payload index, index rebuild) and reopened. Mode 1 damage that
/// passes open and verify must not change any answer; in every mode acknowledged writes must
/// survive the reopen.
pub fn fuzz_segment(data: &[u8]) {
    let st = store();
    let mut cur = Cursor::new(data);
    let sel = cur.u8();
    let Some(target) = st
        .segment_files
        .get(usize::from(sel & 0x0f) % st.segment_files.len().max(1))
    else {
        return;
    };
    let name = target.to_string_lossy().into_owned();
    let mode = (sel >> 4) & 3;
    let bytes = match mode {
        0 => cur.rest().to_vec(),
        _ => {
            let mut b = st.image.file(target).to_vec();
            mutate(&mut cur, &mut b, &name, mode >= 2);
            if mode >= 2 {
                fix_checksums(&name, &mut b);
            }
            b
        }
    };
    let vfs = st.image.restore();
    write_file(&vfs, target, &bytes);
    check_damaged_store(&vfs, mode != 1);
}

// ---------------------------------------------------------------------------------------------
// Manifests

const MANIFEST_MAGIC: &[u8; 8] = b"NDBMANIF";
const MANIFEST_HEADER_LEN: usize = 32;

/// A manifest with a valid envelope around `body` (docs/FORMAT.md, "Manifests").
fn seal_manifest(kind: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MANIFEST_HEADER_LEN + body.len());
    out.extend_from_slice(MANIFEST_MAGIC);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c(&out), body);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Fuzz manifest parsing and validation: the database manifest (`/db/MANIFEST`) or the
/// collection manifest (`/db/c/MANIFEST`) of the store fixture (see [`fuzz_segment`]).
///
/// Byte 0 chooses: bit 0 the manifest (0 = collection, 1 = database); bits 1–2 the mode:
/// 0 = the rest of the input replaces the file; 1 = the rest is `(offset u16, xor u8)`
/// mutations of the real file that leave the checksum alone; 2 = the same mutations on the
/// JSON body, then re-sealed with a valid envelope; 3 = the rest is the JSON body (the corpus
/// holds the real bodies), sealed with a valid envelope.
///
/// Then the database is opened and exercised as in [`fuzz_segment`]; mode 1 damage that
/// passes open and verify must change no answer.
pub fn fuzz_manifest(data: &[u8]) {
    let st = store();
    let mut cur = Cursor::new(data);
    let sel = cur.u8();
    let (target, kind) = if sel & 1 == 0 {
        (coll_dir().join("MANIFEST"), 2)
    } else {
        (Path::new(DB_DIR).join("MANIFEST"), 1)
    };
    let name = target.to_string_lossy().into_owned();
    let original = st.image.file(&target);
    let mode = (sel >> 1) & 3;
    let bytes = match mode {
        0 => cur.rest().to_vec(),
        1 => {
            let mut b = original.to_vec();
            mutate(&mut cur, &mut b, &name, false);
            b
        }
        2 => {
            let mut body = original.get(MANIFEST_HEADER_LEN..).unwrap_or(&[]).to_vec();
            mutate(&mut cur, &mut body, "body", true);
            seal_manifest(kind, &body)
        }
        _ => seal_manifest(kind, cur.rest()),
    };
    let vfs = st.image.restore();
    write_file(&vfs, &target, &bytes);
    check_damaged_store(&vfs, mode != 1);
}

// ---------------------------------------------------------------------------------------------
// Filters

struct FilterFixture {
    _db: Database,
    coll: Collection,
    /// Every live document's id and payload (the model).
    docs: Vec<(String, Option<Value>)>,
}

fn filter_payload(i: usize) -> Option<Value> {
    if i % 11 == 5 {
        return None;
    }
    let mut m = serde_json::Map::new();
    let k = ["a", "b", "c", "é", ""][i % 5];
    if i % 7 != 3 {
        m.insert("k".into(), json!(k));
    }
    m.insert("n".into(), json!(i as i64 % 7 - 3));
    m.insert("f".into(), json!(i as f64 / 4.0 - 2.0));
    m.insert("b".into(), json!(i.is_multiple_of(3)));
    m.insert("tags".into(), json!([k, format!("t{}", i % 4)]));
    m.insert("a".into(), json!({"b": i % 4, "c": [i % 2, "x"]}));
    let mixed = match i % 7 {
        0 => json!(1),
        1 => json!("1"),
        2 => json!([1, "x", [2]]),
        3 => Value::Null,
        4 => json!(1.5),
        5 => json!({"z": 1}),
        _ => json!(true),
    };
    m.insert("mixed".into(), mixed);
    m.insert("big".into(), json!(9_007_199_254_740_993i64 + i as i64));
    if i.is_multiple_of(2) {
        m.insert("u".into(), json!(u64::MAX - i as u64));
    }
    let num = match i % 6 {
        0 => json!(5),
        1 => json!(5.0),
        2 => json!(2.5),
        3 => json!(u64::MAX),
        4 => json!(-7),
        _ => json!("5"),
    };
    m.insert("num".into(), num);
    Some(Value::Object(m))
}

fn filter_fixture() -> &'static FilterFixture {
    static FIXTURE: OnceLock<FilterFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let vfs = SimVfs::new(3);
        let db = open_db(&vfs, false).expect("fixture: open");
        let index = IndexConfig::default()
            .with_m(4)
            .with_ef_construction(32)
            .with_min_rows(8);
        let config = CollectionConfig::new(DIM)
            .with_distance(Distance::Euclidean)
            .with_index(index);
        let c = db
            .create_collection(COLLECTION, config)
            .expect("fixture: create");
        for (field, kind) in [
            ("k", PayloadIndexKind::Keyword),
            ("n", PayloadIndexKind::Integer),
            ("f", PayloadIndexKind::Float),
            ("b", PayloadIndexKind::Bool),
            ("tags", PayloadIndexKind::Keyword),
            ("a.b", PayloadIndexKind::Integer),
            ("mixed", PayloadIndexKind::Keyword),
            ("big", PayloadIndexKind::Float),
            ("u", PayloadIndexKind::Integer),
            ("num", PayloadIndexKind::Integer),
        ] {
            c.create_payload_index(field, kind)
                .expect("fixture: payload index");
        }
        let doc = |i: usize| {
            let v = vec![
                (i % 5) as f32,
                (i / 5) as f32,
                (i % 3) as f32 * 0.5,
                1.0 - (i % 4) as f32,
            ];
            let d = Document::new(format!("f{i:02}"), v);
            match filter_payload(i) {
                Some(p) => d.with_payload(p),
                None => d,
            }
        };
        c.insert_batch((0..20).map(doc)).expect("fixture: insert");
        c.flush().expect("fixture: flush");
        c.insert_batch((20..40).map(doc)).expect("fixture: insert");
        c.delete("f04").expect("fixture: delete");
        c.flush().expect("fixture: flush");
        c.insert_batch((40..48).map(doc)).expect("fixture: insert");
        c.insert(doc(7).with_payload(json!({"k": "b", "n": 100})))
            .expect("fixture: replace");
        c.delete("f41").expect("fixture: delete");
        let docs = c
            .iter()
            .expect("fixture: iter")
            .map(|d| d.map(|d| (d.id, d.payload)))
            .collect::<ndb::Result<Vec<_>>>()
            .expect("fixture: read");
        FilterFixture {
            _db: db,
            coll: c,
            docs,
        }
    })
}

/// Payloads every parsed filter is evaluated on (and `None`, a document without payload).
fn fixed_payloads() -> Vec<Value> {
    vec![
        json!({}),
        json!({"lang": "en", "year": 2024, "score": 0.5, "tags": ["rust", "db"], "n": [1, 9]}),
        json!({"author": {"name": "Ada"}, "x": null, "draft": true}),
        json!({"a": {"b": {"c": [1, {"d": 2}]}}, "big": 18_446_744_073_709_551_615u64, "neg": -9_223_372_036_854_775_808i64}),
        json!({"k": "", "f": 1e300, "g": -0.0, "s": "\u{0}\u{ffff}"}),
    ]
}

/// Fuzz the filter parser, printer and evaluator, and filtered search.
///
/// The input, as UTF-8 (lossy), is parsed with [`Filter::from_json_str`]. A parsed filter must
/// validate, print (`to_json`, `Display`) to JSON that parses back to an equal filter, be
/// negated exactly by [`Filter::not`] on a few fixed payloads, and select through
/// [`Collection::search`] exactly the documents [`Filter::matches`] selects. That collection
/// has two segments (with HNSW indexes and payload indexes on keyword, integer, float, bool,
/// nested and mixed-type fields) and a memtable, with deleted and replaced documents; exact
/// search must return every match, approximate search `top_k` matches when that many exist.
pub fn fuzz_filter(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(filter) = Filter::from_json_str(&text) else {
        return;
    };
    if let Err(e) = filter.validate() {
        panic!("from_json_str returned a filter that does not validate: {e}");
    }
    let printed = filter.to_json();
    match Filter::from_json(&printed) {
        Ok(back) => assert_eq!(back, filter, "to_json does not parse back to the filter"),
        Err(e) => panic!("to_json output {printed} does not parse: {e}"),
    }
    match Filter::from_json_str(&filter.to_string()) {
        Ok(back) => assert_eq!(back, filter, "Display does not parse back to the filter"),
        Err(e) => panic!("Display output does not parse: {e}"),
    }
    let negated = Filter::not(filter.clone());
    let payloads = fixed_payloads();
    for p in payloads.iter().map(Some).chain([None]) {
        let m = filter.matches(p);
        assert_eq!(negated.matches(p), !m, "not(f) is not the negation of f");
    }

    let fx = filter_fixture();
    let expected: BTreeSet<&str> = fx
        .docs
        .iter()
        .filter(|(_, p)| filter.matches(p.as_ref()))
        .map(|(id, _)| id.as_str())
        .collect();
    let query = [1.0f32, 2.0, 0.5, -1.0];
    let all = fx.docs.len();
    let exact = fx
        .coll
        .search(
            Search::new(&query)
                .top_k(all)
                .approximate(false)
                .filter(filter.clone()),
        )
        .unwrap_or_else(|e| panic!("exact filtered search fails: {e}"));
    let got: BTreeSet<&str> = exact.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        got, expected,
        "exact filtered search disagrees with Filter::matches"
    );
    let top3 = fx
        .coll
        .search(
            Search::new(&query)
                .top_k(3)
                .approximate(false)
                .filter(filter.clone()),
        )
        .unwrap_or_else(|e| panic!("exact filtered search fails: {e}"));
    let top3_ids: Vec<&str> = top3.iter().map(|m| m.id.as_str()).collect();
    let head: Vec<&str> = exact.iter().take(3).map(|m| m.id.as_str()).collect();
    assert_eq!(
        top3_ids, head,
        "top 3 differs from the head of the full ranking"
    );
    let approx = fx
        .coll
        .search(
            Search::new(&query)
                .top_k(3)
                .approximate(true)
                .filter(filter.clone()),
        )
        .unwrap_or_else(|e| panic!("approximate filtered search fails: {e}"));
    for m in &approx {
        assert!(
            expected.contains(m.id.as_str()),
            "approximate filtered search returned {:?}, which the filter rejects",
            m.id
        );
    }
    assert_eq!(
        approx.len(),
        expected.len().min(3),
        "approximate filtered search returned fewer than top_k though enough documents match"
    );
}

// ---------------------------------------------------------------------------------------------
// Seeds

/// Valid starting inputs for each target (`(target, name, bytes)`), made from a small real
/// database: WAL files and records, segment-family files, manifests, filters from the docs.
/// `tests/fuzz_corpus.rs` writes them to `fuzz/corpus/<target>/seed-<name>` on request.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    // WAL: the real file of each base collection after a few writes, raw and after the header.
    for (i, base) in wal_bases().iter().enumerate() {
        let vfs = base.image.restore();
        {
            let (_db, c) = open_coll(&vfs, false).expect("fixture: open");
            c.insert_batch((0..3).map(|j| {
                Document::new(format!("d{j}"), vec![j as f32, 1.0, -2.0, 0.5])
                    .with_payload(json!({"k": j}))
            }))
            .expect("fixture: insert");
            c.insert(Document::new("d1", vec![0.0, 0.0, 1.0, 0.0]))
                .expect("fixture: replace");
            c.delete("d2").expect("fixture: delete");
        }
        let wal = vfs.volatile_contents(&base.path).unwrap_or_default();
        let sel = (i as u8) << 2;
        out.push(("wal", format!("raw-file-{i}"), [&[sel][..], &wal].concat()));
        let records = wal.get(WAL_HEADER_LEN..).unwrap_or(&[]);
        out.push((
            "wal",
            format!("records-{i}"),
            [&[sel | 1][..], records].concat(),
        ));
    }
    let st = store();
    out.push((
        "wal",
        "framed".into(),
        vec![2, 0, 5, 0, 1, 1, 0, 0, 0, 1, 0],
    ));
    out.push((
        "wal",
        "semantic".into(),
        vec![
            3, 0, 1, 1, 2, 1, 130, 140, 150, 160, 0, 2, 3, 4, 0, 120, 128, 136, 144, 1, 0, 1,
        ],
    ));
    out.push((
        "wal",
        "semantic-flushed".into(),
        vec![7, 0, 0, 1, 3, 128, 129, 130, 131, 1, 1, 2],
    ));
    // Segment family: each file raw, a few mutations, a few forged mutations.
    for (i, path) in st.segment_files.iter().enumerate() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sel = i as u8 & 0x0f;
        out.push((
            "segment",
            format!("raw-{name}"),
            [&[sel][..], st.image.file(path)].concat(),
        ));
        out.push((
            "segment",
            format!("flip-{name}"),
            vec![sel | 0x10, 0x00, 0x02, 0x04, 0x10, 0x00, 0x01],
        ));
        out.push((
            "segment",
            format!("forged-{name}"),
            vec![sel | 0x20, 0x18, 0x00, 0x01, 0x48, 0x02, 0x80],
        ));
    }
    // Manifests: raw files and bodies.
    for (sel, target) in [
        (0u8, coll_dir().join("MANIFEST")),
        (1u8, Path::new(DB_DIR).join("MANIFEST")),
    ] {
        let which = if sel == 0 { "collection" } else { "database" };
        let file = st.image.file(&target);
        out.push((
            "manifest",
            format!("raw-{which}"),
            [&[sel][..], file].concat(),
        ));
        let body = file.get(MANIFEST_HEADER_LEN..).unwrap_or(&[]);
        out.push((
            "manifest",
            format!("body-{which}"),
            [&[sel | 6][..], body].concat(),
        ));
        out.push((
            "manifest",
            format!("flip-{which}"),
            vec![sel | 2, 0x40, 0x00, 0x01],
        ));
    }
    // Filters: the examples of the documentation, and each operator on the filter fixture's
    // indexed fields.
    let filters = [
        r#"{"lang": "en", "year": {"$gte": 2020}}"#,
        r#"{"year": {"$gte": 2020, "$lt": 2030}, "$or": [{"lang": "en"}, {"lang": {"$in": ["de", "fr"]}}], "draft": {"$exists": false}}"#,
        r#"{"author.name": "Ada"}"#,
        r#"{"tags": {"$nin": ["go"]}, "n": {"$gt": 1}}"#,
        r#"{"$not": {"mixed": null}}"#,
        r#"{"$and": [{"k": {"$ne": "a"}}, {"f": {"$lte": 1.5}}, {"b": true}]}"#,
        r#"{"a.b": {"$in": [1, 2.0]}, "mixed": {"$eq": {"z": 1}}}"#,
        r#"{"big": {"$gt": 9007199254740994}, "u": {"$lt": 18446744073709551610}}"#,
        r#"{"tags": ["a", "t1"], "k": {"$not": {"$gte": "b"}}}"#,
        r#"{"$or": [{"n": -3}, {"f": {"$gt": 3.5}}, {"k": {"$exists": false}}]}"#,
        r#"{"mixed": {"$in": [1, "1", true]}, "a.c": 1}"#,
        r#"{"k": {"$gt": "a", "$lt": "é"}, "n": {"$nin": [0, 1.0]}}"#,
    ];
    for (i, f) in filters.iter().enumerate() {
        out.push(("filter", format!("doc-{i}"), f.as_bytes().to_vec()));
    }
    out
}

/// The harness for a target name (`wal`, `segment`, `manifest`, `filter`).
pub fn harness(target: &str) -> Option<fn(&[u8])> {
    match target {
        "wal" => Some(fuzz_wal),
        "segment" => Some(fuzz_segment),
        "manifest" => Some(fuzz_manifest),
        "filter" => Some(fuzz_filter),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    /// The oracle's checksum rewrite (written from docs/FORMAT.md) reproduces what the engine
    /// wrote: every file of the store is a fixed point.
    #[test]
    fn fix_checksums_is_the_identity_on_intact_files() {
        let st = super::store();
        for path in &st.segment_files {
            let name = path.to_string_lossy();
            let original = st.image.file(path).to_vec();
            let mut fixed = original.clone();
            super::fix_checksums(&name, &mut fixed);
            assert!(
                fixed == original,
                "{name}: fix_checksums changed an intact file"
            );
        }
    }
}
