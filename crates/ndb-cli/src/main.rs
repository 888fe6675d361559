//! `ndb`: the nDB command-line tool.
//!
//! Create and inspect collections, import JSON Lines / `.fvecs` / `.npy` files, search, export
//! and verify. Tables for people by default, `--json` for scripts. See `ndb --help` and
//! `docs/USER-GUIDE.md`.

mod bounded;
mod commands;
mod error;
mod fmt;
mod import;
mod output;
mod source;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use error::{write_err, CliError, CliResult, EXIT_ERROR};
use ndb::{CollectionConfig, Distance, Durability, IndexConfig};
use serde_json::Value;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

const MAIN_HELP: &str = "\
Examples:
  ndb create data/ docs --dim 384 --distance cosine
  ndb import data/ docs docs.jsonl
  ndb search data/ docs --vector '[0.12, -0.5, ...]' -k 5 --filter '{\"lang\": \"en\"}'
  ndb stats data/ docs
  ndb verify data/
  ndb recover damaged/ salvaged/

Read-only commands (list, stats, get, search, export, verify) work while another
process writes to the database; recover reads its source without a lock (run it
while nothing writes there); the others need its write lock.

Exit codes:
  0  success
  1  error (the one-line message on stderr says why)
  2  usage error: bad command line or argument value
  3  data damage: verify found a problem, or a command met a checksum failure
  4  the database is locked by another writer";

