//! Background work never holds writers back, and interleavings of it stay correct. Test gates
//! (`ndb::testing::close_gate`) hold a background job at a chosen point on purpose:
//! - a graph build that does not finish: while the backlog of segments without graphs is
//!   under its bound, writers keep going, flushes keep happening, searches stay exact, and the
//!   graphs arrive once it is let through (`indexing_backlog.rs` tests the bound);
//! - a memtable frozen but not yet written while a compaction replaces the segments it shadows:
//!   the shadowed rows stay deleted on disk (no resurrected old versions after reopen).
//!
//! Gates are process-wide, so the tests in this file run one at a time.

mod common;
use common::data::splitmix64;
use common::{graphs_from, temp_db, wait_until, watchdog};

use ndb::testing::{close_gate, gate_waiters, open_gate};
use ndb::{Collection, Database, Document, Search};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
const DIM: usize = 8;

fn vector(i: u64, version: u64) -> Vec<f32> {
    // splitmix64 of (i, version, d): distinct vectors, no near-ties.
    (0..DIM as u64)
        .map(|d| (splitmix64(i << 20 ^ version << 8 ^ d) >> 40) as f32 / (1u64 << 24) as f32)
        .collect()
}

fn doc(i: u64, version: u64) -> Document {
    Document::new(format!("doc-{i}"), vector(i, version))
}

/// Every live document, by id: `iter` must not yield an id twice.
fn contents(c: &Collection) -> HashMap<String, Vec<f32>> {
    let mut out = HashMap::new();
    for d in c.iter().unwrap() {
        let d = d.unwrap();
        assert!(
            out.insert(d.id.clone(), d.vector).is_none(),
            "{} twice",
            d.id
        );
    }
    out
}

#[test]
fn writers_never_wait_for_graph_builds_under_the_backlog_bound() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let done = watchdog(
        Duration::from_secs(120),
        "a writer waited for background work?",
    );
    let (dir, db) = temp_db();
    let config = graphs_from(DIM, 300).with_flush_threshold_bytes(32 << 10);
    let c = db.create_collection("c", config).unwrap();

    // Hold every background graph build (of merges and of flushed segments) at its start.
    // The ingest stays under the backlog bound (two memtables' worth of vectors: 2,048 rows
    // of 8 dimensions here), past which flushes would build graphs themselves.
    close_gate("background.build");
    let n = 2_000u64;
    let mut slowest = Duration::ZERO;
    for start in (0..n).step_by(25) {
        let t = Instant::now();
        c.insert_batch((start..start + 25).map(|i| doc(i, 0)))
            .unwrap();
        slowest = slowest.max(t.elapsed());
    }
    // The maintainer is parked at the gate (holding the merge lock, as a graph build does).
    wait_until(
        "the maintainer at the gate",
        Duration::from_secs(30),
        || gate_waiters("background.build") == 1,
    );
    let s = c.stats().unwrap();
    println!(
        "gate shut: {} flushes, {} segments, {} indexed docs; slowest insert_batch {slowest:?}",
        s.flushes, s.segment_count, s.indexed_docs
    );
    assert_eq!(s.doc_count, n);
    assert!(
        s.flushes >= 2,
        "flushes went on without graph builds: {s:?}"
    );
    assert_eq!(
        s.indexed_docs, 0,
        "no graph can exist while builds are held"
    );
    // Searches meanwhile are exact (unindexed segments are scanned).
    for i in (0..n).step_by(199) {
        let hits = c.search(Search::new(&vector(i, 0)).top_k(1)).unwrap();
        assert_eq!(hits[0].id, format!("doc-{i}"));
    }

    // Let the builds through: the layout is merged and indexed, and answers stay right.
    open_gate("background.build");
    wait_until(
        "graphs for every large segment",
        Duration::from_secs(90),
        || {
            let s = c.stats().unwrap();
            s.segments.iter().all(|seg| seg.rows < 300 || seg.indexed) && s.indexed_docs > 0
        },
    );
    let s = c.stats().unwrap();
    println!(
        "gate open: {} flushes, {} merges, {} segments, {} of {} docs indexed",
        s.flushes, s.merges, s.segment_count, s.indexed_docs, s.doc_count
    );
    for i in (0..n).step_by(1999) {
        let hits = c.search(Search::new(&vector(i, 0)).top_k(1)).unwrap();
        assert_eq!(hits[0].id, format!("doc-{i}"));
    }
    c.verify().unwrap();
    drop((c, db));
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(c.stats().unwrap().doc_count, n);
    done.store(true, Ordering::Relaxed);
}

#[test]
fn compaction_while_a_memtable_is_frozen_waits_for_it_and_keeps_replaced_rows_deleted() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let done = watchdog(
        Duration::from_secs(60),
        "a writer waited for background work?",
    );
    let dir = tempfile::tempdir().unwrap();
    let threshold = 16 << 10;
    let config = graphs_from(DIM, 1_000_000).with_flush_threshold_bytes(threshold);
    let mut expected: HashMap<String, Vec<f32>> = HashMap::new();
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db.create_collection("c", config).unwrap();
        // Two segments of version-0 documents.
        for part in 0..2u64 {
            c.insert_batch((part * 50..part * 50 + 50).map(|i| doc(i, 0)))
                .unwrap();
            c.flush().unwrap();
        }
        for i in 0..100 {
            expected.insert(format!("doc-{i}"), vector(i, 0));
        }
        // Replace ids 0..40 (in the first segment) and 60..80 (in the second), then fill past the threshold: the flusher freezes this memtable and stops at the gate.
        close_gate("flush.write");
        let replaced: Vec<u64> = (0..40).chain(60..80).collect();
        c.insert_batch(replaced.iter().map(|&i| doc(i, 1))).unwrap();
        for &i in &replaced {
            expected.insert(format!("doc-{i}"), vector(i, 1));
        }
        let mut next = 1000u64;
        while gate_waiters("flush.write") == 0 {
            c.insert_batch((next..next + 20).map(|i| doc(i, 0)))
                .unwrap();
            for i in next..next + 20 {
                expected.insert(format!("doc-{i}"), vector(i, 0));
            }
            next += 20;
            assert!(next < 100_000, "the flusher never froze the memtable");
            std::thread::sleep(Duration::from_millis(1));
        }
        // The frozen memtable shadows rows of segments 1 and 2. A compaction first writes the
        // memtables (so that it drops only persisted deletions): it waits for the frozen one.
        let compaction = {
            let c = c.clone();
            std::thread::spawn(move || c.compact().unwrap())
        };
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            !compaction.is_finished(),
            "compacted past a memtable being written"
        );
        open_gate("flush.write");
        let stats = compaction.join().unwrap();
        assert!(stats.segments_before >= 3, "{stats:?}");
        assert_eq!(stats.segments_after, 1);
        assert_eq!(contents(&c), expected);
        c.sync().unwrap();
    }
    // After reopening, only what the manifest and WAL say: replaced rows stay deleted.
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(contents(&c), expected);
    assert_eq!(c.stats().unwrap().doc_count, expected.len() as u64);
    c.verify().unwrap();
    done.store(true, Ordering::Relaxed);
}
