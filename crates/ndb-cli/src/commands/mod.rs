//! The subcommands other than `import`, one module per group of commands, and what they share.

mod bench;
mod collections;
mod export;
mod maintain;
mod recover;
mod search;
mod verify;

pub use bench::bench;
pub use collections::{config, create, drop, list, stats};
pub use export::export;
pub use maintain::{backup, compact, index};
pub use recover::recover;
pub use search::{delete, get, parse_vector, search, update, PayloadChange, Query, SearchArgs};
pub use verify::verify;

use crate::error::{CliError, CliResult};
use crate::{require_db, Ctx};
use ndb::{CollectionConfig, Database, Distance, Durability};
use serde_json::{json, Value};
use std::path::Path;

pub(crate) fn distance_name(d: Distance) -> &'static str {
    match d {
        Distance::Cosine => "cosine",
        Distance::DotProduct => "dot",
        Distance::Euclidean => "euclidean",
    }
}

pub(crate) fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::Buffered => "buffered",
        Durability::FdatasyncEachBatch => "fsync",
    }
}

pub(crate) fn config_json(c: &CollectionConfig) -> Value {
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
        "quantization": c.quantization().name(),
    })
}

/// Open a database for reading: no lock, so this works while another process writes.
pub(crate) fn open_read(db: &Path) -> CliResult<Database> {
    require_db(db)?;
    Ok(Database::open_read_only(db)?)
}

/// Open an existing database for writing (takes its lock).
pub(crate) fn open_write(db: &Path) -> CliResult<Database> {
    require_db(db)?;
    Ok(Database::open(db)?)
}

pub(crate) fn no_doc(collection: &str, id: &str) -> CliError {
    CliError::fail(format!(
        "no document with id {id:?} in collection {collection:?}"
    ))
}

/// A spinner on stderr for a long operation without measurable progress.
pub(crate) fn spinner(ctx: &Ctx, msg: &'static str) -> Option<indicatif::ProgressBar> {
    (!ctx.quiet).then(|| {
        let s = indicatif::ProgressBar::new_spinner();
        s.set_message(msg);
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    })
}