/// nDB command-line tool: collections of vectors with JSON payloads, searched by similarity.
#[derive(Parser)]
#[command(name = "ndb", version, after_help = MAIN_HELP, propagate_version = true)]
struct Cli {
    /// Print machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// Do not show progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a collection (and the database directory if it does not exist).
    #[command(after_help = "\
Examples:
  ndb create data/ docs --dim 384
  ndb create data/ images --dim 784 --distance euclidean --durability fsync --m 32 --ef-search 128
  ndb create data/ docs --dim 768 --quantization int8")]
    Create {
        /// Database directory.
        db: PathBuf,
        /// Collection name: 1 to 64 characters from [A-Za-z0-9_-].
        collection: String,
        /// Vector dimension, fixed for the collection's life.
        #[arg(long)]
        dim: usize,
        #[command(flatten)]
        config: ConfigOpts,
    },
    /// List the collections of a database.
    #[command(after_help = "Example:\n  ndb list data/")]
    List {
        /// Database directory.
        db: PathBuf,
    },
    /// Delete a collection and all its files.
    #[command(after_help = "Example:\n  ndb drop data/ old-docs")]
    Drop {
        /// Database directory.
        db: PathBuf,
        /// Collection to delete.
        collection: String,
    },
    /// Show a collection's configuration and figures.
    #[command(after_help = "Examples:\n  ndb stats data/ docs\n  ndb stats data/ docs --json")]
    Stats {
        /// Database directory.
        db: PathBuf,
        /// Collection.
        collection: String,
    },
    /// Import documents from JSON Lines, .fvecs or .npy (streaming, batched, with progress).
    ///
    /// JSON Lines: one object per line, {"id": "a", "vector": [0.1, ...], "payload": {...}}
    /// ("payload" optional; "id" a string or an integer). .fvecs and .npy (2-D, little-endian
    /// float32 or float64, C order): the ids are the row numbers 0, 1, 2, ...; --payloads gives
    /// a JSON Lines file whose line i is the payload (an object, null or empty) of row i.
    ///
    /// Without --skip-invalid the whole file is validated first and refused at the first bad
    /// row (the error names its line or row), so nothing is imported from a bad file. With
    /// --skip-invalid bad rows are skipped and counted. Documents with an id already in the
    /// collection replace it. At the end the memtable is flushed, so the import is durable.
    #[command(after_help = "\
Examples:
  ndb import data/ docs docs.jsonl
  ndb import data/ images train.fvecs --create --distance euclidean
  ndb import data/ emb vectors.npy --payloads meta.jsonl --create --dim 768 --batch 5000
  ndb import data/ docs messy.jsonl --skip-invalid")]
    Import(import::ImportArgs),
    /// Find the documents nearest to a query vector.
    ///
    /// Scores are "higher is better": cosine similarity, dot product, or the negated Euclidean
    /// distance. With --id the query is that document's vector, and the document itself is left
    /// out of the results.
    #[command(
        group(ArgGroup::new("query").required(true).args(["vector", "vector_file", "id"])),
        after_help = "\
Examples:
  ndb search data/ docs --vector '[0.1, 0.2, 0.3]' -k 5
  ndb search data/ docs --id doc-42 --filter '{\"year\": {\"$gte\": 2020}, \"lang\": \"en\"}'
  ndb search data/ docs --vector-file q.json --exact --json"
    )]
    Search {
        /// Database directory.
        db: PathBuf,
        /// Collection.
        collection: String,
        /// Query vector as a JSON array.
        #[arg(long, allow_hyphen_values = true)]
        vector: Option<String>,
        /// File holding the query vector: a JSON array, a JSON object with a "vector" field
        /// (e.g. a line of `ndb export`), or numbers separated by spaces or commas.
        #[arg(long)]
        vector_file: Option<PathBuf>,
        /// Use this document's vector as the query.
        #[arg(long)]
        id: Option<String>,
        /// Number of results.
        #[arg(short = 'k', long = "top-k", default_value_t = 10)]
        k: usize,
        /// Payload filter, MongoDB-style JSON: {"lang": "en", "year": {"$gte": 2020}};
        /// operators $eq $ne $gt $gte $lt $lte $in $nin $exists $and $or $not.
        #[arg(long)]
        filter: Option<String>,
        /// Exact search (no approximate index).
        #[arg(long)]
        exact: bool,
        /// Breadth of the approximate (HNSW) search [default: the collection's ef_search].
        #[arg(long)]
        ef: Option<usize>,
        /// Rank by another metric than the collection's (the search is then exact).
        #[arg(long, value_enum)]
        distance: Option<CliDistance>,
        /// Threads for this search [default: all cores for large collections].
        #[arg(long)]
        threads: Option<usize>,
        /// Quantized collections: candidates per result rescored with the f32 vectors
        /// [default: 2 for int8, 4 for binary at 256 dimensions or more, 10 below].
        #[arg(long)]
        oversampling: Option<f32>,
    },
    /// Show one document.
    #[command(
        after_help = "Examples:\n  ndb get data/ docs doc-42\n  ndb get data/ docs doc-42 --json"
    )]
    Get {
        /// Database directory.
        db: PathBuf,
        /// Collection.
        collection: String,
        /// Document id.
        id: String,
    },
    /// Delete one document (exit 1 if there is no document with that id).
    #[command(after_help = "Example:\n  ndb delete data/ docs doc-42")]
    Delete {
        /// Database directory.
        db: PathBuf,
        /// Collection.
        collection: String,
        /// Document id.
        id: String,
    },
    /// Replace (--payload) or merge-patch (--patch, RFC 7396) one document's payload, keeping its
    /// vector (exit 1 if there is no document with that id).
    ///
    /// --payload takes a JSON object, or null to remove the payload. --patch takes a JSON
    /// object whose members replace the fields of those names (objects merge recursively) and
    /// whose null members remove them.
    #[command(after_help = "\
Examples:
  ndb update data/ docs doc-42 --payload '{\"lang\": \"en\", \"year\": 2024}'
  ndb update data/ docs doc-42 --patch '{\"year\": 2025, \"draft\": null}'")]
    Update {
        /// Database directory.
        db: PathBuf,
        /// Collection.
        collection: String,
        /// Document id.
        id: String,
        /// The new payload: a JSON object, or null.
        #[arg(
            long,
            value_name = "JSON",
            conflicts_with = "patch",
            required_unless_present = "patch"
        )]
        payload: Option<String>,
        /// A JSON merge patch (an object) to apply to the payload.
        #[arg(long, value_name = "JSON")]
        patch: Option<String>,
    },
    /// Write every document to JSON Lines (default), or the vectors to .fvecs or .npy.
    ///
    /// JSON Lines output has the import format, one {"id", "vector", "payload"} object per line,
    /// so `ndb import` reads it back. The order is not specified. Cosine collections store unit
    /// vectors, so their export holds the normalized vectors. --format fvecs|npy writes vectors
    /// only, in id order, and needs the ids to be the row numbers 0..N-1 (as an import of
    /// .fvecs or .npy makes them).
    #[command(after_help = "\
