//! `ndb import`: stream a file into a collection in batches, with a progress bar.
//!
//! Without `--skip-invalid`, a validation pass reads the whole file first (streaming, constant
//! memory) and refuses it at the first bad row, so nothing is written; the import pass then
//! writes it in batches. With `--skip-invalid` there is one pass that skips bad rows.

mod cleanup;
mod graphs;

use crate::error::{CliError, CliResult};
use crate::source::{self, check_doc, Format};
use crate::{ConfigOpts, Ctx};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use ndb::{Collection, CollectionConfig, Database, Distance, Document};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Largest WAL record an import writes (one batch), far below the library's 1 GiB limit.
const BATCH_BYTES_MAX: usize = 64 << 20;
/// How many skipped rows are described one by one.
const SKIP_REPORT_MAX: u64 = 10;

/// `ndb import`'s arguments, flattened into the command line.
#[derive(Args)]
pub struct ImportArgs {
    /// Database directory.
    db: PathBuf,
    /// Collection to import into.
    collection: String,
    /// Input file.
    file: PathBuf,
    /// Input format [default: from the file extension: .jsonl/.ndjson/.json, .fvecs, .npy].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// JSON Lines file of payloads for .fvecs/.npy input: line i is row i's payload.
    #[arg(long, value_name = "FILE.jsonl")]
    payloads: Option<PathBuf>,
    /// Documents per write (one WAL record each).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Skip invalid rows (reporting how many) instead of refusing the file.
    #[arg(long)]
    skip_invalid: bool,
    /// Create the collection if it does not exist (with --dim, or the file's dimension).
    #[arg(long)]
    create: bool,
    /// With --create: vector dimension [default: from the file].
    #[arg(long, requires = "create")]
    dim: Option<usize>,
    #[command(flatten)]
    config: ConfigOpts,
}

/// With `--create`: the collection to create if it is missing, its dimension `None` to take
/// it from the file.
struct Creation {
    dim: Option<usize>,
    template: CollectionConfig,
}

impl ImportArgs {
    /// What `--create`, `--dim` and the collection settings ask for; the settings without
    /// `--create` are a usage error.
    fn creation(&self) -> CliResult<Option<Creation>> {
        if !self.create && self.config.any_set() {
            return Err(CliError::usage(
                "collection settings (--distance, --durability, --m, --ef-*, --index-min-rows, \
                 --flush-threshold) apply only with --create",
            ));
        }
        let dim = self.dim.map(crate::check_dim).transpose()?;
        Ok(self.create.then(|| Creation {
            dim,
            template: self.config.config(dim.unwrap_or(1)),
        }))
    }
}

/// What the collection will be: an existing one, or one to create after validation.
enum Target {
    Existing(Collection),
    ToCreate {
        dim: Option<usize>,
        template: CollectionConfig,
    },
}

impl Target {
    fn dim(&self) -> Option<usize> {
        match self {
            Target::Existing(c) => Some(c.config().dim()),
            Target::ToCreate { dim, .. } => *dim,
        }
    }
    fn distance(&self) -> Distance {
        match self {
            Target::Existing(c) => c.config().distance(),
            Target::ToCreate { template, .. } => template.distance(),
        }
    }
}

pub fn run(ctx: &mut Ctx, a: ImportArgs) -> CliResult<()> {
    let create = a.creation()?;
    if a.batch == 0 {
        return Err(CliError::usage("--batch must be at least 1"));
    }
    let format = match a.format {
        Some(f) => f,
        None => Format::from_path(&a.file)?,
    };
    if create.is_none() {
        crate::require_db(&a.db)?;
    }
    // Check the input can be opened before taking the lock or creating anything.
    drop(source::open(&a.file, format, a.payloads.as_deref())?);
    let started = Instant::now();
    let fresh = cleanup::FreshDir::note(&a.db);
    let db = Database::open(&a.db).map_err(|e| fresh.undo(e.into()))?;
    let mut created = None;
    let mut done = match import(ctx, &a, create, format, &db, &mut created) {
        Ok(done) => done,
        Err(e) => return Err(cleanup::undo(e, db, &a.collection, created, &fresh)),
    };
    let graphs = match done.coll.take() {
        // The handle is dropped before the database is closed.
        Some(c) => {
            let mut g = graphs::wait(ctx, &c, done.expect_graphs, &done.segments_before)?;
            g.duration += done.flush_time;
            g
        }
        None => graphs::Graphs::default(),
    };
    drop(created);
    graphs::close(ctx, db);
    report(ctx, &a, format, &done, &graphs, started.elapsed())
}

