//! The checksummed, versioned envelope around a manifest's JSON body.
//!
//! ```text
//! 0   magic       [u8; 8]  "NDBMANIF"
//! 8   version     u32      MANIFEST_VERSION
//! 12  kind        u32      1 = database, 2 = collection
//! 16  body_len    u64
//! 24  crc         u32      CRC-32C of bytes 0..24 followed by the body
//! 28  reserved    u32      0
//! 32  body        [u8; body_len]  JSON
//! ```

use super::MANIFEST_VERSION;
use crate::codec::{crc32c, Reader};
use crate::{Error, Result};
use std::path::Path;

const MAGIC: [u8; 8] = *b"NDBMANIF";
pub(crate) const HEADER_LEN: usize = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Database = 1,
    Collection = 2,
}

fn checksum(header: &[u8], body: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c(header), body)
}

pub(crate) fn seal(body: &[u8], kind: Kind) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&MANIFEST_VERSION.to_le_bytes());
    out.extend_from_slice(&(kind as u32).to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    let crc = checksum(&out[0..24], body);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(body);
    out
}

#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
pub(crate) fn open<'a>(bytes: &'a [u8], kind: Kind, path: &Path) -> Result<&'a [u8]> {
    let mut r = Reader::new(bytes);
    let (Some(magic), Some(version), Some(found_kind), Some(body_len), Some(crc), Some(reserved)) =
        (r.array::<8>(), r.u32(), r.u32(), r.u64(), r.u32(), r.u32())
    else {
        return Err(Error::corruption(
            path,
            0,
            "manifest shorter than its header",
        ));
    };
    if magic != MAGIC {
        return Err(Error::corruption(path, 0, "bad manifest magic"));
    }
    if reserved != 0 {
        return Err(Error::corruption(
            path,
            28,
            "reserved manifest header bytes are not zero",
        ));
    }
    let body = usize::try_from(body_len)
        .ok()
        .and_then(|n| r.take(n))
        .ok_or_else(|| {
            Error::corruption(
                path,
                16,
                format!("manifest body length {body_len} past end of file"),
            )
        })?;
    if r.remaining() != 0 {
        return Err(Error::corruption(
            path,
            HEADER_LEN.saturating_add(body.len()) as u64,
            "trailing bytes after manifest body",
        ));
    }
    if bytes.get(0..24).map(|header| checksum(header, body)) != Some(crc) {
        return Err(Error::corruption(path, 24, "manifest checksum mismatch"));
    }
    // The version only after the checksum: a damaged version field is damage, not a newer
    // format.
    if version > MANIFEST_VERSION {
        return Err(Error::UnsupportedFormat {
            file: path.to_path_buf(),
            found: version,
            supported: MANIFEST_VERSION,
        });
    }
    if version == 0 {
        return Err(Error::corruption(path, 8, "manifest version 0"));
    }
    if found_kind != kind as u32 {
        return Err(Error::corruption(
            path,
            12,
            format!("manifest kind {found_kind}, expected {}", kind as u32),
        ));
    }
    Ok(body)
}
