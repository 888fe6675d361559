//! `compact`, `index` and `backup`.

use super::{open_write, spinner};
use crate::error::CliResult;
use crate::fmt;
use crate::Ctx;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

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

pub fn backup(ctx: &mut Ctx, db: &Path, dest: &Path) -> CliResult<()> {
    let database = open_write(db)?;
    let spin = spinner(ctx, "backing up");
    let result = database.backup(dest);
    if let Some(s) = spin {
        s.finish_and_clear();
    }
    let b = result?;
    if ctx.json {
        ctx.print_json(&json!({
            "dest": b.dest.display().to_string(),
            "collections": b.collections,
            "files_linked": b.files_linked,
            "files_copied": b.files_copied,
            "bytes_copied": b.bytes_copied,
            "seconds": b.duration.as_secs_f64(),
        }))
    } else {
        ctx.println(&format!(
            "backed up {} to {} in {}: {} linked, {} copied ({})",
            fmt::plural(b.collections as u64, "collection"),
            b.dest.display(),
            fmt::duration(b.duration),
            fmt::plural(b.files_linked, "file"),
            fmt::plural(b.files_copied, "file"),
            fmt::bytes(b.bytes_copied),
        ))
    }
}