/// What an import did.
struct Imported {
    imported: u64,
    skipped: u64,
    /// Time of the final flush (segment writes and graph builds).
    flush_time: std::time::Duration,
    /// The collection written to (`None` if nothing was written to a collection to create).
    coll: Option<Collection>,
    /// Whether its new segments get graphs: it was created now (indexes are on in a new
    /// collection) or has one (only `ndb index --delete` turns them off, removing them all).
    expect_graphs: bool,
    /// Segments that existed before the import (not waited for: one may lack a graph for
    /// reasons of its own).
    segments_before: Vec<u64>,
}

/// The collection as it will be: an existing one, or one to create after validation.
fn open_target(db: &Database, a: &ImportArgs, create: Option<Creation>) -> CliResult<Target> {
    if !db.has_collection(&a.collection)? {
        return match create {
            None => Err(ndb::Error::CollectionNotFound(a.collection.clone()).into()),
            Some(Creation { dim, template }) => Ok(Target::ToCreate { dim, template }),
        };
    }
    let coll = db.get_collection(&a.collection)?;
    if let Some(Creation { dim: Some(dim), .. }) = &create {
        if *dim != coll.config().dim() {
            return Err(CliError::usage(format!(
                "--dim {dim} differs from the dimension {} of the existing collection {:?}",
                coll.config().dim(),
                a.collection
            )));
        }
    }
    Ok(Target::Existing(coll))
}

/// Validate (unless `--skip-invalid`), then write the file in batches and flush. `created` is
/// set to the collection if this import creates it.
fn import(
    ctx: &Ctx,
    a: &ImportArgs,
    create: Option<Creation>,
    format: Format,
    db: &Database,
    created: &mut Option<Collection>,
) -> CliResult<Imported> {
    let mut target = open_target(db, a, create)?;
    let (segments_before, had_index) = match &target {
        Target::Existing(c) => (
            c.stats()?.segments.iter().map(|s| s.id).collect(),
            c.has_index(),
        ),
        Target::ToCreate { .. } => (Vec::new(), false),
    };
    let mut validated_rows = None;
    if !a.skip_invalid {
        let (rows, dim) = validate(ctx, a, format, &target)?;
        validated_rows = Some(rows);
        if let Target::ToCreate { dim: d @ None, .. } = &mut target {
            *d = dim;
        }
    }
    let mut w = Writer {
        db,
        a,
        target,
        coll: None,
        created,
        batch: Vec::with_capacity(a.batch.min(100_000)),
        batch_bytes: 0,
        imported: 0,
        skipped: 0,
        flush_time: std::time::Duration::ZERO,
    };
    if let Target::Existing(c) = &w.target {
        w.coll = Some(c.clone());
    }
    let result = w.write_file(ctx, format, validated_rows);
    let (imported, skipped, flush_time) = (w.imported, w.skipped, w.flush_time);
    let coll = w.coll.take();
    match result {
        Err(e) if imported > 0 && w.created.is_none() => Err(CliError {
            code: e.code,
            msg: format!(
                "{} ({} documents were imported before the failure)",
                e.msg,
                crate::fmt::count(imported)
            ),
        }),
        Err(e) => Err(e),
        Ok(()) => {
            let expect_graphs = w.created.is_some()
                || had_index
                || coll.as_ref().is_some_and(Collection::has_index);
            Ok(Imported {
                imported,
                skipped,
                flush_time,
                coll,
                expect_graphs,
                segments_before,
            })
        }
    }
}

/// The import pass's state.
struct Writer<'a> {
    db: &'a Database,
    a: &'a ImportArgs,
    target: Target,
    coll: Option<Collection>,
    created: &'a mut Option<Collection>,
    batch: Vec<Document>,
    batch_bytes: usize,
    imported: u64,
    skipped: u64,
    /// Time of the final flush, which also builds the graphs still missing.
    flush_time: std::time::Duration,
}

