//! Segments: immutable, memory-mapped files of vectors, ids and payloads.
//!
//! A segment is written once (by a flush or a compaction), fsynced, and only then named by the
//! collection manifest; from then on it is never modified, only unlinked when no manifest names
//! it. Which of its rows are deleted lives in a separate deletion file ([`deletes`]).

mod checks;
pub(crate) mod codes;
pub(crate) mod deletes;
mod format;
pub(crate) mod index;
mod salvage;
mod writer;

pub(crate) use salvage::{SalvagedSegment, Shape};
pub(crate) use writer::{write_segment, BuildVectors, RowRef, RowVectors};

use crate::codec::{u32_at, u64_at};
use crate::config::Distance;
use crate::error::IoContext;
use crate::{Error, Result};
use checks::RowChecks;
use format::{Header, Section, SectionKind, HEADER_LEN, ROW_CHECKSUMS_VERSION};
use ndb_storage::{Mapping, OpenMode, Vfs};
use std::cmp::Ordering;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[cfg(target_endian = "big")]
compile_error!("nDB maps little-endian f32 data directly and supports little-endian targets only");

/// File name of segment `id`.
pub(crate) fn segment_file_name(id: u64) -> String {
    format!("{id:06}.ndb")
}

/// An open, mapped segment.
#[derive(Debug)]
pub(crate) struct Segment {
    id: u64,
    path: PathBuf,
    map: Mapping,
    dim: usize,
    rows: u32,
    header: Header,
    vectors: Range<usize>,
    id_offsets: Range<usize>,
    id_bytes: Range<usize>,
    id_sorted: Range<usize>,
    payload_offsets: Range<usize>,
    payload_bytes: Range<usize>,
    checks: RowChecks,
}

impl Segment {
    /// Open and check segment `id` at `path`: header checksum, file length, section bounds and
    /// the checksums of the id, offset and (version 2) row and vector block checksum sections
    /// are verified before the file is mapped or used. The bulk sections (vectors, payloads)
    /// are checked row by row and block by block when read (module `checks`), and in full by
    /// [`Segment::verify`].
    pub fn open(
        vfs: &dyn Vfs,
        path: &Path,
        id: u64,
        dim: usize,
        distance: Distance,
        expected_rows: u64,
    ) -> Result<Self> {
        let file = vfs.open(path, OpenMode::Read).at(path)?;
        let len = file.len().at(path)?;
        let mut head = vec![0u8; HEADER_LEN.min(len as usize)];
        file.read_exact_at(&mut head, 0).at(path)?;
        let header = Header::decode(&head, path, len)?;
        check_header(&header, path, id, dim, distance, expected_rows)?;
        let sections = Sections::locate(&header, path, dim)?;
        let map = file.map(len).at(path)?;
        for s in sections.checked_at_open() {
            check_section(&map, s, path)?;
        }
        Self::assemble(id, path, dim, header, &sections, map)
    }