Examples:
  ndb export data/ docs docs.jsonl
  ndb export data/ docs | gzip > docs.jsonl.gz
  ndb export data/ images images.fvecs")]
    Export {
        /// Database directory.
        db: PathBuf,
        /// Collection.
        collection: String,
        /// Output file [default: standard output].
        file: Option<PathBuf>,
        /// Output format [default: from the file extension, else jsonl].
        #[arg(long, value_enum)]
        format: Option<source::Format>,
    },
    /// Check every checksum of every file: manifests, WAL, segments, deletion files, indexes.
    ///
    /// Reports each collection's result; a problem names the file and byte offset. Exit code 3
    /// if damage was found. Works while another process writes to the database.
    #[command(after_help = "Examples:\n  ndb verify data/\n  ndb verify data/ docs --json")]
    Verify {
        /// Database directory.
        db: PathBuf,
        /// Only this collection [default: all].
        collection: Option<String>,
    },
    /// Show a collection's settings, or change those that may change after creation.
    ///
    /// With KEY=VALUE pairs: durability (buffered | fsync), flush_threshold_bytes, ef_search
    /// (used by the next search), m, ef_construction and min_rows (used by graphs built from
    /// now on). The change is persisted; dim and distance cannot change.
    #[command(after_help = "\
Examples:
  ndb config data/ docs
  ndb config data/ docs durability=fsync ef_search=200
  ndb config data/ docs m=32 ef_construction=400 --json")]
    Config {
        /// Database directory.
        db: PathBuf,
        /// Collection.
        collection: String,
        /// Settings to change, as KEY=VALUE.
        settings: Vec<String>,
    },
    /// Copy the database, consistently, into a new directory while it is in use.
    ///
    /// Each collection is copied as of one moment: every write acknowledged before the
    /// command started is in the copy, nothing half-written is. Segment files are hard-linked
    /// where the file system allows (so the copy takes little space until the source is
    /// compacted), copied otherwise. DEST must not exist or be an empty directory; it appears
    /// only when the copy is complete and durable. Needs the write lock: run it from the
    /// process that writes, or while none does.
    #[command(after_help = "\
Examples:
  ndb backup data/ backups/data-2026-12-02
  ndb verify backups/data-2026-12-02")]
    Backup {
        /// Database directory.
        db: PathBuf,
        /// The new directory.
        dest: PathBuf,
    },
    /// Copy every document that can still be read from a damaged database into a new one.
    ///
    /// DB is only read (files opened read-only, no lock taken): segments row by row past
    /// failed checksums, the WAL past damaged records, every file even when a manifest is lost.
    /// Of several versions of a document the newest readable one wins. DEST must not exist or
    /// be an empty directory; it becomes an ordinary database. The report says per collection
    /// and per file what was read and what was lost (rows, byte ranges, WAL records) and why.
    /// Exit code 3 if anything was lost (the readable documents are copied all the same). Run
    /// it while no process writes to DB.
    #[command(after_help = "\
Examples:
  ndb recover data/ salvaged/
  ndb recover data/ salvaged/ --json > report.json
  ndb verify salvaged/")]
    Recover {
        /// The damaged database directory (never written).
        db: PathBuf,
        /// Where the new database goes: a directory that does not exist or is empty.
        dest: PathBuf,
    },
    /// Merge a collection's segments into one, dropping deleted and replaced rows.
    ///
    /// Flushes the memtable first, so every document ends up in the one merged segment (with
    /// its index rebuilt if the collection builds indexes). Crash-safe: the old segments stay
    /// valid until one atomic manifest swap.
    #[command(after_help = "Example:\n  ndb compact data/ docs")]
    Compact {
        /// Database directory.
        db: PathBuf,
        /// Collection.
        collection: String,
    },
    /// Rebuild or delete a collection's approximate-search (HNSW) index.
    ///
    /// --rebuild first flushes the memtable, then builds the index of every segment (in
    /// parallel), and keeps building indexes for new segments. --delete removes them and makes
    /// searches exact until the next --rebuild.
    #[command(
        group(ArgGroup::new("action").required(true).args(["rebuild", "delete"])),
        after_help = "Examples:\n  ndb index data/ docs --rebuild\n  ndb index data/ docs --delete"
    )]
    Index {
        /// Database directory.
        db: PathBuf,
        /// Collection.
        collection: String,
        /// Build (or rebuild) the index.
        #[arg(long)]
        rebuild: bool,
        /// Delete the index.
        #[arg(long)]
        delete: bool,
    },
    /// Benchmark search on a dataset: recall@k, latency percentiles, QPS (runs ndb-search-bench).
    ///
    /// DATASET_DIR holds base.fvecs, query.fvecs, gt.ivecs and gt_dist.fvecs
    /// (scripts/fetch-dataset.sh makes them). Every argument is passed to the benchmark harness
    /// `ndb-search-bench`, which must be installed next to `ndb`; `ndb bench -- --help` lists its
    /// options.
    #[command(after_help = "\