impl Writer<'_> {
    fn write_file(
        &mut self,
        ctx: &Ctx,
        format: Format,
        validated_rows: Option<u64>,
    ) -> CliResult<()> {
        let a = self.a;
        let mut src = source::open(&a.file, format, a.payloads.as_deref())?;
        if let Target::ToCreate { dim: d @ None, .. } = &mut self.target {
            *d = src.dim();
        }
        let bar = progress_bar(ctx, "importing", validated_rows.or(src.rows()), src.len());
        let by_rows = validated_rows.is_some() || src.rows().is_some();
        let mut rows_seen = 0u64;
        let result = (|| {
            while let Some((loc, row)) = src.next_row()? {
                rows_seen += 1;
                self.add_row(&bar, loc, row)?;
                bar.set_position(if by_rows { rows_seen } else { src.position() });
            }
            if !self.batch.is_empty() || self.coll.is_none() {
                self.write_batch()?;
            }
            if let Some(c) = &self.coll {
                // flush() also builds every graph still missing before it returns.
                bar.set_message("flushing and building graphs");
                let started = std::time::Instant::now();
                c.flush()?;
                self.flush_time = started.elapsed();
            }
            Ok(())
        })();
        bar.finish_and_clear();
        result
    }

    /// Check one row and add it to the batch (or skip it), writing the batch when it is full.
    fn add_row(
        &mut self,
        bar: &ProgressBar,
        loc: source::Loc,
        row: Result<Document, String>,
    ) -> CliResult<()> {
        let target = &mut self.target;
        let checked = row.and_then(|doc| {
            if let Target::ToCreate { dim: d @ None, .. } = target {
                *d = Some(doc.vector.len()); // the first good row sets the dimension
            }
            let dim = target.dim().unwrap_or(doc.vector.len());
            check_doc(dim, target.distance(), &doc).map(|bytes| (doc, bytes))
        });
        match checked {
            Ok((doc, bytes)) => {
                self.batch.push(doc);
                self.batch_bytes += bytes;
            }
            Err(reason) if self.a.skip_invalid => {
                self.skipped += 1;
                if self.skipped <= SKIP_REPORT_MAX {
                    bar.suspend(|| eprintln!("warning: skipped {loc}: {reason}"));
                }
            }
            // The file changed since the validation pass.
            Err(reason) => return Err(CliError::fail(format!("{loc}: {reason}"))),
        }
        if self.batch.len() >= self.a.batch || self.batch_bytes >= BATCH_BYTES_MAX {
            self.write_batch()?;
        }
        Ok(())
    }

    /// Write the batch, creating the collection first if this is the first write to it.
    fn write_batch(&mut self) -> CliResult<()> {
        let c = match &mut self.coll {
            Some(c) => c,
            slot @ None => {
                let coll = create_collection(self.db, &self.a.collection, &self.target)?;
                *self.created = Some(coll.clone());
                slot.insert(coll)
            }
        };
        self.imported += write_batch(c, &mut self.batch, self.a.skip_invalid, &mut self.skipped)?;
        self.batch_bytes = 0;
        Ok(())
    }
}

fn report(
    ctx: &mut Ctx,
    a: &ImportArgs,
    format: Format,
    done: &Imported,
    graphs: &graphs::Graphs,
    elapsed: Duration,
) -> CliResult<()> {
    let (imported, skipped) = (done.imported, done.skipped);
    let rate = imported as f64 / elapsed.as_secs_f64().max(1e-9);
    if ctx.json {
        return ctx.print_json(&json!({
            "collection": a.collection,
            "file": a.file,
            "format": format.name(),
            "imported": imported,
            "skipped": skipped,
            "seconds": elapsed.as_secs_f64(),
            "docs_per_sec": rate,
            "index_seconds": graphs.duration.as_secs_f64(),
            "indexed_docs": graphs.indexed_docs,
            "unindexed_docs": graphs.left_docs,
        }));
    }
    let mut msg = format!(
        "imported {} into {:?} from {} in {} ({} docs/s)",
        crate::fmt::plural(imported, "document"),
        a.collection,
        a.file.display(),
        crate::fmt::duration(elapsed),
        crate::fmt::count(rate as u64),
    );
    if a.skip_invalid {
        msg.push_str(&format!(
            "; skipped {}",
            crate::fmt::plural(skipped, "invalid row")
        ));
    }
    if let Some(note) = graphs.note() {
        msg.push_str(&format!("; {note}"));
    }
    ctx.println(&msg)
}