    /// The segment over `map`, whose `sections` the caller located (and checked as far as it
    /// wants to).
    fn assemble(
        id: u64,
        path: &Path,
        dim: usize,
        header: Header,
        sections: &Sections,
        map: Mapping,
    ) -> Result<Self> {
        let rows = header.row_count;
        let range = |s: Section| s.offset as usize..(s.offset + s.len) as usize;
        let checks = match sections.checksums {
            Some((r, b)) => RowChecks::new(range(r), range(b), rows as u32),
            None => RowChecks::default(),
        };
        let seg = Self {
            id,
            path: path.to_path_buf(),
            dim,
            rows: rows as u32,
            vectors: range(sections.vectors),
            id_offsets: range(sections.id_offsets),
            id_bytes: range(sections.id_bytes),
            id_sorted: range(sections.id_sorted),
            payload_offsets: range(sections.payload_offsets),
            payload_bytes: range(sections.payload_bytes),
            checks,
            header,
            map,
        };
        if bytemuck::try_cast_slice::<u8, f32>(&seg.map[seg.vectors.clone()]).is_err() {
            return Err(seg.corrupt(
                sections.vectors.offset,
                "vector section is not 4-byte aligned in memory".into(),
            ));
        }
        Ok(seg)
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn rows(&self) -> u32 {
        self.rows
    }

    pub fn file_len(&self) -> u64 {
        self.header.file_len
    }

    /// Tell the kernel this segment is read at random, without read-ahead: when searches run
    /// on quantized codes, its vectors are read only to rescore a few candidates.
    pub fn advise_random(&self) {
        self.map.advise_random();
    }

    /// All vectors, row-major (`rows × dim`), straight from the mapping, unchecked (graph
    /// builds; answers use [`Segment::checked_vectors`] or [`Segment::graph_vectors`]).
    pub fn vectors(&self) -> &[f32] {
        // Alignment and length were checked in `open`; the mapping never changes.
        bytemuck::cast_slice(&self.map[self.vectors.clone()])
    }

    /// The vector of `row` (`row < rows`), unchecked: a caller that returns the row reads its
    /// payload too ([`Segment::payload_of`]), which checks the row's vector; scoring without
    /// returning uses [`Segment::checked_vector`].
    pub fn vector(&self, row: u32) -> &[f32] {
        let start = row as usize * self.dim;
        &self.vectors()[start..start + self.dim]
    }

    fn slice_of(
        &self,
        offsets: &Range<usize>,
        bytes: &Range<usize>,
        row: u32,
        what: &str,
    ) -> Result<&[u8]> {
        let at = offsets.start + row as usize * 8;
        let (Some(start), Some(end)) = (u64_at(&self.map, at), u64_at(&self.map, at + 8)) else {
            return Err(self.corrupt(
                at as u64,
                format!("{what} offset of row {row} out of bounds"),
            ));
        };
        let len = (bytes.end - bytes.start) as u64;
        if start > end || end > len {
            return Err(self.corrupt(
                at as u64,
                format!("{what} range [{start}, {end}) of row {row} is invalid"),
            ));
        }
        Ok(&self.map[bytes.start + start as usize..bytes.start + end as usize])
    }

    /// The id of `row`.
    pub fn id_of(&self, row: u32) -> Result<&str> {
        let bytes = self.slice_of(&self.id_offsets, &self.id_bytes, row, "id")?;
        std::str::from_utf8(bytes).map_err(|_| {
            self.corrupt(
                self.id_bytes.start as u64,
                format!("id of row {row} is not UTF-8"),
            )
        })
    }

    /// The serialized payload of `row` (empty = none), after checking the row's checksum over
    /// its id, payload and vector (version 2 segments): damage is `Error::Corruption` naming
    /// the row.
    pub fn payload_of(&self, row: u32) -> Result<&[u8]> {
        self.payload_checked(row, false)
    }

    /// The payload of `row`, its row checksum checked unless it matched before (or `force`).
    pub(super) fn payload_checked(&self, row: u32, force: bool) -> Result<&[u8]> {
        let payload = self.slice_of(&self.payload_offsets, &self.payload_bytes, row, "payload")?;
        let id = self.slice_of(&self.id_offsets, &self.id_bytes, row, "id")?;
        self.check_row(row, id, payload, force)?;
        Ok(payload)
    }

    /// The decoded payload of `row`.
    pub fn payload_value(&self, row: u32) -> Result<Option<serde_json::Value>> {
        let bytes = self.payload_of(row)?;
        crate::document::decode_payload(bytes).map_err(|e| {
            self.corrupt(
                self.payload_bytes.start as u64,
                format!("payload of row {row} is not valid JSON: {e}"),
            )
        })
    }

    /// The payload of `row` as stored, JSON text (`None`: no payload), unparsed.
    pub fn payload_json(&self, row: u32) -> Result<Option<&str>> {
        let bytes = self.payload_of(row)?;
        if bytes.is_empty() {
            return Ok(None);
        }
        std::str::from_utf8(bytes).map(Some).map_err(|e| {
            self.corrupt(
                self.payload_bytes.start as u64,
                format!("payload of row {row} is not UTF-8 JSON: {e}"),
            )
        })
    }

    /// The row holding `id`, by binary search over the id index.
    pub fn find(&self, id: &str) -> Result<Option<u32>> {
        let target = id.as_bytes();
        let (mut lo, mut hi) = (0u32, self.rows);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let at = self.id_sorted.start + mid as usize * 4;
            let row = u32_at(&self.map, at)
                .filter(|&r| r < self.rows)
                .ok_or_else(|| {
                    self.corrupt(at as u64, format!("id index entry {mid} is not a row"))
                })?;
            match self.id_of(row)?.as_bytes().cmp(target) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(Some(row)),
            }
        }
        Ok(None)
    }

    /// Check every section, row and vector block checksum and the structure of ids, the id
    /// index and payloads.
    pub fn verify(&self) -> Result<()> {
        // Rows and blocks first: their errors name the damaged row.
        self.verify_rows()?;
        for s in &self.header.sections {
            check_section(&self.map, *s, &self.path)?;
        }
        let mut prev: Option<&str> = None;
        for i in 0..self.rows {
            let at = self.id_sorted.start + i as usize * 4;
            let row = u32_at(&self.map, at)
                .filter(|&r| r < self.rows)
                .ok_or_else(|| {
                    self.corrupt(at as u64, format!("id index entry {i} is not a row"))
                })?;
            let id = self.id_of(row)?;
            if id.is_empty() || prev.is_some_and(|p| p >= id) {
                return Err(self.corrupt(
                    at as u64,
                    format!("id index is not strictly ordered at entry {i}"),
                ));
            }
            prev = Some(id);
            match self.payload_value(row)? {
                None | Some(serde_json::Value::Object(_)) => {}
                Some(_) => {
                    return Err(self.corrupt(
                        self.payload_bytes.start as u64,
                        format!("payload of row {row} is not an object"),
                    ))
                }
            }
        }
        if let Some(i) = self.vectors().iter().position(|x| !x.is_finite()) {
            return Err(self.corrupt(
                self.vectors.start as u64 + i as u64 * 4,
                "vector component is not finite".into(),
            ));
        }
        Ok(())
    }

    fn corrupt(&self, offset: u64, reason: String) -> Error {
        Error::corruption(&self.path, offset, reason)
    }
}

