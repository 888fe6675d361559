//! WAL record codec: `[seq u64][len u32][crc u32][op u8][body]`.
//!
//! `len` counts the bytes after the `crc` field (the op byte and the body). `crc` is CRC-32C
//! over `seq ‖ len` followed by `op ‖ body`. See docs/FORMAT.md, "WAL".

use crate::codec::{f32s_from, put_f32s, Reader};
use crate::document::PreparedDoc;
use crate::limits::{ID_BYTES_MAX, PAYLOAD_BYTES_MAX, WAL_RECORD_BYTES_MAX};

/// Bytes before the op byte.
pub(crate) const RECORD_HEADER_LEN: usize = 16;

/// Insert-or-replace a batch of documents.
pub(crate) const OP_PUT: u8 = 1;
/// Delete a batch of ids.
pub(crate) const OP_DELETE: u8 = 2;
/// Replace the payloads of existing documents, keeping their vectors.
pub(crate) const OP_SET_PAYLOAD: u8 = 3;

/// The operation a record carries.
#[derive(Clone, Debug)]
pub(crate) enum WalOp {
    Put(Vec<PreparedDoc>),
    Delete(Vec<String>),
    /// (id, stored payload: serialized JSON object, empty for none).
    SetPayload(Vec<(String, Vec<u8>)>),
}

/// An encoded record whose sequence number and checksum are filled in at append time.
pub(crate) struct EncodedRecord {
    bytes: Vec<u8>,
    /// CRC-32C of `op ‖ body`, computed outside the WAL lock.
    body_crc: u32,
}

impl EncodedRecord {
    fn new(op: u8, body_hint: usize) -> Self {
        let mut bytes = Vec::with_capacity(RECORD_HEADER_LEN + 1 + body_hint);
        bytes.resize(RECORD_HEADER_LEN, 0);
        bytes.push(op);
        Self { bytes, body_crc: 0 }
    }

    fn seal_body(mut self) -> Result<Self, String> {
        let len = self.bytes.len() - RECORD_HEADER_LEN;
        if len > WAL_RECORD_BYTES_MAX {
            return Err(format!(
                "the batch encodes to {len} bytes; one write is limited to {WAL_RECORD_BYTES_MAX} bytes (split the batch)"
            ));
        }
        self.body_crc = crate::codec::crc32c(&self.bytes[RECORD_HEADER_LEN..]);
        let len = len as u32;
        self.bytes[8..12].copy_from_slice(&len.to_le_bytes());
        Ok(self)
    }

    /// Encode a put of `docs` (vectors of `dim` components).
    pub fn put(docs: &[PreparedDoc]) -> Result<Self, String> {
        let hint: usize = docs
            .iter()
            .map(|d| 6 + d.id.len() + d.payload_json.len() + 4 * d.vector.len())
            .sum();
        let mut rec = Self::new(OP_PUT, 4 + hint);
        let count = u32::try_from(docs.len()).map_err(|_| "too many documents in one batch")?;
        rec.bytes.extend_from_slice(&count.to_le_bytes());
        for d in docs {
            rec.bytes
                .extend_from_slice(&(d.id.len() as u16).to_le_bytes());
            rec.bytes.extend_from_slice(d.id.as_bytes());
            rec.bytes
                .extend_from_slice(&(d.payload_json.len() as u32).to_le_bytes());
            rec.bytes.extend_from_slice(&d.payload_json);
            put_f32s(&mut rec.bytes, &d.vector);
        }
        rec.seal_body()
    }

    /// Encode a delete of `ids`.
    pub fn delete(ids: &[String]) -> Result<Self, String> {
        let hint: usize = ids.iter().map(|id| 2 + id.len()).sum();
        let mut rec = Self::new(OP_DELETE, 4 + hint);
        let count = u32::try_from(ids.len()).map_err(|_| "too many ids in one batch")?;
        rec.bytes.extend_from_slice(&count.to_le_bytes());
        for id in ids {
            rec.bytes
                .extend_from_slice(&(id.len() as u16).to_le_bytes());
            rec.bytes.extend_from_slice(id.as_bytes());
        }
        rec.seal_body()
    }

    /// Encode new payloads (stored form) for existing documents; no vector is carried.
    pub fn set_payload(entries: &[(String, Vec<u8>)]) -> Result<Self, String> {
        let hint: usize = entries.iter().map(|(id, p)| 6 + id.len() + p.len()).sum();
        let mut rec = Self::new(OP_SET_PAYLOAD, 4 + hint);
        let count = u32::try_from(entries.len()).map_err(|_| "too many payloads in one batch")?;
        rec.bytes.extend_from_slice(&count.to_le_bytes());
        for (id, payload) in entries {
            rec.bytes
                .extend_from_slice(&(id.len() as u16).to_le_bytes());
            rec.bytes.extend_from_slice(id.as_bytes());
            rec.bytes
                .extend_from_slice(&(payload.len() as u32).to_le_bytes());
            rec.bytes.extend_from_slice(payload);
        }
        rec.seal_body()
    }

