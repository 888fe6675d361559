//! `create`, `list`, `drop`, `stats`, `config`.

use super::{config_json, distance_name, durability_name, open_read, open_write};
use crate::error::{CliError, CliResult};
use crate::fmt::{self, Align, Table};
use crate::Ctx;
use ndb::{CollectionConfig, Database};
use serde_json::{json, Value};
use std::path::Path;

pub fn create(ctx: &mut Ctx, db: &Path, name: &str, config: CollectionConfig) -> CliResult<()> {
    let database = Database::open(db)?;
    let coll = database.create_collection(name, config)?;
    let c = coll.config();
    if ctx.json {
        ctx.print_json(&json!({"collection": name, "config": config_json(&c)}))
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
    if !ctx.json {
        for path in database.foreign_entries()? {
            let shown = fmt::escape_text(&path.display().to_string());
            ctx.println(&format!(
                "not part of the database (nDB leaves it alone): {shown}"
            ))?;
        }
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
            "config": config_json(&c),
            "doc_count": s.doc_count,
            "deleted_count": s.deleted_count,
            "segment_count": s.segment_count,
            "memtable_docs": s.memtable_docs,
            "memtable_bytes": s.memtable_bytes,
            "indexed_docs": s.indexed_docs,
            "index_backlog_rows": s.index_backlog_rows,
            "index_backlog_segments": s.index_backlog_segments,
            "index_enabled": s.index_enabled,
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
            "quantization": s.quantization.name(),
            "quantized_docs": s.quantized_docs,
            "vector_bytes": s.vector_bytes,
            "code_bytes": s.code_bytes,
            "graph_bytes": s.graph_bytes,
            "resident_bytes_per_vector": s.resident_bytes_per_vector,
            "segments": s.segments.iter().map(|g| json!({
                "id": g.id, "rows": g.rows, "deleted": g.deleted, "bytes": g.bytes, "indexed": g.indexed,
                "quantization": g.quantization.name(), "code_bytes": g.code_bytes,
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
                (
                    "waiting for graphs",
                    format!(
                        "{} rows in {} segments (searched exactly until built)",
                        fmt::count(s.index_backlog_rows),
                        s.index_backlog_segments
                    ),
                ),
                (
                    "quantization",
                    format!(
                        "{} ({} docs on codes; codes {}, graphs {}, f32 vectors {}; {:.0} bytes \
                         per vector searched at random)",
                        s.quantization.name(),
                        fmt::count(s.quantized_docs),
                        fmt::bytes(s.code_bytes),
                        fmt::bytes(s.graph_bytes),
                        fmt::bytes(s.vector_bytes),
                        s.resident_bytes_per_vector
                    ),
                ),
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
                                "#{}: {} rows ({} deleted), {}{}{}",
                                g.id,
                                fmt::count(g.rows),
                                fmt::count(g.deleted),
                                fmt::bytes(g.bytes),
                                if g.indexed { ", indexed" } else { "" },
                                match g.quantization {
                                    ndb::Quantization::None => String::new(),
                                    q => format!(", {} codes", q.name()),
                                }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            ],
        )
    }
}

/// `ndb config`: show a collection's settings, or change them (`KEY=VALUE` pairs).
pub fn config(ctx: &mut Ctx, db: &Path, name: &str, settings: &[String]) -> CliResult<()> {
    let c = if settings.is_empty() {
        open_read(db)?.get_collection(name)?.config()
    } else {
        let mut update = ndb::ConfigUpdate::new();
        for setting in settings {
            let (key, value) = setting.split_once('=').ok_or_else(|| {
                CliError::usage(format!("{setting:?}: settings are written KEY=VALUE"))
            })?;
            update = update.set(key.trim(), value)?;
        }
        let database = open_write(db)?;
        database.get_collection(name)?.update_config(&update)?
    };
    if ctx.json {
        return ctx.print_json(&json!({"collection": name, "config": config_json(&c)}));
    }
    let ix = c.index();
    ctx.println(&format!(
        "{name}: dim {}, {}, {} durability, flush threshold {}, m {}, ef_construction {}, \
         ef_search {}, min_rows {}, quantization {}",
        c.dim(),
        distance_name(c.distance()),
        durability_name(c.durability()),
        fmt::bytes(c.flush_threshold_bytes() as u64),
        ix.m,
        ix.ef_construction,
        ix.ef_search,
        ix.min_rows,
        c.quantization().name()
    ))
}
