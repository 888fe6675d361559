//! Salvaging WAL files: every record that passes its checksum, past damaged ones.
//!
//! Recovery at open stops at the first damaged record (and refuses mid-log damage); salvage
//! resumes at the next valid record, found as recovery finds it
//! ([`find_valid_record_after`]), and reports the bytes in between. The sequence numbers
//! around a damaged range say how many records it held ([`Damage::records`]).

use super::reason_of;
use super::report::{Damage, FileRecovery};
use crate::codec::{u32_at, Reader};
use crate::limits::DIM_MAX;
use crate::wal::record::{OP_PUT, RECORD_HEADER_LEN};
use crate::wal::{check_header, decode, find_valid_record_after, Decoded, WalOp, WAL_HEADER_LEN};
use crate::Error;
use std::path::Path;

/// What a WAL file yields, in file order.
#[derive(Debug)]
pub(super) enum Event {
    /// A record that passed its checksum, at `offset`.
    Record { seq: u64, offset: u64, op: WalOp },
    /// The damage entry `index` of the file's report.
    Damage(usize),
}

/// Read every valid record of the WAL file `path` (generation `gen`) whose bytes are `bytes`,
/// for a collection of dimension `dim`; report what was skipped in `file`.
#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
pub(super) fn scan(
    bytes: &[u8],
    path: &Path,
    gen: u64,
    dim: usize,
    file: &mut FileRecovery,
) -> Vec<Event> {
    let len = bytes.len() as u64;
    let mut events = Vec::new();
    let damage = |file: &mut FileRecovery, events: &mut Vec<Event>, d: Damage| {
        file.damage.push(d);
        events.push(Event::Damage(file.damage.len().saturating_sub(1)));
    };
    if len < WAL_HEADER_LEN {
        if len > 0 {
            let reason = "the file is shorter than its header (a crash while it was created, or truncation): it holds no record";
            damage(file, &mut events, Damage::new(0..len, reason));
        }
        return events;
    }
    match check_header(bytes, path, gen) {
        Ok(()) => {}
        Err(e @ Error::UnsupportedFormat { .. }) => {
            let reason = format!("{e}: not read");
            damage(file, &mut events, Damage::new(0..len, reason));
            return events;
        }
        Err(e) => {
            let reason = format!(
                "{}; the records after it are read anyway (each has its own checksum)",
                reason_of(&e)
            );
            damage(file, &mut events, Damage::new(0..WAL_HEADER_LEN, reason));
        }
    }
    let mut pos = WAL_HEADER_LEN as usize;
    let mut last_seq: Option<u64> = None;
    while let Some(rest) = bytes.get(pos..).filter(|rest| !rest.is_empty()) {
        let what = match decode(rest, dim) {
            Decoded::Record { seq, op, len } if last_seq.is_none_or(|prev| seq > prev) => {
                if let WalOp::Put(docs) = &op {
                    file.documents_read = file.documents_read.saturating_add(docs.len() as u64);
                }
                events.push(Event::Record {
                    seq,
                    offset: pos as u64,
                    op,
                });
                last_seq = Some(seq);
                pos = pos.saturating_add(len);
                continue;
            }
            Decoded::Record { seq, .. } => format!(
                "a record whose sequence number {seq} does not follow {}",
                last_seq.unwrap_or(0)
            ),
            Decoded::Incomplete => "a record that runs past the end of the file".to_string(),
            Decoded::Invalid(reason) => format!("a damaged record ({reason})"),
        };
        let from = pos as u64;
        match find_valid_record_after(bytes, pos.saturating_add(1), last_seq, dim) {
            Some(at) => {
                let reason = format!(
                    "{what}; reading resumed at the next valid record (offset {at}). The skipped bytes may have held deletions: documents deleted there may have reappeared"
                );
                damage(file, &mut events, Damage::new(from..at as u64, reason));
                pos = at;
            }
            None => {
                let reason = format!(
                    "{what}, and no valid record after it: the end of the log, cut by a crash during a write or damaged (docs/RELIABILITY.md: the two cannot be told apart). Writes or deletions there are lost"
                );
                damage(file, &mut events, Damage::new(from..len, reason));
                break;
            }
        }
    }
    events
}

/// The dimension of the collection whose WAL file holds `bytes`, from its first put record
/// that decodes with exactly one dimension (for a collection whose manifest is lost and whose
/// segments say nothing). Records are walked by their length fields; the first one that is
/// damaged ends the walk.
#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
pub(super) fn infer_dim(bytes: &[u8]) -> Option<usize> {
    let mut pos = WAL_HEADER_LEN as usize;
    while let Some(record) = bytes.get(pos..).filter(|r| !r.is_empty()) {
        let len = u32_at(record, 8)? as usize;
        let total = RECORD_HEADER_LEN.checked_add(len)?;
        let body = record.get(RECORD_HEADER_LEN..total)?;
        if body.first() == Some(&OP_PUT) {
            let fits = candidate_dims(body);
            let valid: Vec<usize> = fits
                .into_iter()
                .filter(|&dim| matches!(decode(record, dim), Decoded::Record { .. }))
                .collect();
            match valid.as_slice() {
                [dim] => return Some(*dim),
                [] => return None, // damaged: the lengths after it cannot be trusted
                _ => {}            // ambiguous: try the next record
            }
        }
        pos = pos.checked_add(total)?;
    }
    None
}

