//! Opening a damaged segment for salvage (`crate::recover`), as far as its row checksums still
//! prove each row.
//!
//! [`Segment::open`] refuses a segment whose header, ids or offsets fail their checksums. A
//! version 2 segment does not need them to prove a row: a row's checksum covers its id, payload
//! and vector bytes, so a row read through damaged offsets fails its own check instead of
//! returning wrong bytes. So a salvage open
//! - records section checksum failures instead of failing (they are reported, and the rows they
//!   touch fail their row checks when read);
//! - locates the sections by the writer's layout (docs/FORMAT.md: the vectors at 512, then each
//!   section at the next multiple of 64 in kind order) when the header fails its checksum, with
//!   the shape (dimension, metric, rows) the manifest gives, or the damaged header's own fields
//!   when the manifest is lost;
//! - and leaves every row to be read through [`Segment::payload_of`], which checks it.
//!
//! A version 1 segment has no row checksums: it is salvaged only whole, when every section
//! checksum (vectors and payloads included) matches.

use super::format::{
    align_up, Header, Section, SectionKind, HEADER_LEN, ROW_CHECKSUMS_VERSION, SEGMENT_VERSION,
    VECTOR_BLOCK_ROWS,
};
use super::{check_header, check_section, Sections, Segment};
use crate::codec::{u32_at, u64_at};
use crate::config::Distance;
use crate::error::IoContext;
use crate::limits::{DIM_MAX, SEGMENT_ROWS_MAX};
use crate::{Error, Result};
use ndb_storage::{OpenMode, Vfs, VfsFile};
use std::ops::Range;
use std::path::Path;

/// What a segment holds: its dimension, metric and row count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    pub dim: usize,
    pub distance: Distance,
    pub rows: u64,
}

/// A segment opened for salvage, with the damage found at open.
#[derive(Debug)]
pub(crate) struct SalvagedSegment {
    pub segment: Segment,
    pub shape: Shape,
    /// Whether the header passed its checksum (else the sections were located by the writer's
    /// layout and the shape came from the manifest or the unchecked header).
    pub header_checked: bool,
    /// Damage the row checksums still cover, with the bytes it concerns: a failed header or
    /// section checksum.
    pub damage: Vec<(Range<u64>, Error)>,
}

impl Segment {
    /// Open segment `id` at `path` for salvage: like [`Segment::open`], but past damage that
    /// row checksums still cover (module doc). `expected` is the shape the manifest gives, if
    /// it could be read. Fails (the whole segment is lost) when the file is shorter than its
    /// sections, a version 1 segment has any damage, the header is damaged and the sections
    /// are not where the writer puts them, or the segment is not the one `expected`.
    pub(crate) fn open_for_salvage(
        vfs: &dyn Vfs,
        path: &Path,
        id: u64,
        expected: Option<Shape>,
    ) -> Result<SalvagedSegment> {
        let file = vfs.open(path, OpenMode::Read).at(path)?;
        let len = file.len().at(path)?;
        let mut head = vec![0u8; HEADER_LEN.min(usize::try_from(len).unwrap_or(HEADER_LEN))];
        file.read_exact_at(&mut head, 0).at(path)?;
        let mut damage = Vec::new();
        let (header, header_checked) = match Header::decode(&head, path, len) {
            Ok(header) => {
                match expected {
                    Some(s) => check_header(&header, path, id, s.dim, s.distance, s.rows)?,
                    None if header.segment_id != id => {
                        let reason = format!(
                            "segment id {} but the file name says {id}",
                            header.segment_id
                        );
                        return Err(Error::corruption(path, 32, reason));
                    }
                    None => {}
                }
                (header, true)
            }
            Err(e @ Error::UnsupportedFormat { .. }) => return Err(e),
            Err(e) => {
                let Some(shape) = expected.or_else(|| unchecked_shape(&head)) else {
                    return Err(e);
                };
                damage.push((0..len.min(HEADER_LEN as u64), e));
                (rebuilt_header(&*file, path, id, shape, len)?, false)
            }
        };
        let shape = shape_of(&header, path)?;
        let sections = Sections::locate(&header, path, shape.dim)?;
        let map = file.map(len).at(path)?;
        if header_checked {
            // Without row checksums only the section checksums prove anything: all must match.
            let whole = header.version < ROW_CHECKSUMS_VERSION;
            let bulk = [sections.vectors, sections.payload_bytes];
            let bulk = whole.then_some(bulk).into_iter().flatten();
            for s in sections.checked_at_open().chain(bulk) {
                match check_section(&map, s, path) {
                    Ok(()) => {}
                    Err(e) if whole => return Err(e),
                    Err(e) => damage.push((s.offset..s.offset.saturating_add(s.len), e)),
                }
            }
        }
        let segment = Segment::assemble(id, path, shape.dim, header, &sections, map)?;
        Ok(SalvagedSegment {
            segment,
            shape,
            header_checked,
            damage,
        })
    }