Examples:
  ndb bench data/fashion-mnist --k 10 --md report.md
  ndb bench -- --synthetic 100000,384 --queries 200
  ndb bench -- --help")]
    Bench {
        /// DATASET_DIR and the harness's options.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        args: Vec<String>,
    },
}

/// Quantization names on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum CliQuantization {
    /// No codes: searches read the f32 vectors.
    None,
    /// One byte per dimension.
    Int8,
    /// One bit per dimension (RaBitQ).
    Binary,
}

impl From<CliQuantization> for ndb::Quantization {
    fn from(q: CliQuantization) -> Self {
        match q {
            CliQuantization::None => ndb::Quantization::None,
            CliQuantization::Int8 => ndb::Quantization::Int8,
            CliQuantization::Binary => ndb::Quantization::Binary,
        }
    }
}

/// Similarity metric names on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum CliDistance {
    /// Cosine similarity (vectors are stored normalized).
    Cosine,
    /// Dot product (inner product).
    #[value(alias = "dot-product", alias = "ip")]
    Dot,
    /// Euclidean (L2) distance, reported negated.
    #[value(alias = "l2")]
    Euclidean,
}

impl From<CliDistance> for Distance {
    fn from(d: CliDistance) -> Self {
        match d {
            CliDistance::Cosine => Distance::Cosine,
            CliDistance::Dot => Distance::DotProduct,
            CliDistance::Euclidean => Distance::Euclidean,
        }
    }
}

/// Durability names on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum CliDurability {
    /// Writes reach the OS before they are acknowledged: safe from a process crash; a power
    /// loss can lose the writes since the last sync or flush.
    Buffered,
    /// Each write is fdatasync'ed before it is acknowledged (concurrent writers share one).
    #[value(alias = "fdatasync")]
    Fsync,
}

/// Collection settings shared by `create` and `import --create`.
#[derive(Args, Debug)]
struct ConfigOpts {
    /// Similarity metric [default: cosine].
    #[arg(long, value_enum)]
    distance: Option<CliDistance>,
    /// When a write is durable [default: buffered].
    #[arg(long, value_enum)]
    durability: Option<CliDurability>,
    // The defaults in the help come from the library's, so they cannot drift.
    #[arg(long, help = with_default("HNSW: neighbours per node", default_index().m))]
    m: Option<usize>,
    #[arg(long, help = with_default(
        "HNSW: candidate list size while building",
        default_index().ef_construction
    ))]
    ef_construction: Option<usize>,
    #[arg(long, help = with_default(
        "HNSW: candidate list size while searching",
        default_index().ef_search
    ))]
    ef_search: Option<usize>,
    #[arg(long, help = with_default(
        "HNSW: segments with at least this many rows get an index",
        default_index().min_rows
    ))]
    index_min_rows: Option<usize>,
    /// Compressed codes that searches traverse, rescoring the best candidates with the f32
    /// vectors: int8 (4x smaller), binary (about 30x smaller; 32 dimensions or more)
    /// [default: none].
    #[arg(long, value_enum)]
    quantization: Option<CliQuantization>,
    #[arg(long, value_parser = parse_size, value_name = "SIZE", help = with_default(
        "Memtable size that triggers a flush to a new segment, e.g. 64MiB, 512KiB, 1GiB",
        format!("{}MiB", ndb::limits::FLUSH_THRESHOLD_BYTES_DEFAULT >> 20)
    ))]
    flush_threshold: Option<usize>,
}