/// The dimensions for which the put body `body` (op byte first) parses to its exact end.
/// Linear in the body: a dimension `d` costs one walk over the entries, and at most
/// `body / (4 × count)` dimensions fit.
#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
fn candidate_dims(body: &[u8]) -> Vec<usize> {
    let Some(count) = u32_at(body, 1).map(|c| c as usize).filter(|&c| c > 0) else {
        return Vec::new();
    };
    let room = body.len().saturating_sub(5);
    let most = room
        .checked_div(count.saturating_mul(4))
        .unwrap_or(0)
        .min(DIM_MAX);
    (1..=most)
        .filter(|&dim| {
            let mut r = Reader::new(body.get(5..).unwrap_or_default());
            for _ in 0..count {
                let ok = r
                    .u16()
                    .and_then(|n| r.take(n as usize))
                    .and_then(|_| r.u32())
                    .and_then(|n| r.take(n as usize))
                    .and_then(|_| r.take(dim.checked_mul(4)?));
                if ok.is_none() {
                    return false;
                }
            }
            r.remaining() == 0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::PreparedDoc;
    use crate::wal::{encode_header, EncodedRecord};
    use std::path::PathBuf;

    /// The header the engine writes for generation `gen`.
    fn header(gen: u64) -> Vec<u8> {
        encode_header(gen).to_vec()
    }

    fn put(seq: u64, ids: &[&str], dim: usize) -> Vec<u8> {
        let docs: Vec<PreparedDoc> = ids
            .iter()
            .map(|id| PreparedDoc {
                id: id.to_string(),
                vector: vec![0.5; dim],
                payload_json: b"{\"k\":1}".to_vec(),
            })
            .collect();
        EncodedRecord::put(&docs).unwrap().finish(seq).to_vec()
    }

    fn seqs(events: &[Event]) -> Vec<u64> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Record { seq, .. } => Some(*seq),
                Event::Damage(_) => None,
            })
            .collect()
    }

    fn report() -> FileRecovery {
        FileRecovery::new(
            PathBuf::from("c/wal-000001.log"),
            super::super::FileKind::Wal,
        )
    }

    #[test]
    fn damage_in_the_middle_is_skipped_and_reading_resumes() {
        let mut log = header(1);
        let records: Vec<Vec<u8>> = (1..=5).map(|s| put(s, &["a", "bb"], 3)).collect();
        let mut starts = Vec::new();
        for r in &records {
            starts.push(log.len());
            log.extend_from_slice(r);
        }
        log[starts[2] + 20] ^= 0x40;
        let mut file = report();
        let events = scan(&log, Path::new("w"), 1, 3, &mut file);
        assert_eq!(seqs(&events), vec![1, 2, 4, 5]);
        assert_eq!(file.damage.len(), 1);
        assert_eq!(
            file.damage[0].bytes,
            starts[2] as u64..starts[3] as u64,
            "{:?}",
            file.damage
        );
        assert_eq!(file.documents_read, 8);
    }

    #[test]
    fn a_damaged_header_and_a_torn_tail_are_reported_and_the_records_read() {
        let mut log = header(1);
        log.extend_from_slice(&put(1, &["a"], 2));
        let end = log.len();
        log.extend_from_slice(&put(2, &["b"], 2)[..10]);
        log[3] ^= 1;
        let mut file = report();
        let events = scan(&log, Path::new("w"), 1, 2, &mut file);
        assert_eq!(seqs(&events), vec![1]);
        assert_eq!(file.damage.len(), 2);
        assert_eq!(file.damage[0].bytes, 0..32);
        assert_eq!(file.damage[1].bytes, end as u64..log.len() as u64);
    }

    #[test]
    fn the_dimension_is_read_from_a_put_record() {
        for (dim, ids) in [
            (1usize, vec!["a"]),
            (7, vec!["a", "bcd", "e"]),
            (384, vec!["x"; 4]),
        ] {
            let mut log = header(1);
            log.extend_from_slice(&put(1, &ids, dim));
            assert_eq!(infer_dim(&log), Some(dim));
        }
        assert_eq!(infer_dim(&header(1)), None);
        let mut damaged = header(1);
        damaged.extend_from_slice(&put(1, &["a"], 4));
        damaged[40] ^= 1;
        assert_eq!(infer_dim(&damaged), None);
    }
}
