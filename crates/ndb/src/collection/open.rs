//! Opening a collection: manifest, segments, deletion files, WAL replay, garbage removal.

use super::state::{LiveSegment, State};
use super::stats::OpenReport;
use super::writer::Writer;
use super::CollectionInner;
use crate::document::PreparedDoc;
use crate::error::IoContext;
use crate::limits::READ_ONLY_OPEN_RETRIES;
use crate::manifest::{self, CollectionManifest, MANIFEST_FILE};
use crate::memtable::Memtable;
use crate::payload_index::payload_index_file_name;
use crate::segment::codes::{codes_file_name, SegmentCodes};
use crate::segment::deletes::{self, deletes_file_name};
use crate::segment::index::{graph_metric, index_file_name, SegmentIndex};
use crate::segment::{segment_file_name, Segment};
use crate::wal::{self, wal_file_name, WalOp, WalWriter};
use crate::{Error, Result};
use ndb_storage::{LockGuard, OpenMode as FileMode, Vfs};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Name of the directory holding segment and deletion files.
pub(crate) const SEGMENTS_DIR: &str = "segments";

/// How a collection is opened.
pub(crate) enum OpenMode {
    /// The one writer: holds `db_lock` and takes the collection lock.
    Writer {
        db_lock: Arc<dyn LockGuard>,
        /// Start a background maintenance thread.
        maintenance: bool,
    },
    /// A snapshot reader: no locks, nothing on disk changes. With `refresh_every`, searches
    /// first move to the newest committed state when it changed, checking at most that often.
    ReadOnly { refresh_every: Option<Duration> },
}

/// Everything recovered from disk.
pub(super) struct Recovered {
    pub(super) manifest: CollectionManifest,
    pub(super) state: State,
    /// Last WAL generation present and the length of its valid prefix.
    last_wal: Option<(u64, u64)>,
    next_seq: u64,
    pub(super) report: OpenReport,
}

/// Open the collection stored in `dir`.
pub(crate) fn open_collection(
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    name: String,
    mode: OpenMode,
) -> Result<Arc<CollectionInner>> {
    let started = Instant::now();
    match mode {
        OpenMode::Writer {
            db_lock,
            maintenance,
        } => {
            // The database lock is the collection's too (ADR 0002): no lock file, and so no
            // file descriptor, per collection.
            let mut rec = recover(&*vfs, &dir)?;
            let wal = match rec.last_wal {
                Some((gen, valid_len)) => {
                    WalWriter::resume(&*vfs, &dir, gen, valid_len, rec.next_seq)?
                }
                None => WalWriter::create(&*vfs, &dir, rec.manifest.wal_gen, rec.next_seq)?,
            };
            remove_garbage(&*vfs, &dir, &rec.manifest)?;
            // Entries created or renamed by a process that died before syncing its directory
            // are visible now but not durable: make them durable before acknowledging writes
            // that depend on them.
            vfs.sync_dir(&dir.join(SEGMENTS_DIR)).at(&dir)?;
            vfs.sync_dir(&dir).at(&dir)?;
            rec.report.open_duration = started.elapsed();
            let locks = vec![db_lock];
            let inner = assemble(vfs, dir, name, locks, Some(wal), rec, maintenance);
            super::maintenance::Maintenance::start(&inner);
            Ok(inner)
        }
        OpenMode::ReadOnly { refresh_every } => {
            let seen = super::refresh::Fingerprint::take(&*vfs, &dir)?;
            let mut rec = recover_read_only(&*vfs, &dir, &name)?;
            rec.report.open_duration = started.elapsed();
            let inner = assemble(vfs, dir, name, Vec::new(), None, rec, false);
            inner.follow.start(seen, refresh_every);
            Ok(inner)
        }
    }
}

/// Recover what a reader sees. A writer may replace the manifest and remove files between our
/// reads: start over from the newer manifest (bounded).
pub(super) fn recover_read_only(vfs: &dyn Vfs, dir: &Path, name: &str) -> Result<Recovered> {
    let mut attempt = 0;
    loop {
        match recover(vfs, dir) {
            Ok(rec) => return Ok(rec),
            Err(e) if attempt + 1 < READ_ONLY_OPEN_RETRIES && may_be_a_race(&e) => {
                attempt += 1;
                log::debug!("read-only open of {name:?} raced with a writer ({e}); retrying");
                std::thread::sleep(Duration::from_millis(attempt as u64));
            }
            Err(e) => return Err(e),
        }
    }
}