    /// The segment's file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes of the vectors of `rows` in the file (for reports of lost rows).
    pub(crate) fn vector_bytes_range(&self, rows: Range<u32>) -> Range<u64> {
        let row_bytes = self.dim as u64 * 4;
        let at = |row: u32| self.vectors.start as u64 + u64::from(row.min(self.rows)) * row_bytes;
        at(rows.start)..at(rows.end)
    }
}

/// The shape a checked (or rebuilt) header gives, within the limits nDB writes.
fn shape_of(header: &Header, path: &Path) -> Result<Shape> {
    let distance = Distance::from_code(header.distance);
    let dim = header.dim as usize;
    match distance {
        Some(distance) if (1..=DIM_MAX).contains(&dim) && header.row_count <= SEGMENT_ROWS_MAX => {
            Ok(Shape {
                dim,
                distance,
                rows: header.row_count,
            })
        }
        _ => Err(Error::corruption(
            path,
            16,
            format!(
                "segment header gives dimension {dim}, metric {} and {} rows, which nDB never writes",
                header.distance, header.row_count
            ),
        )),
    }
}

/// The shape a header's fields give without its checksum (for a segment whose header is
/// damaged when no manifest says its shape), if it is one nDB could have written.
#[deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)] // decodes bytes from disk
fn unchecked_shape(head: &[u8]) -> Option<Shape> {
    let dim = u32_at(head, 16)? as usize;
    let distance = Distance::from_code(u32_at(head, 20)?)?;
    let rows = u64_at(head, 24)?;
    ((1..=DIM_MAX).contains(&dim) && rows <= SEGMENT_ROWS_MAX).then_some(Shape {
        dim,
        distance,
        rows,
    })
}

