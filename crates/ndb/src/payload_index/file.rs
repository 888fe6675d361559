//! Payload index files: `segments/<segment>-<gen>.pidx` (docs/FORMAT.md, "Payload index files").
//!
//! ```text
//! 0   magic       [u8; 8]  "NDBPIDX\0"
//! 8   version     u32
//! 12  reserved    u32
//! 16  segment_id  u64
//! 24  rows        u64
//! 32  body_len    u64
//! 40  body_crc    u32      CRC-32C of the body
//! 44  header_crc  u32      CRC-32C of bytes 0..44
//! 48  body:  field_count u32, then per field:
//!        path_len u16, path (UTF-8), kind u8 (1 keyword, 2 integer, 3 float, 4 bool),
//!        entry_count u32, then per entry: key, bitmap_len u32, bitmap (Roaring portable format)
//!        key: keyword = len u32 + UTF-8 bytes; integer = i64; float = f64 bits (u64); bool = u8
//!        integer fields end with one more `bitmap_len u32, bitmap`: the rows holding a number
//!        that is not an i64 (candidates of every numeric condition)
//! ```

use super::{F64Key, FieldIndex, PayloadIndexKind, SegmentPayloadIndex};
use crate::codec::Reader;
use crate::sidecar;
use crate::{Error, Result};
use ndb_storage::Vfs;
use roaring::RoaringBitmap;
use std::path::Path;

const KIND: sidecar::Kind = sidecar::Kind {
    magic: *b"NDBPIDX\0",
    version: 1,
    what: "payload index file",
};

/// File name of generation `gen` of segment `segment_id`'s payload indexes.
pub(crate) fn payload_index_file_name(segment_id: u64, gen: u64) -> String {
    format!("{segment_id:06}-{gen:06}.pidx")
}

fn put_bitmap(out: &mut Vec<u8>, b: &RoaringBitmap) {
    out.extend_from_slice(&(b.serialized_size() as u32).to_le_bytes());
    // Writing into a Vec cannot fail.
    let _ = b.serialize_into(&mut *out);
}

fn encode_body(index: &SegmentPayloadIndex) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(index.fields.len() as u32).to_le_bytes());
    for (path, field) in &index.fields {
        out.extend_from_slice(&(path.len() as u16).to_le_bytes());
        out.extend_from_slice(path.as_bytes());
        out.push(field.kind().code());
        match field {
            FieldIndex::Keyword(m) => {
                out.extend_from_slice(&(m.len() as u32).to_le_bytes());
                for (k, b) in m {
                    out.extend_from_slice(&(k.len() as u32).to_le_bytes());
                    out.extend_from_slice(k.as_bytes());
                    put_bitmap(&mut out, b);
                }
            }
            FieldIndex::Integer(m, other) => {
                out.extend_from_slice(&(m.len() as u32).to_le_bytes());
                for (k, b) in m {
                    out.extend_from_slice(&k.to_le_bytes());
                    put_bitmap(&mut out, b);
                }
                put_bitmap(&mut out, other);
            }
            FieldIndex::Float(m) => {
                out.extend_from_slice(&(m.len() as u32).to_le_bytes());
                for (k, b) in m {
                    out.extend_from_slice(&k.0.to_bits().to_le_bytes());
                    put_bitmap(&mut out, b);
                }
            }
            FieldIndex::Bool(bs) => {
                out.extend_from_slice(&2u32.to_le_bytes());
                for (k, b) in bs.iter().enumerate() {
                    out.push(k as u8);
                    put_bitmap(&mut out, b);
                }
            }
        }
    }
    out
}

