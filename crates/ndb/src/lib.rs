//! nDB: an embedded vector database — "SQLite for embeddings".
//!
//! Documents (a string id, a fixed-dimension `f32` vector and an optional JSON payload) live in
//! collections inside a database directory. Writes go to a write-ahead log and an in-memory
//! memtable, which is flushed to immutable, memory-mapped segment files.
//!
//! ```
//! use ndb::{Database, CollectionConfig, Distance, Durability, Document};
//! use serde_json::json;
//! # let dir = tempfile::tempdir()?;
//! let db = Database::open(dir.path())?;
//! let coll = db.create_collection("docs",
//!     CollectionConfig::new(3)
//!         .with_distance(Distance::Euclidean)
//!         .with_durability(Durability::FdatasyncEachBatch))?;
//! coll.insert(Document::new("a", vec![1.0, 2.0, 3.0]).with_payload(json!({"year": 2024})))?;
//! coll.flush()?;
//! let doc = coll.get("a")?.expect("present");
//! assert_eq!(doc.payload, Some(json!({"year": 2024})));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! See `docs/ARCHITECTURE.md` for the design and `docs/FORMAT.md` for every byte on disk.
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod background;
mod backup;
mod codec;
mod collection;
mod config;
mod config_update;
mod database;
mod document;
mod error;
mod failpoint;
mod filter;
pub mod limits;
mod manifest;
mod memtable;
mod ownership;
mod payload_index;
mod recover;
mod search;
mod segment;
mod sidecar;
mod wal;

pub use backup::BackupStats;
pub use collection::{Collection, CollectionStats, CompactionStats, DocumentIter, SegmentStats};
pub use config::{CollectionConfig, Distance, Durability, IndexConfig, Quantization};
pub use config_update::ConfigUpdate;
pub use database::{Database, DatabaseOptions};
pub use document::Document;
pub use error::{Error, Result};
pub use filter::Filter;
pub use payload_index::PayloadIndexKind;
pub use recover::{recover, CollectionRecovery, Damage, FileKind, FileRecovery, RecoverReport};
pub use search::{Match, RawMatch, Search, EF_MAX, TOP_K_MAX};

/// Test support: the simulated, fault-injecting file system. Enabled by the `testing` feature;
/// not part of the stable API.
#[cfg(feature = "testing")]
pub mod testing {
    pub use crate::failpoint::POINTS as FAILPOINTS;
    pub use crate::failpoint::{arm_panic, close_gate, gate_waiters, open_gate, GATES};
    pub use ndb_storage::{CrashMode, Fault, SimVfs, Vfs};
}

/// The README's Rust example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