fn check_section(map: &[u8], s: Section, path: &Path) -> Result<()> {
    let bytes = &map[s.offset as usize..(s.offset + s.len) as usize];
    let actual = crate::codec::crc32c(bytes);
    if actual != s.crc {
        return Err(Error::corruption(
            path,
            s.offset,
            format!(
                "{} section checksum mismatch (stored {:#010x}, computed {actual:#010x})",
                s.kind.name(),
                s.crc
            ),
        ));
    }
    Ok(())
}

/// Check that a segment's header is the one the manifest expects.
fn check_header(
    header: &Header,
    path: &Path,
    id: u64,
    dim: usize,
    distance: Distance,
    expected_rows: u64,
) -> Result<()> {
    let bad = |offset: u64, reason: String| Err(Error::corruption(path, offset, reason));
    if header.segment_id != id {
        let found = header.segment_id;
        return bad(
            32,
            format!("segment id {found} but the manifest expects {id}"),
        );
    }
    if header.dim as usize != dim || header.distance != distance.code() {
        return bad(
            16,
            format!(
                "segment has dimension {} and metric {}, the collection {dim} and {}",
                header.dim,
                header.distance,
                distance.code()
            ),
        );
    }
    if header.row_count != expected_rows {
        let found = header.row_count;
        return bad(
            24,
            format!("segment has {found} rows, the manifest says {expected_rows}"),
        );
    }
    Ok(())
}