/// The index settings a new collection gets unless told otherwise.
fn default_index() -> IndexConfig {
    *CollectionConfig::new(1).index()
}

/// A help line ending in its default, as clap writes them.
fn with_default(help: &str, default: impl std::fmt::Display) -> String {
    format!("{help} [default: {default}]")
}

/// Refuse a `--dim` the library cannot hold, naming the option.
fn check_dim(dim: usize) -> CliResult<usize> {
    if dim == 0 || dim > ndb::limits::DIM_MAX {
        return Err(CliError::usage(format!(
            "--dim must be between 1 and {}, got {dim}",
            ndb::limits::DIM_MAX
        )));
    }
    Ok(dim)
}

impl ConfigOpts {
    fn any_set(&self) -> bool {
        self.distance.is_some()
            || self.durability.is_some()
            || self.m.is_some()
            || self.ef_construction.is_some()
            || self.ef_search.is_some()
            || self.index_min_rows.is_some()
            || self.flush_threshold.is_some()
            || self.quantization.is_some()
    }

    /// The configuration these options describe, for vectors of `dim` dimensions.
    fn config(&self, dim: usize) -> CollectionConfig {
        let mut c = CollectionConfig::new(dim);
        if let Some(d) = self.distance {
            c = c.with_distance(d.into());
        }
        if let Some(d) = self.durability {
            c = c.with_durability(match d {
                CliDurability::Buffered => Durability::Buffered,
                CliDurability::Fsync => Durability::FdatasyncEachBatch,
            });
        }
        if let Some(t) = self.flush_threshold {
            c = c.with_flush_threshold_bytes(t);
        }
        let mut ix: IndexConfig = *c.index();
        if let Some(m) = self.m {
            ix.m = m;
        }
        if let Some(e) = self.ef_construction {
            ix.ef_construction = e;
        }
        if let Some(e) = self.ef_search {
            ix.ef_search = e;
        }
        if let Some(r) = self.index_min_rows {
            ix.min_rows = r;
        }
        if let Some(q) = self.quantization {
            c = c.with_quantization(q.into());
        }
        c.with_index(ix)
    }
}

/// `template` with another dimension.
pub(crate) fn with_dim(template: &CollectionConfig, dim: usize) -> CollectionConfig {
    CollectionConfig::new(dim)
        .with_distance(template.distance())
        .with_durability(template.durability())
        .with_flush_threshold_bytes(template.flush_threshold_bytes())
        .with_index(*template.index())
        .with_quantization(template.quantization())
}

