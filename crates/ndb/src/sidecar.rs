//! The envelope shared by a segment's small sidecar files (deletion files, payload index
//! files): one 48-byte checksummed header, then a checksummed body (docs/FORMAT.md).
//!
//! ```text
//! 0   magic       [u8; 8]
//! 8   version     u32
//! 12  reserved    u32      0
//! 16  segment_id  u64
//! 24  count       u64      kind-specific (deleted rows; the segment's rows)
//! 32  body_len    u64
//! 40  body_crc    u32      CRC-32C of the body
//! 44  header_crc  u32      CRC-32C of bytes 0..44
//! 48  body
//! ```

use crate::codec::{crc32c, Reader};
use crate::error::IoContext;
use crate::{Error, Result};
use ndb_storage::{OpenMode, Vfs};
use std::path::Path;

/// Bytes before the body.
pub(crate) const HEADER_LEN: usize = 48;

/// One kind of sidecar file.
pub(crate) struct Kind {
    pub magic: [u8; 8],
    pub version: u32,
    /// How error messages name the file ("deletion file", ...).
    pub what: &'static str,
}

/// Header and body, ready to write.
pub(crate) fn seal(kind: &Kind, segment_id: u64, count: u64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&kind.magic);
    out.extend_from_slice(&kind.version.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&segment_id.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32c(body).to_le_bytes());
    let header_crc = crc32c(&out);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Check the envelope of a file of segment `segment_id`; returns its `count` and body.
#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
pub(crate) fn open<'a>(
    kind: &Kind,
    bytes: &'a [u8],
    path: &Path,
    segment_id: u64,
) -> Result<(u64, &'a [u8])> {
    let what = kind.what;
    let bad = |offset: u64, reason: String| Error::corruption(path, offset, reason);
    let mut r = Reader::new(bytes);
    let (
        Some(magic),
        Some(version),
        Some(_),
        Some(seg),
        Some(count),
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
        return Err(bad(0, format!("{what} shorter than its header")));
    };
    let header_crc = r.u32().unwrap_or(0);
    if magic != kind.magic {
        return Err(bad(0, format!("bad {what} magic")));
    }
    // The checksum first: a damaged version field is damage, not a newer format.
    if Some(header_crc) != bytes.get(..44).map(crc32c) {
        return Err(bad(44, format!("{what} header checksum mismatch")));
    }
    if version > kind.version {
        return Err(Error::UnsupportedFormat {
            file: path.to_path_buf(),
            found: version,
            supported: kind.version,
        });
    }
    if version == 0 {
        return Err(bad(8, format!("{what} version 0")));
    }
    if seg != segment_id {
        return Err(bad(
            16,
            format!("{what} of segment {seg}, expected {segment_id}"),
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
            format!("{what} body checksum mismatch"),
        ));
    }
    Ok((count, body))
}

/// Write a sealed file and fsync it (the caller syncs the directory). Returns its length.
pub(crate) fn write_file(vfs: &dyn Vfs, path: &Path, bytes: &[u8]) -> Result<u64> {
    let file = vfs.open(path, OpenMode::CreateTruncate).at(path)?;
    file.write_all_at(bytes, 0).at(path)?;
    file.sync_all().at(path)?;
    Ok(bytes.len() as u64)
}

/// Read a whole sidecar file.
pub(crate) fn read_file(vfs: &dyn Vfs, path: &Path) -> Result<Vec<u8>> {
    vfs.open(path, OpenMode::Read)
        .and_then(|f| f.read_all())
        .at(path)
}
