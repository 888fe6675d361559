//! WAL damage told apart from a crash wherever the write order allows (issue 12.10), and the
//! resynchronisation after a damaged record in linear time (issue 12.5).

mod common;
use common::quiet;

use ndb::{CollectionConfig, Database, Document, Error};
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn wal(db: &Path, gen: u64) -> PathBuf {
    db.join(format!("c/wal-{gen:06}.log"))
}

/// Three documents flushed (the manifest then names WAL generation 2), two more in that WAL.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Database::open_with_options(&path, quiet()).unwrap();
    let c = db.create_collection("c", CollectionConfig::new(4)).unwrap();
    for i in 0..3 {
        c.insert(Document::new(
            format!("s{i}"),
            vec![1.0, i as f32, 0.0, 0.0],
        ))
        .unwrap();
    }
    c.flush().unwrap();
    for i in 0..2 {
        c.insert(Document::new(
            format!("w{i}"),
            vec![0.0, 1.0, i as f32, 0.0],
        ))
        .unwrap();
    }
    c.sync().unwrap();
    drop((c, db));
    assert!(wal(&path, 2).exists() && !wal(&path, 1).exists());
    (dir, path)
}

fn open_err(path: &Path) -> Error {
    let db = Database::open_read_only(path).unwrap();
    let ro = db.get_collection("c").map(|_| ()).unwrap_err();
    let db = Database::open_with_options(path, quiet()).unwrap();
    let rw = db.get_collection("c").map(|_| ()).unwrap_err();
    assert_eq!(ro.to_string(), rw.to_string());
    rw
}

#[track_caller]
fn assert_corruption_in(err: &Error, file: &Path, words: &str) {
    match err {
        Error::Corruption {
            file: f, reason, ..
        } => {
            assert_eq!(f, file, "{err}");
            assert!(reason.contains(words), "{err}");
        }
        other => panic!("expected Corruption, got {other}"),
    }
}

fn flip_last_byte(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    fs::write(path, bytes).unwrap();
}

/// A WAL header as docs/FORMAT.md specifies it.
fn wal_header(gen: u64) -> Vec<u8> {
    let mut h = vec![0u8; 32];
    h[0..8].copy_from_slice(b"NDBWAL\0\0");
    h[8..12].copy_from_slice(&1u32.to_le_bytes());
    h[16..24].copy_from_slice(&gen.to_le_bytes());
    let crc = crc32c::crc32c(&h[0..28]);
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    h
}

#[test]
fn a_truncated_wal_named_by_the_manifest_is_corruption() {
    let (_dir, path) = fixture();
    OpenOptions::new()
        .write(true)
        .open(wal(&path, 2))
        .unwrap()
        .set_len(0)
        .unwrap();
    assert_corruption_in(&open_err(&path), &wal(&path, 2), "truncated");
}

#[test]
fn a_missing_wal_named_by_the_manifest_is_corruption() {
    let (_dir, path) = fixture();
    fs::remove_file(wal(&path, 2)).unwrap();
    assert_corruption_in(&open_err(&path), &wal(&path, 2), "missing");
}

#[test]
fn a_damaged_last_record_before_a_later_generation_is_corruption() {
    let (_dir, path) = fixture();
    flip_last_byte(&wal(&path, 2));
    fs::write(wal(&path, 3), wal_header(3)).unwrap();
    assert_corruption_in(&open_err(&path), &wal(&path, 2), "later WAL generation");
}

/// What the design cannot tell: damage to the newest record of the newest generation looks
/// like an append a crash interrupted. It is cut off and reported, never silently.
#[test]
fn a_damaged_last_record_of_the_newest_generation_is_reported_as_a_torn_tail() {
    let (_dir, path) = fixture();
    flip_last_byte(&wal(&path, 2));
    let db = Database::open_read_only(&path).unwrap();
    let c = db.get_collection("c").unwrap();
    let s = c.stats().unwrap();
    assert!(s.wal_truncated_bytes > 0, "{s:?}");
    assert_eq!(s.doc_count, 4);
}

/// A torn first record of a WAL holding a ~10 MB batch of mostly-zero vectors: opening reads
/// past it in linear time (it took 8.6 s, against 20 ms for dense data).
#[test]
fn resynchronising_after_a_torn_first_record_is_linear_on_sparse_data() {
    let mut times = Vec::new();
    for sparse in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let db = Database::open_with_options(&path, quiet()).unwrap();
        let c = db
            .create_collection("c", CollectionConfig::new(128))
            .unwrap();
        let docs: Vec<Document> = (0..20_000)
            .map(|i| {
                let v: Vec<f32> = (0..128)
                    .map(|j| match sparse {
                        true if j == i % 128 => 1.0,
                        true => 0.0,
                        false => ((i * 7 + j * 13) % 97) as f32 / 97.0 + 0.01,
                    })
                    .collect();
                Document::new(format!("d{i}"), v)
            })
            .collect();
        c.insert_batch(docs).unwrap();
        c.sync().unwrap();
        drop((c, db));
        // Damage the record's checksum field (bytes 12..16 after the 32-byte file header).
        let p = wal(&path, 1);
        let mut bytes = fs::read(&p).unwrap();
        assert!(bytes.len() > 10_000_000);
        bytes[32 + 12] ^= 0xff;
        fs::write(&p, bytes).unwrap();
        let started = Instant::now();
        let db = Database::open_read_only(&path).unwrap();
        let c = db.get_collection("c").unwrap();
        times.push(started.elapsed());
        let s = c.stats().unwrap();
        assert_eq!(s.doc_count, 0, "the torn record is not replayed");
        assert!(s.wal_truncated_bytes > 10_000_000);
    }
    let (dense, sparse) = (times[0], times[1]);
    println!(
        "open after a torn first record of a ~10 MB batch: dense {dense:?}, sparse {sparse:?}"
    );
    assert!(
        sparse < Duration::from_secs(2) && sparse < dense * 10 + Duration::from_millis(500),
        "sparse {sparse:?} vs dense {dense:?}"
    );
}
