//! Reading what can be read of one collection: its manifest (or what stands in for it),
//! segments, deletion files and WAL, resolved to the newest readable version of every document
//! (`load.rs` writes them into the new database).

use super::report::{CollectionRecovery, Damage, FileKind, FileRecovery};
use super::segments::{self, DeletesPlan, OpenSegment, SegmentPlan};
use super::source::{
    file_len, parse_segment_name, parse_sidecar_name, parse_wal_name, read_if_exists, relative,
};
use super::wal::{self, Event};
use super::{reason_of, Winner};
use crate::collection::SEGMENTS_DIR_NAME;
use crate::document::PreparedDoc;
use crate::error::IoContext;
use crate::manifest::{self, CollectionManifest, MANIFEST_FILE};
use crate::payload_index::{payload_index_file_name, PayloadIndexKind};
use crate::segment::codes::codes_file_name;
use crate::segment::deletes::deletes_file_name;
use crate::segment::index::index_file_name;
use crate::segment::{segment_file_name, Shape};
use crate::wal::{wal_file_name, WalOp};
use crate::{CollectionConfig, Distance, Error, Result};
use ndb_storage::Vfs;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// How the new collection is created.
#[derive(Debug)]
pub(super) struct Settings {
    pub config: CollectionConfig,
    pub index_enabled: bool,
    pub payload_indexes: Vec<(String, PayloadIndexKind)>,
}

/// Everything read of one collection, ready to be written.
#[derive(Debug)]
pub(super) struct Salvaged {
    pub report: CollectionRecovery,
    /// `None`: nothing says the dimension, so no collection can be created.
    pub settings: Option<Settings>,
    pub segments: Vec<OpenSegment>,
    /// Documents of WAL put records, in log order (`Winner::Wal` indexes them).
    pub wal_docs: Vec<PreparedDoc>,
    /// The newest readable version of every live document.
    pub winners: HashMap<String, Winner>,
    /// Payloads (stored form) that WAL payload updates gave documents whose newest version is
    /// a segment row.
    pub payloads: HashMap<String, Vec<u8>>,
}

/// A WAL file read into memory.
struct WalFile {
    gen: u64,
    path: PathBuf,
    bytes: Vec<u8>,
    /// Index of its report in the collection report.
    file: usize,
}

/// The note of a collection whose manifest could not be read.
const MANIFEST_LOST: &str = "the collection manifest could not be read, so every segment file \
in segments/ was read (its deletion state from its newest deletion file), every WAL record was \
applied in sequence order, and where two segments hold the same id the one with the higher \
segment id wins. A merge that a crash interrupted before the manifest was lost can leave a \
segment that holds older versions: check documents that were updated shortly before the damage";

