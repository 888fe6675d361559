//! Writing a segment file from rows (a flushed memtable, or a compaction's survivors).

use super::format::{
    align_up, Header, Section, SectionKind, HEADER_LEN, SEGMENT_VERSION, VECTOR_BLOCK_ROWS,
};
use crate::config::Distance;
use crate::error::IoContext;
use crate::limits::SEGMENT_ROWS_MAX;
use crate::{Error, Result};
use ndb_storage::{OpenMode, Vfs, VfsFile};
use std::path::Path;

/// One row to write.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowRef<'a> {
    pub id: &'a str,
    pub vector: &'a [f32],
    /// Serialized JSON object, or empty for no payload.
    pub payload: &'a [u8],
}

/// Rows seen as the vectors of a graph build.
pub(crate) struct RowVectors<'a> {
    pub rows: &'a [RowRef<'a>],
    pub dim: usize,
}

impl ndb_hnsw::Vectors for RowVectors<'_> {
    fn dim(&self) -> usize {
        self.dim
    }
    fn len(&self) -> usize {
        self.rows.len()
    }
    #[inline]
    fn vector(&self, i: u32) -> &[f32] {
        self.rows[i as usize].vector
    }
}

/// Largest copy [`BuildVectors::of`] makes: a build's transient memory stays bounded on huge
/// merges (those read through the row references instead).
const GATHER_MAX_BYTES: usize = 256 << 20;

/// The vectors a graph build reads: the rows' vectors copied into one block when that copy is
/// at most [`GATHER_MAX_BYTES`], else the rows themselves. A build reads every vector many
/// times at random; through a row reference each read is one more dependent load.
pub(crate) enum BuildVectors<'a> {
    Flat(Vec<f32>, usize),
    Rows(RowVectors<'a>),
}

impl<'a> BuildVectors<'a> {
    pub(crate) fn of(rows: &'a [RowRef<'a>], dim: usize) -> Self {
        let bytes = rows.len().saturating_mul(dim).saturating_mul(4);
        if bytes > GATHER_MAX_BYTES {
            return BuildVectors::Rows(RowVectors { rows, dim });
        }
        let mut flat = Vec::with_capacity(rows.len() * dim);
        for r in rows {
            flat.extend_from_slice(r.vector);
        }
        BuildVectors::Flat(flat, dim)
    }
}

impl ndb_hnsw::Vectors for BuildVectors<'_> {
    #[inline]
    fn dim(&self) -> usize {
        match self {
            BuildVectors::Flat(_, dim) => *dim,
            BuildVectors::Rows(r) => r.dim,
        }
    }
    #[inline]
    fn len(&self) -> usize {
        match self {
            BuildVectors::Flat(v, dim) => v.len() / (*dim).max(1),
            BuildVectors::Rows(r) => r.rows.len(),
        }
    }
    #[inline]
    fn vector(&self, i: u32) -> &[f32] {
        match self {
            BuildVectors::Flat(v, dim) => &v[i as usize * dim..(i as usize + 1) * dim],
            BuildVectors::Rows(r) => r.rows[i as usize].vector,
        }
    }
}

const WRITE_BUFFER_BYTES: usize = 1 << 20;

/// Buffered sequential writer that checksums each section as it goes.
struct SectionWriter<'f> {
    file: &'f dyn VfsFile,
    path: &'f Path,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    crc: u32,
    written: u64,
}

impl<'f> SectionWriter<'f> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.crc = crc32c::crc32c_append(self.crc, bytes);
        self.written += bytes.len() as u64;
        if self.buf.len() + bytes.len() > WRITE_BUFFER_BYTES {
            self.drain()?;
        }
        if bytes.len() >= WRITE_BUFFER_BYTES {
            self.file
                .write_all_at(bytes, self.buf_offset)
                .at(self.path)?;
            self.buf_offset += bytes.len() as u64;
        } else {
            self.buf.extend_from_slice(bytes);
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.file
                .write_all_at(&self.buf, self.buf_offset)
                .at(self.path)?;
            self.buf_offset += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }

    /// Start a section at the next aligned offset (zero padding in between).
    fn begin(&mut self) -> Result<u64> {
        let pos = self.buf_offset + self.buf.len() as u64;
        let start = align_up(pos);
        self.buf.resize(self.buf.len() + (start - pos) as usize, 0);
        self.crc = 0;
        self.written = 0;
        Ok(start)
    }

    fn end(&mut self, kind: SectionKind, start: u64) -> Section {
        Section {
            kind,
            offset: start,
            len: self.written,
            crc: self.crc,
        }
    }
}

