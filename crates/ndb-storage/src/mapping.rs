//! Read-only views of whole files: a real `mmap` or, for the simulated backend, an owned,
//! 64-byte aligned copy.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Alignment guaranteed for the first byte of every [`Mapping`].
pub const MAPPING_ALIGN: usize = 64;

#[repr(C, align(64))]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Block([u8; MAPPING_ALIGN]);

enum Inner {
    Mmap(memmap2::Mmap),
    Owned { blocks: Arc<Vec<Block>>, len: usize },
}

/// A read-only view of a file's first `len` bytes. The first byte is aligned to
/// [`MAPPING_ALIGN`] bytes.
pub struct Mapping {
    inner: Inner,
}

impl Mapping {
    pub(crate) fn from_mmap(map: memmap2::Mmap) -> Self {
        Self {
            inner: Inner::Mmap(map),
        }
    }

    /// An aligned in-memory copy of `bytes` (used by the simulated backend, and for empty files,
    /// which cannot be mapped).
    pub fn copy_from(bytes: &[u8]) -> Self {
        let mut blocks = vec![Block([0; MAPPING_ALIGN]); bytes.len().div_ceil(MAPPING_ALIGN)];
        bytemuck::cast_slice_mut::<Block, u8>(&mut blocks)[..bytes.len()].copy_from_slice(bytes);
        Self {
            inner: Inner::Owned {
                blocks: Arc::new(blocks),
                len: bytes.len(),
            },
        }
    }

    /// Whether this is a real memory map (pages loaded lazily by the kernel).
    pub fn is_mmap(&self) -> bool {
        matches!(self.inner, Inner::Mmap(_))
    }

    /// Advise the kernel that the mapping will be read at random (no read-ahead). No-op for
    /// copies.
    pub fn advise_random(&self) {
        if let Inner::Mmap(map) = &self.inner {
            // Advice is a hint; a failure changes nothing about correctness.
            let _ = map.advise(memmap2::Advice::Random);
        }
    }
}

impl Deref for Mapping {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.inner {
            Inner::Mmap(map) => map,
            Inner::Owned { blocks, len } => &bytemuck::cast_slice::<Block, u8>(blocks)[..*len],
        }
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapping")
            .field("len", &self.len())
            .field("mmap", &self.is_mmap())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_aligned_and_exact() {
        for len in [0usize, 1, 63, 64, 65, 1000] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let m = Mapping::copy_from(&bytes);
            assert_eq!(&m[..], &bytes[..]);
            assert_eq!(m.as_ptr() as usize % MAPPING_ALIGN, 0, "len {len}");
        }
    }
}