/// Read what can be read of the collection `name` of the database `db`.
pub(super) fn salvage(vfs: &dyn Vfs, db: &Path, name: &str) -> Result<Salvaged> {
    let dir = db.join(name);
    let mut report = CollectionRecovery {
        name: name.to_string(),
        documents_recovered: 0,
        documents_refused: 0,
        config_from_manifest: false,
        files: Vec::new(),
        notes: Vec::new(),
    };
    let manifest = read_manifest(vfs, db, &dir, &mut report);
    report.config_from_manifest = manifest.is_some();
    let plans = match &manifest {
        Some(m) => planned(vfs, &dir, m, &mut report)?,
        None => listed(vfs, &dir)?,
    };
    let mut segments = segments::open_all(vfs, db, &dir, plans, &mut report);
    let shape = match &manifest {
        Some(m) => Some((m.config.dim(), m.config.distance())),
        None => agree_on_shape(vfs, &mut segments, &mut report),
    };
    let wal_files = read_wal_files(vfs, db, &dir, manifest.as_ref(), &mut report)?;
    let wal_dim = || wal_files.iter().find_map(|w| wal::infer_dim(&w.bytes));
    let Some(dim) = shape.map(|s| s.0).or_else(wal_dim) else {
        report.notes.push(
            "nothing readable says the vectors' dimension (no manifest, no segment that opens, \
             no WAL record that decodes): no collection was created"
                .to_string(),
        );
        return Ok(Salvaged {
            report,
            settings: None,
            segments,
            wal_docs: Vec::new(),
            winners: HashMap::new(),
            payloads: HashMap::new(),
        });
    };
    let mut winners = HashMap::new();
    segments::read_rows(&segments, &mut winners, &mut report);
    let flushed = manifest.as_ref().map(|m| m.flushed_seq);
    let mut payloads = HashMap::new();
    let newest = Newest {
        winners: &mut winners,
        payloads: &mut payloads,
    };
    let wal_docs = apply_wal(&wal_files, dim, flushed, newest, &mut report);
    let settings = match manifest {
        Some(m) => Settings {
            config: m.config,
            index_enabled: m.index_enabled,
            payload_indexes: m.payload_indexes,
        },
        None => infer_settings(dim, shape.map(|s| s.1), &wal_docs, &mut report),
    };
    note_unproven(&segments, &winners, &mut report);
    Ok(Salvaged {
        report,
        settings: Some(settings),
        segments,
        wal_docs,
        winners,
        payloads,
    })
}

/// What the WAL replay updates: the newest version of each document, and payload updates of
/// segment rows.
struct Newest<'a> {
    winners: &'a mut HashMap<String, Winner>,
    payloads: &'a mut HashMap<String, Vec<u8>>,
}

impl Newest<'_> {
    fn apply(&mut self, op: WalOp, docs: &mut Vec<PreparedDoc>) {
        match op {
            WalOp::Put(batch) => {
                for doc in batch {
                    self.payloads.remove(&doc.id);
                    self.winners.insert(doc.id.clone(), Winner::Wal(docs.len()));
                    docs.push(doc);
                }
            }
            WalOp::Delete(ids) => {
                for id in ids {
                    self.payloads.remove(&id);
                    self.winners.remove(&id);
                }
            }
            WalOp::SetPayload(entries) => {
                for (id, payload_json) in entries {
                    match self.winners.get(&id) {
                        Some(&Winner::Wal(i)) => {
                            let Some(doc) = docs.get(i) else { continue };
                            let doc = PreparedDoc {
                                payload_json,
                                ..doc.clone()
                            };
                            self.winners.insert(id, Winner::Wal(docs.len()));
                            docs.push(doc);
                        }
                        Some(Winner::Row { .. }) => {
                            self.payloads.insert(id, payload_json);
                        }
                        // Its version was lost: the update has nothing to apply to.
                        None => {}
                    }
                }
            }
        }
    }
}

/// The collection manifest, if it can be read and holds a valid configuration.
fn read_manifest(
    vfs: &dyn Vfs,
    db: &Path,
    dir: &Path,
    report: &mut CollectionRecovery,
) -> Option<CollectionManifest> {
    let path = dir.join(MANIFEST_FILE);
    let mut file = FileRecovery::new(relative(db, &path), FileKind::CollectionManifest);
    let read = manifest::read_collection(vfs, dir).and_then(|m| {
        m.config.validate().map_err(|e| {
            Error::corruption(&path, 0, format!("its configuration is invalid: {e}"))
        })?;
        Ok(m)
    });
    let manifest = match read {
        Ok(m) => Some(m),
        Err(e) => {
            file.damage.push(Damage::new(
                0..file_len(vfs, &path),
                format!(
                    "{}: the configuration was inferred from the data",
                    reason_of(&e)
                ),
            ));
            report.notes.push(MANIFEST_LOST.to_string());
            None
        }
    };
    report.files.push(file);
    manifest
}

