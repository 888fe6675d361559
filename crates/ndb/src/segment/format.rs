//! Segment file header and section table (docs/FORMAT.md, "Segment files").
//!
//! ```text
//! 0    magic          [u8; 8]  "NDBSEG\0\0"
//! 8    format_version u32      1 or 2 (2 adds the row and vector block checksum sections)
//! 12   header_len     u32      HEADER_LEN
//! 16   dim            u32
//! 20   distance       u32      1 dot, 2 cosine, 3 euclidean
//! 24   row_count      u64
//! 32   segment_id     u64
//! 40   file_len       u64
//! 48   section_count  u32
//! 52   reserved       u32
//! 56   sections       [SectionEntry; SECTIONS_MAX]  (32 bytes each)
//! 504  header_crc     u32      CRC-32C of bytes 0..504
//! 508  reserved       u32
//! ```

use crate::codec::{crc32c, Reader};
use crate::{Error, Result};
use std::path::Path;

pub(crate) const MAGIC: [u8; 8] = *b"NDBSEG\0\0";
/// Newest segment format this build writes and reads. Version 1 (no row or vector block
/// checksums) is still read.
pub(crate) const SEGMENT_VERSION: u32 = 2;
/// The first version with [`SectionKind::RowChecksums`] and [`SectionKind::VectorBlockChecksums`].
pub(crate) const ROW_CHECKSUMS_VERSION: u32 = 2;
/// Rows per vector block: each block of this many rows' vectors has its own CRC-32C.
pub(crate) const VECTOR_BLOCK_ROWS: u32 = 64;
/// Bytes of the header; the first section starts here.
pub(crate) const HEADER_LEN: usize = 512;
/// Every section starts at a multiple of this.
pub(crate) const SECTION_ALIGN: u64 = 64;
pub(crate) const SECTIONS_MAX: usize = 14;
const SECTION_TABLE_OFFSET: usize = 56;
const SECTION_ENTRY_LEN: usize = 32;
const HEADER_CRC_OFFSET: usize = SECTION_TABLE_OFFSET + SECTIONS_MAX * SECTION_ENTRY_LEN;
const _: () = assert!(HEADER_CRC_OFFSET + 8 == HEADER_LEN);
const _: () = assert!((HEADER_LEN as u64).is_multiple_of(SECTION_ALIGN));

/// What a section holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SectionKind {
    /// `row_count × dim` little-endian f32, row-major.
    Vectors = 1,
    /// `row_count + 1` u64: start of each id in `IdBytes`, then the end.
    IdOffsets = 2,
    /// UTF-8 ids, concatenated.
    IdBytes = 3,
    /// `row_count` u32: row numbers ordered by id bytes (binary search).
    IdSorted = 4,
    /// `row_count + 1` u64: start of each payload in `PayloadBytes`, then the end.
    PayloadOffsets = 5,
    /// JSON objects, concatenated; an empty range means no payload.
    PayloadBytes = 6,
    /// `row_count` u32 (version 2): CRC-32C of each row's id, payload and vector bytes.
    RowChecksums = 7,
    /// `ceil(row_count / VECTOR_BLOCK_ROWS)` u32 (version 2): CRC-32C of each block's vectors.
    VectorBlockChecksums = 8,
}

impl SectionKind {
    pub const ALL: [SectionKind; 8] = [
        SectionKind::Vectors,
        SectionKind::IdOffsets,
        SectionKind::IdBytes,
        SectionKind::IdSorted,
        SectionKind::PayloadOffsets,
        SectionKind::PayloadBytes,
        SectionKind::RowChecksums,
        SectionKind::VectorBlockChecksums,
    ];

    /// The kind coded `v` in a file of format `version` (the checksum sections are version 2).
    fn from_u32(v: u32, version: u32) -> Option<Self> {
        let kind = Self::ALL.into_iter().find(|k| *k as u32 == v)?;
        let checksums = matches!(
            kind,
            SectionKind::RowChecksums | SectionKind::VectorBlockChecksums
        );
        (!checksums || version >= ROW_CHECKSUMS_VERSION).then_some(kind)
    }

    pub fn name(self) -> &'static str {
        match self {
            SectionKind::Vectors => "vectors",
            SectionKind::IdOffsets => "id offsets",
            SectionKind::IdBytes => "ids",
            SectionKind::IdSorted => "id index",
            SectionKind::PayloadOffsets => "payload offsets",
            SectionKind::PayloadBytes => "payloads",
            SectionKind::RowChecksums => "row checksums",
            SectionKind::VectorBlockChecksums => "vector block checksums",
        }
    }
}

/// One row of the section table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Section {
    pub kind: SectionKind,
    pub offset: u64,
    pub len: u64,
    pub crc: u32,
}

