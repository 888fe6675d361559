//! Helpers shared by the integration tests. A test file that needs them declares `mod common;`;
//! each test binary compiles the whole module and uses a part of it.
#![allow(dead_code, reason = "each test binary uses a part")]

pub mod child;
pub mod data;
pub mod segment_file;
pub mod workload;

use ndb::{CollectionConfig, Database, DatabaseOptions, Distance, IndexConfig};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Abort the whole test binary if a test is still running after `limit` (a deadlock, or a
/// writer stuck behind background work, must fail rather than stall CI). Set the returned flag
/// when the test is done. `what` names the suspected cause in the message.
pub fn watchdog(limit: Duration, what: &'static str) -> Arc<AtomicBool> {
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    std::thread::spawn(move || {
        let start = Instant::now();
        while !flag.load(Ordering::Relaxed) {
            if start.elapsed() > limit {
                eprintln!("test still running after {limit:?}: {what}");
                std::process::abort();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    done
}

/// Poll `cond` every 5 ms until it holds; fail the test ("timed out waiting for {what}") if it
/// does not within `limit`.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The value of the environment variable `name` (a knob of a long or measuring test); `None`
/// when it is unset or does not parse.
pub fn env_number<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// A new database in a new temporary directory (removed when the `TempDir` goes).
pub fn temp_db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    (dir, db)
}

/// Options for a test that runs flushes, merges and graph builds itself: no background
/// maintenance.
pub fn quiet() -> DatabaseOptions {
    DatabaseOptions::default().with_background_maintenance(false)
}

/// A Euclidean collection of dimension `dim` whose segments of `min_rows` rows or more get an
/// HNSW graph (with the default graph parameters).
pub fn graphs_from(dim: usize, min_rows: usize) -> CollectionConfig {
    CollectionConfig::new(dim)
        .with_distance(Distance::Euclidean)
        .with_index(IndexConfig::default().with_min_rows(min_rows))
}

/// A Euclidean collection of dimension `dim` whose segments of 10 rows or more get an HNSW
/// graph of degree `m`, built and searched with breadth `ef`: small graphs, built at once.
pub fn small_graphs(dim: usize, m: usize, ef: usize) -> CollectionConfig {
    CollectionConfig::new(dim)
        .with_distance(Distance::Euclidean)
        .with_index(
            IndexConfig::default()
                .with_min_rows(10)
                .with_m(m)
                .with_ef_construction(ef)
                .with_ef_search(ef),
        )
}

/// Copy the database directory `from` to `to` (created), all but the `LOCK` files.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else if e.file_name() != "LOCK" {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
