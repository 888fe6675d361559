//! Salvaging segments: every row that passes its row checksum, with its segment's deletion
//! state where that can be read, and a check of the graph and payload index files.

use super::report::{CollectionRecovery, Damage, FileKind, FileRecovery};
use super::source::{file_len, relative};
use super::{reason_of, Winner};
use crate::collection::SEGMENTS_DIR_NAME;
use crate::payload_index::payload_index_file_name;
use crate::segment::codes::{codes_file_name, SegmentCodes};
use crate::segment::deletes::{self, deletes_file_name};
use crate::segment::index::{graph_metric, index_file_name, SegmentIndex};
use crate::segment::{segment_file_name, SalvagedSegment, Segment, Shape};
use crate::{Document, Result};
use ndb_storage::Vfs;
use roaring::RoaringBitmap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One segment to read, as the manifest names it or as the directory shows it.
#[derive(Debug)]
pub(super) struct SegmentPlan {
    pub id: u64,
    /// The shape the manifest gives (`None`: the manifest is lost).
    pub expected: Option<Shape>,
    pub deletes: DeletesPlan,
    /// Generations of the graph and payload index files the manifest names.
    pub graph: Option<u64>,
    pub payload_index: Option<u64>,
    /// Generation of the code file the manifest names.
    pub codes: Option<u64>,
}

/// Where a segment's deletion state is.
#[derive(Debug)]
pub(super) enum DeletesPlan {
    /// The manifest says no row is deleted.
    NoneNamed,
    /// The manifest names this generation, holding `count` rows.
    Named { gen: u64, count: u64 },
    /// The manifest is lost: the generations present, newest first (bitmaps only grow, so the
    /// newest is the most complete; an empty list means no row was deleted, or its file lost).
    Newest(Vec<u64>),
}

/// What is known of which rows of a segment are deleted.
#[derive(Debug)]
pub(super) enum Deletions {
    /// Exactly these rows.
    Known(RoaringBitmap),
    /// At least these rows (an older generation was read; later deletions are unknown).
    AtLeast(RoaringBitmap),
    /// Unknown: any row may have been deleted.
    Unknown,
}

/// A row's state as far as the deletion state tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RowState {
    Live,
    Deleted,
    /// Its deletion state could not be read.
    Unproven,
}

impl Deletions {
    fn state(&self, row: u32) -> RowState {
        match self {
            Deletions::Known(bm) if bm.contains(row) => RowState::Deleted,
            Deletions::Known(_) => RowState::Live,
            Deletions::AtLeast(bm) if bm.contains(row) => RowState::Deleted,
            Deletions::AtLeast(_) | Deletions::Unknown => RowState::Unproven,
        }
    }
}

/// A segment that could be opened, with its deletion state.
#[derive(Debug)]
pub(super) struct OpenSegment {
    pub id: u64,
    pub opened: SalvagedSegment,
    pub deletions: Deletions,
    /// Index of the segment's file in the collection report.
    pub file: usize,
}

/// Open every planned segment of the collection in `dir` (of the database `db`), read its
/// deletion state and check its graph and payload index files, reporting each file. A segment
/// that cannot be opened is reported with all its rows lost.
pub(super) fn open_all(
    vfs: &dyn Vfs,
    db: &Path,
    dir: &Path,
    plans: Vec<SegmentPlan>,
    report: &mut CollectionRecovery,
) -> Vec<OpenSegment> {
    let seg_dir = dir.join(SEGMENTS_DIR_NAME);
    let mut out = Vec::with_capacity(plans.len());
    for plan in plans {
        let path = seg_dir.join(segment_file_name(plan.id));
        let mut file = FileRecovery::new(relative(db, &path), FileKind::Segment);
        let opened = match Segment::open_for_salvage(vfs, &path, plan.id, plan.expected) {
            Ok(opened) => opened,
            Err(e) => {
                lose_segment(&mut file, plan.expected.map(|s| s.rows), vfs, &path, &e);
                report.files.push(file);
                continue;
            }
        };
        for (bytes, e) in &opened.damage {
            let note = if opened.header_checked {
                "each row is still checked by its own checksum"
            } else {
                "the sections were located where the writer puts them; each row is still checked by its own checksum"
            };
            file.damage.push(Damage::new(
                bytes.clone(),
                format!("{}; {note}", reason_of(e)),
            ));
        }
        report.files.push(file);
        let file = report.files.len() - 1;
        let deletions = read_deletions(vfs, db, &seg_dir, &plan, opened.shape.rows, report);
        check_indexes(vfs, db, &seg_dir, &plan, &opened, report);
        out.push(OpenSegment {
            id: plan.id,
            opened,
            deletions,
            file,
        });
    }
    out
}

