//! nDB for Node.js (npm package `ndb-vector`): a napi-rs addon over the `ndb` crate.
//!
//! The addon is thin: it reads JavaScript arguments (their JavaScript shape only), calls the
//! library, and turns results and errors into JavaScript values. Every rule about what is
//! valid (dimensions, finite components, ids, payloads, filters, limits) is the library's.
//!
//! - `database.rs`: `Database` (open, collections, backup, close).
//! - `collection.rs`: `Collection` (insert, payload updates, get, delete, search, maintenance,
//!   settings, refresh of a reader).
//! - `recover.rs`: `recover` (salvage of a damaged database) and its report.
//! - `task.rs`: Promise-returning calls, run on the libuv thread pool.
//! - `js.rs`: reading arguments (the only `unsafe`: N-API value conversions).
//! - `options.rs`: options objects; `values.rs`: returned objects; `error.rs`: error codes.
//!
//! The TypeScript declarations (`index.d.ts`) are generated from these items by `napi build`,
//! after the header `dts-header.d.ts`, which imports and re-exports the hand-written input and
//! result types of `types.d.ts` (the one place they are written).
#![deny(unsafe_code)]
#![warn(clippy::unwrap_used)]

mod collection;
mod database;
mod error;
mod js;
mod options;
mod recover;
mod task;
mod values;

pub use collection::Collection;
pub use database::Database;
pub use recover::recover;
