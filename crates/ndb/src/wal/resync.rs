#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
//! After a damaged WAL record: is there a valid record further on (mid-log damage) or not (a
//! torn tail)? Searched byte by byte in linear time.
//!
//! Every offset is a candidate, so checking each by hashing the body it claims would cost the
//! body's length per offset: quadratic on data whose bytes look like plausible headers (sparse
//! vectors are mostly zeros). Instead a candidate passes cheap header checks first (a sequence
//! number that can follow the last good record, a length that fits), and its checksum is then
//! computed from CRC-32C checkpoints of the searched bytes in `O(STRIDE + log n)`: CRC-32C is
//! linear, so the checksum of any range follows from the checksums of two prefixes.

use super::record::{
    decode, min_entry_len, Decoded, OP_DELETE, OP_PUT, OP_SET_PAYLOAD, RECORD_HEADER_LEN,
};
use crate::codec::{u32_at, u64_at};
use crate::limits::WAL_RECORD_BYTES_MAX;

/// A record seen after a damaged one counts as proof of mid-log damage only if its sequence
/// number is at most this far past the last good one, plus one per 17 bytes (the smallest
/// record) between the damage and it.
const SEQ_SLACK: u64 = 1 << 16;
/// The smallest record: a header and an op byte.
const MIN_RECORD_LEN: usize = RECORD_HEADER_LEN + 1;
/// Bytes between CRC checkpoints.
const STRIDE: usize = 64;

/// The offset of the first valid record at or after `from`, whose sequence number can follow
/// `last_seq` (any, if no record of the file was read yet: its first sequence number is not
/// known here).
pub(crate) fn find_valid_record_after(
    bytes: &[u8],
    from: usize,
    last_seq: Option<u64>,
    dim: usize,
) -> Option<usize> {
    let region = bytes.get(from..)?;
    let floor = last_seq.map_or(0, |s| s.saturating_add(1));
    let crcs = RangeCrc::new(region);
    (0..region.len()).find_map(|p| {
        let (len, crc) = plausible_header(region, p, last_seq, floor, dim)?;
        let body = p.checked_add(RECORD_HEADER_LEN)?;
        let head = crcs.range(p, p.checked_add(12)?)?;
        let checks = crc32c::crc32c_combine(head, crcs.range(body, body.checked_add(len)?)?, len);
        // The checksum matched: decode fully (body rules) to be sure.
        let whole =
            checks == crc && matches!(decode(region.get(p..)?, dim), Decoded::Record { .. });
        whole.then_some(from.checked_add(p)?)
    })
}

/// The length and checksum of a record that may start at `p`, by checks that cost no hashing:
/// a sequence number that can follow the last good record, a length that fits, a known op, and
/// an entry count that the body can hold.
fn plausible_header(
    region: &[u8],
    p: usize,
    last_seq: Option<u64>,
    floor: u64,
    dim: usize,
) -> Option<(usize, u32)> {
    let at = |offset: usize| p.checked_add(offset);
    let seq = u64_at(region, p)?;
    let window = SEQ_SLACK.saturating_add((p / MIN_RECORD_LEN) as u64);
    if last_seq.is_some() && seq.checked_sub(floor).is_none_or(|ahead| ahead > window) {
        return None;
    }
    let len = u32_at(region, at(8)?)? as usize;
    let end = at(RECORD_HEADER_LEN)?.checked_add(len)?;
    if !(5..=WAL_RECORD_BYTES_MAX).contains(&len) || end > region.len() {
        return None;
    }
    let op = *region.get(at(RECORD_HEADER_LEN)?)?;
    let count = u32_at(region, at(RECORD_HEADER_LEN + 1)?)? as usize;
    if ![OP_PUT, OP_DELETE, OP_SET_PAYLOAD].contains(&op) {
        return None;
    }
    let room = len.checked_sub(5)?;
    if (count == 0 && len != 5) || count.checked_mul(min_entry_len(op, dim))? > room {
        return None;
    }
    Some((len, u32_at(region, at(12)?)?))
}

/// CRC-32C of any range of a byte slice, from checkpoints every [`STRIDE`] bytes.
struct RangeCrc<'a> {
    bytes: &'a [u8],
    /// `checkpoints[i]` is the CRC-32C of `bytes[..i * STRIDE]`.
    checkpoints: Vec<u32>,
}

impl<'a> RangeCrc<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let mut checkpoints = Vec::with_capacity(bytes.len() / STRIDE);
        let mut crc = 0;
        checkpoints.push(crc);
        for chunk in bytes.chunks_exact(STRIDE) {
            crc = crc32c::crc32c_append(crc, chunk);
            checkpoints.push(crc);
        }
        Self { bytes, checkpoints }
    }

    /// CRC-32C of `bytes[..end]` (`None` past the end).
    fn prefix(&self, end: usize) -> Option<u32> {
        let i = end / STRIDE;
        let base = *self.checkpoints.get(i)?;
        let tail = self.bytes.get(i.checked_mul(STRIDE)?..end)?;
        Some(crc32c::crc32c_append(base, tail))
    }

    /// CRC-32C of `bytes[start..end]`: the prefix up to `end` is the prefix up to `start`
    /// shifted by `end - start` bytes, xor the range's own checksum.
    fn range(&self, start: usize, end: usize) -> Option<u32> {
        let shifted = crc32c::crc32c_combine(self.prefix(start)?, 0, end.checked_sub(start)?);
        Some(self.prefix(end)? ^ shifted)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn range_crc_equals_a_direct_crc(bytes in proptest::collection::vec(any::<u8>(), 0..700), a in 0usize..700, b in 0usize..700) {
            let (a, b) = (a.min(b).min(bytes.len()), a.max(b).min(bytes.len()));
            let crcs = RangeCrc::new(&bytes);
            prop_assert_eq!(crcs.range(a, b), Some(crc32c::crc32c(&bytes[a..b])));
        }
    }
}