/// Report segment `path` as lost whole, with `rows` rows if known.
pub(super) fn lose_segment(
    file: &mut FileRecovery,
    rows: Option<u64>,
    vfs: &dyn Vfs,
    path: &Path,
    e: &crate::Error,
) {
    let mut damage = Damage::new(
        0..file_len(vfs, path),
        format!("the segment cannot be read: {}", reason_of(e)),
    );
    damage.rows = rows.map(|n| 0..n);
    file.rows_lost = rows.unwrap_or(0);
    file.damage.push(damage);
}

/// The deletion state of segment `plan.id` (of `rows` rows), each file read reported.
fn read_deletions(
    vfs: &dyn Vfs,
    db: &Path,
    seg_dir: &Path,
    plan: &SegmentPlan,
    rows: u64,
    report: &mut CollectionRecovery,
) -> Deletions {
    let id = plan.id;
    let mut read = |gen: u64, count: Option<u64>| -> Option<RoaringBitmap> {
        let path = seg_dir.join(deletes_file_name(id, gen));
        let mut file = FileRecovery::new(relative(db, &path), FileKind::Deletions);
        let bitmap = deletes::read(vfs, &path, id, rows).and_then(|bm| match count {
            Some(count) if bm.len() != count => Err(crate::Error::corruption(
                &path,
                24,
                format!(
                    "deletion file holds {} rows, the manifest says {count}",
                    bm.len()
                ),
            )),
            _ => Ok(bm),
        });
        let bitmap = bitmap
            .map_err(|e| {
                file.damage.push(Damage::new(
                    0..file_len(vfs, &path),
                    format!(
                        "{}: which rows of segment {id} were deleted is unknown, so documents deleted or replaced there may reappear",
                        reason_of(&e)
                    ),
                ))
            })
            .ok();
        report.files.push(file);
        bitmap
    };
    match &plan.deletes {
        DeletesPlan::NoneNamed => Deletions::Known(RoaringBitmap::new()),
        DeletesPlan::Named { gen, count } => {
            read(*gen, Some(*count)).map_or(Deletions::Unknown, Deletions::Known)
        }
        DeletesPlan::Newest(gens) if gens.is_empty() => Deletions::Known(RoaringBitmap::new()),
        DeletesPlan::Newest(gens) => {
            for (i, &gen) in gens.iter().enumerate() {
                if let Some(bm) = read(gen, None) {
                    return if i == 0 {
                        Deletions::Known(bm)
                    } else {
                        Deletions::AtLeast(bm)
                    };
                }
            }
            Deletions::Unknown
        }
    }
}

/// Check the graph and payload index files the manifest names for `opened` (both are derived
/// data: damage there loses nothing, the new collection builds its own).
fn check_indexes(
    vfs: &dyn Vfs,
    db: &Path,
    seg_dir: &Path,
    plan: &SegmentPlan,
    opened: &SalvagedSegment,
    report: &mut CollectionRecovery,
) {
    let (id, rows) = (plan.id, opened.shape.rows);
    let mut check = |path: PathBuf, kind: FileKind, result: Result<()>| {
        let mut file = FileRecovery::new(relative(db, &path), kind);
        if let Err(e) = result {
            file.damage.push(Damage::new(
                0..file_len(vfs, &path),
                format!(
                    "{}; nothing is lost: the new collection builds its own",
                    reason_of(&e)
                ),
            ));
        }
        report.files.push(file);
    };
    if let Some(gen) = plan.graph {
        let path = seg_dir.join(index_file_name(id, gen));
        let metric = graph_metric(opened.shape.distance);
        let result = u32::try_from(rows)
            .map_err(|_| crate::Error::corruption(&path, 0, "too many rows"))
            .and_then(|rows| SegmentIndex::open(vfs, &path, id, rows, metric))
            .and_then(|index| index.verify());
        check(path, FileKind::Graph, result);
    }
    if let Some(gen) = plan.payload_index {
        let path = seg_dir.join(payload_index_file_name(id, gen));
        let result = crate::payload_index::read_file(vfs, &path, id, rows).map(|_| ());
        check(path, FileKind::PayloadIndex, result);
    }
    if let Some(gen) = plan.codes {
        let path = seg_dir.join(codes_file_name(id, gen));
        let result = u32::try_from(rows)
            .map_err(|_| crate::Error::corruption(&path, 0, "too many rows"))
            .and_then(|rows| SegmentCodes::open(vfs, &path, id, rows, opened.shape.dim))
            .map(|_| ());
        check(path, FileKind::Codes, result);
    }
}

