//! `search`, `get`, `delete`.

use super::{no_doc, open_read, open_write};
use crate::error::{CliError, CliResult};
use crate::fmt::{self, Align, Table};
use crate::Ctx;
use ndb::{Distance, Filter, TOP_K_MAX};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Parse a query vector: a JSON array, a JSON object with a "vector" field, or numbers
/// separated by whitespace or commas.
pub fn parse_vector(text: &str) -> Result<Vec<f32>, String> {
    let t = text.trim_start_matches('\u{feff}').trim();
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
    pub oversampling: Option<f32>,
}

pub fn search(ctx: &mut Ctx, a: SearchArgs) -> CliResult<()> {
    if a.k == 0 || a.k > TOP_K_MAX {
        return Err(CliError::usage(format!(
            "-k must be between 1 and {TOP_K_MAX}, got {}",
            a.k
        )));
    }
    let database = open_read(&a.db)?;
    let coll = database.get_collection(&a.collection)?;
    let (vector, exclude) = match a.query {
        Query::Vector(v) => (v, None),
        Query::Id(id) => {
            let doc = coll.get(&id)?.ok_or_else(|| no_doc(&a.collection, &id))?;
            (doc.vector, Some(id))
        }
    };
    // The query document comes back as its own nearest neighbour: ask for one more and drop
    // it, within the library's limit (at the limit, one result fewer may come back).
    let k = if exclude.is_some() {
        a.k.saturating_add(1).min(TOP_K_MAX)
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
    if let Some(o) = a.oversampling {
        s = s.oversampling(o);
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
            fmt::truncate(&fmt::escape_text(&h.id), 40),
            format!("{:.6}", h.score),
            fmt::truncate(&fmt::escape_json_text(&payload), 80),
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
                ("id", fmt::escape_text(&doc.id)),
                ("vector", fmt::vector_preview(&doc.vector, 8)),
                (
                    "payload",
                    doc.payload.as_ref().map_or_else(
                        || "(none)".into(),
                        |p| fmt::escape_json_text(&p.to_string()),
                    ),
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

/// What `ndb update` does to a payload (the JSON text as given).
pub enum PayloadChange {
    Set(String),
    Patch(String),
}

pub fn update(
    ctx: &mut Ctx,
    db: &Path,
    name: &str,
    id: &str,
    change: PayloadChange,
) -> CliResult<()> {
    let parse = |flag: &str, text: &str| {
        serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| CliError::usage(format!("{flag}: not valid JSON: {e}")))
    };
    let database = open_write(db)?;
    let coll = database.get_collection(name)?;
    let present = match change {
        PayloadChange::Set(text) => {
            let value = parse("--payload", &text)?;
            coll.set_payload(id, (!value.is_null()).then_some(value))?
        }
        PayloadChange::Patch(text) => coll.patch_payload(id, parse("--patch", &text)?)?,
    };
    if !present {
        return Err(no_doc(name, id));
    }
    coll.sync()?;
    let payload = coll.get(id)?.and_then(|d| d.payload);
    if ctx.json {
        ctx.print_json(&json!({"updated": id, "payload": payload}))
    } else {
        let shown = payload.map_or_else(|| "no payload".to_string(), |p| p.to_string());
        ctx.println(&format!("updated {id:?} in {name:?}: {shown}"))
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
}