/// The segments the manifest names; files of nDB's naming it does not name are noted.
fn planned(
    vfs: &dyn Vfs,
    dir: &Path,
    m: &CollectionManifest,
    report: &mut CollectionRecovery,
) -> Result<Vec<SegmentPlan>> {
    let (dim, distance) = (m.config.dim(), m.config.distance());
    let mut named = HashSet::new();
    let plans = m
        .segments
        .iter()
        .map(|e| {
            named.insert(segment_file_name(e.id));
            named.extend(e.deletes.map(|d| deletes_file_name(e.id, d.gen)));
            named.extend(e.index.map(|i| index_file_name(e.id, i.gen)));
            named.extend(
                e.payload_index
                    .map(|i| payload_index_file_name(e.id, i.gen)),
            );
            named.extend(e.codes.map(|c| codes_file_name(e.id, c.gen)));
            SegmentPlan {
                id: e.id,
                expected: Some(Shape {
                    dim,
                    distance,
                    rows: e.rows,
                }),
                deletes: match e.deletes {
                    Some(d) => DeletesPlan::Named {
                        gen: d.gen,
                        count: d.count,
                    },
                    None => DeletesPlan::NoneNamed,
                },
                graph: e.index.map(|i| i.gen),
                payload_index: e.payload_index.map(|i| i.gen),
                codes: e.codes.map(|c| c.gen),
            }
        })
        .collect();
    let seg_dir = dir.join(SEGMENTS_DIR_NAME);
    if vfs.is_dir(&seg_dir).at(&seg_dir)? {
        let mut unnamed: Vec<String> = vfs
            .list_dir(&seg_dir)
            .at(&seg_dir)?
            .into_iter()
            .filter(|e| !e.is_dir && crate::ownership::is_segments_file_name(&e.name))
            .map(|e| e.name)
            .filter(|n| !named.contains(n))
            .collect();
        if !unnamed.is_empty() {
            unnamed.sort();
            report.notes.push(format!(
                "not named by the manifest, so not read (left by a flush, merge or index build \
                 that a crash interrupted, or made obsolete by one): segments/{}",
                unnamed.join(", segments/")
            ));
        }
    }
    Ok(plans)
}

/// The segments in `segments/` (the manifest is lost), with their deletion files.
fn listed(vfs: &dyn Vfs, dir: &Path) -> Result<Vec<SegmentPlan>> {
    let seg_dir = dir.join(SEGMENTS_DIR_NAME);
    if !vfs.is_dir(&seg_dir).at(&seg_dir)? {
        return Ok(Vec::new());
    }
    let mut ids = Vec::new();
    let mut deletes: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for entry in vfs.list_dir(&seg_dir).at(&seg_dir)? {
        if entry.is_dir {
            continue;
        }
        if let Some(id) = parse_segment_name(&entry.name) {
            ids.push(id);
        } else if let Some((id, gen)) = parse_sidecar_name(&entry.name, "del") {
            deletes.entry(id).or_default().push(gen);
        }
    }
    ids.sort_unstable();
    Ok(ids
        .into_iter()
        .map(|id| {
            let mut gens = deletes.remove(&id).unwrap_or_default();
            gens.sort_unstable_by(|a, b| b.cmp(a));
            SegmentPlan {
                id,
                expected: None,
                deletes: DeletesPlan::Newest(gens),
                graph: None,
                payload_index: None,
                codes: None,
            }
        })
        .collect())
}

/// Without a manifest: the dimension and metric of the segments (of the first whose header
/// passed its checksum); segments that differ are reported lost.
fn agree_on_shape(
    vfs: &dyn Vfs,
    segments: &mut Vec<OpenSegment>,
    report: &mut CollectionRecovery,
) -> Option<(usize, Distance)> {
    let shape_of = |s: &OpenSegment| (s.opened.shape.dim, s.opened.shape.distance);
    let first = segments
        .iter()
        .find(|s| s.opened.header_checked)
        .or(segments.first())
        .map(shape_of)?;
    segments.retain(|s| {
        let same = shape_of(s) == first;
        if !same {
            let file = &mut report.files[s.file];
            let path = s.opened.segment.path();
            file.damage.clear();
            let e = Error::corruption(
                path,
                16,
                format!(
                    "its dimension {} and metric {:?} differ from the other segments' ({} and {:?})",
                    s.opened.shape.dim, s.opened.shape.distance, first.0, first.1
                ),
            );
            segments::lose_segment(file, Some(s.opened.shape.rows), vfs, path, &e);
        }
        same
    });
    Some(first)
}