/// Read every row of `segments` that is not known to be deleted, checking it; offer each intact
/// one to `winners` (segments in id order, so a later one is newer), and report lost rows.
pub(super) fn read_rows(
    segments: &[OpenSegment],
    winners: &mut HashMap<String, Winner>,
    report: &mut CollectionRecovery,
) {
    for (index, seg) in segments.iter().enumerate() {
        let segment = &seg.opened.segment;
        let file = &mut report.files[seg.file];
        let mut run: Option<(Damage, u32)> = None;
        for row in 0..segment.rows() {
            let state = seg.deletions.state(row);
            if state == RowState::Deleted {
                flush_run(&mut run, file);
                continue;
            }
            match check_row(segment, row) {
                Ok(id) => {
                    flush_run(&mut run, file);
                    file.documents_read += 1;
                    offer(winners, id, index, row, state == RowState::Live);
                }
                Err(e) => {
                    file.rows_lost += 1;
                    let id = segment.id_of(row).ok().map(str::to_owned);
                    match &mut run {
                        Some((d, n))
                            if d.rows.as_ref().is_some_and(|r| r.end == u64::from(row)) =>
                        {
                            d.rows = d.rows.clone().map(|r| r.start..u64::from(row) + 1);
                            d.bytes.end = segment.vector_bytes_range(row..row + 1).end;
                            d.ids.extend(id);
                            *n += 1;
                        }
                        _ => {
                            flush_run(&mut run, file);
                            let mut d = Damage::new(
                                segment.vector_bytes_range(row..row + 1),
                                reason_of(&e),
                            );
                            d.rows = Some(u64::from(row)..u64::from(row) + 1);
                            d.ids.extend(id);
                            run = Some((d, 1));
                        }
                    }
                }
            }
        }
        flush_run(&mut run, file);
    }
}

/// Close a run of consecutive lost rows into one damage entry.
fn flush_run(run: &mut Option<(Damage, u32)>, file: &mut FileRecovery) {
    if let Some((mut d, n)) = run.take() {
        match n {
            0 | 1 => {}
            2 => d.reason = format!("{} (and the next row fails its check too)", d.reason),
            _ => {
                let more = n - 1;
                d.reason = format!(
                    "{} (and the {more} rows after it fail theirs too)",
                    d.reason
                );
            }
        }
        file.damage.push(d);
    }
}

/// Offer the intact row `row` of segment `segment` holding `id`: a row known to be live beats
/// one whose deletion state is unknown; otherwise the newer segment wins.
fn offer(
    winners: &mut HashMap<String, Winner>,
    id: String,
    segment: usize,
    row: u32,
    certain: bool,
) {
    let keep_old = matches!(
        winners.get(&id),
        Some(Winner::Row { certain: true, .. }) if !certain
    );
    if !keep_old {
        winners.insert(
            id,
            Winner::Row {
                segment,
                row,
                certain,
            },
        );
    }
}

/// Row `row` of `segment` as a document, with the length of its serialized payload, after its
/// row checksum matched (version 2; a version 1 segment is opened for salvage only when all
/// its section checksums matched).
pub(super) fn read_row(segment: &Segment, row: u32) -> Result<(Document, usize)> {
    let payload = segment.payload_value(row)?;
    let payload_bytes = segment.payload_of(row)?.len();
    let id = segment.id_of(row)?.to_owned();
    let doc = Document {
        id,
        vector: segment.vector(row).to_vec(),
        payload,
    };
    Ok((doc, payload_bytes))
}

/// The id of row `row` of `segment`, after its row checksum matched and its payload parsed.
fn check_row(segment: &Segment, row: u32) -> Result<String> {
    segment.payload_value(row)?;
    Ok(segment.id_of(row)?.to_owned())
}
