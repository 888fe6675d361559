//! What a salvage found: per collection and per file, what was read and what was lost, and why.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// The result of [`recover`](crate::recover): what was copied into the new database, and per
/// collection and per file of the source what could not be read, where, and why.
///
/// `Display` prints it for people (the `ndb recover` command); the fields are for programs.
///
/// ```
/// use ndb::{CollectionConfig, Database, Document};
/// # let dir = tempfile::tempdir()?;
/// let damaged = dir.path().join("data");
/// let db = Database::open(&damaged)?;
/// let docs = db.create_collection("docs", CollectionConfig::new(2))?;
/// docs.insert(Document::new("a", vec![1.0, 0.0]))?;
/// docs.flush()?;
/// drop((docs, db));
///
/// let report = ndb::recover(&damaged, dir.path().join("salvaged"))?;
/// assert!(report.is_complete());
/// assert_eq!(report.documents_recovered(), 1);
/// for coll in &report.collections {
///     for file in coll.files.iter().filter(|f| !f.damage.is_empty()) {
///         println!("{}: {} rows lost", file.path.display(), file.rows_lost);
///     }
/// }
/// println!("{report}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoverReport {
    /// The database that was read (never written).
    pub source: PathBuf,
    /// The new database the documents were copied into.
    pub dest: PathBuf,
    /// The database's own files (its manifest).
    pub files: Vec<FileRecovery>,
    /// One entry per collection found, in name order.
    pub collections: Vec<CollectionRecovery>,
    /// Findings about the database as a whole: directories that were not recovered, and why.
    pub notes: Vec<String>,
}

/// What was recovered of one collection, and what was lost, per file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CollectionRecovery {
    /// The collection's name (the same in the new database).
    pub name: String,
    /// Documents written into the new database.
    pub documents_recovered: u64,
    /// Documents read intact that the new collection refused (the notes say which and why):
    /// possible only when the configuration had to be inferred and was inferred wrongly.
    pub documents_refused: u64,
    /// Whether the configuration (dimension, metric, durability, index settings, payload
    /// indexes) came from the collection manifest. When false it was inferred from the data,
    /// and [`CollectionRecovery::notes`] says how.
    pub config_from_manifest: bool,
    /// Every file that was read or checked, in the order it was read.
    pub files: Vec<FileRecovery>,
    /// Findings that concern the collection rather than one file: how the configuration was
    /// inferred, documents whose deletion could not be read (and so may have reappeared),
    /// documents the new collection refused, files that were not read and why.
    pub notes: Vec<String>,
}

/// One file of the source: what was read from it and what could not be.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileRecovery {
    /// The file's path relative to the source database directory (`docs/segments/000001.ndb`).
    pub path: PathBuf,
    /// What the file holds.
    pub kind: FileKind,
    /// Documents read intact: a segment's rows that passed their checks (rows known to be
    /// deleted are not read), or the documents of a WAL file's records that passed theirs.
    /// A document read from an older place may still lose to a newer version.
    pub documents_read: u64,
    /// Rows of a segment that could not be read: failed row checks, or every row when the
    /// segment could not be opened at all. (A WAL file's losses are in
    /// [`Damage::records`].)
    pub rows_lost: u64,
    /// Every damaged or skipped part of the file, in file order. Empty: the file was intact.
    pub damage: Vec<Damage>,
}

/// One damaged or unreadable part of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Damage {
    /// The bytes of the file that were skipped or failed their check (for lost segment rows,
    /// the bytes of their vectors; for a missing file, `0..0`).
    pub bytes: Range<u64>,
    /// Segment rows (row numbers) lost, when the damage costs rows.
    pub rows: Option<Range<u64>>,
    /// WAL sequence numbers of the records lost, when the records around the damage tell
    /// them (not at the end of the log, where nothing follows).
    pub records: Option<Range<u64>>,
    /// Ids of the lost rows as the file stores them, where readable. The damage may be in an
    /// id itself, so treat these as hints.
    pub ids: Vec<String>,
    /// What failed and what it means for the data.
    pub reason: String,
}

/// What a file of a database holds (docs/FORMAT.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// The database manifest (which collections exist).
    DatabaseManifest,
    /// A collection manifest (configuration and live files).
    CollectionManifest,
    /// A write-ahead log generation (`wal-GGGGGG.log`).
    Wal,
    /// A segment (`SSSSSS.ndb`).
    Segment,
    /// A segment's deletion file (`SSSSSS-GGGGGG.del`).
    Deletions,
    /// A segment's HNSW graph (`.hnsw`): derived data, rebuilt by the new database.
    Graph,
    /// A segment's payload indexes (`.pidx`): derived data, rebuilt by the new database.
    PayloadIndex,
    /// A segment's quantized codes (`.codes`): derived data, rebuilt by the new database.
    Codes,
}

impl FileKind {
    /// A stable name for reports in other formats (JSON, the language packages):
    /// `database_manifest`, `collection_manifest`, `wal`, `segment`, `deletions`, `graph`,
    /// `payload_index`, `codes`.
    ///
    /// ```
    /// assert_eq!(ndb::FileKind::PayloadIndex.name(), "payload_index");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            FileKind::DatabaseManifest => "database_manifest",
            FileKind::CollectionManifest => "collection_manifest",
            FileKind::Wal => "wal",
            FileKind::Segment => "segment",
            FileKind::Deletions => "deletions",
            FileKind::Graph => "graph",
            FileKind::PayloadIndex => "payload_index",
            FileKind::Codes => "codes",
        }
    }

    /// Whether losing the file loses no document (graphs, payload indexes and codes are built
    /// again from the documents).
    pub fn is_derived(self) -> bool {
        matches!(
            self,
            FileKind::Graph | FileKind::PayloadIndex | FileKind::Codes
        )
    }
}