/// The header a writer made for a version 2 segment of `shape` (`writer.rs`: vectors at 512,
/// then ids offsets, ids, id index, payload offsets, payloads, row and block checksums, each at
/// the next multiple of 64), with the lengths of the id and payload bytes read from the last
/// entries of their offset sections. The section checksums are unknown (0): nothing checks
/// them; every row is checked by its own checksum.
#[deny(clippy::arithmetic_side_effects)] // sizes from damaged bytes
fn rebuilt_header(
    file: &dyn VfsFile,
    path: &Path,
    id: u64,
    shape: Shape,
    len: u64,
) -> Result<Header> {
    let bad = |reason: String| {
        Error::corruption(
            path,
            0,
            format!("the segment header is damaged and {reason}"),
        )
    };
    let mut layout = Layout {
        end: HEADER_LEN as u64,
        len,
        sections: Vec::with_capacity(SectionKind::ALL.len()),
    };
    let rows = shape.rows;
    let times = |n: u64, each: u64| n.saturating_mul(each);
    let offsets_len = times(rows.saturating_add(1), 8);
    // The last entry of an offsets section: the length of the bytes section after it.
    let last_offset = |section_at: u64| -> Result<u64> {
        let at = section_at.saturating_add(times(rows, 8));
        let mut b = [0u8; 8];
        file.read_exact_at(&mut b, at)
            .map_err(|e| bad(format!("its offsets cannot be read at {at}: {e}")))?;
        Ok(u64::from_le_bytes(b))
    };
    let layout_err = |kind: SectionKind| {
        bad(format!(
            "the {} section cannot lie where the writer puts it in a {len}-byte file",
            kind.name()
        ))
    };
    let add = |layout: &mut Layout, kind: SectionKind, n: u64| {
        layout.add(kind, n).ok_or_else(|| layout_err(kind))
    };
    add(
        &mut layout,
        SectionKind::Vectors,
        times(rows, times(shape.dim as u64, 4)),
    )?;
    let ids_at = add(&mut layout, SectionKind::IdOffsets, offsets_len)?;
    let id_bytes = last_offset(ids_at)?;
    add(&mut layout, SectionKind::IdBytes, id_bytes)?;
    add(&mut layout, SectionKind::IdSorted, times(rows, 4))?;
    let payloads_at = add(&mut layout, SectionKind::PayloadOffsets, offsets_len)?;
    let payload_bytes = last_offset(payloads_at)?;
    add(&mut layout, SectionKind::PayloadBytes, payload_bytes)?;
    add(&mut layout, SectionKind::RowChecksums, times(rows, 4))?;
    let blocks = rows.div_ceil(u64::from(VECTOR_BLOCK_ROWS));
    add(
        &mut layout,
        SectionKind::VectorBlockChecksums,
        times(blocks, 4),
    )?;
    if layout.end != len {
        return Err(bad(format!(
            "its sections, where the writer puts them, end at {} but the file has {len} bytes",
            layout.end
        )));
    }
    Ok(Header {
        version: SEGMENT_VERSION,
        dim: shape.dim as u32,
        distance: shape.distance.code(),
        row_count: rows,
        segment_id: id,
        file_len: len,
        sections: layout.sections,
    })
}

/// Sections placed one after another as the writer places them.
struct Layout {
    end: u64,
    len: u64,
    sections: Vec<Section>,
}