fn may_be_a_race(e: &Error) -> bool {
    match e {
        Error::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
        Error::Corruption { reason, .. } => reason.starts_with(WAL_GAP),
        _ => false,
    }
}

const WAL_GAP: &str = "WAL sequence gap";

fn assemble(
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    name: String,
    locks: Vec<Arc<dyn LockGuard>>,
    wal: Option<WalWriter>,
    rec: Recovered,
    maintenance: bool,
) -> Arc<CollectionInner> {
    // Under `Buffered` durability, replayed records may not be durable yet; treating only the
    // flushed prefix as durable is conservative and correct.
    let durable = rec.manifest.flushed_seq;
    let writer = Writer::new(wal, durable);
    Arc::new(CollectionInner::new(
        dir,
        name,
        vfs,
        locks,
        writer,
        rec,
        maintenance,
    ))
}

fn recover(vfs: &dyn Vfs, dir: &Path) -> Result<Recovered> {
    let started = Instant::now();
    let manifest = manifest::read_collection(vfs, dir)?;
    let manifest_duration = started.elapsed();
    let manifest_path = dir.join(MANIFEST_FILE);
    manifest
        .config
        .validate()
        .map_err(|e| Error::corruption(&manifest_path, 0, format!("invalid configuration: {e}")))?;
    let dim = manifest.config.dim();
    let segments = manifest
        .segments
        .iter()
        .map(|entry| open_segment(vfs, dir, &manifest, entry))
        .collect::<Result<Vec<_>>>()?;
    let mut state = State {
        active: Memtable::new(dim),
        frozen: None,
        segments,
    };

    let segments_duration = started.elapsed() - manifest_duration;
    let mut report = OpenReport {
        manifest_duration,
        segments_duration,
        ..OpenReport::default()
    };
    let (last_wal, next_seq) = replay_wal(vfs, dir, &manifest, &mut state, &mut report)?;
    report.wal_replay_duration = started.elapsed() - manifest_duration - segments_duration;
    Ok(Recovered {
        manifest,
        state,
        last_wal,
        next_seq,
        report,
    })
}

/// Open one segment the manifest names, with its deletion state, graph and payload indexes.
/// A damaged graph or payload index is logged and left out (searched exactly, filtered row by
/// row, until `rebuild_index`); a damaged segment or deletion file is an error.
fn open_segment(
    vfs: &dyn Vfs,
    dir: &Path,
    manifest: &CollectionManifest,
    entry: &crate::manifest::SegmentEntry,
) -> Result<LiveSegment> {
    let seg_dir = dir.join(SEGMENTS_DIR);
    let distance = manifest.config.distance();
    let path = seg_dir.join(segment_file_name(entry.id));
    let dim = manifest.config.dim();
    let segment = Segment::open(vfs, &path, entry.id, dim, distance, entry.rows)?;
    let (deleted, persisted_bytes) = match entry.deletes {
        Some(d) => {
            let path = seg_dir.join(deletes_file_name(entry.id, d.gen));
            let bm = deletes::read(vfs, &path, entry.id, entry.rows)?;
            if bm.len() != d.count {
                let reason = format!(
                    "deletion file holds {} rows, the manifest says {}",
                    bm.len(),
                    d.count
                );
                return Err(Error::corruption(&path, 24, reason));
            }
            (bm, d.file_bytes)
        }
        None => (roaring::RoaringBitmap::new(), 0),
    };
    let index = entry.index.and_then(|ix| {
        let path = seg_dir.join(index_file_name(entry.id, ix.gen));
        let opened = SegmentIndex::open(vfs, &path, entry.id, segment.rows(), graph_metric(distance));
        opened
            .map_err(|e| {
                log::warn!(
                    "segment {} is searched exactly: its index is unusable ({e}); Collection::rebuild_index rebuilds it",
                    entry.id
                )
            })
            .ok()
    });
    let payload_index = entry.payload_index.and_then(|ix| {
        let path = seg_dir.join(payload_index_file_name(entry.id, ix.gen));
        crate::payload_index::read_file(vfs, &path, entry.id, entry.rows)
            .map_err(|e| {
                log::warn!(
                    "segment {}: payload index unusable ({e}); filters are evaluated row by row",
                    entry.id
                )
            })
            .ok()
            .map(|p| (Arc::new(p), ix.file_bytes))
    });
    let codes = entry.codes.and_then(|c| {
        let path = seg_dir.join(codes_file_name(entry.id, c.gen));
        SegmentCodes::open(vfs, &path, entry.id, segment.rows(), dim)
            .map_err(|e| {
                log::warn!(
                    "segment {} is searched on its f32 vectors: its codes are unusable ({e}); Collection::rebuild_index rebuilds them",
                    entry.id
                )
            })
            .ok()
            .map(Arc::new)
    });
    if codes.is_some() {
        segment.advise_random();
    }
    let deleted = Arc::new(deleted);
    Ok(LiveSegment {
        auto_index: Arc::default(),
        codes,
        codes_gen: entry.codes.map(|c| c.gen),
        payload_index_bytes: payload_index.as_ref().map_or(0, |p| p.1),
        payload_index: payload_index.map(|p| p.0),
        payload_index_gen: entry.payload_index.map(|p| p.gen),
        segment: Arc::new(segment),
        deleted: Arc::clone(&deleted),
        persisted: deleted,
        persisted_bytes,
        index: index.map(Arc::new),
        index_gen: entry.index.map(|ix| ix.gen),
    })
}

