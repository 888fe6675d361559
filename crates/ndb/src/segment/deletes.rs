//! Deletion files: which rows of a segment are deleted or replaced
//! (`segments/<segment>-<gen>.del`, docs/FORMAT.md "Deletion files").
//!
//! ```text
//! 0   magic        [u8; 8]  "NDBDEL\0\0"
//! 8   version      u32
//! 12  reserved     u32
//! 16  segment_id   u64
//! 24  cardinality  u64      number of deleted rows
//! 32  body_len     u64
//! 40  body_crc     u32      CRC-32C of the body
//! 44  header_crc   u32      CRC-32C of bytes 0..44
//! 48  body         roaring bitmap, portable serialization
//! ```

use crate::sidecar;
use crate::{Error, Result};
use ndb_storage::Vfs;
use roaring::RoaringBitmap;
use std::path::Path;

const KIND: sidecar::Kind = sidecar::Kind {
    magic: *b"NDBDEL\0\0",
    version: 1,
    what: "deletion file",
};

/// File name of generation `gen` of segment `segment_id`'s deletion state.
pub(crate) fn deletes_file_name(segment_id: u64, gen: u64) -> String {
    format!("{segment_id:06}-{gen:06}.del")
}

/// Encode the deletion state of a segment.
pub(crate) fn encode(segment_id: u64, deleted: &RoaringBitmap) -> Vec<u8> {
    let mut body = Vec::with_capacity(deleted.serialized_size());
    // Writing into a Vec cannot fail.
    let _ = deleted.serialize_into(&mut body);
    sidecar::seal(&KIND, segment_id, deleted.len(), &body)
}

/// Decode and check a deletion file of segment `segment_id` with `rows` rows.
pub(crate) fn decode(
    bytes: &[u8],
    path: &Path,
    segment_id: u64,
    rows: u64,
) -> Result<RoaringBitmap> {
    let bad = |offset: u64, reason: String| Error::corruption(path, offset, reason);
    let (card, body) = sidecar::open(&KIND, bytes, path, segment_id)?;
    let body_at = sidecar::HEADER_LEN as u64;
    let bitmap = RoaringBitmap::deserialize_from(body)
        .map_err(|e| bad(body_at, format!("deletion bitmap does not decode: {e}")))?;
    if bitmap.len() != card {
        return Err(bad(
            24,
            format!("bitmap holds {} rows, header says {card}", bitmap.len()),
        ));
    }
    if bitmap.max().is_some_and(|m| u64::from(m) >= rows) {
        return Err(bad(
            body_at,
            format!("bitmap names a row past the segment's {rows} rows"),
        ));
    }
    Ok(bitmap)
}

/// Write a deletion file and fsync it (the caller syncs the directory).
pub(crate) fn write(
    vfs: &dyn Vfs,
    path: &Path,
    segment_id: u64,
    deleted: &RoaringBitmap,
) -> Result<u64> {
    sidecar::write_file(vfs, path, &encode(segment_id, deleted))
}

/// Read a deletion file.
pub(crate) fn read(
    vfs: &dyn Vfs,
    path: &Path,
    segment_id: u64,
    rows: u64,
) -> Result<RoaringBitmap> {
    decode(&sidecar::read_file(vfs, path)?, path, segment_id, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(rows in proptest::collection::btree_set(0u32..5000, 0..300), seg: u64) {
            let bm: RoaringBitmap = rows.iter().copied().collect();
            let bytes = encode(seg, &bm);
            prop_assert_eq!(decode(&bytes, Path::new("d"), seg, 5000).unwrap(), bm);
        }

        #[test]
        fn damage_is_detected_never_a_panic(rows in proptest::collection::btree_set(0u32..5000, 1..50), at: usize, x in 1u8..) {
            let bm: RoaringBitmap = rows.iter().copied().collect();
            let mut bytes = encode(3, &bm);
            let n = bytes.len();
            bytes[at % n] ^= x;
            let res = decode(&bytes, Path::new("d"), 3, 5000);
            prop_assert!(res.is_err());
            let _ = decode(&bytes[..at % n], Path::new("d"), 3, 5000);
        }
    }

    #[test]
    fn rows_past_the_segment_are_refused() {
        let bm: RoaringBitmap = [5u32].into_iter().collect();
        assert!(decode(&encode(1, &bm), Path::new("d"), 1, 5).is_err());
        assert!(decode(&encode(1, &bm), Path::new("d"), 1, 6).is_ok());
    }
}
