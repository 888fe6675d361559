//! Declaring and dropping payload indexes: the declaration changes in the manifest, and every
//! segment's payload index file is rebuilt for it.
//!
//! The files are built without the manifest lock. The job holds the merge and flush locks, so
//! no segment appears or disappears meanwhile and no flush writes a segment's payload index
//! for the old declaration; the commit still pairs files with segments by id.

use super::open::SEGMENTS_DIR;
use super::CollectionInner;
use crate::error::IoContext;
use crate::manifest;
use crate::payload_index::payload_index_file_name;
use crate::segment::RowRef;
use crate::{PayloadIndexKind, Result};

impl CollectionInner {
    /// Declare (or change the kind of, or with `None` drop) the payload index of `field` and
    /// rebuild every segment's payload index file for the new declaration.
    pub(crate) fn set_payload_index(
        &self,
        field: &str,
        kind: Option<PayloadIndexKind>,
    ) -> Result<()> {
        check_field(field)?;
        let _merging = self.jobs.merge.lock();
        let _flushing = self.jobs.flush.lock();
        let (defs, segments, mut gens) = {
            let mut manifest = self.catalog.lock();
            let mut defs = manifest.payload_indexes.clone();
            defs.retain(|(f, _)| f != field);
            defs.extend(kind.map(|kind| (field.to_string(), kind)));
            if defs == manifest.payload_indexes {
                return Ok(());
            }
            let segments = self.state.read().segments.clone();
            let gens = manifest.reserve_gens(segments.len() as u64);
            (defs, segments, gens)
        };
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let mut built = Vec::with_capacity(segments.len());
        for s in &segments {
            let seg = &s.segment;
            let payloads = (0..seg.rows())
                .map(|row| seg.payload_of(row))
                .collect::<Result<Vec<&[u8]>>>()?;
            let rows: Vec<RowRef<'_>> = payloads
                .iter()
                .map(|p| RowRef {
                    id: "",
                    vector: &[],
                    payload: p,
                })
                .collect();
            let new = self.write_payload_index(&defs, &mut gens, &seg_dir, seg.id(), &rows)?;
            built.push((seg.id(), new));
        }
        self.vfs.sync_dir(&seg_dir).at(&seg_dir)?;

        let mut manifest = self.catalog.lock();
        self.writer()?;
        let mut next = manifest.clone();
        next.payload_indexes = defs;
        let mut obsolete = Vec::new();
        for (id, new) in &built {
            let Some(entry) = next.segments.iter_mut().find(|e| e.id == *id) else {
                return Err(crate::Error::internal(
                    "a segment vanished under the merge lock",
                ));
            };
            let replaced = std::mem::replace(&mut entry.payload_index, new.as_ref().map(|n| n.0));
            if let Some(old) = replaced {
                obsolete.push(seg_dir.join(payload_index_file_name(*id, old.gen)));
            }
        }
        if let Err(e) = manifest::write_collection(&*self.vfs, &self.dir, &next) {
            self.poison(format!("manifest update for a payload index failed: {e}"));
            return Err(e);
        }
        {
            let mut st = self.state.write();
            for (id, new) in built {
                if let Some(s) = st.segments.iter_mut().find(|s| s.segment.id() == id) {
                    s.payload_index_bytes = new.as_ref().map_or(0, |n| n.0.file_bytes);
                    s.payload_index_gen = new.as_ref().map(|n| n.0.gen);
                    s.payload_index = new.map(|n| n.1);
                }
            }
        }
        self.catalog.publish(&mut manifest, next);
        drop(manifest);
        for path in &obsolete {
            self.remove_unused(path);
        }
        Ok(())
    }
}

/// A payload index field is a dotted path of non-empty names.
fn check_field(field: &str) -> Result<()> {
    let valid = !field.is_empty()
        && field.len() <= 256
        && !field.starts_with('$')
        && field.split('.').all(|s| !s.is_empty());
    if valid {
        return Ok(());
    }
    Err(crate::Error::invalid(format!(
        "payload index field {field:?} must be a dotted path of non-empty names (at most 256 bytes, not starting with '$')"
    )))
}