/// Read the WAL files to salvage: every one from the manifest's generation on (every one if
/// the manifest is lost). Generations the manifest or a later file proves existed and that are
/// missing are reported.
fn read_wal_files(
    vfs: &dyn Vfs,
    db: &Path,
    dir: &Path,
    manifest: Option<&CollectionManifest>,
    report: &mut CollectionRecovery,
) -> Result<Vec<WalFile>> {
    let mut gens: Vec<u64> = vfs
        .list_dir(dir)
        .at(dir)?
        .into_iter()
        .filter(|e| !e.is_dir)
        .filter_map(|e| parse_wal_name(&e.name))
        .collect();
    gens.sort_unstable();
    let mut missing = Vec::new();
    if let Some(m) = manifest {
        let (old, kept): (Vec<u64>, Vec<u64>) = gens.into_iter().partition(|&g| g < m.wal_gen);
        if !old.is_empty() {
            let names: Vec<String> = old.into_iter().map(wal_file_name).collect();
            report.notes.push(format!(
                "older than the manifest's WAL generation {} (their records are in segments), \
                 so not read: {}",
                m.wal_gen,
                names.join(", ")
            ));
        }
        gens = kept;
        // A rotation syncs a generation before it creates the next, and the manifest names
        // only a generation that exists: only a first generation that never received a
        // record may be missing without loss.
        let newest = gens.last().copied().unwrap_or(m.wal_gen).max(m.wal_gen);
        let fresh = m.wal_gen == 1 && gens.is_empty();
        if !fresh && newest - m.wal_gen <= MISSING_WAL_REPORTED_MAX {
            missing = (m.wal_gen..=newest)
                .filter(|g| gens.binary_search(g).is_err())
                .collect();
        }
    }
    for gen in missing {
        let path = dir.join(wal_file_name(gen));
        let mut file = FileRecovery::new(relative(db, &path), FileKind::Wal);
        file.damage.push(Damage::new(
            0..0,
            "missing, though the manifest names it or a later generation exists: the writes \
             and deletions it held are lost",
        ));
        report.files.push(file);
    }
    let mut files = Vec::with_capacity(gens.len());
    for gen in gens {
        let path = dir.join(wal_file_name(gen));
        let mut file = FileRecovery::new(relative(db, &path), FileKind::Wal);
        match read_if_exists(vfs, &path) {
            Ok(Some(bytes)) => {
                report.files.push(file);
                files.push(WalFile {
                    gen,
                    path,
                    bytes,
                    file: report.files.len() - 1,
                });
            }
            Ok(None) => {}
            Err(e) => {
                let reason = format!("the file cannot be read: {}", reason_of(&e));
                file.damage
                    .push(Damage::new(0..file_len(vfs, &path), reason));
                report.files.push(file);
            }
        }
    }
    files.sort_by_key(|w| w.gen);
    Ok(files)
}

/// Missing WAL generations are reported one by one up to this many (a damaged file name could
/// claim a generation far ahead).
const MISSING_WAL_REPORTED_MAX: u64 = 1000;

