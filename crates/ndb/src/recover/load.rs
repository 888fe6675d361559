//! Writing a salvaged collection into the new database, through the public API.

use super::collection::Salvaged;
use super::report::{CollectionRecovery, Damage};
use super::segments;
use super::{reason_of, Winner};
use crate::document::decode_payload;
use crate::{Collection, CollectionConfig, Database, Document, Result};

/// Documents per `insert_batch` while loading, and the bytes (vectors, ids, payloads) at which
/// a batch is written early.
const BATCH_DOCS: usize = 1024;
const BATCH_BYTES: usize = 8 << 20;
/// Refused documents named one by one in the notes; the rest are counted.
const REFUSED_NAMED_MAX: u64 = 20;

impl Salvaged {
    /// Create the collection in `db` and write the newest readable version of every document
    /// into it (segment rows in segment and row order, then WAL documents in log order), then
    /// flush it (durable, indexed).
    pub(super) fn write_into(mut self, db: &Database) -> Result<CollectionRecovery> {
        let Some(settings) = self.settings.take() else {
            return Ok(self.report);
        };
        let coll = db.create_collection(&self.report.name, settings.config.clone())?;
        if !settings.index_enabled {
            coll.delete_index()?;
        }
        for (field, kind) in &settings.payload_indexes {
            coll.create_payload_index(field, *kind)?;
        }
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); self.segments.len()];
        let mut from_wal = vec![false; self.wal_docs.len()];
        for w in self.winners.values() {
            match *w {
                Winner::Row { segment, row, .. } => rows[segment].push(row),
                Winner::Wal(i) => from_wal[i] = true,
            }
        }
        let mut loader = Loader {
            coll: &coll,
            config: &settings.config,
            batch: Vec::new(),
            batch_bytes: 0,
        };
        let report = &mut self.report;
        let payloads = &mut self.payloads;
        load_rows(&self.segments, payloads, &mut loader, &mut rows, report)?;
        let wal_docs = std::mem::take(&mut self.wal_docs);
        for (doc, newest) in wal_docs.into_iter().zip(from_wal) {
            if !newest {
                continue;
            }
            let payload_bytes = doc.payload_json.len();
            match decode_payload(&doc.payload_json) {
                Ok(payload) => {
                    let doc = Document {
                        id: doc.id,
                        vector: doc.vector,
                        payload,
                    };
                    loader.push(doc, payload_bytes, report)?;
                }
                Err(e) => refuse(report, &doc.id, &format!("its payload is not JSON: {e}")),
            }
        }
        loader.write_batch(report)?;
        coll.flush()?;
        Ok(self.report)
    }
}

/// Load the winning rows of each segment (`rows`, by segment), with the payloads WAL payload
/// updates gave them.
fn load_rows(
    opened: &[super::segments::OpenSegment],
    payloads: &mut std::collections::HashMap<String, Vec<u8>>,
    loader: &mut Loader<'_>,
    rows: &mut [Vec<u32>],
    report: &mut CollectionRecovery,
) -> Result<()> {
    for (seg, rows) in opened.iter().zip(rows) {
        rows.sort_unstable();
        for &row in rows.iter() {
            match segments::read_row(&seg.opened.segment, row) {
                Ok((mut doc, mut payload_bytes)) => {
                    // A WAL payload update is the newest version: if it does not decode,
                    // the document is lost, never given its older payload.
                    if let Some(updated) = payloads.remove(&doc.id) {
                        payload_bytes = updated.len();
                        match decode_payload(&updated) {
                            Ok(payload) => doc.payload = payload,
                            Err(e) => {
                                refuse(report, &doc.id, &format!("payload update: {e}"));
                                continue;
                            }
                        }
                    }
                    loader.push(doc, payload_bytes, report)?
                }
                // It read intact a moment ago: the file changed under us.
                Err(e) => {
                    let file = &mut report.files[seg.file];
                    file.rows_lost += 1;
                    let mut d = Damage::new(
                        seg.opened.segment.vector_bytes_range(row..row + 1),
                        format!("{} (on the second read)", reason_of(&e)),
                    );
                    d.rows = Some(u64::from(row)..u64::from(row) + 1);
                    file.damage.push(d);
                }
            }
        }
    }
    Ok(())
}

/// Writes documents into the new collection in batches.
struct Loader<'a> {
    coll: &'a Collection,
    config: &'a CollectionConfig,
    batch: Vec<Document>,
    batch_bytes: usize,
}

impl Loader<'_> {
    /// Queue `doc` (whose serialized payload is `payload_bytes` long), writing the batch when
    /// it is full. A document the collection would refuse is reported, not written.
    fn push(
        &mut self,
        doc: Document,
        payload_bytes: usize,
        report: &mut CollectionRecovery,
    ) -> Result<()> {
        if let Err(e) = self.config.check_document(&doc) {
            refuse(report, &doc.id, &e.to_string());
            return Ok(());
        }
        let bytes = doc.vector.len() * 4 + doc.id.len() + payload_bytes;
        if !self.batch.is_empty() && self.batch_bytes + bytes > BATCH_BYTES {
            self.write_batch(report)?;
        }
        self.batch.push(doc);
        self.batch_bytes += bytes;
        if self.batch.len() >= BATCH_DOCS {
            self.write_batch(report)?;
        }
        Ok(())
    }

    fn write_batch(&mut self, report: &mut CollectionRecovery) -> Result<()> {
        let n = self.batch.len() as u64;
        if n > 0 {
            self.coll.insert_batch(std::mem::take(&mut self.batch))?;
            report.documents_recovered += n;
        }
        self.batch_bytes = 0;
        Ok(())
    }
}

/// Report document `id` as refused by the new collection.
fn refuse(report: &mut CollectionRecovery, id: &str, why: &str) {
    report.documents_refused += 1;
    let n = report.documents_refused;
    if n <= REFUSED_NAMED_MAX {
        report.notes.push(format!(
            "document {id:?} was read intact but the new collection refused it ({why}): not \
             recovered"
        ));
    } else if n == REFUSED_NAMED_MAX + 1 {
        report.notes.push(
            "more documents were refused (documents_refused counts them all): was the \
             configuration inferred wrongly?"
                .to_string(),
        );
    }
}