fn decode_body(body: &[u8], rows: u64) -> std::result::Result<SegmentPayloadIndex, String> {
    let mut r = Reader::new(body);
    let count = r.u32().ok_or("truncated field count")?;
    let mut index = SegmentPayloadIndex::default();
    for _ in 0..count {
        let plen = r.u16().ok_or("truncated path length")? as usize;
        let path = std::str::from_utf8(r.take(plen).ok_or("truncated path")?)
            .map_err(|_| "path is not UTF-8")?
            .to_string();
        let kind =
            PayloadIndexKind::from_code(r.u8().ok_or("truncated kind")?).ok_or("unknown kind")?;
        let entries = r.u32().ok_or("truncated entry count")?;
        let mut field = FieldIndex::new(kind);
        for _ in 0..entries {
            let key: Key = match kind {
                PayloadIndexKind::Keyword => {
                    let n = r.u32().ok_or("truncated key length")? as usize;
                    let s = std::str::from_utf8(r.take(n).ok_or("truncated key")?)
                        .map_err(|_| "key is not UTF-8")?;
                    Key::Str(s.to_string())
                }
                PayloadIndexKind::Integer => Key::Int(r.u64().ok_or("truncated key")? as i64),
                PayloadIndexKind::Float => {
                    Key::Float(f64::from_bits(r.u64().ok_or("truncated key")?))
                }
                PayloadIndexKind::Bool => Key::Bool(r.u8().ok_or("truncated key")?),
            };
            let blen = r.u32().ok_or("truncated bitmap length")? as usize;
            let bytes = r.take(blen).ok_or("truncated bitmap")?;
            let bitmap =
                RoaringBitmap::deserialize_from(bytes).map_err(|e| format!("bitmap: {e}"))?;
            if bitmap.max().is_some_and(|m| u64::from(m) >= rows) {
                return Err("bitmap names a row past the segment".into());
            }
            match (&mut field, key) {
                (FieldIndex::Keyword(m), Key::Str(s)) => {
                    m.insert(s, bitmap);
                }
                (FieldIndex::Integer(m, _), Key::Int(i)) => {
                    m.insert(i, bitmap);
                }
                (FieldIndex::Float(m), Key::Float(f)) if f.is_finite() => {
                    m.insert(F64Key(f), bitmap);
                }
                (FieldIndex::Bool(b), Key::Bool(x)) if x <= 1 => b[x as usize] = bitmap,
                _ => return Err("invalid key".into()),
            }
        }
        if let FieldIndex::Integer(_, other) = &mut field {
            let blen = r.u32().ok_or("truncated bitmap length")? as usize;
            let bytes = r.take(blen).ok_or("truncated bitmap")?;
            *other = RoaringBitmap::deserialize_from(bytes).map_err(|e| format!("bitmap: {e}"))?;
            if other.max().is_some_and(|m| u64::from(m) >= rows) {
                return Err("bitmap names a row past the segment".into());
            }
        }
        index.fields.insert(path, field);
    }
    if r.remaining() != 0 {
        return Err("trailing bytes".into());
    }
    Ok(index)
}

enum Key {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(u8),
}

/// Write a payload index file and fsync it (the caller syncs the directory). Returns its size.
pub(crate) fn write(
    vfs: &dyn Vfs,
    path: &Path,
    segment_id: u64,
    rows: u64,
    index: &SegmentPayloadIndex,
) -> Result<u64> {
    sidecar::write_file(
        vfs,
        path,
        &sidecar::seal(&KIND, segment_id, rows, &encode_body(index)),
    )
}

/// Read and check a payload index file.
pub(crate) fn read(
    vfs: &dyn Vfs,
    path: &Path,
    segment_id: u64,
    rows: u64,
) -> Result<SegmentPayloadIndex> {
    let bytes = sidecar::read_file(vfs, path)?;
    let (file_rows, body) = sidecar::open(&KIND, &bytes, path, segment_id)?;
    if file_rows != rows {
        return Err(Error::corruption(
            path,
            24,
            format!("payload index of {file_rows} rows, the segment has {rows}"),
        ));
    }
    decode_body(body, rows)
        .map_err(|reason| Error::corruption(path, sidecar::HEADER_LEN as u64, reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn sample() -> SegmentPayloadIndex {
        let payloads: Vec<Vec<u8>> = (0..50)
            .map(|i| serde_json::to_vec(&json!({"k": format!("v{}", i % 5), "n": i % 7, "f": i as f64 / 3.0, "b": i % 2 == 0, "tags": ["x", format!("t{i}")]})).unwrap())
            .collect();
        let defs = vec![
            ("k".to_string(), PayloadIndexKind::Keyword),
            ("n".to_string(), PayloadIndexKind::Integer),
            ("f".to_string(), PayloadIndexKind::Float),
            ("b".to_string(), PayloadIndexKind::Bool),
            ("tags".to_string(), PayloadIndexKind::Keyword),
        ];
        SegmentPayloadIndex::build(&defs, payloads.iter().map(|p| p.as_slice()))
    }

    #[test]
    fn round_trip() {
        let index = sample();
        let body = encode_body(&index);
        assert_eq!(decode_body(&body, 50).unwrap(), index);
        assert!(decode_body(&body, 10).is_err(), "rows past the segment");
    }

    proptest! {
        #[test]
        fn damaged_bodies_never_panic(at: usize, x in 1u8.., cut: usize) {
            let mut body = encode_body(&sample());
            let n = body.len();
            body[at % n] ^= x;
            let _ = decode_body(&body, 50);
            let _ = decode_body(&body[..cut % n], 50);
        }
    }
}