impl Layout {
    /// Place a section of `n` bytes at the next aligned offset; `None` past the file's end.
    fn add(&mut self, kind: SectionKind, n: u64) -> Option<u64> {
        let offset = align_up(self.end.min(self.len));
        let end = offset.checked_add(n).filter(|&end| end <= self.len)?;
        self.end = end;
        self.sections.push(Section {
            kind,
            offset,
            len: n,
            crc: 0,
        });
        Some(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{rewrite_as_version_1, write_sample};
    use super::*;
    use ndb_storage::SimVfs;

    const ROWS: usize = 100;

    fn shape() -> Shape {
        Shape {
            dim: 3,
            distance: Distance::Euclidean,
            rows: ROWS as u64,
        }
    }

    /// The sample segment opened as a collection opens it (not salvaged).
    fn open_normally(vfs: &SimVfs, path: &Path) -> Result<Segment> {
        Segment::open(vfs, path, 7, 3, Distance::Euclidean, ROWS as u64)
    }

    fn rows_read(s: &SalvagedSegment) -> usize {
        (0..s.shape.rows as u32)
            .filter(|&r| s.segment.payload_of(r).is_ok())
            .count()
    }

    #[test]
    fn an_intact_segment_opens_without_damage_and_reads_every_row() {
        let vfs = SimVfs::new(0);
        let path = write_sample(&vfs, ROWS);
        for expected in [Some(shape()), None] {
            let s = Segment::open_for_salvage(&vfs, &path, 7, expected).unwrap();
            assert!(s.damage.is_empty() && s.header_checked);
            assert_eq!(s.shape, shape());
            assert_eq!(rows_read(&s), ROWS);
        }
    }

    #[test]
    fn a_damaged_header_is_rebuilt_from_the_writer_layout_with_or_without_a_manifest() {
        let vfs = SimVfs::new(0);
        let path = write_sample(&vfs, ROWS);
        let sections = open_normally(&vfs, &path).unwrap().header.sections.clone();
        // Damage a section table entry (and so the header checksum): the table is not used.
        vfs.corrupt(&path, 56 + 8, 0x40).unwrap();
        for expected in [Some(shape()), None] {
            let s = Segment::open_for_salvage(&vfs, &path, 7, expected).unwrap();
            assert!(!s.header_checked);
            assert_eq!(s.damage.len(), 1);
            let offsets: Vec<_> = s
                .segment
                .header
                .sections
                .iter()
                .map(|x| (x.kind, x.offset, x.len))
                .collect();
            let want: Vec<_> = sections.iter().map(|x| (x.kind, x.offset, x.len)).collect();
            assert_eq!(offsets, want);
            assert_eq!(rows_read(&s), ROWS);
        }
        // The dimension field itself damaged, and no manifest: nothing says the shape.
        vfs.corrupt(&path, 16, 0xff).unwrap();
        assert!(Segment::open_for_salvage(&vfs, &path, 7, None).is_err());
        assert_eq!(
            rows_read(&Segment::open_for_salvage(&vfs, &path, 7, Some(shape())).unwrap()),
            ROWS
        );
    }

    #[test]
    fn a_damaged_id_section_fails_only_the_rows_it_touches() {
        let vfs = SimVfs::new(0);
        let path = write_sample(&vfs, ROWS);
        let ids = open_normally(&vfs, &path).unwrap().id_bytes.clone();
        vfs.corrupt(&path, ids.start as u64 + 1, 0x01).unwrap();
        assert!(open_normally(&vfs, &path).is_err());
        let s = Segment::open_for_salvage(&vfs, &path, 7, Some(shape())).unwrap();
        assert_eq!(s.damage.len(), 1, "{:?}", s.damage);
        assert!(s.damage[0].1.to_string().contains("ids section checksum"));
        assert_eq!(rows_read(&s), ROWS - 1);
        assert!(s.segment.payload_of(0).is_err());
    }

    /// A version 1 segment (no row checksums) is salvaged whole, or not at all.
    #[test]
    fn a_version_1_segment_is_read_only_when_every_section_checksum_matches() {
        let vfs = SimVfs::new(0);
        let path = write_sample(&vfs, ROWS);
        let vectors = open_normally(&vfs, &path).unwrap().vectors.clone();
        rewrite_as_version_1(&vfs, &path, true);
        let s = Segment::open_for_salvage(&vfs, &path, 7, Some(shape())).unwrap();
        assert!(s.damage.is_empty());
        assert_eq!(rows_read(&s), ROWS);
        drop(s);
        vfs.corrupt(&path, vectors.start as u64 + 5, 0x01).unwrap();
        let err = Segment::open_for_salvage(&vfs, &path, 7, Some(shape())).unwrap_err();
        assert!(
            err.to_string().contains("vectors section checksum"),
            "{err}"
        );
    }

    #[test]
    fn truncation_and_a_wrong_shape_lose_the_segment_without_a_panic() {
        let vfs = SimVfs::new(0);
        let path = write_sample(&vfs, ROWS);
        let len = vfs.volatile_contents(&path).unwrap().len() as u64;
        let wrong = Shape {
            rows: 99,
            ..shape()
        };
        assert!(Segment::open_for_salvage(&vfs, &path, 7, Some(wrong)).is_err());
        assert!(Segment::open_for_salvage(&vfs, &path, 8, None).is_err());
        for cut in [0, 100, 512, len / 2, len - 1] {
            vfs.truncate_file(&path, cut).unwrap();
            for expected in [Some(shape()), None] {
                assert!(Segment::open_for_salvage(&vfs, &path, 7, expected).is_err());
            }
        }
    }
}
