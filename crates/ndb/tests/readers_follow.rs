//! Readers that follow the writer (issue 18): `Collection::refresh` on a read-only handle moves
//! it to the newest committed state, cheaply when nothing changed, never showing a torn state,
//! while searches on the old state keep working after the writer compacted its files away.

use ndb::{CollectionConfig, Database, DatabaseOptions, Distance, Document, Search};
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

/// The reader process of the next test: refresh in a loop until the writer's "done" file
/// appears, checking every state it sees; prints how many refreshes it made.
#[test]
fn reader_child() {
    let Ok(dir) = std::env::var("NDB_READER_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let reader = Database::open_read_only(&dir).unwrap();
    let r = reader.get_collection("c").unwrap();
    let (mut last, mut refreshes) = (0, 0u64);
    loop {
        let done = dir.with_extension("done").exists();
        r.refresh().unwrap();
        refreshes += 1;
        let n = r.stats().unwrap().doc_count;
        assert_eq!(n % BATCH, 0, "a torn batch: {n} documents");
        assert!(n >= last, "went back from {last} to {n}");
        assert_eq!(r.iter().unwrap().count() as u64, n);
        last = n;
        if done {
            break;
        }
    }
    println!("REFRESHES {refreshes} LAST {last}");
}

#[test]
fn a_reader_process_refreshing_in_a_loop_sees_whole_batches_while_the_writer_ingests_and_compacts()
{
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let writer = Database::open(&dir).unwrap();
    let w = writer.create_collection("c", config()).unwrap();
    w.insert_batch(batch(0)).unwrap();
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "reader_child", "--nocapture", "--test-threads=1"])
        .env("NDB_READER_DIR", &dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for b in 1..150 {
        w.insert_batch(batch(b)).unwrap();
        match b % 50 {
            20 => w.flush().unwrap(),
            40 => {
                w.compact().unwrap();
            }
            _ => {}
        }
        if b % 10 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    std::fs::write(dir.with_extension("done"), b"").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the reader failed:\n{text}");
    let line = text
        .lines()
        .find_map(|l| l.split_once("REFRESHES ").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no figures from the reader:\n{text}"));
    let fields: Vec<u64> = line.split(' ').filter_map(|f| f.parse().ok()).collect();
    assert!(fields[0] > 10, "{line}");
    assert_eq!(
        fields[1],
        150 * BATCH,
        "the last refresh after the writer finished: {line}"
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
