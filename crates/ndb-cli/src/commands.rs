//! The subcommands other than `import`.

use crate::error::{write_err, CliError, CliResult, EXIT_DAMAGE};
use crate::fmt::{self, Align, Table};
use crate::source::Format;
use crate::{require_db, Ctx};
use ndb::{Collection, CollectionConfig, CollectionStats, Database, Distance, Durability, Filter};
use serde::Serialize;
use serde_json::{json, Value};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn distance_name(d: Distance) -> &'static str {
    match d {
        Distance::Cosine => "cosine",
        Distance::DotProduct => "dot",
        Distance::Euclidean => "euclidean",
    }
}

fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::Buffered => "buffered",
        Durability::FdatasyncEachBatch => "fsync",
    }
}

fn config_json(c: &CollectionConfig) -> Value {
    let ix = c.index();
    json!({
        "dim": c.dim(),
        "distance": distance_name(c.distance()),
        "durability": durability_name(c.durability()),
        "flush_threshold_bytes": c.flush_threshold_bytes(),
        "index": {
            "m": ix.m,
            "ef_construction": ix.ef_construction,
            "ef_search": ix.ef_search,
            "min_rows": ix.min_rows,
        },
    })
}

/// Open a database for reading: no lock, so this works while another process writes.
fn open_read(db: &Path) -> CliResult<Database> {
    require_db(db)?;
    Ok(Database::open_read_only(db)?)
}

/// Open an existing database for writing (takes its lock).
fn open_write(db: &Path) -> CliResult<Database> {
    require_db(db)?;
    Ok(Database::open(db)?)
}

// ---------------------------------------------------------------------------------------------

pub fn create(ctx: &mut Ctx, db: &Path, name: &str, config: CollectionConfig) -> CliResult<()> {
    let database = Database::open(db)?;
    let coll = database.create_collection(name, config)?;
    let c = coll.config();
    if ctx.json {
        ctx.print_json(&json!({"collection": name, "config": config_json(c)}))
    } else {
        ctx.println(&format!(
            "created collection {name:?} in {} (dim {}, {}, {} durability)",
            db.display(),
            c.dim(),
            distance_name(c.distance()),
            durability_name(c.durability())
        ))
    }
}

pub fn list(ctx: &mut Ctx, db: &Path) -> CliResult<()> {
    let database = open_read(db)?;
    let names = database.collection_names()?;
    let mut rows = Vec::new();
    let mut first_err: Option<CliError> = None;
    for name in names {
        match database.get_collection(&name).and_then(|c| {
            let s = c.stats()?;
            Ok((c, s))
        }) {
            Ok((c, s)) => rows.push((name, Ok((c.config().clone(), s)))),
            Err(e) => {
                let e = CliError::from(e);
                rows.push((name, Err(e.msg.clone())));
                first_err.get_or_insert(e);
            }
        }
    }
    if ctx.json {
        let arr: Vec<Value> = rows
            .iter()
            .map(|(name, r)| match r {
                Ok((c, s)) => json!({
                    "name": name,
                    "config": config_json(c),
                    "docs": s.doc_count,
                    "segments": s.segment_count,
                    "disk_bytes": s.disk_bytes,
                }),
                Err(e) => json!({"name": name, "error": e}),
            })
            .collect();
        ctx.print_json(&Value::Array(arr))?;
    } else if rows.is_empty() {
        ctx.println(&format!(
            "no collections in {} (`ndb create` makes one)",
            db.display()
        ))?;
    } else {
        let mut t = Table::new(&[
            ("COLLECTION", Align::Left),
            ("DIM", Align::Right),
            ("DISTANCE", Align::Left),
            ("DOCS", Align::Right),
            ("SEGMENTS", Align::Right),
            ("DISK", Align::Right),
        ]);
        for (name, r) in &rows {
            match r {
                Ok((c, s)) => t.row(vec![
                    name.clone(),
                    c.dim().to_string(),
                    distance_name(c.distance()).into(),
                    fmt::count(s.doc_count),
                    s.segment_count.to_string(),
                    fmt::bytes(s.disk_bytes),
                ]),
                Err(e) => t.row(vec![
                    name.clone(),
                    "?".into(),
                    format!("error: {e}"),
                    String::new(),
                    String::new(),
                    String::new(),
                ]),
            }
        }
        t.print(ctx.out())?;
    }
    match first_err {
        Some(e) => Err(e.context("cannot open every collection")),
        None => Ok(()),
    }
}

