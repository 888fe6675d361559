//! Manifests: the database's list of collections and each collection's list of live files.
//!
//! A manifest is replaced atomically (temp file, fsync, rename, fsync directory); a state change
//! that spans several files becomes visible only through that one rename. The body is JSON inside
//! a checksummed, versioned envelope (docs/FORMAT.md, "Manifests").

mod envelope;

use crate::config::CollectionConfig;
use crate::error::IoContext;
use crate::{Error, Result};
use envelope::Kind;
use ndb_storage::{OpenMode, Vfs};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File name of a manifest in its directory.
pub(crate) const MANIFEST_FILE: &str = "MANIFEST";
/// Newest manifest format this build writes and reads.
pub(crate) const MANIFEST_VERSION: u32 = 1;

/// The database manifest: which collections exist.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct DatabaseManifest {
    pub collections: Vec<String>,
}

/// One live segment as the collection manifest names it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct SegmentEntry {
    pub id: u64,
    pub rows: u64,
    pub file_bytes: u64,
    /// The segment's persisted deletion state, if any row is deleted.
    pub deletes: Option<DeletesEntry>,
    /// The segment's HNSW index file, if it has one.
    #[serde(default)]
    pub index: Option<IndexEntry>,
    /// The segment's payload index file, if the collection declares payload indexes.
    #[serde(default)]
    pub payload_index: Option<IndexEntry>,
    /// The segment's quantized codes, if the collection quantizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codes: Option<IndexEntry>,
}

/// An index file: `segments/<segment>-<gen>.hnsw`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub gen: u64,
    pub file_bytes: u64,
}

/// A deletion file: `segments/<segment>-<gen>.del`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct DeletesEntry {
    pub gen: u64,
    pub count: u64,
    pub file_bytes: u64,
}

/// The collection manifest: configuration, live segments, WAL position.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct CollectionManifest {
    pub config: CollectionConfig,
    /// Oldest WAL generation that may hold records not yet in segments.
    pub wal_gen: u64,
    /// Every WAL record with a sequence number up to this one is in the segments.
    pub flushed_seq: u64,
    /// Next segment id to allocate.
    pub next_segment_id: u64,
    /// Next generation number for a deletion or index file.
    pub next_file_gen: u64,
    /// Whether flushes build HNSW indexes (turned off by `delete_index`, on by `rebuild_index`).
    #[serde(default = "enabled")]
    pub index_enabled: bool,
    /// Declared payload indexes: field path and kind.
    #[serde(default)]
    pub payload_indexes: Vec<(String, crate::payload_index::PayloadIndexKind)>,
    /// Live segments, oldest first.
    pub segments: Vec<SegmentEntry>,
}

impl CollectionManifest {
    pub fn new(config: CollectionConfig) -> Self {
        Self {
            config,
            wal_gen: 1,
            flushed_seq: 0,
            next_segment_id: 1,
            next_file_gen: 1,
            index_enabled: true,
            payload_indexes: Vec::new(),
            segments: Vec::new(),
        }
    }
}

fn enabled() -> bool {
    true
}

/// Largest value any manifest counter (sequence numbers, ids, generations) may hold; far beyond
/// what a database reaches, and small enough that `+ 1` never overflows.
pub(crate) const COUNTER_MAX: u64 = 1 << 62;

/// Read and check the database manifest in `dir`; `Ok(None)` if there is none.
pub(crate) fn read_database(vfs: &dyn Vfs, dir: &Path) -> Result<Option<DatabaseManifest>> {
    let Some(m) = read::<DatabaseManifest>(vfs, dir, Kind::Database)? else {
        return Ok(None);
    };
    let path = dir.join(MANIFEST_FILE);
    let mut seen = std::collections::HashSet::new();
    for name in &m.collections {
        if crate::database::validate_collection_name(name).is_err() || !seen.insert(name) {
            return Err(Error::corruption(
                &path,
                envelope::HEADER_LEN as u64,
                format!("manifest names an invalid or duplicate collection {name:?}"),
            ));
        }
    }
    Ok(Some(m))
}