/// `123`, `64KiB`, `64MiB`, `1GiB` (also `K`, `M`, `G`, `KB`, `MB`, `GB`: all binary).
fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 65536, 512KiB, 64MiB, 1GiB)"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("{s:?}: unknown unit (use KiB, MiB or GiB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Output settings and the (buffered) standard output.
pub struct Ctx {
    pub json: bool,
    pub quiet: bool,
    out: BufWriter<std::io::Stdout>,
}

impl Ctx {
    pub fn out(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    pub fn println(&mut self, line: &str) -> CliResult<()> {
        writeln!(self.out, "{line}").map_err(write_err)
    }

    pub fn print_json(&mut self, v: &Value) -> CliResult<()> {
        serde_json::to_writer_pretty(&mut self.out, v).map_err(|e| write_err(e.into()))?;
        writeln!(self.out).map_err(write_err)
    }

    pub fn flush(&mut self) -> CliResult<()> {
        self.out.flush().map_err(write_err)
    }
}

/// Refuse a database path that does not exist (commands other than `create` and
/// `import --create` must not create one by accident).
pub(crate) fn require_db(db: &Path) -> CliResult<()> {
    if db.is_dir() {
        Ok(())
    } else if db.exists() {
        Err(CliError::fail(format!(
            "{} is not an nDB database: it is not a directory",
            db.display()
        )))
    } else {
        Err(CliError::fail(format!(
            "no database at {} (`ndb create` makes one)",
            db.display()
        )))
    }
}

fn run(ctx: &mut Ctx, cmd: Cmd) -> CliResult<()> {
    match cmd {
        Cmd::Create {
            db,
            collection,
            dim,
            config,
        } => commands::create(ctx, &db, &collection, config.config(check_dim(dim)?)),
        Cmd::List { db } => commands::list(ctx, &db),
        Cmd::Drop { db, collection } => commands::drop(ctx, &db, &collection),
        Cmd::Stats { db, collection } => commands::stats(ctx, &db, &collection),
        Cmd::Import(args) => import::run(ctx, args),
        Cmd::Search {
            db,
            collection,
            vector,
            vector_file,
            id,
            k,
            filter,
            exact,
            ef,
            distance,
            threads,
            oversampling,
        } => {
            let query = match (vector, vector_file, id) {
                (Some(v), _, _) => commands::Query::Vector(
                    commands::parse_vector(&v)
                        .map_err(|e| CliError::usage(format!("--vector: {e}")))?,
                ),
                (_, Some(f), _) => {
                    let text = bounded::read_text(
                        &f,
                        bounded::DOCUMENT_LINE_BYTES_MAX,
                        "a query vector file",
                    )?;
                    commands::Query::Vector(
                        commands::parse_vector(&text)
                            .map_err(|e| CliError::usage(format!("{}: {e}", f.display())))?,
                    )
                }
                (_, _, Some(id)) => commands::Query::Id(id),
                (None, None, None) => unreachable!("clap requires one of the query options"),
            };
            let filter = match filter {
                Some(f) => Some(ndb::Filter::from_json_str(&f).map_err(|e| {
                    CliError::usage(format!("--filter: {}", CliError::from(e).msg))
                })?),
                None => None,
            };
            commands::search(
                ctx,
                commands::SearchArgs {
                    db,
                    collection,
                    query,
                    k,
                    filter,
                    exact,
                    ef,
                    distance: distance.map(Into::into),
                    threads,
                    oversampling,
                },
            )
        }
        Cmd::Get { db, collection, id } => commands::get(ctx, &db, &collection, &id),
        Cmd::Delete { db, collection, id } => commands::delete(ctx, &db, &collection, &id),
        Cmd::Update {
            db,
            collection,
            id,
            payload,
            patch,
        } => {
            let change = match (payload, patch) {
                (Some(json), _) => commands::PayloadChange::Set(json),
                (None, Some(json)) => commands::PayloadChange::Patch(json),
                (None, None) => unreachable!("clap requires --payload or --patch"),
            };
            commands::update(ctx, &db, &collection, &id, change)
        }
        Cmd::Export {
            db,
            collection,
            file,
            format,
        } => commands::export(ctx, &db, &collection, file.as_deref(), format),
        Cmd::Verify { db, collection } => commands::verify(ctx, &db, collection.as_deref()),
        Cmd::Recover { db, dest } => commands::recover(ctx, &db, &dest),
        Cmd::Backup { db, dest } => commands::backup(ctx, &db, &dest),
        Cmd::Config {
            db,
            collection,
            settings,
        } => commands::config(ctx, &db, &collection, &settings),
        Cmd::Compact { db, collection } => commands::compact(ctx, &db, &collection),
        Cmd::Index {
            db,
            collection,
            rebuild,
            delete,
        } => commands::index(ctx, &db, &collection, rebuild && !delete),
        Cmd::Bench { args } => commands::bench(ctx, &args),
    }
}

fn main() {
    // A bug must still end in one line on stderr, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("error: internal error (a bug in ndb; please report it): {msg}{at}");
        std::process::exit(EXIT_ERROR);
    }));
    let cli = Cli::parse(); // usage errors: clap prints them and exits with 2
    let mut ctx = Ctx {
        json: cli.json,
        quiet: cli.quiet,
        out: BufWriter::new(std::io::stdout()),
    };
    let result = run(&mut ctx, cli.cmd);
    let result = result.and_then(|()| ctx.flush());
    let code = match result {
        Ok(()) => 0,
        Err(e) => {
            let _ = ctx.flush();
            if !e.msg.is_empty() {
                eprintln!("error: {}", e.msg);
            }
            e.code
        }
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512 KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