/// Apply every valid record of `files` after `flushed` (the manifest's flushed sequence
/// number; every record if it is lost) to `winners`, in log order; report the records lost
/// between valid ones. Returns the documents of the put records (`Winner::Wal` indexes them).
fn apply_wal(
    files: &[WalFile],
    dim: usize,
    flushed: Option<u64>,
    mut newest: Newest<'_>,
    report: &mut CollectionRecovery,
) -> Vec<PreparedDoc> {
    let mut docs = Vec::new();
    let mut last = flushed;
    // The last damage seen since the last valid record: records missing before the next valid
    // one were in it.
    let mut open: Option<(usize, usize)> = None;
    for w in files {
        let events = wal::scan(&w.bytes, &w.path, w.gen, dim, &mut report.files[w.file]);
        for event in events {
            let (seq, offset, op) = match event {
                Event::Damage(d) => {
                    open = Some((w.file, d));
                    continue;
                }
                Event::Record { seq, offset, op } => (seq, offset, op),
            };
            if let Some(l) = last {
                if seq <= l {
                    if flushed.is_none_or(|f| seq > f) {
                        let reason = format!(
                            "record {seq} comes after record {l} (out of order), so it was not                              applied: its writes or deletions are lost"
                        );
                        report.files[w.file]
                            .damage
                            .push(Damage::new(offset..offset, reason));
                    }
                    continue;
                }
                if seq > l + 1 {
                    let lost = l + 1..seq;
                    match open {
                        Some((f, d)) => report.files[f].damage[d].records = Some(lost),
                        None => {
                            let reason = format!(
                                "WAL records {}..{} are missing before this record (a lost                                  WAL file?): the writes and deletions they held are lost",
                                lost.start, lost.end
                            );
                            let mut d = Damage::new(offset..offset, reason);
                            d.records = Some(lost);
                            report.files[w.file].damage.push(d);
                        }
                    }
                }
            }
            open = None;
            last = Some(seq);
            newest.apply(op, &mut docs);
        }
    }
    for w in files {
        report.files[w.file].damage.sort_by_key(|d| d.bytes.start);
    }
    docs
}

/// The configuration of a collection whose manifest is lost: dimension and metric from the
/// segments or the WAL, everything else the defaults.
fn infer_settings(
    dim: usize,
    from_segments: Option<Distance>,
    wal_docs: &[PreparedDoc],
    report: &mut CollectionRecovery,
) -> Settings {
    let unit = |v: &[f32]| (v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4;
    let (distance, how) = match from_segments {
        Some(d) => (d, "the segment headers say so"),
        None if !wal_docs.is_empty() && wal_docs.iter().all(|d| unit(&d.vector)) => (
            Distance::Cosine,
            "no segment says it, and every vector in the WAL has unit length, as a cosine \
             collection stores them",
        ),
        None => (
            Distance::Euclidean,
            "a guess: no segment says it and the vectors are not all of unit length, so the \
             collection was dot product or Euclidean",
        ),
    };
    let dim_from = if from_segments.is_some() {
        "the segment headers"
    } else {
        "a WAL record"
    };
    report.notes.push(format!(
        "configuration inferred: dimension {dim} (from {dim_from}), metric {distance:?} ({how}); \
         durability, flush threshold, HNSW parameters and payload indexes are the defaults \
         (only the manifest held them)"
    ));
    Settings {
        config: CollectionConfig::new(dim).with_distance(distance),
        index_enabled: true,
        payload_indexes: Vec::new(),
    }
}

/// Note the documents recovered from segments whose deletion state could not be read.
fn note_unproven(
    segments: &[OpenSegment],
    winners: &HashMap<String, Winner>,
    report: &mut CollectionRecovery,
) {
    let mut counts = vec![0u64; segments.len()];
    for w in winners.values() {
        if let Winner::Row {
            segment,
            certain: false,
            ..
        } = *w
        {
            counts[segment] += 1;
        }
    }
    for (seg, n) in segments.iter().zip(counts) {
        if n > 0 {
            report.notes.push(format!(
                "{n} recovered documents come from segment {}, whose deletion state could not be \
                 read: any of them may have been deleted before the damage",
                seg.id
            ));
        }
    }
}