impl RecoverReport {
    /// Documents written into the new database, over all collections.
    pub fn documents_recovered(&self) -> u64 {
        self.collections.iter().map(|c| c.documents_recovered).sum()
    }

    /// Segment rows that could not be read, over all collections.
    pub fn rows_lost(&self) -> u64 {
        self.collections
            .iter()
            .map(CollectionRecovery::rows_lost)
            .sum()
    }

    /// Whether no document can have been lost: no damage was found in any file that holds
    /// documents or deletions (damaged graphs and payload indexes lose nothing), and no
    /// collection or directory was left out.
    pub fn is_complete(&self) -> bool {
        self.files.iter().all(|f| f.damage.is_empty())
            && self.notes.is_empty()
            && self.collections.iter().all(CollectionRecovery::is_complete)
    }
}

impl CollectionRecovery {
    /// Segment rows of this collection that could not be read.
    pub fn rows_lost(&self) -> u64 {
        self.files.iter().map(|f| f.rows_lost).sum()
    }

    /// Whether no document of this collection can have been lost (see
    /// [`RecoverReport::is_complete`]).
    pub fn is_complete(&self) -> bool {
        self.documents_refused == 0
            && self
                .files
                .iter()
                .all(|f| f.damage.is_empty() || f.kind.is_derived())
    }
}

impl FileRecovery {
    pub(crate) fn new(path: PathBuf, kind: FileKind) -> Self {
        Self {
            path,
            kind,
            documents_read: 0,
            rows_lost: 0,
            damage: Vec::new(),
        }
    }
}

impl Damage {
    pub(crate) fn new(bytes: Range<u64>, reason: impl Into<String>) -> Self {
        Self {
            bytes,
            rows: None,
            records: None,
            ids: Vec::new(),
            reason: reason.into(),
        }
    }
}

/// How many ids a printed damage entry lists (the report itself holds them all).
const IDS_SHOWN: usize = 5;

impl fmt::Display for RecoverReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "recovered {} from {} of {} into {}{}",
            plural(self.documents_recovered(), "document"),
            plural(self.collections.len() as u64, "collection"),
            self.source.display(),
            self.dest.display(),
            match (self.is_complete(), self.rows_lost()) {
                (true, _) => ": nothing lost".to_string(),
                (false, 0) => ": damage found (below)".to_string(),
                (false, n) => format!(": {} lost (below)", plural(n, "row")),
            }
        )?;
        for file in &self.files {
            write!(f, "{}", Indented(file, 1))?;
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        for coll in &self.collections {
            write!(f, "{coll}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CollectionRecovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "collection {:?}: {} recovered; configuration {}",
            self.name,
            plural(self.documents_recovered, "document"),
            if self.config_from_manifest {
                "from its manifest"
            } else {
                "inferred from the data (see notes)"
            }
        )?;
        for file in &self.files {
            write!(f, "{}", Indented(file, 1))?;
        }
        for note in &self.notes {
            writeln!(f, "  note: {note}")?;
        }
        Ok(())
    }
}

impl fmt::Display for FileRecovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Indented(self, 0))
    }
}

/// A file's lines, indented by `.1` levels of two spaces.
struct Indented<'a>(&'a FileRecovery, usize);

impl fmt::Display for Indented<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Indented(file, level) = *self;
        let pad = "  ".repeat(level);
        let mut summary = Vec::new();
        if file.documents_read > 0 {
            summary.push(format!("{} read", plural(file.documents_read, "document")));
        }
        if file.rows_lost > 0 {
            summary.push(format!("{} LOST", plural(file.rows_lost, "row")));
        }
        let state = match (file.damage.is_empty(), file.kind.is_derived()) {
            (true, _) => "ok",
            (false, true) => "DAMAGED (nothing lost: the new database builds its own)",
            (false, false) => "DAMAGED",
        };
        summary.insert(0, state.to_string());
        writeln!(f, "{pad}{}: {}", file.path.display(), summary.join(", "))?;
        for d in &file.damage {
            let mut place = format!("bytes {}..{}", d.bytes.start, d.bytes.end);
            if let Some(rows) = &d.rows {
                place = format!("{}, {place}", numbers("row", rows));
            }
            if let Some(records) = &d.records {
                place.push_str(&format!(", {} lost", numbers("WAL record", records)));
            }
            if !d.ids.is_empty() {
                let shown: Vec<String> = d
                    .ids
                    .iter()
                    .take(IDS_SHOWN)
                    .map(|id| format!("{id:?}"))
                    .collect();
                let more = d.ids.len().saturating_sub(IDS_SHOWN);
                let more = if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                };
                place.push_str(&format!(", ids {}{more}", shown.join(", ")));
            }
            writeln!(f, "{pad}  {place}: {}", d.reason)?;
        }
        Ok(())
    }
}

/// `row 7` or `rows 7..9` (half-open, as the fields hold them).
fn numbers(what: &str, r: &Range<u64>) -> String {
    if r.end == r.start.saturating_add(1) {
        format!("{what} {}", r.start)
    } else {
        format!("{what}s {}..{}", r.start, r.end)
    }
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