/// Write a complete segment to `path` and make it durable (`fsync`). The directory entry is not
/// synced here: the caller syncs the directory before naming the file in a manifest.
/// Returns the file length.
pub(crate) fn write_segment(
    vfs: &dyn Vfs,
    path: &Path,
    segment_id: u64,
    dim: usize,
    distance: Distance,
    rows: &[RowRef<'_>],
) -> Result<u64> {
    if rows.len() as u64 > SEGMENT_ROWS_MAX {
        return Err(Error::invalid(format!(
            "a segment holds at most {SEGMENT_ROWS_MAX} rows"
        )));
    }
    let file = vfs.open(path, OpenMode::CreateTruncate).at(path)?;
    let mut w = SectionWriter {
        file: &*file,
        path,
        buf: Vec::with_capacity(WRITE_BUFFER_BYTES),
        buf_offset: HEADER_LEN as u64,
        crc: 0,
        written: 0,
    };
    let mut sections = Vec::with_capacity(SectionKind::ALL.len());

    let start = w.begin()?;
    for row in rows {
        debug_assert_eq!(row.vector.len(), dim);
        w.put(bytemuck::cast_slice(row.vector))?;
    }
    sections.push(w.end(SectionKind::Vectors, start));

    write_ids(&mut w, &mut sections, rows)?;
    write_offsets(
        &mut w,
        &mut sections,
        SectionKind::PayloadOffsets,
        rows.iter().map(|r| r.payload.len()),
    )?;
    let start = w.begin()?;
    for row in rows {
        w.put(row.payload)?;
    }
    sections.push(w.end(SectionKind::PayloadBytes, start));
    write_checksums(&mut w, &mut sections, rows)?;
    w.drain()?;
    let file_len = w.buf_offset;

    let header = Header {
        version: SEGMENT_VERSION,
        dim: dim as u32,
        distance: distance.code(),
        row_count: rows.len() as u64,
        segment_id,
        file_len,
        sections,
    };
    file.write_all_at(&header.encode(), 0).at(path)?;
    file.sync_all().at(path)?;
    Ok(file_len)
}

/// The id sections: offsets, bytes, and the rows in id order (for lookups by binary search).
fn write_ids(
    w: &mut SectionWriter<'_>,
    sections: &mut Vec<Section>,
    rows: &[RowRef<'_>],
) -> Result<()> {
    write_offsets(
        w,
        sections,
        SectionKind::IdOffsets,
        rows.iter().map(|r| r.id.len()),
    )?;
    let start = w.begin()?;
    for row in rows {
        w.put(row.id.as_bytes())?;
    }
    sections.push(w.end(SectionKind::IdBytes, start));
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        rows[a as usize]
            .id
            .as_bytes()
            .cmp(rows[b as usize].id.as_bytes())
    });
    let start = w.begin()?;
    for row in &order {
        w.put(&row.to_le_bytes())?;
    }
    sections.push(w.end(SectionKind::IdSorted, start));
    Ok(())
}

fn write_offsets(
    w: &mut SectionWriter<'_>,
    sections: &mut Vec<Section>,
    kind: SectionKind,
    lens: impl Iterator<Item = usize>,
) -> Result<()> {
    let start = w.begin()?;
    let mut at = 0u64;
    w.put(&at.to_le_bytes())?;
    for len in lens {
        at += len as u64;
        w.put(&at.to_le_bytes())?;
    }
    sections.push(w.end(kind, start));
    Ok(())
}

/// The CRC-32C of a row as the row checksum section holds it: id bytes, payload bytes, then
/// vector bytes (docs/FORMAT.md).
pub(crate) fn row_crc(id: &[u8], payload: &[u8], vector: &[u8]) -> u32 {
    let crc = crc32c::crc32c_append(crc32c::crc32c(id), payload);
    crc32c::crc32c_append(crc, vector)
}

/// The row checksum and vector block checksum sections (format version 2).
fn write_checksums(
    w: &mut SectionWriter<'_>,
    sections: &mut Vec<Section>,
    rows: &[RowRef<'_>],
) -> Result<()> {
    let start = w.begin()?;
    for row in rows {
        let vector: &[u8] = bytemuck::cast_slice(row.vector);
        w.put(&row_crc(row.id.as_bytes(), row.payload, vector).to_le_bytes())?;
    }
    sections.push(w.end(SectionKind::RowChecksums, start));
    let start = w.begin()?;
    for block in rows.chunks(VECTOR_BLOCK_ROWS as usize) {
        let crc = block.iter().fold(0, |crc, row| {
            crc32c::crc32c_append(crc, bytemuck::cast_slice(row.vector))
        });
        w.put(&crc.to_le_bytes())?;
    }
    sections.push(w.end(SectionKind::VectorBlockChecksums, start));
    Ok(())
}
