//! `verify`.

use super::open_read;
use crate::error::{CliError, CliResult, EXIT_DAMAGE};
use crate::fmt::{self, Align, Table};
use crate::Ctx;
use ndb::CollectionStats;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// One collection's verification result.
enum Verdict {
    Ok(Box<CollectionStats>),
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
            Ok(s) => Verdict::Ok(Box::new(s)),
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
    let foreign = database.foreign_entries()?;
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
                    "status": if s.wal_truncated_bytes > 0 { "warning" } else { "ok" },
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
            "foreign_entries": foreign,
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
                    if s.wal_truncated_bytes == 0 {
                        ("ok", d)
                    } else {
                        d.push_str(&format!(
                            "; the WAL ends in {} bytes that are not a valid record: a write a \
                             crash interrupted, or damage to the last record, which cannot be \
                             told apart (docs/RELIABILITY.md); cut off at the next writable open",
                            s.wal_truncated_bytes
                        ));
                        ("warning", d)
                    }
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
        for path in &foreign {
            ctx.println(&format!(
                "not part of the database (nDB leaves it alone): {}",
                fmt::escape_text(&path.display().to_string())
            ))?;
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
