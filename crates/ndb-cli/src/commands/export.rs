//! `export`.

use super::open_read;
use crate::error::{write_err, CliError, CliResult};
use crate::fmt;
use crate::source::Format;
use crate::Ctx;
use ndb::Collection;
use serde::Serialize;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

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
    // FILE naming standard output is standard output (no summary line mixed into the data),
    // after the check that it is not inside the database.
    if let Some(path) = file {
        crate::output::check_outside(path, db)?;
    }
    let file = file.filter(|p| !crate::output::is_stdout(p));
    let database = open_read(db)?;
    let coll = database.get_collection(name)?;
    let started = Instant::now();
    let count = match file {
        None => write_export(&coll, format, ctx.out())?,
        Some(path) => crate::output::write_file(path, &[db], |w| write_export(&coll, format, w))?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned() {
        let h = npy_header(3, 4);
        assert_eq!(h.len() % 64, 0);
        assert_eq!(*h.last().unwrap(), b'\n');
    }
}
