//! `recover(src, dest)`: salvage of a damaged database, and the report it resolves to (the
//! library's figures as plain objects, and its text).

use crate::error::Result;
use crate::js;
use crate::task::{self, IntoJs, Job};
use napi::bindgen_prelude::{AsyncTask, Env, ToNapiValue, Unknown};
use napi_derive::napi;
use std::ops::Range;
use std::path::Path;

/// Copy every document that can still be read from the database at `src`, damaged or not,
/// into a new database at `dest`, and resolve to a report of what was read and what was lost,
/// per collection and per file, where and why. Runs on the libuv thread pool.
///
/// The source is never written or locked: run it on a copy, or while no process writes to
/// it. `dest` must not exist or be an empty directory (`NDB_DESTINATION_NOT_EMPTY` otherwise,
/// and nothing is written) and must not lie inside `src`. Damage in the source is reported,
/// not rejected; `NDB_NOT_A_DATABASE` if `src` holds nothing like a database.
#[napi(
    ts_args_type = "src: string, dest: string",
    ts_return_type = "Promise<RecoverReport>"
)]
pub fn recover(src: Unknown<'_>, dest: Unknown<'_>) -> AsyncTask<Job<ndb::RecoverReport>> {
    let args: Result<_> =
        js::string(&src, "src").and_then(|src| Ok((src, js::string(&dest, "dest")?)));
    task::spawn(args.map(|(src, dest)| move || Ok(ndb::recover(src, dest)?)))
}

/// What `recover` copied into the new database and what it lost.
#[napi(object)]
pub struct RecoverReport {
    /// The database that was read (never written).
    pub source: String,
    /// The new database the documents were copied into.
    pub dest: String,
    /// Documents written into the new database, over all collections.
    pub documents_recovered: f64,
    /// Segment rows that could not be read, over all collections.
    pub rows_lost: f64,
    /// Whether no document can have been lost: no damage in any file that holds documents or
    /// deletions (damaged graphs and payload indexes lose nothing), nothing left out.
    pub complete: bool,
    /// The database's own files (its manifest).
    pub files: Vec<FileRecovery>,
    /// One entry per collection found, in name order.
    pub collections: Vec<CollectionRecovery>,
    /// Findings about the database as a whole (directories not recovered, and why).
    pub notes: Vec<String>,
    /// The report as `ndb recover` prints it.
    pub text: String,
}

/// What was recovered of one collection, and what was lost, per file.
#[napi(object)]
pub struct CollectionRecovery {
    pub name: String,
    /// Documents written into the new database.
    pub documents_recovered: f64,
    /// Documents read intact that the new collection refused (the notes say which and why).
    pub documents_refused: f64,
    /// Whether the configuration came from the collection manifest (else it was inferred from
    /// the data; the notes say how).
    pub config_from_manifest: bool,
    pub rows_lost: f64,
    pub complete: bool,
    /// Every file that was read or checked, in the order it was read.
    pub files: Vec<FileRecovery>,
    pub notes: Vec<String>,
}

/// One file of the source: what was read from it and what could not be.
#[napi(object)]
pub struct FileRecovery {
    /// The path relative to the source database directory.
    pub path: String,
    #[napi(ts_type = "FileKind")]
    pub kind: String,
    /// Documents read intact (segment rows, or the documents of WAL records).
    pub documents_read: f64,
    /// Segment rows that could not be read.
    pub rows_lost: f64,
    /// Every damaged or skipped part of the file, in file order; empty if the file was intact.
    pub damage: Vec<Damage>,
}

/// One damaged or unreadable part of a file. Ranges are half-open: `{ start, end }`.
#[napi(object, use_nullable = true)]
pub struct Damage {
    /// The bytes of the file that were skipped or failed their check.
    pub bytes: NumberRange,
    /// Segment rows lost, when the damage costs rows.
    pub rows: Option<NumberRange>,
    /// WAL sequence numbers of the records lost, when the records around the damage tell.
    pub records: Option<NumberRange>,
    /// Ids of the lost rows as the file stores them, where readable (hints).
    pub ids: Vec<String>,
    /// What failed and what it means for the data.
    pub reason: String,
}

/// A half-open range `start..end` of byte offsets, rows or sequence numbers.
#[napi(object)]
pub struct NumberRange {
    pub start: f64,
    pub end: f64,
}

impl IntoJs for ndb::RecoverReport {
    fn into_js(self, env: &Env) -> napi::Result<Unknown<'_>> {
        report(&self).into_unknown(env)
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn range(r: &Range<u64>) -> NumberRange {
    NumberRange {
        start: r.start as f64,
        end: r.end as f64,
    }
}

fn files(list: &[ndb::FileRecovery]) -> Vec<FileRecovery> {
    list.iter()
        .map(|f| FileRecovery {
            path: path(&f.path),
            kind: f.kind.name().to_string(),
            documents_read: f.documents_read as f64,
            rows_lost: f.rows_lost as f64,
            damage: f
                .damage
                .iter()
                .map(|d| Damage {
                    bytes: range(&d.bytes),
                    rows: d.rows.as_ref().map(range),
                    records: d.records.as_ref().map(range),
                    ids: d.ids.clone(),
                    reason: d.reason.clone(),
                })
                .collect(),
        })
        .collect()
}

fn report(r: &ndb::RecoverReport) -> RecoverReport {
    RecoverReport {
        source: path(&r.source),
        dest: path(&r.dest),
        documents_recovered: r.documents_recovered() as f64,
        rows_lost: r.rows_lost() as f64,
        complete: r.is_complete(),
        files: files(&r.files),
        collections: r
            .collections
            .iter()
            .map(|c| CollectionRecovery {
                name: c.name.clone(),
                documents_recovered: c.documents_recovered as f64,
                documents_refused: c.documents_refused as f64,
                config_from_manifest: c.config_from_manifest,
                rows_lost: c.rows_lost() as f64,
                complete: c.is_complete(),
                files: files(&c.files),
                notes: c.notes.clone(),
            })
            .collect(),
        notes: r.notes.clone(),
        text: r.to_string().trim_end().to_string(),
    }
}
