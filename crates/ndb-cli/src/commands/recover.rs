//! `recover`: salvage a damaged database into a new one.

use super::spinner;
use crate::error::{write_err, CliError, CliResult, EXIT_DAMAGE};
use crate::Ctx;
use ndb::{CollectionRecovery, Damage, FileRecovery, RecoverReport};
use serde_json::{json, Value};
use std::path::Path;

pub fn recover(ctx: &mut Ctx, db: &Path, dest: &Path) -> CliResult<()> {
    let spin = spinner(ctx, "recovering");
    let result = ndb::recover(db, dest);
    if let Some(s) = spin {
        s.finish_and_clear();
    }
    let report = result?;
    if ctx.json {
        ctx.print_json(&report_json(&report))?;
    } else {
        write!(ctx.out(), "{report}").map_err(write_err)?;
    }
    if !report.is_complete() {
        return Err(CliError {
            code: EXIT_DAMAGE,
            msg: format!(
                "the source is damaged ({} lost; the report above says where and why); every \
                 document that could be read is in {}",
                crate::fmt::plural(report.rows_lost(), "segment row"),
                dest.display()
            ),
        });
    }
    Ok(())
}

/// The report as JSON (paths as text, lossily if they are not UTF-8).
fn report_json(r: &RecoverReport) -> Value {
    json!({
        "source": r.source.display().to_string(),
        "dest": r.dest.display().to_string(),
        "complete": r.is_complete(),
        "documents_recovered": r.documents_recovered(),
        "rows_lost": r.rows_lost(),
        "files": r.files.iter().map(file_json).collect::<Vec<_>>(),
        "notes": r.notes,
        "collections": r.collections.iter().map(collection_json).collect::<Vec<_>>(),
    })
}

fn collection_json(c: &CollectionRecovery) -> Value {
    json!({
        "name": c.name,
        "complete": c.is_complete(),
        "documents_recovered": c.documents_recovered,
        "documents_refused": c.documents_refused,
        "rows_lost": c.rows_lost(),
        "config_from_manifest": c.config_from_manifest,
        "files": c.files.iter().map(file_json).collect::<Vec<_>>(),
        "notes": c.notes,
    })
}

fn file_json(f: &FileRecovery) -> Value {
    json!({
        "path": f.path.display().to_string(),
        "kind": f.kind.name(),
        "documents_read": f.documents_read,
        "rows_lost": f.rows_lost,
        "damage": f.damage.iter().map(damage_json).collect::<Vec<_>>(),
    })
}

fn damage_json(d: &Damage) -> Value {
    let range = |r: &std::ops::Range<u64>| json!([r.start, r.end]);
    json!({
        "bytes": range(&d.bytes),
        "rows": d.rows.as_ref().map(range),
        "records": d.records.as_ref().map(range),
        "ids": d.ids,
        "reason": d.reason,
    })
}
