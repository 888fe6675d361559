//! Readers that follow the writer (issue 18): `Collection::refresh` on a read-only handle moves
//! it to the newest committed state, cheaply when nothing changed, never showing a torn state,
//! while searches on the old state keep working after the writer compacted its files away.

use ndb::{CollectionConfig, Database, DatabaseOptions, Distance, Document, Search};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BATCH: u64 = 40;

fn batch(b: u64) -> Vec<Document> {
    (b * BATCH..(b + 1) * BATCH)
        .map(|i| Document::new(format!("d{i}"), vec![i as f32, 1.0, 2.0]))
        .collect()
}

fn config() -> CollectionConfig {
    CollectionConfig::new(3)
        .with_distance(Distance::Euclidean)
        .with_flush_threshold_bytes(32 << 10)
}

#[test]
fn refresh_moves_a_reader_to_the_newest_state_and_reports_whether_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Database::open(dir.path()).unwrap();
    let w = writer.create_collection("c", config()).unwrap();
    w.insert_batch(batch(0)).unwrap();
    let reader = Database::open_read_only(dir.path()).unwrap();
    let r = reader.get_collection("c").unwrap();
    assert_eq!(r.stats().unwrap().doc_count, BATCH);
    assert!(!r.refresh().unwrap(), "nothing changed");
    assert!(!w.refresh().unwrap(), "a writer is always current");

    w.insert_batch(batch(1)).unwrap(); // only in the WAL
    assert_eq!(
        r.stats().unwrap().doc_count,
        BATCH,
        "a reader keeps its snapshot"
    );
    assert!(r.refresh().unwrap());
    assert_eq!(r.stats().unwrap().doc_count, 2 * BATCH);
    w.flush().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!(r.stats().unwrap().doc_count, 2 * BATCH);
    assert!(!r.refresh().unwrap());

    // A snapshot taken before a compaction keeps working after the writer removed its files.
    let before = r.clone();
    w.delete("d0").unwrap();
    w.compact().unwrap();
    let hits = before
        .search(Search::new(&[0.0, 1.0, 2.0]).top_k(1))
        .unwrap();
    assert_eq!(hits[0].id, "d0");
    assert!(r.refresh().unwrap());
    let hits = r.search(Search::new(&[0.0, 1.0, 2.0]).top_k(1)).unwrap();
    assert_eq!(hits[0].id, "d1");

    // Cheap when nothing changed: no recovery, only a look at the files.
    let started = Instant::now();
    for _ in 0..100 {
        assert!(!r.refresh().unwrap());
    }
    println!("unchanged refresh: {:?} each", started.elapsed() / 100);
}

#[test]
fn a_reader_refreshing_in_a_loop_sees_whole_batches_while_the_writer_ingests_and_compacts() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Database::open(dir.path()).unwrap();
    let w = writer.create_collection("c", config()).unwrap();
    w.insert_batch(batch(0)).unwrap();
    let acked = Arc::new(AtomicU64::new(1));
    let done = Arc::new(AtomicBool::new(false));
    let reading = {
        let (dir, acked, done) = (
            dir.path().to_path_buf(),
            Arc::clone(&acked),
            Arc::clone(&done),
        );
        std::thread::spawn(move || {
            let reader = Database::open_read_only(&dir).unwrap();
            let r = reader.get_collection("c").unwrap();
            let (mut last, mut refreshes) = (0, 0);
            while !done.load(Ordering::SeqCst) {
                let floor = acked.load(Ordering::SeqCst);
                r.refresh().unwrap();
                refreshes += 1;
                let n = r.stats().unwrap().doc_count;
                assert_eq!(n % BATCH, 0, "a torn batch: {n} documents");
                assert!(n >= last, "went back from {last} to {n}");
                assert!(
                    n >= floor * BATCH,
                    "{n} documents, {floor} batches acknowledged before"
                );
                let ids = r.iter().unwrap().count() as u64;
                assert_eq!(ids, n);
                last = n;
            }
            refreshes
        })
    };
    for b in 1..150 {
        w.insert_batch(batch(b)).unwrap();
        acked.store(b + 1, Ordering::SeqCst);
        match b % 50 {
            20 => w.flush().unwrap(),
            40 => {
                w.compact().unwrap();
            }
            _ => {}
        }
    }
    std::thread::sleep(Duration::from_millis(50));
    done.store(true, Ordering::SeqCst);
    let refreshes = reading.join().unwrap();
    assert!(refreshes > 10, "{refreshes} refreshes");
    let reader = Database::open_read_only(dir.path()).unwrap();
    assert_eq!(
        reader
            .get_collection("c")
            .unwrap()
            .stats()
            .unwrap()
            .doc_count,
        150 * BATCH
    );
}

#[test]
fn readers_opened_with_reader_refresh_follow_by_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Database::open(dir.path()).unwrap();
    let w = writer.create_collection("c", config()).unwrap();
    let options = DatabaseOptions::default().with_reader_refresh(Duration::ZERO);
    let reader = Database::open_read_only_with_options(dir.path(), options).unwrap();
    let r = reader.get_collection("c").unwrap();
    let q = Search::new(&[5.0, 1.0, 2.0]).top_k(1);
    assert!(r.search(q.clone()).unwrap().is_empty());
    w.insert_batch(batch(0)).unwrap();
    assert_eq!(r.search(q.clone()).unwrap()[0].id, "d5");
    w.flush().unwrap();
    w.delete("d5").unwrap();
    assert_eq!(r.search(q).unwrap()[0].id, "d4");
}
