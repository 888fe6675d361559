//! A process may open many collections: background work runs on the process-wide pools (no
//! thread per collection) and each open writable collection holds one file descriptor (its WAL).

mod common;
use common::{env_number, temp_db};

use ndb::{CollectionConfig, Distance, Document};
use std::time::{Duration, Instant};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[test]
fn many_open_collections_cost_no_threads_and_one_descriptor_each() {
    if !std::path::Path::new("/proc/self/task").exists() {
        return; // the counts below need Linux's /proc
    }
    let (_dir, db) = temp_db();
    // Warm the pools up, so that their threads are counted in the baseline.
    let warm = db
        .create_collection(
            "warm",
            CollectionConfig::new(4).with_flush_threshold_bytes(4 << 10),
        )
        .unwrap();
    for i in 0..200 {
        warm.insert(Document::new(
            format!("w{i}"),
            vec![1.0, i as f32, 0.0, 1.0],
        ))
        .unwrap();
    }
    warm.flush().unwrap();
    let (threads_before, fds_before) = (threads(), fds());
    let started = Instant::now();
    // `NDB_COLLECTIONS=N` to try another count (each create syncs a few times).
    let n: usize = env_number("NDB_COLLECTIONS").unwrap_or(1000);
    let colls: Vec<_> = (0..n)
        .map(|i| {
            let c = db
                .create_collection(
                    &format!("c{i}"),
                    CollectionConfig::new(4).with_distance(Distance::Euclidean),
                )
                .unwrap();
            c.insert(Document::new("a", vec![1.0, 0.0, 0.0, i as f32]))
                .unwrap();
            c
        })
        .collect();
    let took = started.elapsed();
    let (threads_after, fds_after) = (threads(), fds());
    println!(
        "{n} collections created and written in {took:?}: threads {threads_before} -> {threads_after}, \
         file descriptors {fds_before} -> {fds_after}"
    );
    // The pools may still be starting threads they had not needed before: a few, not per
    // collection.
    assert!(
        threads_after <= threads_before + 8,
        "{threads_before} -> {threads_after}"
    );
    assert!(
        fds_after <= fds_before + n + 8,
        "{fds_before} -> {fds_after}"
    );
    for (i, c) in colls.iter().enumerate() {
        assert_eq!(c.get("a").unwrap().unwrap().vector[3], i as f32);
    }
    // Closing them all is quick: no threads to join.
    let started = Instant::now();
    drop((colls, db, warm));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(fds() <= fds_before);
}