/// Replay the WAL files from the manifest's generation on into `state`. Returns the last
/// generation and the length of its valid prefix, and the next sequence number.
///
/// Damage is told from a crash wherever the write order allows: a rotation syncs a file before
/// the next generation is created, and a flush creates a generation (header synced) before a
/// manifest names it. So a generation followed by a later one must end in a whole record, and
/// the manifest's generation (after the first) must exist with a whole header. Only the newest
/// generation may end in a torn tail; see `docs/RELIABILITY.md` for what cannot be told.
fn replay_wal(
    vfs: &dyn Vfs,
    dir: &Path,
    manifest: &CollectionManifest,
    state: &mut State,
    report: &mut OpenReport,
) -> Result<(Option<(u64, u64)>, u64)> {
    let dim = manifest.config.dim();
    let mut next_seq = manifest.flushed_seq + 1;
    let mut last_wal = None;
    let gens: Vec<u64> = wal::list_generations(vfs, dir)?
        .into_iter()
        .filter(|&g| g >= manifest.wal_gen)
        .collect();
    let named = dir.join(wal_file_name(manifest.wal_gen));
    if gens.first() != Some(&manifest.wal_gen) && (!gens.is_empty() || manifest.wal_gen > 1) {
        // The manifest's WAL generation is deleted only after a newer manifest is durable: a
        // reader raced with a flush (it retries), or the file was lost.
        return Err(Error::corruption(
            named,
            0,
            format!(
                "{WAL_GAP}: WAL generation {} named by the manifest is missing",
                manifest.wal_gen
            ),
        ));
    }
    for (i, &gen) in gens.iter().enumerate() {
        let path = dir.join(wal_file_name(gen));
        let bytes = vfs
            .open(&path, FileMode::Read)
            .and_then(|f| f.read_all())
            .at(&path)?;
        let scan = wal::scan(&bytes, &path, gen, dim)?;
        let newest = i + 1 == gens.len();
        check_torn_tail(&path, &scan, newest, gen == manifest.wal_gen && gen > 1)?;
        for entry in scan.records {
            if entry.seq < next_seq {
                continue; // already in a segment
            }
            if entry.seq != next_seq {
                return Err(Error::corruption(
                    &path,
                    entry.offset,
                    format!("{WAL_GAP}: expected record {next_seq}, found {}", entry.seq),
                ));
            }
            replay(state, entry.op).map_err(|e| match e {
                Error::Corruption { .. } => e,
                other => Error::corruption(
                    &path,
                    entry.offset,
                    format!("record {} cannot be replayed: {other}", entry.seq),
                ),
            })?;
            next_seq += 1;
            report.wal_replayed_records += 1;
        }
        if scan.torn_bytes > 0 {
            log::warn!(
                "{}: cut {} bytes of a torn tail after offset {} (writes that were never acknowledged as durable)",
                path.display(),
                scan.torn_bytes,
                scan.valid_len
            );
            report.wal_truncated_bytes += scan.torn_bytes;
        }
        last_wal = Some((gen, scan.valid_len));
        report.wal_bytes += scan.valid_len;
    }
    Ok((last_wal, next_seq))
}

