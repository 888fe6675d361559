//! A damaged version field is damage, not a newer format (issue 12, item 6).
//!
//! Every decoder checks a file's checksum before its version: a flipped bit in the version of
//! any file kind (manifests, WAL, segment, deletion file, HNSW index, payload index) is
//! `Error::Corruption` naming the file; only a newer version under a valid checksum is
//! `Error::UnsupportedFormat`.

mod common;
use common::{quiet, small_graphs};

use ndb::{Database, Document, Error, PayloadIndexKind};
use serde_json::json;
use std::path::{Path, PathBuf};

const DIM: usize = 4;

/// A collection with a segment, its deletion file, HNSW graph and payload index, and two
/// documents in the WAL.
fn build(dir: &Path) {
    let db = Database::open_with_options(dir, quiet()).unwrap();
    let c = db.create_collection("c", small_graphs(DIM, 4, 20)).unwrap();
    c.create_payload_index("k", PayloadIndexKind::Integer)
        .unwrap();
    let doc = |i: usize| {
        Document::new(
            format!("d{i}"),
            (0..DIM).map(|j| (i * 7 + j) as f32).collect(),
        )
        .with_payload(json!({ "k": i % 3 }))
    };
    c.insert_batch((0..40).map(doc)).unwrap();
    c.flush().unwrap();
    c.delete("d3").unwrap();
    c.flush().unwrap();
    c.insert(doc(100)).unwrap();
    c.insert(doc(101)).unwrap();
}

/// The file of the collection whose name ends with `suffix` (`MANIFEST`, `.log`, `.ndb`, ...).
fn file(dir: &Path, suffix: &str) -> PathBuf {
    if suffix == "db/MANIFEST" {
        return dir.join("MANIFEST");
    }
    let c = dir.join("c");
    let found: Vec<PathBuf> = [c.clone(), c.join("segments")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(found.len(), 1, "{suffix}: {found:?}");
    found.into_iter().next().unwrap()
}

const KINDS: [&str; 7] = [
    "db/MANIFEST",
    "c/MANIFEST",
    ".log",
    ".ndb",
    ".del",
    ".hnsw",
    ".pidx",
];

/// Open the collection; for the index files (whose damage only makes the collection fall back
/// to exact search / row-by-row filters), also `verify` it, which reports why.
fn open_and_verify(dir: &Path) -> ndb::Result<()> {
    let db = Database::open(dir)?;
    let c = db.get_collection("c")?;
    c.verify()
}

/// Recompute the header checksum of `bytes`, a file of kind `kind`.
fn fix_checksum(kind: &str, bytes: &mut [u8]) {
    let (crc_at, crc) = match kind {
        "db/MANIFEST" | "c/MANIFEST" => (24, {
            crc32c::crc32c_append(crc32c::crc32c(&bytes[..24]), &bytes[32..])
        }),
        ".log" => (28, crc32c::crc32c(&bytes[..28])),
        ".ndb" => (504, crc32c::crc32c(&bytes[..504])),
        _ => (44, crc32c::crc32c(&bytes[..44])),
    };
    bytes[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn a_flipped_version_bit_is_corruption_in_every_file_kind() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    open_and_verify(dir.path()).unwrap();
    for kind in KINDS {
        let path = file(dir.path(), kind);
        let pristine = std::fs::read(&path).unwrap();
        for bit in 0..32 {
            let mut bytes = pristine.clone();
            bytes[8 + bit / 8] ^= 1 << (bit % 8);
            std::fs::write(&path, &bytes).unwrap();
            match open_and_verify(dir.path()) {
                Err(Error::Corruption { file, .. }) => assert_eq!(file, path, "{kind} bit {bit}"),
                other => panic!("{kind}, version bit {bit}: expected Corruption, got {other:?}"),
            }
        }
        std::fs::write(&path, &pristine).unwrap();
    }
    open_and_verify(dir.path()).unwrap();
}

#[test]
fn a_newer_version_under_a_valid_checksum_is_unsupported_in_every_file_kind() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    for kind in KINDS {
        let path = file(dir.path(), kind);
        let pristine = std::fs::read(&path).unwrap();
        let mut bytes = pristine.clone();
        bytes[8..12].copy_from_slice(&4097u32.to_le_bytes());
        fix_checksum(kind, &mut bytes);
        std::fs::write(&path, &bytes).unwrap();
        match open_and_verify(dir.path()) {
            Err(Error::UnsupportedFormat {
                file,
                found: 4097,
                supported,
            }) => {
                assert_eq!(file, path, "{kind}");
                assert!(supported < 4097);
            }
            other => panic!("{kind}: expected UnsupportedFormat, got {other:?}"),
        }
        std::fs::write(&path, &pristine).unwrap();
    }
    open_and_verify(dir.path()).unwrap();
}
