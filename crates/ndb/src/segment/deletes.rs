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

use crate::codec::{crc32c, Reader};
use crate::error::IoContext;
use crate::{Error, Result};
use ndb_storage::{OpenMode, Vfs};
use roaring::RoaringBitmap;
use std::path::Path;

const MAGIC: [u8; 8] = *b"NDBDEL\0\0";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 48;

/// File name of generation `gen` of segment `segment_id`'s deletion state.
pub(crate) fn deletes_file_name(segment_id: u64, gen: u64) -> String {
    format!("{segment_id:06}-{gen:06}.del")
}

/// Encode the deletion state of a segment.
pub(crate) fn encode(segment_id: u64, deleted: &RoaringBitmap) -> Vec<u8> {
    let mut body = Vec::with_capacity(deleted.serialized_size());
    // Writing into a Vec cannot fail.
    let _ = deleted.serialize_into(&mut body);
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&segment_id.to_le_bytes());
    out.extend_from_slice(&deleted.len().to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32c(&body).to_le_bytes());
    let header_crc = crc32c(&out);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Decode and check a deletion file of segment `segment_id` with `rows` rows.
pub(crate) fn decode(
    bytes: &[u8],
    path: &Path,
    segment_id: u64,
    rows: u64,
) -> Result<RoaringBitmap> {
    let bad = |offset: u64, reason: String| Error::corruption(path, offset, reason);
    let mut r = Reader::new(bytes);
    let (
        Some(magic),
        Some(version),
        Some(_),
        Some(seg),
        Some(card),
        Some(body_len),
        Some(body_crc),
    ) = (
        r.array::<8>(),
        r.u32(),
        r.u32(),
        r.u64(),
        r.u64(),
        r.u64(),
        r.u32(),
    )
    else {
        return Err(bad(0, "deletion file shorter than its header".into()));
    };
    let stored_header_crc = r.u32().unwrap_or(0);
    if magic != MAGIC {
        return Err(bad(0, "bad deletion file magic".into()));
    }
    if version > VERSION {
        return Err(Error::UnsupportedFormat {
            file: path.to_path_buf(),
            found: version,
            supported: VERSION,
        });
    }
    if stored_header_crc != crc32c(&bytes[..44]) {
        return Err(bad(44, "deletion file header checksum mismatch".into()));
    }
    if seg != segment_id {
        return Err(bad(
            16,
            format!("deletion file of segment {seg}, expected {segment_id}"),
        ));
    }
    let body = usize::try_from(body_len)
        .ok()
        .and_then(|n| r.take(n))
        .filter(|_| r.remaining() == 0)
        .ok_or_else(|| {
            bad(
                32,
                format!("body length {body_len} does not match the file"),
            )
        })?;
    if crc32c(body) != body_crc {
        return Err(bad(
            HEADER_LEN as u64,
            "deletion bitmap checksum mismatch".into(),
        ));
    }
    let bitmap = RoaringBitmap::deserialize_from(body).map_err(|e| {
        bad(
            HEADER_LEN as u64,
            format!("deletion bitmap does not decode: {e}"),
        )
    })?;
    if bitmap.len() != card {
        return Err(bad(
            24,
            format!("bitmap holds {} rows, header says {card}", bitmap.len()),
        ));
    }
    if bitmap.max().is_some_and(|m| u64::from(m) >= rows) {
        return Err(bad(
            HEADER_LEN as u64,
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
    let bytes = encode(segment_id, deleted);
    let file = vfs.open(path, OpenMode::CreateTruncate).at(path)?;
    file.write_all_at(&bytes, 0).at(path)?;
    file.sync_all().at(path)?;
    Ok(bytes.len() as u64)
}

/// Read a deletion file.
pub(crate) fn read(
    vfs: &dyn Vfs,
    path: &Path,
    segment_id: u64,
    rows: u64,
) -> Result<RoaringBitmap> {
    let file = vfs.open(path, OpenMode::Read).at(path)?;
    let bytes = file.read_all().at(path)?;
    decode(&bytes, path, segment_id, rows)
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
