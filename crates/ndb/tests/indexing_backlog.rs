//! Search as users meet it (issue 14): after an ingest with background maintenance on and a
//! `flush()`, every segment that should have a graph has one; the backlog is reported;
//! `wait_for_index` waits for it; it stays bounded under a sustained ingest; a close with a graph build in flight returns at once;
//! `search_batch` answers as the one-by-one searches do.
//!
//! Gates are process-wide, so the tests that use them run one at a time.

mod common;
use common::data::xorshift_noise;
use common::{graphs_from, temp_db, wait_until, watchdog};

use ndb::testing::{close_gate, gate_waiters, open_gate};
use ndb::{CollectionConfig, Database, Distance, Document, IndexConfig, Search};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Deterministic pseudo-random vectors in clusters (so that recall is meaningful).
fn vector(i: u64, dim: usize) -> Vec<f32> {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let centre = (i % 37) as f32;
    (0..dim)
        .map(|j| (centre * (j as f32 + 1.0)).sin() + xorshift_noise(&mut x))
        .collect()
}

fn doc(i: u64, dim: usize) -> Document {
    Document::new(format!("d{i}"), vector(i, dim))
}

#[test]
fn after_an_ingest_and_a_flush_every_segment_has_its_graph_and_recall_holds() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let done = watchdog(Duration::from_secs(240), "ingest, flush, reopen");
    let dim = 32;
    let dir = tempfile::tempdir().unwrap();
    let config = graphs_from(dim, 500).with_flush_threshold_bytes(256 << 10);
    let n = 12_000u64;
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db.create_collection("c", config).unwrap();
        for start in (0..n).step_by(500) {
            c.insert_batch((start..start + 500).map(|i| doc(i, dim)))
                .unwrap();
        }
        c.flush().unwrap();
        let s = c.stats().unwrap();
        println!(
            "after flush: {} segments, {} flushes, {} merges, backlog {} rows",
            s.segment_count, s.flushes, s.merges, s.index_backlog_rows
        );
        assert_eq!(s.index_backlog_rows, 0, "flush() leaves no backlog: {s:?}");
        assert!(s.index_enabled);
        assert!(c.has_index());
    }
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    let s = c.stats().unwrap();
    assert_eq!(s.doc_count, n);
    assert_eq!(s.index_backlog_rows, 0, "{s:?}");
    assert!(c.has_index());
    assert!(
        s.segments.iter().all(|g| g.indexed || g.rows < 500),
        "{s:?}"
    );
    // Recall at the default ef against exact answers, through the public API.
    let (mut found, mut wanted) = (0, 0);
    for q in (0..n).step_by(97).map(|i| vector(i + 1_000_003, dim)) {
        let exact = c
            .search(Search::new(&q).top_k(10).approximate(false))
            .unwrap();
        let approx = c.search(Search::new(&q).top_k(10)).unwrap();
        wanted += exact.len();
        found += approx
            .iter()
            .filter(|m| exact.iter().any(|e| e.id == m.id))
            .count();
    }
    let recall = found as f64 / wanted as f64;
    println!("recall@10 at the default ef after reopen: {recall:.4}");
    assert!(recall >= 0.95, "recall {recall}");
    done.store(true, Ordering::Relaxed);
}

#[test]
fn the_backlog_is_reported_and_wait_for_index_works_it_off() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let done = watchdog(Duration::from_secs(120), "wait_for_index");
    let dim = 16;
    let (dir, db) = temp_db();
    let config = graphs_from(dim, 300).with_flush_threshold_bytes(64 << 10);
    let c = db.create_collection("c", config).unwrap();
    close_gate("background.build");
    for start in (0..6000u64).step_by(200) {
        c.insert_batch((start..start + 200).map(|i| doc(i, dim)))
            .unwrap();
    }
    wait_until(
        "a background build at the gate",
        Duration::from_secs(60),
        || gate_waiters("background.build") >= 1,
    );
    let s = c.stats().unwrap();
    println!(
        "held: {} segments, backlog {} rows in {} segments",
        s.segment_count, s.index_backlog_rows, s.index_backlog_segments
    );
    assert!(
        s.index_backlog_rows > 0 && s.index_backlog_segments > 0,
        "{s:?}"
    );
    assert!(!c.has_index(), "segments wait for graphs");
    open_gate("background.build");
    assert!(c.wait_for_index(Duration::from_secs(90)).unwrap());
    let s = c.stats().unwrap();
    assert_eq!(
        (s.index_backlog_rows, s.index_backlog_segments),
        (0, 0),
        "{s:?}"
    );
    assert!(c.has_index());
    // A read-only handle reports; it has nothing to wait for.
    let ro = Database::open_read_only(dir.path()).unwrap();
    assert!(ro
        .get_collection("c")
        .unwrap()
        .wait_for_index(Duration::ZERO)
        .is_ok());
    done.store(true, Ordering::Relaxed);
}