/// A torn tail is a crash's only where one can be: at the end of the newest generation, and a
/// header only in a generation no manifest names yet (or the first, created at the collection's
/// first open).
fn check_torn_tail(path: &Path, scan: &wal::WalScan, newest: bool, named: bool) -> Result<()> {
    let no_header = scan.valid_len == 0;
    if scan.torn_bytes > 0 && !newest {
        return Err(Error::corruption(
            path,
            scan.valid_len,
            format!(
                "{} bytes that are not a valid record, but a later WAL generation exists \
                 (a generation is synced before the next is created): damage, not a crash",
                scan.torn_bytes
            ),
        ));
    }
    if no_header && (named || !newest) {
        return Err(Error::corruption(
            path,
            0,
            format!(
                "the WAL file is {} bytes, shorter than its header, but it was complete \
                 (synced) before {}: truncated",
                scan.torn_bytes,
                if named {
                    "the manifest named it"
                } else {
                    "a later generation was created"
                }
            ),
        ));
    }
    Ok(())
}

fn replay(state: &mut State, op: WalOp) -> Result<()> {
    match op {
        WalOp::Put(docs) => {
            let shadows = state.shadows(docs.iter().map(|d| d.id.as_str()))?;
            state.apply_put(docs, &shadows);
        }
        WalOp::Delete(ids) => {
            let shadows = state.shadows(ids.iter().map(String::as_str))?;
            state.apply_delete(&ids, &shadows);
        }
        WalOp::SetPayload(entries) => {
            for (id, payload_json) in entries {
                // The document existed when the record was written, and replay rebuilds the
                // same state; a missing one means damage elsewhere, already reported.
                let Some(found) = state.find(&id)? else {
                    log::warn!("WAL payload update for {id:?}, which is not there: skipped");
                    continue;
                };
                let vector = found.vector()?;
                let shadows = state.shadows(std::iter::once(id.as_str()))?;
                let doc = PreparedDoc {
                    id,
                    vector,
                    payload_json,
                };
                state.apply_put(vec![doc], &shadows);
            }
        }
    }
    Ok(())
}

/// Remove every file of the collection that the manifest does not name: leftovers of flushes
/// or compactions that crashed before their manifest swap, and files made obsolete by a swap.
pub(crate) fn remove_garbage(vfs: &dyn Vfs, dir: &Path, m: &CollectionManifest) -> Result<()> {
    let seg_dir = dir.join(SEGMENTS_DIR);
    let mut keep: HashSet<String> = HashSet::new();
    for e in &m.segments {
        keep.insert(segment_file_name(e.id));
        if let Some(d) = e.deletes {
            keep.insert(deletes_file_name(e.id, d.gen));
        }
        if let Some(ix) = e.index {
            keep.insert(index_file_name(e.id, ix.gen));
        }
        if let Some(ix) = e.payload_index {
            keep.insert(payload_index_file_name(e.id, ix.gen));
        }
        if let Some(c) = e.codes {
            keep.insert(codes_file_name(e.id, c.gen));
        }
    }
    if vfs.is_dir(&seg_dir).at(&seg_dir)? {
        for entry in vfs.list_dir(&seg_dir).at(&seg_dir)? {
            let ours = crate::ownership::is_segments_file_name(&entry.name);
            if !keep.contains(&entry.name) && !entry.is_dir && ours {
                let path = seg_dir.join(&entry.name);
                log::info!("removing {} (not named by the manifest)", path.display());
                crate::failpoint::hit("open.unlink.before");
                vfs.remove_file(&path).at(&path)?;
            }
        }
    } else {
        vfs.create_dir_all(&seg_dir).at(&seg_dir)?;
        vfs.sync_dir(dir).at(dir)?;
    }
    // Only files nDB names are garbage: anything else in the directory is the user's.
    let old_wal: HashSet<String> = wal::list_generations(vfs, dir)?
        .into_iter()
        .filter(|&g| g < m.wal_gen)
        .map(wal_file_name)
        .collect();
    let manifest_tmp = format!("{MANIFEST_FILE}.tmp");
    for entry in vfs.list_dir(dir).at(dir)? {
        let garbage = old_wal.contains(&entry.name)
            || entry.name == manifest_tmp
            || entry.name == crate::ownership::MARKER_FILE;
        if garbage && !entry.is_dir {
            let path = dir.join(&entry.name);
            log::info!("removing {} (not named by the manifest)", path.display());
            vfs.remove_file(&path).at(&path)?;
        }
    }
    Ok(())
}
