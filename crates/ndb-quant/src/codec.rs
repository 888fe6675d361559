//! Little-endian encoding of quantizer parameters: a writer that appends fields, and a reader
//! that checks every length before it reads and never panics.
//!
//! The envelope every parameter blob shares: 4 magic bytes, a version byte, the fields, and a
//! CRC-32C (Castagnoli) of everything before it as the last 4 bytes. [`open`] checks, in order:
//! the length can hold magic, version and checksum; the checksum; the magic; the version.

use crate::error::{QuantError, Result};

/// Bytes of magic + version at the start.
pub(crate) const HEADER_LEN: usize = 5;
/// Bytes of the trailing CRC-32C.
pub(crate) const CHECKSUM_LEN: usize = 4;

/// Appends little-endian fields to a buffer.
pub(crate) struct Writer(Vec<u8>);

impl Writer {
    /// A blob starting with `magic` and `version`.
    pub(crate) fn new(magic: [u8; 4], version: u8, capacity: usize) -> Self {
        let mut bytes = Vec::with_capacity(capacity);
        bytes.extend_from_slice(&magic);
        bytes.push(version);
        Writer(bytes)
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn f32s(&mut self, vs: &[f32]) {
        vs.iter().for_each(|&v| self.f32(v));
    }

    /// The blob with its checksum appended.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let crc = crc32c::crc32c(&self.0);
        self.u32(crc);
        self.0
    }
}

/// Checks the envelope of `bytes` and returns a reader over its fields (after the version,
/// before the checksum).
pub(crate) fn open<'a>(bytes: &'a [u8], magic: [u8; 4], version: u8) -> Result<Reader<'a>> {
    let body_len = bytes
        .len()
        .checked_sub(CHECKSUM_LEN)
        .filter(|&len| len >= HEADER_LEN)
        .ok_or(QuantError::Corrupt {
            offset: bytes.len(),
            reason: "too short for magic, version and checksum",
        })?;
    let (body, stored) = bytes.split_at(body_len);
    let stored = u32::from_le_bytes(stored.try_into().map_err(|_| QuantError::Corrupt {
        offset: body_len,
        reason: "checksum",
    })?);
    let computed = crc32c::crc32c(body);
    if stored != computed {
        return Err(QuantError::ChecksumMismatch { stored, computed });
    }
    let mut reader = Reader { bytes: body, at: 0 };
    if reader.take::<4>()? != magic {
        return Err(QuantError::Corrupt {
            offset: 0,
            reason: "wrong magic: not parameters of this quantizer",
        });
    }
    let found = reader.u8()?;
    if found != version {
        return Err(QuantError::UnsupportedVersion(found));
    }
    Ok(reader)
}

/// Reads little-endian fields, checking each length.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    /// The offset of the next field.
    pub(crate) fn offset(&self) -> usize {
        self.at
    }

    /// Bytes left to read.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        let field = self
            .at
            .checked_add(N)
            .and_then(|end| self.bytes.get(self.at..end))
            .and_then(|field| <[u8; N]>::try_from(field).ok())
            .ok_or(QuantError::Corrupt {
                offset: self.at,
                reason: "truncated",
            })?;
        self.at += N;
        Ok(field)
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    /// A finite `f32`.
    pub(crate) fn f32(&mut self) -> Result<f32> {
        let offset = self.at;
        let v = f32::from_le_bytes(self.take()?);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(QuantError::Corrupt {
                offset,
                reason: "a value is NaN or infinite",
            })
        }
    }

    /// `n` finite `f32`s; the length is checked before anything is allocated.
    pub(crate) fn f32s(&mut self, n: usize) -> Result<Vec<f32>> {
        if n.checked_mul(4).is_none_or(|len| len > self.remaining()) {
            return Err(QuantError::Corrupt {
                offset: self.at,
                reason: "truncated",
            });
        }
        (0..n).map(|_| self.f32()).collect()
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(self) -> Result<()> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(QuantError::Corrupt {
                offset: self.at,
                reason: "trailing bytes",
            })
        }
    }
}