/// With the background indexer held, an ingest with maintenance on cannot outrun graph builds
/// by more than the bound: once the backlog holds two memtables' worth of vectors, the
/// flusher builds each new segment's graph itself (without the bound, every row of this
/// ingest waits for the indexer).
#[test]
fn a_sustained_ingest_keeps_the_backlog_bounded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let done = watchdog(Duration::from_secs(240), "bounded backlog");
    let dim = 16;
    let threshold = 64 << 10;
    let (_dir, db) = temp_db();
    let config = graphs_from(dim, 300).with_flush_threshold_bytes(threshold);
    let c = db.create_collection("c", config).unwrap();
    // Two memtables' worth of vectors (a memtable also holds ids and bookkeeping, so it holds
    // fewer rows than this), and at most one more segment written while under the bound.
    let bound = (2 * threshold / (dim * 4)) as u64;
    close_gate("background.build");
    let n = 20_000u64;
    let mut most = 0;
    for start in (0..n).step_by(200) {
        c.insert_batch((start..start + 200).map(|i| doc(i, dim)))
            .unwrap();
        most = most.max(c.stats().unwrap().index_backlog_rows);
    }
    let s = c.stats().unwrap();
    println!(
        "indexer held: {n} rows in {} segments ({} indexed), backlog at most {most} rows (bound {bound})",
        s.segment_count,
        s.segments.iter().filter(|g| g.indexed).count()
    );
    assert!(most <= 2 * bound, "backlog reached {most} rows: {s:?}");
    assert!(
        s.segments.iter().filter(|g| g.indexed).count() > 0,
        "the flusher built graphs: {s:?}"
    );
    open_gate("background.build");
    assert!(c.wait_for_index(Duration::from_secs(120)).unwrap());
    assert!(c.has_index());
    assert_eq!(c.stats().unwrap().doc_count, n);
    done.store(true, Ordering::Relaxed);
}

#[test]
fn closing_with_a_graph_build_in_flight_returns_at_once_and_the_work_resumes() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let done = watchdog(Duration::from_secs(300), "close during a build");
    let dim = 96;
    let n = 24_000u64;
    let dir = tempfile::tempdir().unwrap();
    let config = CollectionConfig::new(dim)
        .with_distance(Distance::Euclidean)
        // One background flush of (nearly) everything, without its graph.
        .with_flush_threshold_bytes((n as usize) * dim * 4 - (1 << 20))
        .with_index(
            IndexConfig::default()
                .with_m(32)
                .with_ef_construction(400)
                .with_min_rows(1000),
        );
    let db = Database::open(dir.path()).unwrap();
    let c = db.create_collection("c", config).unwrap();
    close_gate("background.build");
    for start in (0..n).step_by(2000) {
        c.insert_batch((start..start + 2000).map(|i| doc(i, dim)))
            .unwrap();
    }
    wait_until("the build at the gate", Duration::from_secs(120), || {
        gate_waiters("background.build") == 1
    });
    open_gate("background.build");
    std::thread::sleep(Duration::from_millis(100)); // the build is under way
    let started = Instant::now();
    drop((c, db));
    let close = started.elapsed();
    println!("close with a build in flight: {close:?}");
    assert!(close < Duration::from_secs(1), "close took {close:?}");
    // The build was abandoned, not finished: the next open resumes it.
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    let s = c.stats().unwrap();
    assert!(s.index_backlog_rows > 0, "the build had finished: {s:?}");
    let started = Instant::now();
    assert!(c.wait_for_index(Duration::from_secs(240)).unwrap());
    println!("the build itself, resumed: {:?}", started.elapsed());
    assert!(c.has_index());
    done.store(true, Ordering::Relaxed);
}

#[test]
fn search_batch_answers_as_one_by_one() {
    let (_dir, db) = temp_db();
    let dim = 24;
    let config = CollectionConfig::new(dim).with_index(IndexConfig::default().with_min_rows(100));
    let c = db.create_collection("c", config).unwrap();
    c.insert_batch((0..3000).map(|i| doc(i, dim))).unwrap();
    c.flush().unwrap();
    c.insert_batch((3000..3300).map(|i| doc(i, dim))).unwrap(); // and a memtable
    let queries: Vec<Vec<f32>> = (0..64).map(|i| vector(i * 7 + 500_000, dim)).collect();
    let searches: Vec<Search> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| Search::new(q).top_k(1 + i % 12).approximate(i % 3 != 0))
        .collect();
    let batch = c.search_batch(&searches).unwrap();
    assert_eq!(batch.len(), searches.len());
    for (s, got) in searches.iter().zip(&batch) {
        assert_eq!(got, &c.search(s.clone()).unwrap());
    }
    assert!(c.search_batch(&[]).unwrap().is_empty());
    let bad = [Search::new(&queries[0]).top_k(0)];
    assert!(c.search_batch(&bad).is_err());
}

/// Issue 13: a panic in background work was joined and ignored, and the collection went on
/// accepting writes with memory and disk possibly apart. Now it poisons the collection, with
/// the reason; a reopen recovers from disk.
#[test]
fn a_panic_in_background_work_poisons_the_collection() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dim = 8;
    let dir = tempfile::tempdir().unwrap();
    let config = CollectionConfig::new(dim).with_flush_threshold_bytes(16 << 10);
    {
        let db = Database::open(dir.path()).unwrap();
        let c = db.create_collection("c", config).unwrap();
        ndb::testing::arm_panic("maintenance.step");
        let mut poisoned = None;
        for start in (0..100_000u64).step_by(100) {
            match c.insert_batch((start..start + 100).map(|i| doc(i, dim))) {
                Ok(()) => std::thread::sleep(Duration::from_millis(1)),
                Err(e) => {
                    poisoned = Some(e);
                    break;
                }
            }
        }
        let err = poisoned.expect("the collection refuses writes after the panic");
        assert!(
            matches!(&err, ndb::Error::Poisoned { reason, .. } if reason.contains("panicked")),
            "{err}"
        );
    }
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    c.insert(doc(1_000_000, dim)).unwrap();
    c.verify().unwrap();
}
