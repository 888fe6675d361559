//! Background maintenance: flushes off the write path and tiered merges keep the segment count
//! logarithmic, and readers running beside ingest, flushes and merges always see a committed
//! state (whole batches, a prefix of them), with no deadlock.

mod common;
use common::{graphs_from, temp_db, watchdog};

use ndb::{CollectionConfig, Database, Document, Filter, Search};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BATCH: usize = 20;

fn vector(batch: u64, i: usize) -> Vec<f32> {
    vec![
        batch as f32,
        i as f32,
        (batch as f32 * 0.37).sin(),
        (i as f32 * 0.11).cos(),
    ]
}

fn config() -> CollectionConfig {
    graphs_from(4, 2000).with_flush_threshold_bytes(8 << 10)
}

#[test]
fn background_merges_keep_the_segment_count_logarithmic() {
    let done = watchdog(Duration::from_secs(120), "deadlock?");
    let (dir, db) = temp_db();
    let c = db.create_collection("c", config()).unwrap();
    let batches = 1500u64;
    for b in 0..batches {
        c.insert_batch((0..BATCH).map(|i| Document::new(format!("{b}-{i}"), vector(b, i))))
            .unwrap();
    }
    // Let the maintenance catch up: merges run at nice 10, so on a loaded machine one merge can
    // take seconds; wait until nothing changed for three seconds in a row.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut last, mut quiet) = ((u64::MAX, usize::MAX), 0);
    while quiet < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1000));
        let s = c.stats().unwrap();
        let now = (s.merges, s.segment_count);
        quiet = if now == last { quiet + 1 } else { 0 };
        last = now;
    }
    let s = c.stats().unwrap();
    println!(
        "{} flushes, {} merges, {} segments for {} docs",
        s.flushes, s.merges, s.segment_count, s.doc_count
    );
    assert_eq!(s.doc_count, batches * BATCH as u64);
    assert!(s.merges > 0, "{s:?}");
    assert!(s.flushes > 50, "{s:?}");
    // 30,000 docs: about log4(30000 / 1024) + 1 = 4 tiers of at most 3 segments each.
    assert!(
        s.segment_count <= 16,
        "{} segments after {} flushes",
        s.segment_count,
        s.flushes
    );
    c.verify().unwrap();
    drop((c, db));
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_eq!(c.stats().unwrap().doc_count, batches * BATCH as u64);
    for b in (0..batches).step_by(97) {
        let hit = c
            .search(Search::new(&vector(b, 3)).top_k(1).approximate(false))
            .unwrap();
        assert_eq!(hit[0].id, format!("{b}-3"));
    }
    done.store(true, Ordering::Relaxed);
}

#[test]
fn readers_see_committed_states_during_ingest_flushes_and_merges() {
    let done = watchdog(Duration::from_secs(120), "deadlock?");
    let (_dir, db) = temp_db();
    let c = db.create_collection("c", config()).unwrap();
    let acked = Arc::new(AtomicU64::new(0)); // batches 0..acked are acknowledged
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (c, acked, stop) = (c.clone(), Arc::clone(&acked), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut b = 0u64;
            while !stop.load(Ordering::Relaxed) && b < 4000 {
                let docs = (0..BATCH).map(|i| {
                    Document::new(format!("{b}-{i}"), vector(b, i))
                        .with_payload(json!({"batch": b}))
                });
                c.insert_batch(docs).unwrap();
                // Replace an older batch now and then, and delete one: the counts stay exact.
                if b % 7 == 3 {
                    let old = b / 2;
                    c.insert_batch((0..BATCH).map(|i| {
                        Document::new(format!("{old}-{i}"), vector(old, i))
                            .with_payload(json!({"batch": old}))
                    }))
                    .unwrap();
                }
                b += 1;
                acked.store(b, Ordering::Release);
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (c, acked, stop) = (c.clone(), Arc::clone(&acked), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut checks = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let before = acked.load(Ordering::Acquire);
                    // Stats never wait for (or deadlock with) a flush or merge in progress.
                    assert!(c.stats().unwrap().doc_count >= before * BATCH as u64);
                    if r == 0 {
                        // A snapshot: whole batches, forming a prefix that holds every batch
                        // acknowledged before it was taken.
                        let mut per_batch: BTreeMap<u64, usize> = BTreeMap::new();
                        for d in c.iter().unwrap() {
                            let b: u64 = d.unwrap().id.split('-').next().unwrap().parse().unwrap();
                            *per_batch.entry(b).or_default() += 1;
                        }
                        let k = per_batch.len() as u64;
                        assert!(
                            k >= before,
                            "snapshot misses acknowledged batches: {k} < {before}"
                        );
                        for (i, (b, n)) in per_batch.iter().enumerate() {
                            assert_eq!(*b, i as u64, "hole before batch {b}");
                            assert_eq!(*n, BATCH, "batch {b} torn: {n} documents");
                        }
                    } else if before > 0 {
                        // Searches find acknowledged documents, exactly and through the index.
                        let b = (checks * 7919) % before;
                        for approximate in [false, true] {
                            let hits = c
                                .search(
                                    Search::new(&vector(b, 5))
                                        .top_k(3)
                                        .approximate(approximate)
                                        .filter(Filter::eq("batch", b)),
                                )
                                .unwrap();
                            assert_eq!(hits.len(), 3, "batch {b}");
                            assert_eq!(hits[0].id, format!("{b}-5"), "approximate={approximate}");
                        }
                    }
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let checks: Vec<u64> = readers.into_iter().map(|h| h.join().unwrap()).collect();
    let s = c.stats().unwrap();
    println!(
        "reader checks {checks:?}; {} batches, {} flushes, {} merges",
        acked.load(Ordering::Relaxed),
        s.flushes,
        s.merges
    );
    assert!(checks.iter().all(|&n| n > 0));
    assert!(s.flushes > 5, "{s:?}");
    assert_eq!(s.doc_count, acked.load(Ordering::Relaxed) * BATCH as u64);
    done.store(true, Ordering::Relaxed);
}

#[test]
fn verify_while_maintenance_replaces_segments_finds_nothing_wrong() {
    // Merges remove the files of the segments they replace (graphs, payload indexes) while a
    // verify that started before them may still be about to read those files: it must start
    // again on the new segments, not report a missing file.
    let done = watchdog(Duration::from_secs(120), "deadlock?");
    let (_dir, db) = temp_db();
    let c = db.create_collection("c", config()).unwrap();
    c.create_payload_index("b", ndb::PayloadIndexKind::Integer)
        .unwrap();
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (c, writing) = (c.clone(), Arc::clone(&writing));
        std::thread::spawn(move || {
            for b in 0..600u64 {
                c.insert_batch((0..BATCH).map(|i| {
                    Document::new(format!("{b}-{i}"), vector(b, i)).with_payload(json!({"b": b}))
                }))
                .unwrap();
            }
            writing.store(false, Ordering::Relaxed);
        })
    };
    let mut checks = 0;
    while writing.load(Ordering::Relaxed) || checks < 3 {
        c.verify().unwrap();
        checks += 1;
    }
    writer.join().unwrap();
    let s = c.stats().unwrap();
    assert!(s.merges > 0, "no merge ran during {checks} verifies: {s:?}");
    c.verify().unwrap();
    done.store(true, Ordering::Relaxed);
}