    /// Fill in `seq` and the checksum; returns the bytes to append.
    pub fn finish(&mut self, seq: u64) -> &[u8] {
        self.bytes[0..8].copy_from_slice(&seq.to_le_bytes());
        let head_crc = crate::codec::crc32c(&self.bytes[0..12]);
        let body_len = self.bytes.len() - RECORD_HEADER_LEN;
        let crc = crc32c::crc32c_combine(head_crc, self.body_crc, body_len);
        self.bytes[12..16].copy_from_slice(&crc.to_le_bytes());
        &self.bytes
    }
}

/// What the decoder found at one position of a log.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// A valid record of `len` bytes.
    Record { seq: u64, op: WalOp, len: usize },
    /// The bytes end inside a record (a torn append, or the end of the log).
    Incomplete,
    /// The bytes cannot be a valid record (checksum mismatch, impossible length, bad body).
    Invalid(String),
}

/// Decode the record at the start of `bytes` for a collection of dimension `dim`.
/// Never panics, whatever the bytes.
#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
pub(crate) fn decode(bytes: &[u8], dim: usize) -> Decoded {
    let mut r = Reader::new(bytes);
    let (Some(seq), Some(len), Some(crc)) = (r.u64(), r.u32(), r.u32()) else {
        return Decoded::Incomplete;
    };
    let len = len as usize;
    if len == 0 || len > WAL_RECORD_BYTES_MAX {
        return Decoded::Invalid(format!("impossible record length {len}"));
    }
    let Some(body) = r.take(len) else {
        return Decoded::Incomplete;
    };
    let Some(head) = bytes.get(0..12) else {
        return Decoded::Incomplete;
    };
    let head_crc = crate::codec::crc32c(head);
    let actual = crc32c::crc32c_combine(head_crc, crate::codec::crc32c(body), len);
    if actual != crc {
        return Decoded::Invalid(format!(
            "checksum mismatch (stored {crc:#010x}, computed {actual:#010x})"
        ));
    }
    match decode_body(body, dim) {
        Ok(op) => Decoded::Record {
            seq,
            op,
            len: RECORD_HEADER_LEN.saturating_add(len),
        },
        Err(reason) => Decoded::Invalid(format!("record {seq}: {reason}")),
    }
}

/// Entries allocated up front when decoding a record; more grow the vector as they are read, so
/// a count is backed by bytes before it costs memory.
const PREALLOCATE_MAX: usize = 4096;

/// The fewest bytes one entry of a record with `op` takes: an id length and a one-byte id, and
/// for a put a payload length and the vector (1 for an unknown op, refused later).
pub(crate) fn min_entry_len(op: u8, dim: usize) -> usize {
    match op {
        OP_PUT => (2 + 1 + 4usize).saturating_add(dim.saturating_mul(4)),
        OP_DELETE => 2 + 1,
        OP_SET_PAYLOAD => 2 + 1 + 4,
        _ => 1,
    }
}

#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
fn decode_body(body: &[u8], dim: usize) -> Result<WalOp, String> {
    let mut r = Reader::new(body);
    let op = r.u8().ok_or("missing op")?;
    let count = r.u32().ok_or("missing count")? as usize;
    // Bound the allocation by what the body can hold: a crafted count under a valid checksum
    // is damage, never a huge allocation.
    let room = r
        .remaining()
        .checked_div(min_entry_len(op, dim))
        .unwrap_or(0);
    if count > room {
        return Err(format!("count {count} does not fit in the record"));
    }
    let out = match op {
        OP_PUT => {
            let mut docs = Vec::with_capacity(count.min(PREALLOCATE_MAX));
            for _ in 0..count {
                let id = read_id(&mut r)?;
                let payload_json = read_payload(&mut r)?;
                let vbytes = dim
                    .checked_mul(4)
                    .and_then(|n| r.take(n))
                    .ok_or("truncated vector")?;
                docs.push(PreparedDoc {
                    id,
                    vector: f32s_from(vbytes),
                    payload_json,
                });
            }
            WalOp::Put(docs)
        }
        OP_DELETE => {
            let mut ids = Vec::with_capacity(count.min(PREALLOCATE_MAX));
            for _ in 0..count {
                ids.push(read_id(&mut r)?);
            }
            WalOp::Delete(ids)
        }
        OP_SET_PAYLOAD => {
            let mut entries = Vec::with_capacity(count.min(PREALLOCATE_MAX));
            for _ in 0..count {
                let id = read_id(&mut r)?;
                entries.push((id, read_payload(&mut r)?));
            }
            WalOp::SetPayload(entries)
        }
        other => return Err(format!("unknown op {other}")),
    };
    if r.remaining() != 0 {
        return Err(format!("{} trailing bytes", r.remaining()));
    }
    Ok(out)
}

#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
fn read_payload(r: &mut Reader<'_>) -> Result<Vec<u8>, String> {
    let plen = r.u32().ok_or("truncated payload length")? as usize;
    if plen > PAYLOAD_BYTES_MAX {
        return Err(format!("payload length {plen} over the limit"));
    }
    Ok(r.take(plen).ok_or("truncated payload")?.to_vec())
}

