//! Segment files read as docs/FORMAT.md ("Segment files") describes them, to damage them in
//! chosen places: the section table, and rows of the offset-indexed sections.

use std::ops::Range;

// Section kinds.
pub const VECTORS: u32 = 1;
pub const ID_OFFSETS: u32 = 2;
pub const ID_BYTES: u32 = 3;
pub const ID_SORTED: u32 = 4;
pub const PAYLOAD_OFFSETS: u32 = 5;
pub const PAYLOAD_BYTES: u32 = 6;
pub const ROW_CHECKSUMS: u32 = 7;
pub const VECTOR_BLOCK_CHECKSUMS: u32 = 8;

pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

pub fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The sections of a segment file: (kind, byte range), in the order of its section table.
pub fn sections(bytes: &[u8]) -> Vec<(u32, Range<usize>)> {
    assert_eq!(&bytes[0..8], b"NDBSEG\0\0");
    let count = u32_at(bytes, 48) as usize;
    (0..count)
        .map(|i| {
            let at = 56 + 32 * i;
            let kind = u32_at(bytes, at);
            let offset = u64_at(bytes, at + 8) as usize;
            let len = u64_at(bytes, at + 16) as usize;
            (kind, offset..offset + len)
        })
        .collect()
}

/// Byte range of section `kind`.
pub fn section(bytes: &[u8], kind: u32) -> Range<usize> {
    sections(bytes)
        .into_iter()
        .find(|&(k, _)| k == kind)
        .map(|(_, range)| range)
        .unwrap()
}

/// Rows in a segment file (the header's `row_count`).
pub fn row_count(bytes: &[u8]) -> usize {
    u64_at(bytes, 24) as usize
}

/// Byte range of row `row`'s bytes in an offset-indexed section (`offsets_kind` /
/// `bytes_kind`: `ID_OFFSETS` / `ID_BYTES`, or `PAYLOAD_OFFSETS` / `PAYLOAD_BYTES`).
pub fn row_bytes(bytes: &[u8], offsets_kind: u32, bytes_kind: u32, row: usize) -> Range<usize> {
    let at = section(bytes, offsets_kind).start + row * 8;
    let base = section(bytes, bytes_kind).start;
    base + u64_at(bytes, at) as usize..base + u64_at(bytes, at + 8) as usize
}

/// Start of row `row`'s bytes in an offset-indexed section (as `row_bytes`).
pub fn row_start(bytes: &[u8], offsets_kind: u32, bytes_kind: u32, row: usize) -> usize {
    row_bytes(bytes, offsets_kind, bytes_kind, row).start
}

/// The row that holds the document `id`.
pub fn row_of(bytes: &[u8], id: &str) -> usize {
    (0..row_count(bytes))
        .find(|&r| bytes[row_bytes(bytes, ID_OFFSETS, ID_BYTES, r)] == *id.as_bytes())
        .unwrap()
}