/// The validation pass: every row must be a valid document. Returns the row count and the
/// dimension of the first row.
fn validate(
    ctx: &Ctx,
    a: &ImportArgs,
    format: Format,
    target: &Target,
) -> CliResult<(u64, Option<usize>)> {
    let mut src = source::open(&a.file, format, a.payloads.as_deref())?;
    let bar = progress_bar(ctx, "validating", None, src.len());
    let mut dim = target.dim();
    let distance = target.distance();
    let mut rows = 0u64;
    let result = (|| {
        while let Some((loc, row)) = src.next_row()? {
            rows += 1;
            let doc = row.map_err(|reason| CliError::fail(format!("{loc}: {reason}")))?;
            let d = *dim.get_or_insert(doc.vector.len());
            check_doc(d, distance, &doc)
                .map_err(|reason| CliError::fail(format!("{loc}: {reason}")))?;
            if rows.is_multiple_of(1024) {
                bar.set_position(src.position());
            }
        }
        Ok(())
    })();
    bar.finish_and_clear();
    result.map_err(|e: CliError| {
        let hint = if a.skip_invalid {
            ""
        } else {
            "; nothing was imported (--skip-invalid imports the valid rows)"
        };
        CliError {
            code: e.code,
            msg: format!("{}{hint}", e.msg),
        }
    })?;
    Ok((rows, dim))
}

/// Create the collection on its first write (after validation, so a refused file creates
/// nothing).
fn create_collection(db: &Database, name: &str, target: &Target) -> CliResult<Collection> {
    let Target::ToCreate { dim, template } = target else {
        return Err(CliError::fail(format!(
            "internal error: collection {name:?} should exist (a bug in ndb; please report it)"
        )));
    };
    let dim = dim.ok_or_else(|| {
        CliError::usage("the file has no valid rows to take the dimension from; pass --dim")
    })?;
    Ok(db.create_collection(name, crate::with_dim(template, dim))?)
}

/// Write one batch; with `skip_invalid`, a batch the library refuses is retried one document at
/// a time and the refused ones are skipped. Returns the number written.
fn write_batch(
    coll: &Collection,
    batch: &mut Vec<Document>,
    skip_invalid: bool,
    skipped: &mut u64,
) -> CliResult<u64> {
    if batch.is_empty() {
        return Ok(0);
    }
    let docs = std::mem::take(batch);
    let n = docs.len() as u64;
    if !skip_invalid {
        coll.insert_batch(docs)?;
        return Ok(n);
    }
    match coll.insert_batch(docs.clone()) {
        Ok(()) => Ok(n),
        Err(ndb::Error::InvalidArgument(_) | ndb::Error::WrongDimension { .. }) => {
            let mut written = 0;
            for doc in docs {
                let id = doc.id.clone();
                match coll.insert(doc) {
                    Ok(()) => written += 1,
                    Err(
                        e @ (ndb::Error::InvalidArgument(_) | ndb::Error::WrongDimension { .. }),
                    ) => {
                        *skipped += 1;
                        eprintln!("warning: skipped document {id:?}: {e}");
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(written)
        }
        Err(e) => Err(e.into()),
    }
}

/// A progress bar on stderr counting rows when their number is known, bytes otherwise. It is
/// hidden when stderr is not a terminal.
pub(super) fn progress_bar(ctx: &Ctx, what: &str, rows: Option<u64>, bytes: u64) -> ProgressBar {
    let (len, template) = match rows {
        Some(r) => (
            r,
            "{prefix:>10} {wide_bar:.cyan/blue} {human_pos}/{human_len} docs  {rate:>12}  ETA {eta:>4} {msg}",
        ),
        None => (
            bytes,
            "{prefix:>10} {wide_bar:.cyan/blue} {bytes}/{total_bytes}  {binary_bytes_per_sec:>12}  ETA {eta:>4} {msg}",
        ),
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if ctx.quiet {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template(template) {
        let style = style
            .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{} docs/s", crate::fmt::count(s.per_sec() as u64));
            })
            .progress_chars("=> ");
        bar.set_style(style);
    }
    bar.set_prefix(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