#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
fn read_id(r: &mut Reader<'_>) -> Result<String, String> {
    let n = r.u16().ok_or("truncated id length")? as usize;
    if n == 0 || n > ID_BYTES_MAX {
        return Err(format!("id length {n} out of range"));
    }
    let bytes = r.take(n).ok_or("truncated id")?;
    String::from_utf8(bytes.to_vec()).map_err(|_| "id is not UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn doc(id: &str, dim: usize, payload: &str) -> PreparedDoc {
        PreparedDoc {
            id: id.to_string(),
            vector: (0..dim).map(|i| i as f32 * 0.5 - 1.0).collect(),
            payload_json: payload.as_bytes().to_vec(),
        }
    }

    fn roundtrip(op: WalOp, dim: usize, seq: u64) {
        let mut rec = match &op {
            WalOp::Put(d) => EncodedRecord::put(d).unwrap(),
            WalOp::Delete(ids) => EncodedRecord::delete(ids).unwrap(),
            WalOp::SetPayload(entries) => EncodedRecord::set_payload(entries).unwrap(),
        };
        let bytes = rec.finish(seq).to_vec();
        match decode(&bytes, dim) {
            Decoded::Record {
                seq: s,
                op: got,
                len,
            } => {
                assert_eq!(s, seq);
                assert_eq!(len, bytes.len());
                assert_eq!(format!("{got:?}"), format!("{op:?}"));
            }
            other => panic!("{other:?}"),
        }
        // Every strict prefix is incomplete or invalid, never a record.
        for cut in 0..bytes.len() {
            assert!(!matches!(
                decode(&bytes[..cut], dim),
                Decoded::Record { .. }
            ));
        }
    }

    #[test]
    fn put_and_delete_round_trip() {
        roundtrip(
            WalOp::Put(vec![doc("a", 3, ""), doc("bb", 3, "{\"x\":1}")]),
            3,
            7,
        );
        roundtrip(WalOp::Delete(vec!["a".into(), "ü".into()]), 3, u64::MAX);
    }

    #[test]
    fn payload_updates_round_trip_without_vectors() {
        let entries = vec![
            ("a".to_string(), b"{\"x\":1}".to_vec()),
            ("b".to_string(), Vec::new()),
        ];
        roundtrip(WalOp::SetPayload(entries.clone()), 768, 3);
        let mut rec = EncodedRecord::set_payload(&entries).unwrap();
        // Header, op, count, then per entry: id length, id, payload length, payload.
        assert_eq!(
            rec.finish(3).len(),
            16 + 1 + 4 + (2 + 1 + 4 + 7) + (2 + 1 + 4)
        );
    }

    /// A record whose checksum is valid but whose count no body could hold is damage, found
    /// before any allocation by count (it asked for tens of GiB).
    #[test]
    fn a_crafted_count_under_a_valid_checksum_is_refused_without_allocating() {
        for (op, dim) in [
            (OP_PUT, 1usize),
            (OP_PUT, 768),
            (OP_DELETE, 4),
            (OP_SET_PAYLOAD, 4),
        ] {
            let mut body = vec![op];
            body.extend_from_slice(&u32::MAX.to_le_bytes());
            body.extend_from_slice(&[0u8; 64]);
            let mut bytes = 7u64.to_le_bytes().to_vec();
            bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
            let head = crate::codec::crc32c(&bytes);
            let crc = crc32c::crc32c_combine(head, crate::codec::crc32c(&body), body.len());
            bytes.extend_from_slice(&crc.to_le_bytes());
            bytes.extend_from_slice(&body);
            match decode(&bytes, dim) {
                Decoded::Invalid(reason) => assert!(reason.contains("does not fit"), "{reason}"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(min_entry_len(OP_PUT, 768), 7 + 4 * 768);
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let mut rec = EncodedRecord::put(&[doc("abc", 4, "{}")]).unwrap();
        let bytes = rec.finish(42).to_vec();
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            assert!(
                !matches!(decode(&b, 4), Decoded::Record { .. }),
                "flip of bit {i} went unnoticed"
            );
        }
    }

    proptest! {
        #[test]
        fn round_trip_any(ids in proptest::collection::vec("[a-zA-Z0-9é]{1,20}", 0..8), dim in 1usize..16, seq: u64) {
            let docs: Vec<_> = ids.iter().map(|id| doc(id, dim, "{\"k\":[1,2]}")).collect();
            roundtrip(WalOp::Put(docs), dim, seq);
            let entries = ids.iter().map(|id| (id.clone(), b"{\"k\":2}".to_vec())).collect();
            roundtrip(WalOp::Delete(ids), dim, seq);
            roundtrip(WalOp::SetPayload(entries), dim, seq);
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), dim in 0usize..64) {
            let _ = decode(&bytes, dim);
        }

        #[test]
        fn decoder_never_panics_on_damaged_records(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4), cut in any::<usize>()) {
            let mut rec = EncodedRecord::put(&[doc("abc", 4, "{}"), doc("d", 4, "")]).unwrap();
            let mut b = rec.finish(9).to_vec();
            for (i, x) in flips { let n = b.len(); b[i % n] ^= x; }
            let n = b.len();
            b.truncate(cut % (n + 1));
            let _ = decode(&b, 4);
        }
    }
}