/// Read and check the collection manifest in `dir`.
pub(crate) fn read_collection(vfs: &dyn Vfs, dir: &Path) -> Result<CollectionManifest> {
    let path = dir.join(MANIFEST_FILE);
    let m: CollectionManifest = read(vfs, dir, Kind::Collection)?
        .ok_or_else(|| Error::corruption(&path, 0, "collection manifest is missing"))?;
    let bad = |reason: String| Error::corruption(&path, envelope::HEADER_LEN as u64, reason);
    if [m.wal_gen, m.flushed_seq, m.next_segment_id, m.next_file_gen]
        .iter()
        .any(|&c| c > COUNTER_MAX)
    {
        return Err(bad("a counter is out of range".into()));
    }
    let mut prev = 0;
    for s in &m.segments {
        if s.id <= prev || s.id >= m.next_segment_id {
            return Err(bad(format!(
                "segment ids must increase and stay below next_segment_id {}; found {} after {prev}",
                m.next_segment_id, s.id
            )));
        }
        prev = s.id;
        let gens = s
            .deletes
            .map(|d| d.gen)
            .into_iter()
            .chain(s.index.map(|i| i.gen))
            .chain(s.payload_index.map(|i| i.gen))
            .chain(s.codes.map(|i| i.gen));
        for gen in gens {
            if gen >= m.next_file_gen {
                return Err(bad(format!(
                    "segment {} names file generation {gen}, not below next_file_gen {}",
                    s.id, m.next_file_gen
                )));
            }
        }
        if s.deletes.is_some_and(|d| d.count > s.rows) || s.rows > crate::limits::SEGMENT_ROWS_MAX {
            return Err(bad(format!("segment {} has impossible row counts", s.id)));
        }
    }
    Ok(m)
}

/// Atomically replace the database manifest in `dir`.
pub(crate) fn write_database(vfs: &dyn Vfs, dir: &Path, m: &DatabaseManifest) -> Result<()> {
    write(vfs, dir, Kind::Database, m)
}

/// Atomically replace the collection manifest in `dir`.
pub(crate) fn write_collection(vfs: &dyn Vfs, dir: &Path, m: &CollectionManifest) -> Result<()> {
    write(vfs, dir, Kind::Collection, m)
}

fn read<T: for<'de> Deserialize<'de>>(vfs: &dyn Vfs, dir: &Path, kind: Kind) -> Result<Option<T>> {
    let path = dir.join(MANIFEST_FILE);
    let file = match vfs.open(&path, OpenMode::Read) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let bytes = file.read_all().at(&path)?;
    let body = envelope::open(&bytes, kind, &path)?;
    serde_json::from_slice(body).map(Some).map_err(|e| {
        Error::corruption(
            &path,
            envelope::HEADER_LEN as u64,
            format!("manifest body does not parse: {e}"),
        )
    })
}

fn write<T: Serialize>(vfs: &dyn Vfs, dir: &Path, kind: Kind, m: &T) -> Result<()> {
    let path = dir.join(MANIFEST_FILE);
    let body = serde_json::to_vec_pretty(m)
        .map_err(|e| Error::invalid(format!("manifest does not serialize: {e}")))?;
    let bytes = envelope::seal(&body, kind);
    ndb_storage::write_atomic(vfs, &path, &bytes).at(&path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndb_storage::SimVfs;

    #[test]
    fn round_trip_and_damage_detection() {
        let vfs = SimVfs::new(1);
        let dir = Path::new("/db");
        vfs.create_dir_all(dir).unwrap();
        assert!(read_database(&vfs, dir).unwrap().is_none());
        let m = DatabaseManifest {
            collections: vec!["a".into(), "b".into()],
        };
        write_database(&vfs, dir, &m).unwrap();
        assert_eq!(read_database(&vfs, dir).unwrap(), Some(m));
        assert!(read_collection(&vfs, dir).is_err(), "kind is checked");
        let bytes = vfs.volatile_contents(dir.join(MANIFEST_FILE)).unwrap();
        for i in 0..bytes.len() {
            vfs.corrupt(dir.join(MANIFEST_FILE), i as u64, 0x10)
                .unwrap();
            let err = read_database(&vfs, dir).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Corruption { .. } | Error::UnsupportedFormat { .. }
                ),
                "byte {i}: {err}"
            );
            vfs.corrupt(dir.join(MANIFEST_FILE), i as u64, 0x10)
                .unwrap();
        }
    }
}