pub fn drop(ctx: &mut Ctx, db: &Path, name: &str) -> CliResult<()> {
    let database = open_write(db)?;
    if !database.drop_collection(name)? {
        return Err(ndb::Error::CollectionNotFound(name.to_string()).into());
    }
    if ctx.json {
        ctx.print_json(&json!({"dropped": name}))
    } else {
        ctx.println(&format!("dropped collection {name:?}"))
    }
}

/// WAL bytes of a collection. A read-only handle reports `wal_bytes` 0 (it has no WAL writer),
/// so add up the WAL files (`wal-NNNNNN.log`, see docs/FORMAT.md) in the collection directory.
pub fn stats(ctx: &mut Ctx, db: &Path, name: &str) -> CliResult<()> {
    let database = open_read(db)?;
    let coll = database.get_collection(name)?;
    let s = coll.stats()?;
    let c = coll.config();
    let (wal, disk) = (s.wal_bytes, s.disk_bytes);
    let payload_indexes: Vec<String> = s
        .payload_indexes
        .iter()
        .map(|(field, kind)| format!("{field} ({})", format!("{kind:?}").to_lowercase()))
        .collect();
    let index = if coll.has_index() { "yes" } else { "no" };
    if ctx.json {
        ctx.print_json(&json!({
            "collection": name,
            "config": config_json(c),
            "doc_count": s.doc_count,
            "deleted_count": s.deleted_count,
            "segment_count": s.segment_count,
            "memtable_docs": s.memtable_docs,
            "memtable_bytes": s.memtable_bytes,
            "indexed_docs": s.indexed_docs,
            "has_index": coll.has_index(),
            "disk_bytes": disk,
            "wal_bytes": wal,
            "wal_replayed_records": s.wal_replayed_records,
            "wal_truncated_bytes": s.wal_truncated_bytes,
            "open_seconds": s.open_duration.as_secs_f64(),
            "open_manifest_seconds": s.open_manifest_duration.as_secs_f64(),
            "open_segments_seconds": s.open_segments_duration.as_secs_f64(),
            "open_wal_replay_seconds": s.open_wal_replay_duration.as_secs_f64(),
            "payload_indexes": payload_indexes,
            "segments": s.segments.iter().map(|g| json!({
                "id": g.id, "rows": g.rows, "deleted": g.deleted, "bytes": g.bytes, "indexed": g.indexed,
            })).collect::<Vec<_>>(),
        }))
    } else {
        let ix = c.index();
        fmt::print_fields(
            ctx.out(),
            &[
                ("collection", name.to_string()),
                ("dimension", c.dim().to_string()),
                ("distance", distance_name(c.distance()).into()),
                ("durability", durability_name(c.durability()).into()),
                (
                    "flush threshold",
                    fmt::bytes(c.flush_threshold_bytes() as u64),
                ),
                (
                    "index config",
                    format!(
                        "m={} ef_construction={} ef_search={} min_rows={}",
                        ix.m, ix.ef_construction, ix.ef_search, ix.min_rows
                    ),
                ),
                ("documents", fmt::count(s.doc_count)),
                ("deleted rows", fmt::count(s.deleted_count)),
                ("segments", s.segment_count.to_string()),
                ("memtable docs", fmt::count(s.memtable_docs)),
                ("memtable size", fmt::bytes(s.memtable_bytes)),
                ("index", index.to_string()),
                ("indexed docs", fmt::count(s.indexed_docs)),
                ("disk size", fmt::bytes(disk)),
                ("WAL size", fmt::bytes(wal)),
                (
                    "WAL replayed",
                    format!("{} records", fmt::count(s.wal_replayed_records)),
                ),
                (
                    "open time",
                    format!(
                        "{} (manifest {}, segments {}, WAL replay {})",
                        fmt::duration(s.open_duration),
                        fmt::duration(s.open_manifest_duration),
                        fmt::duration(s.open_segments_duration),
                        fmt::duration(s.open_wal_replay_duration)
                    ),
                ),
                (
                    "payload indexes",
                    if payload_indexes.is_empty() {
                        "none".to_string()
                    } else {
                        payload_indexes.join(", ")
                    },
                ),
                (
                    "segment sizes",
                    s.segments
                        .iter()
                        .map(|g| {
                            format!(
                                "#{}: {} rows ({} deleted), {}{}",
                                g.id,
                                fmt::count(g.rows),
                                fmt::count(g.deleted),
                                fmt::bytes(g.bytes),
                                if g.indexed { ", indexed" } else { "" }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            ],
        )
    }
}

// ---------------------------------------------------------------------------------------------

/// Parse a query vector: a JSON array, a JSON object with a "vector" field, or numbers
/// separated by whitespace or commas.
pub fn parse_vector(text: &str) -> Result<Vec<f32>, String> {
    let t = text.trim();
    if t.starts_with('[') {
        return serde_json::from_str::<Vec<f32>>(t)
            .map_err(|e| format!("not a JSON array of numbers: {e}"));
    }
    if t.starts_with('{') {
        let v: Value = serde_json::from_str(t).map_err(|e| format!("invalid JSON: {e}"))?;
        let vector = v
            .get("vector")
            .ok_or("the JSON object has no \"vector\" field")?;
        return serde_json::from_value::<Vec<f32>>(vector.clone())
            .map_err(|e| format!("\"vector\" is not an array of numbers: {e}"));
    }
    let v = t
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<f32>()
                .map_err(|_| format!("{s:?} is not a number"))
        })
        .collect::<Result<Vec<f32>, String>>()?;
    if v.is_empty() {
        return Err("no numbers".into());
    }
    Ok(v)
}

pub enum Query {
    Vector(Vec<f32>),
    Id(String),
}

pub struct SearchArgs {
    pub db: PathBuf,
    pub collection: String,
    pub query: Query,
    pub k: usize,
    pub filter: Option<Filter>,
    pub exact: bool,
    pub ef: Option<usize>,
    pub distance: Option<Distance>,
    pub threads: Option<usize>,
}

pub fn search(ctx: &mut Ctx, a: SearchArgs) -> CliResult<()> {
    let database = open_read(&a.db)?;
    let coll = database.get_collection(&a.collection)?;
    let (vector, exclude) = match a.query {
        Query::Vector(v) => (v, None),
        Query::Id(id) => {
            let doc = coll.get(&id)?.ok_or_else(|| no_doc(&a.collection, &id))?;
            (doc.vector, Some(id))
        }
    };
    let k = if exclude.is_some() {
        a.k.saturating_add(1)
    } else {
        a.k
    };
    let mut s = ndb::Search::new(&vector).top_k(k);
    if let Some(f) = a.filter {
        s = s.filter(f);
    }
    if a.exact {
        s = s.approximate(false);
    }
    if let Some(ef) = a.ef {
        s = s.ef(ef);
    }
    if let Some(d) = a.distance {
        s = s.distance(d);
    }
    if let Some(t) = a.threads {
        s = s.threads(t);
    }
    let started = Instant::now();
    let mut hits = coll.search(s)?;
    let took = started.elapsed();
    if let Some(id) = &exclude {
        hits.retain(|h| &h.id != id);
        hits.truncate(a.k);
    }
    if ctx.json {
        let arr: Vec<Value> = hits
            .iter()
            .map(|h| json!({"id": h.id, "score": h.score, "payload": h.payload}))
            .collect();
        return ctx.print_json(&Value::Array(arr));
    }
    if hits.is_empty() {
        return ctx.println("no results");
    }
    let mut t = Table::new(&[
        ("RANK", Align::Right),
        ("ID", Align::Left),
        ("SCORE", Align::Right),
        ("PAYLOAD", Align::Left),
    ]);
    for (i, h) in hits.iter().enumerate() {
        let payload = h
            .payload
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default();
        t.row(vec![
            (i + 1).to_string(),
            fmt::truncate(&h.id, 40),
            format!("{:.6}", h.score),
            fmt::truncate(&payload, 80),
        ]);
    }
    t.print(ctx.out())?;
    let mode = if a.exact || a.distance.is_some() || !coll.has_index() {
        "exact"
    } else {
        "approximate where indexed"
    };
    ctx.println(&format!(
        "{} in {} ({mode})",
        fmt::plural(hits.len() as u64, "result"),
        fmt::duration(took)
    ))
}

fn no_doc(collection: &str, id: &str) -> CliError {
    CliError::fail(format!(
        "no document with id {id:?} in collection {collection:?}"
    ))
}

pub fn get(ctx: &mut Ctx, db: &Path, name: &str, id: &str) -> CliResult<()> {
    let database = open_read(db)?;
    let coll = database.get_collection(name)?;
    let doc = coll.get(id)?.ok_or_else(|| no_doc(name, id))?;
    if ctx.json {
        ctx.print_json(&json!({"id": doc.id, "vector": doc.vector, "payload": doc.payload}))
    } else {
        fmt::print_fields(
            ctx.out(),
            &[
                ("id", doc.id.clone()),
                ("vector", fmt::vector_preview(&doc.vector, 8)),
                (
                    "payload",
                    doc.payload
                        .as_ref()
                        .map_or_else(|| "(none)".into(), |p| p.to_string()),
                ),
            ],
        )
    }
}

pub fn delete(ctx: &mut Ctx, db: &Path, name: &str, id: &str) -> CliResult<()> {
    let database = open_write(db)?;
    let coll = database.get_collection(name)?;
    if !coll.delete(id)? {
        return Err(no_doc(name, id));
    }
    coll.sync()?;
    if ctx.json {
        ctx.print_json(&json!({"deleted": id}))
    } else {
        ctx.println(&format!("deleted {id:?} from {name:?}"))
    }
}

// ---------------------------------------------------------------------------------------------

/// One line of a JSON Lines export (the import format).
#[derive(Serialize)]
struct ExportDoc<'a> {
    id: &'a str,
    vector: &'a [f32],
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a Value>,
}

pub fn export(
    ctx: &mut Ctx,
    db: &Path,
    name: &str,
    file: Option<&Path>,
    format: Option<Format>,
) -> CliResult<()> {
    let format = match (format, file) {
        (Some(f), _) => f,
        (None, Some(p)) => Format::from_path(p).unwrap_or(Format::Jsonl),
        (None, None) => Format::Jsonl,
    };
    let database = open_read(db)?;
    let coll = database.get_collection(name)?;
    let started = Instant::now();
    let count = match file {
        None => write_export(&coll, format, ctx.out())?,
        Some(path) => {
            let f = std::fs::File::create(path)
                .map_err(|e| CliError::fail(format!("cannot create {}: {e}", path.display())))?;
            let mut w = BufWriter::with_capacity(1 << 20, f);
            let result = write_export(&coll, format, &mut w).and_then(|n| {
                w.flush()
                    .and_then(|()| w.get_ref().sync_all())
                    .map_err(|e| CliError::io(path, e))?;
                Ok(n)
            });
            if result.is_err() {
                let _ = std::fs::remove_file(path);
            }
            result?
        }
    };
    if let Some(path) = file {
        if ctx.json {
            ctx.print_json(&json!({
                "collection": name,
                "file": path,
                "format": format.name(),
                "exported": count,
                "seconds": started.elapsed().as_secs_f64(),
            }))?;
        } else {
            ctx.println(&format!(
                "exported {} from {name:?} to {} in {}",
                fmt::plural(count, "document"),
                path.display(),
                fmt::duration(started.elapsed())
            ))?;
        }
    }
    Ok(())
}

fn write_export(coll: &Collection, format: Format, out: &mut dyn Write) -> CliResult<u64> {
    let mut n = 0u64;
    match format {
        Format::Jsonl => {
            for doc in coll.iter()? {
                let doc = doc?;
                let line = ExportDoc {
                    id: &doc.id,
                    vector: &doc.vector,
                    payload: doc.payload.as_ref(),
                };
                serde_json::to_writer(&mut *out, &line).map_err(|e| write_err(e.into()))?;
                out.write_all(b"\n").map_err(write_err)?;
                n += 1;
            }
        }
        Format::Fvecs | Format::Npy => {
            let rows = coll.stats()?.doc_count;
            let dim = coll.config().dim();
            if format == Format::Npy {
                out.write_all(&npy_header(rows, dim)).map_err(write_err)?;
            }
            let mut buf = Vec::with_capacity(4 + 4 * dim);
            for row in 0..rows {
                let id = row.to_string();
                let doc = coll.get(&id)?.ok_or_else(|| {
                    CliError::fail(format!(
                        "--format {} writes vectors in row order and needs the ids to be the row \
                         numbers 0..{rows}, but there is no document {id:?}; export JSON Lines instead",
                        format.name()
                    ))
                })?;
                buf.clear();
                if format == Format::Fvecs {
                    buf.extend_from_slice(&(dim as i32).to_le_bytes());
                }
                for x in &doc.vector {
                    buf.extend_from_slice(&x.to_le_bytes());
                }
                out.write_all(&buf).map_err(write_err)?;
                n += 1;
            }
        }
    }
    out.flush().map_err(write_err)?;
    Ok(n)
}

/// A `.npy` version 1.0 header for a `rows × dim` little-endian float32 C-order array.
fn npy_header(rows: u64, dim: usize) -> Vec<u8> {
    let mut dict =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    // Pad with spaces so that the data starts at a multiple of 64 bytes; end with a newline.
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut h = Vec::with_capacity(10 + dict.len());
    h.extend_from_slice(b"\x93NUMPY\x01\x00");
    h.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h
}

// ---------------------------------------------------------------------------------------------

/// One collection's verification result.
enum Verdict {
    Ok(CollectionStats),
    Damaged {
        file: PathBuf,
        offset: u64,
        reason: String,
    },
    Failed(CliError),
}

pub fn verify(ctx: &mut Ctx, db: &Path, only: Option<&str>) -> CliResult<()> {
    let database = open_read(db)?;
    let names = match only {
        Some(name) => {
            if !database.has_collection(name)? {
                return Err(ndb::Error::CollectionNotFound(name.to_string()).into());
            }
            vec![name.to_string()]
        }
        None => database.collection_names()?,
    };
    let mut results = Vec::new();
    for name in names {
        let r = database.get_collection(&name).and_then(|c| {
            c.verify()?;
            c.stats()
        });
        let verdict = match r {
            Ok(s) => Verdict::Ok(s),
            Err(ndb::Error::Corruption {
                file,
                offset,
                reason,
            }) => Verdict::Damaged {
                file,
                offset,
                reason,
            },
            Err(e) => Verdict::Failed(e.into()),
        };
        results.push((name, verdict));
    }
    let damaged = results
        .iter()
        .filter(|r| matches!(r.1, Verdict::Damaged { .. }))
        .count();
    if ctx.json {
        let arr: Vec<Value> = results
            .iter()
            .map(|(name, v)| match v {
                Verdict::Ok(s) => json!({
                    "name": name,
                    "status": "ok",
                    "docs": s.doc_count,
                    "segments": s.segment_count,
                    "wal_torn_tail_bytes": s.wal_truncated_bytes,
                }),
                Verdict::Damaged {
                    file,
                    offset,
                    reason,
                } => json!({
                    "name": name,
                    "status": "damaged",
                    "problem": {"file": file, "offset": offset, "reason": reason},
                }),
                Verdict::Failed(e) => json!({"name": name, "status": "error", "error": e.msg}),
            })
            .collect();
        ctx.print_json(&json!({
            "ok": results.iter().all(|r| matches!(r.1, Verdict::Ok(_))),
            "collections": arr,
        }))?;
    } else {
        let mut t = Table::new(&[
            ("COLLECTION", Align::Left),
            ("STATUS", Align::Left),
            ("DETAILS", Align::Left),
        ]);
        for (name, v) in &results {
            let (status, details) = match v {
                Verdict::Ok(s) => {
                    let mut d = format!(
                        "{}, {}",
                        fmt::plural(s.doc_count, "document"),
                        fmt::plural(s.segment_count as u64, "segment")
                    );
                    if s.wal_truncated_bytes > 0 {
                        d.push_str(&format!(
                            "; the WAL ends in {} bytes of an interrupted write (a crash), \
                             ignored and cut off at the next writable open",
                            s.wal_truncated_bytes
                        ));
                    }
                    ("ok", d)
                }
                Verdict::Damaged {
                    file,
                    offset,
                    reason,
                } => (
                    "DAMAGED",
                    format!("{} at offset {offset}: {reason}", file.display()),
                ),
                Verdict::Failed(e) => ("ERROR", e.msg.clone()),
            };
            t.row(vec![name.clone(), status.into(), details]);
        }
        if results.is_empty() {
            ctx.println("no collections")?;
        } else {
            t.print(ctx.out())?;
        }
    }
    if damaged > 0 {
        return Err(CliError {
            code: EXIT_DAMAGE,
            msg: format!("damage found in {damaged} of {} collections", results.len()),
        });
    }
    if let Some((name, Verdict::Failed(e))) =
        results.iter().find(|r| matches!(r.1, Verdict::Failed(_)))
    {
        return Err(CliError {
            code: e.code,
            msg: format!("could not verify {name:?}: {}", e.msg),
        });
    }
    Ok(())
}

/// A spinner on stderr for a long operation without measurable progress.
fn spinner(ctx: &Ctx, msg: &'static str) -> Option<indicatif::ProgressBar> {
    (!ctx.quiet).then(|| {
        let s = indicatif::ProgressBar::new_spinner();
        s.set_message(msg);
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    })
}

pub fn compact(ctx: &mut Ctx, db: &Path, name: &str) -> CliResult<()> {
    let database = open_write(db)?;
    let coll = database.get_collection(name)?;
    let spin = spinner(ctx, "compacting");
    let result = coll.flush().and_then(|()| coll.compact());
    if let Some(s) = spin {
        s.finish_and_clear();
    }
    let c = result?;
    if ctx.json {
        ctx.print_json(&json!({
            "collection": name,
            "docs_before": c.docs_before,
            "docs_after": c.docs_after,
            "bytes_before": c.bytes_before,
            "bytes_after": c.bytes_after,
            "segments_before": c.segments_before,
            "segments_after": c.segments_after,
            "seconds": c.duration.as_secs_f64(),
        }))
    } else {
        ctx.println(&format!(
            "compacted {name:?} in {}: {} → {} rows, {} → {}, {} → {}",
            fmt::duration(c.duration),
            fmt::count(c.docs_before),
            fmt::count(c.docs_after),
            fmt::plural(c.segments_before as u64, "segment"),
            fmt::plural(c.segments_after as u64, "segment"),
            fmt::bytes(c.bytes_before),
            fmt::bytes(c.bytes_after),
        ))
    }
}

pub fn index(ctx: &mut Ctx, db: &Path, name: &str, rebuild: bool) -> CliResult<()> {
    let database = open_write(db)?;
    let coll = database.get_collection(name)?;
    let started = Instant::now();
    let spinner = spinner(
        ctx,
        if rebuild {
            "building the index"
        } else {
            "deleting the index"
        },
    );
    let result = if rebuild {
        coll.flush().and_then(|()| coll.rebuild_index())
    } else {
        coll.delete_index()
    };
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    result?;
    let s = coll.stats()?;
    if ctx.json {
        ctx.print_json(&json!({
            "collection": name,
            "action": if rebuild { "rebuild" } else { "delete" },
            "has_index": coll.has_index(),
            "indexed_docs": s.indexed_docs,
            "docs": s.doc_count,
            "seconds": started.elapsed().as_secs_f64(),
        }))
    } else if rebuild {
        ctx.println(&format!(
            "index of {name:?} rebuilt in {}: {} of {} documents indexed",
            fmt::duration(started.elapsed()),
            fmt::count(s.indexed_docs),
            fmt::count(s.doc_count)
        ))
    } else {
        ctx.println(&format!(
            "index of {name:?} deleted; searches are exact until `ndb index --rebuild`"
        ))
    }
}

// ---------------------------------------------------------------------------------------------

/// The benchmark harness binary that `ndb bench` runs.
const BENCH_BIN: &str = "ndb-search-bench";

pub fn bench(ctx: &mut Ctx, args: &[String]) -> CliResult<()> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::fail(format!("cannot find the ndb executable's directory: {e}")))?;
    let harness = exe.with_file_name(format!("{BENCH_BIN}{}", std::env::consts::EXE_SUFFIX));
    if !harness.is_file() {
        return Err(CliError::fail(format!(
            "`ndb bench` runs the benchmark harness {BENCH_BIN}, which is not installed next to \
             ndb (looked for {}); build it with `cargo build --release -p ndb-bench`",
            harness.display()
        )));
    }
    ctx.flush()?;
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .skip_while(|a| *a == "--")
        .collect();
    let status = std::process::Command::new(&harness)
        .args(&args)
        .status()
        .map_err(|e| CliError::fail(format!("cannot run {}: {e}", harness.display())))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(CliError {
            code,
            msg: format!("{BENCH_BIN} exited with status {code}"),
        }),
        None => Err(CliError::fail(format!("{BENCH_BIN} was killed ({status})"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors() {
        assert_eq!(parse_vector("[1, -2.5]"), Ok(vec![1.0, -2.5]));
        assert_eq!(parse_vector(" 1 2,3 "), Ok(vec![1.0, 2.0, 3.0]));
        assert_eq!(
            parse_vector(r#"{"id": "a", "vector": [0.5]}"#),
            Ok(vec![0.5])
        );
        assert!(parse_vector("[1, x]").is_err());
        assert!(parse_vector("").is_err());
    }

    #[test]
    fn npy_header_is_aligned() {
        let h = npy_header(3, 4);
        assert_eq!(h.len() % 64, 0);
        assert_eq!(*h.last().unwrap(), b'\n');
    }
}