/// Where a segment's sections are, each checked for presence and (where it is fixed) size.
struct Sections {
    vectors: Section,
    id_offsets: Section,
    id_bytes: Section,
    id_sorted: Section,
    payload_offsets: Section,
    payload_bytes: Section,
    /// Row and vector block checksums (format 2 and later).
    checksums: Option<(Section, Section)>,
}

impl Sections {
    /// The sections whose checksums `open` verifies: ids, offsets, and the row and vector block
    /// checksums themselves. The bulk sections (vectors, payloads) are checked per row and per
    /// block when read (module `checks`).
    fn checked_at_open(&self) -> impl Iterator<Item = Section> {
        [
            self.id_offsets,
            self.id_bytes,
            self.id_sorted,
            self.payload_offsets,
        ]
        .into_iter()
        .chain(self.checksums.into_iter().flat_map(|(r, b)| [r, b]))
    }

    fn locate(header: &Header, path: &Path, dim: usize) -> Result<Self> {
        let bad = |offset: u64, reason: String| Error::corruption(path, offset, reason);
        let expect = |kind: SectionKind, len: Option<u64>| -> Result<Section> {
            let s = header
                .section(kind)
                .ok_or_else(|| bad(56, format!("section {} is missing", kind.name())))?;
            match len {
                Some(want) if s.len != want => Err(bad(
                    s.offset,
                    format!(
                        "section {} is {} bytes, expected {want}",
                        kind.name(),
                        s.len
                    ),
                )),
                _ => Ok(s),
            }
        };
        let rows = header.row_count;
        let times = |n: u64, each: u64| n.saturating_mul(each);
        let offsets_len = times(rows.saturating_add(1), 8);
        let checksums = match header.version >= ROW_CHECKSUMS_VERSION {
            true => Some((
                expect(SectionKind::RowChecksums, Some(times(rows, 4)))?,
                expect(
                    SectionKind::VectorBlockChecksums,
                    Some(times(checks::block_count(rows), 4)),
                )?,
            )),
            false => None,
        };
        Ok(Self {
            vectors: expect(SectionKind::Vectors, Some(times(rows, dim as u64 * 4)))?,
            id_offsets: expect(SectionKind::IdOffsets, Some(offsets_len))?,
            id_bytes: expect(SectionKind::IdBytes, None)?,
            id_sorted: expect(SectionKind::IdSorted, Some(times(rows, 4)))?,
            payload_offsets: expect(SectionKind::PayloadOffsets, Some(offsets_len))?,
            payload_bytes: expect(SectionKind::PayloadBytes, None)?,
            checksums,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndb_storage::SimVfs;

    pub(super) fn write_sample(vfs: &SimVfs, n: usize) -> PathBuf {
        let path = PathBuf::from("/s/000007.ndb");
        vfs.create_dir_all(Path::new("/s")).unwrap();
        let ids: Vec<String> = (0..n)
            .map(|i| format!("id-{}", (i * 7919) % 1000))
            .collect();
        let vecs: Vec<Vec<f32>> = (0..n).map(|i| vec![i as f32, -(i as f32), 0.5]).collect();
        let payloads: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                if i % 2 == 0 {
                    format!("{{\"i\":{i}}}").into_bytes()
                } else {
                    vec![]
                }
            })
            .collect();
        let rows: Vec<RowRef> = (0..n)
            .map(|i| RowRef {
                id: &ids[i],
                vector: &vecs[i],
                payload: &payloads[i],
            })
            .collect();
        write_segment(vfs, &path, 7, 3, Distance::Euclidean, &rows).unwrap();
        path
    }

    /// Rewrite the header of the segment file at `path` as format version 1, with its checksum
    /// made again. With `drop_checksum_sections` the two checksum sections (last in the table)
    /// leave the table, their bytes staying unreferenced: a true version 1 file.
    pub(super) fn rewrite_as_version_1(vfs: &SimVfs, path: &Path, drop_checksum_sections: bool) {
        let mut bytes = vfs.volatile_contents(path).unwrap();
        if drop_checksum_sections {
            let count = u32::from_le_bytes(bytes[48..52].try_into().unwrap());
            assert_eq!(count, 8);
            bytes[48..52].copy_from_slice(&6u32.to_le_bytes());
            bytes[56 + 6 * 32..56 + 8 * 32].fill(0);
        }
        bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
        let crc = crate::codec::crc32c(&bytes[..504]);
        bytes[504..508].copy_from_slice(&crc.to_le_bytes());
        let f = vfs.open(path, ndb_storage::OpenMode::ReadWrite).unwrap();
        f.write_all_at(&bytes, 0).unwrap();
    }

    #[test]
    fn write_open_read_back() {
        let vfs = SimVfs::new(0);
        let path = write_sample(&vfs, 100);
        let seg = Segment::open(&vfs, &path, 7, 3, Distance::Euclidean, 100).unwrap();
        seg.verify().unwrap();
        assert_eq!(seg.vectors().as_ptr() as usize % 64, 0);
        for row in 0..100u32 {
            let id = seg.id_of(row).unwrap().to_string();
            assert_eq!(seg.find(&id).unwrap(), Some(row));
            assert_eq!(seg.vector(row), &[row as f32, -(row as f32), 0.5]);
            let p = seg.payload_value(row).unwrap();
            assert_eq!(p.is_some(), row % 2 == 0);
        }
        assert_eq!(seg.find("nope").unwrap(), None);
        assert!(Segment::open(&vfs, &path, 8, 3, Distance::Euclidean, 100).is_err());
        assert!(Segment::open(&vfs, &path, 7, 4, Distance::Euclidean, 100).is_err());
        assert!(Segment::open(&vfs, &path, 7, 3, Distance::Euclidean, 99).is_err());
    }

    #[test]
    fn empty_segment_is_valid() {
        let vfs = SimVfs::new(0);
        let path = write_sample(&vfs, 0);
        let seg = Segment::open(&vfs, &path, 7, 3, Distance::Euclidean, 0).unwrap();
        seg.verify().unwrap();
        assert_eq!(seg.find("x").unwrap(), None);
    }

    #[test]
    fn every_byte_flip_is_detected_by_open_or_verify_and_truncation_by_open() {
        let vfs = SimVfs::new(0);
        let path = write_sample(&vfs, 20);
        let len = vfs.volatile_contents(&path).unwrap().len();
        for offset in 0..len {
            vfs.corrupt(&path, offset as u64, 0x04).unwrap();
            let res =
                Segment::open(&vfs, &path, 7, 3, Distance::Euclidean, 20).and_then(|s| s.verify());
            let padding = res.is_ok();
            if padding {
                // Only zero padding between sections and reserved header bytes are unchecked.
                let bytes = vfs.volatile_contents(&path).unwrap();
                assert_eq!(bytes[offset], 0x04, "offset {offset} changed undetected");
            } else {
                assert!(matches!(
                    res.unwrap_err(),
                    Error::Corruption { .. } | Error::UnsupportedFormat { .. }
                ));
            }
            vfs.corrupt(&path, offset as u64, 0x04).unwrap();
        }
        for cut in [0, 10, 511, 512, len as u64 - 1] {
            let full = vfs.volatile_contents(&path).unwrap();
            vfs.truncate_file(&path, cut).unwrap();
            let err = Segment::open(&vfs, &path, 7, 3, Distance::Euclidean, 20).unwrap_err();
            assert!(matches!(err, Error::Corruption { .. }), "{err}");
            vfs.truncate_file(&path, full.len() as u64).unwrap();
            let f = vfs.open(&path, OpenMode::ReadWrite).unwrap();
            f.write_all_at(&full, 0).unwrap();
        }
    }
}