/// The decoded header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// Format version (1 or 2).
    pub version: u32,
    pub dim: u32,
    pub distance: u32,
    pub row_count: u64,
    pub segment_id: u64,
    pub file_len: u64,
    pub sections: Vec<Section>,
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..8].copy_from_slice(&MAGIC);
        h[8..12].copy_from_slice(&self.version.to_le_bytes());
        h[12..16].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        h[16..20].copy_from_slice(&self.dim.to_le_bytes());
        h[20..24].copy_from_slice(&self.distance.to_le_bytes());
        h[24..32].copy_from_slice(&self.row_count.to_le_bytes());
        h[32..40].copy_from_slice(&self.segment_id.to_le_bytes());
        h[40..48].copy_from_slice(&self.file_len.to_le_bytes());
        h[48..52].copy_from_slice(&(self.sections.len() as u32).to_le_bytes());
        for (i, s) in self.sections.iter().enumerate() {
            let at = SECTION_TABLE_OFFSET + i * SECTION_ENTRY_LEN;
            h[at..at + 4].copy_from_slice(&(s.kind as u32).to_le_bytes());
            h[at + 8..at + 16].copy_from_slice(&s.offset.to_le_bytes());
            h[at + 16..at + 24].copy_from_slice(&s.len.to_le_bytes());
            h[at + 24..at + 28].copy_from_slice(&s.crc.to_le_bytes());
        }
        let crc = crc32c(&h[..HEADER_CRC_OFFSET]);
        h[HEADER_CRC_OFFSET..HEADER_CRC_OFFSET + 4].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// Decode and check a header read from `path`, whose actual length is `actual_len`.
    #[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
    pub fn decode(h: &[u8], path: &Path, actual_len: u64) -> Result<Self> {
        let bad = |offset: usize, reason: String| Error::corruption(path, offset as u64, reason);
        if h.len() < HEADER_LEN {
            return Err(bad(
                0,
                format!("file is {} bytes, shorter than a segment header", h.len()),
            ));
        }
        let mut r = Reader::new(h);
        if r.array::<8>() != Some(MAGIC) {
            return Err(bad(0, "bad segment magic".into()));
        }
        let version = r.u32().unwrap_or(0);
        // The checksum first: a damaged version field is damage, not a newer format.
        let stored = crate::codec::u32_at(h, HEADER_CRC_OFFSET).unwrap_or(0);
        if Some(stored) != h.get(..HEADER_CRC_OFFSET).map(crc32c) {
            return Err(bad(
                HEADER_CRC_OFFSET,
                "segment header checksum mismatch".into(),
            ));
        }
        if version > SEGMENT_VERSION {
            return Err(Error::UnsupportedFormat {
                file: path.to_path_buf(),
                found: version,
                supported: SEGMENT_VERSION,
            });
        }
        if version == 0 {
            return Err(bad(8, "segment format version 0".into()));
        }
        let header_len = r.u32().unwrap_or(0);
        if header_len as usize != HEADER_LEN {
            return Err(bad(
                12,
                format!("header length {header_len}, expected {HEADER_LEN}"),
            ));
        }
        let dim = r.u32().unwrap_or(0);
        let distance = r.u32().unwrap_or(0);
        let row_count = r.u64().unwrap_or(0);
        let segment_id = r.u64().unwrap_or(0);
        let file_len = r.u64().unwrap_or(0);
        let section_count = r.u32().unwrap_or(0) as usize;
        if file_len != actual_len {
            return Err(bad(
                40,
                format!("file is {actual_len} bytes but its header says {file_len} (truncated or extended)"),
            ));
        }
        if section_count > SECTIONS_MAX {
            return Err(bad(
                48,
                format!("{section_count} sections, at most {SECTIONS_MAX}"),
            ));
        }
        let mut sections = Vec::with_capacity(section_count);
        for i in 0..section_count {
            let section = decode_section(h, i, version, file_len, path)?;
            if sections.iter().any(|s: &Section| s.kind == section.kind) {
                let at = SECTION_TABLE_OFFSET.saturating_add(i.saturating_mul(SECTION_ENTRY_LEN));
                let reason = format!("section {} appears twice", section.kind.name());
                return Err(bad(at, reason));
            }
            sections.push(section);
        }
        Ok(Self {
            version,
            dim,
            distance,
            row_count,
            segment_id,
            file_len,
            sections,
        })
    }

    pub fn section(&self, kind: SectionKind) -> Option<Section> {
        self.sections.iter().copied().find(|s| s.kind == kind)
    }
}

/// Decode entry `i` of the section table of header `h`, checking that the section is aligned
/// and inside the `file_len`-byte file.
#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
fn decode_section(h: &[u8], i: usize, version: u32, file_len: u64, path: &Path) -> Result<Section> {
    // At most SECTIONS_MAX entries, which the header holds (a constant assertion).
    let at = SECTION_TABLE_OFFSET.saturating_add(i.saturating_mul(SECTION_ENTRY_LEN));
    let bad = |reason: String| Error::corruption(path, at as u64, reason);
    let entry = at
        .checked_add(SECTION_ENTRY_LEN)
        .and_then(|end| h.get(at..end))
        .ok_or_else(|| bad("section table runs past the header".to_string()))?;
    let mut e = Reader::new(entry);
    let raw_kind = e.u32().unwrap_or(0);
    let _flags = e.u32();
    let offset = e.u64().unwrap_or(0);
    let len = e.u64().unwrap_or(0);
    let crc = e.u32().unwrap_or(0);
    let kind = SectionKind::from_u32(raw_kind, version).ok_or_else(|| {
        bad(format!(
            "unknown section kind {raw_kind} in a version {version} segment"
        ))
    })?;
    let end = offset.checked_add(len);
    if !offset.is_multiple_of(SECTION_ALIGN)
        || offset < HEADER_LEN as u64
        || end.is_none_or(|end| end > file_len)
    {
        return Err(bad(format!(
            "section {} [{offset}, +{len}) is misaligned or outside the {file_len}-byte file",
            kind.name()
        )));
    }
    Ok(Section {
        kind,
        offset,
        len,
        crc,
    })
}

/// Round `n` up to the section alignment.
pub(crate) fn align_up(n: u64) -> u64 {
    n.div_ceil(SECTION_ALIGN) * SECTION_ALIGN
}
