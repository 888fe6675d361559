//! Locking: one writer per database (in this process or another), a lock left by a killed
//! process never blocks, and read-only opens work beside a live writer process and always see
//! a consistent snapshot, even while it flushes (WAL rotation, file deletion).
//!
//! The other processes are this test binary, re-executed to run one of the `child_*` tests
//! below (which do nothing in a normal test run, when `NDB_LOCK_CHILD_DIR` is unset).

mod common;
use common::child::{child_test, read_stderr, said, say};

use ndb::{Collection, CollectionConfig, Database, Distance, Document, Durability, Error};
use serde_json::json;
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const DIM: usize = 8;
const COLL: &str = "c";
const BATCH: u64 = 10;
const ENV_DIR: &str = "NDB_LOCK_CHILD_DIR";

fn vector(batch: u64, i: u64) -> Vec<f32> {
    let mut v = vec![batch as f32, i as f32];
    v.extend((2..DIM as u64).map(|j| ((batch * 3 + i * 5 + j) % 17) as f32));
    v
}

fn batch_docs(batch: u64) -> Vec<Document> {
    (0..BATCH)
        .map(|i| {
            Document::new(format!("b{batch}-{i}"), vector(batch, i))
                .with_payload(json!({"batch": batch}))
        })
        .collect()
}

fn config(flush_threshold: usize) -> CollectionConfig {
    CollectionConfig::new(DIM)
        .with_distance(Distance::Euclidean)
        .with_durability(Durability::Buffered)
        .with_flush_threshold_bytes(flush_threshold)
}

fn is_locked(r: ndb::Result<Database>, dir: &Path) -> bool {
    match r {
        Err(Error::CollectionLocked { path }) => {
            assert_eq!(path, dir.join("LOCK"), "the error names the lock file");
            true
        }
        Err(e) => panic!("expected CollectionLocked, got {e}"),
        Ok(_) => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Children.
// ---------------------------------------------------------------------------------------------

fn child_dir() -> Option<PathBuf> {
    std::env::var_os(ENV_DIR).map(PathBuf::from)
}

/// Child: open the database, write a few documents (left in the WAL), report "ready" and hold
/// the database open until killed.
#[test]
fn child_hold() {
    let Some(dir) = child_dir() else { return };
    let db = Database::open(&dir).unwrap();
    let c = db.create_collection(COLL, config(64 << 20)).unwrap();
    for b in 0..3 {
        c.insert_batch(batch_docs(b)).unwrap();
    }
    say("ready");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("child_hold: never killed");
}

/// Child: write batches of 10 documents continuously (small flush threshold: frequent WAL
/// rotations, segment writes and file deletions), reporting each acknowledged batch.
#[test]
fn child_writer() {
    let Some(dir) = child_dir() else { return };
    let db = Database::open(&dir).unwrap();
    let c = db.create_collection(COLL, config(16 << 10)).unwrap();
    say("ready");
    let started = Instant::now();
    for b in 0.. {
        c.insert_batch(batch_docs(b)).unwrap();
        say(&format!("ACK {b}"));
        // A little slack so that the segment count stays moderate over the run.
        std::thread::sleep(Duration::from_micros(200));
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "child_writer: never killed"
        );
    }
}

struct Spawned {
    child: Child,
    /// Acknowledged batches seen so far (a lower bound of the child's count).
    acked: Arc<AtomicU64>,
    reader: JoinHandle<()>,
    stderr: JoinHandle<String>,
}

/// Start `test` in a child process on `dir` and wait for its "ready".
fn spawn_child(test: &str, dir: &Path) -> Spawned {
    let mut child = child_test(test).env(ENV_DIR, dir).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let acked = Arc::new(AtomicU64::new(0));
    let (ready_tx, ready_rx) = mpsc::channel();
    let reader = {
        let acked = Arc::clone(&acked);
        std::thread::spawn(move || {
            for l in said(stdout) {
                if l == "ready" {
                    let _ = ready_tx.send(());
                } else if let Some(n) = l.strip_prefix("ACK ") {
                    let n: u64 = n.parse().unwrap();
                    assert_eq!(n, acked.load(Ordering::Relaxed), "acks in order");
                    acked.store(n + 1, Ordering::Release);
                }
            }
        })
    };
    let stderr = read_stderr(child.stderr.take().unwrap());
    let mut spawned = Spawned {
        child,
        acked,
        reader,
        stderr,
    };
    if let Err(e) = ready_rx.recv_timeout(Duration::from_secs(60)) {
        let errors = spawned.kill();
        panic!("child {test} never got ready ({e}); stderr:\n{errors}");
    }
    spawned
}

impl Spawned {
    /// SIGKILL the child and wait for it; returns its stderr.
    fn kill(&mut self) -> String {
        let exited = self.child.try_wait().unwrap();
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        let reader = std::mem::replace(&mut self.reader, std::thread::spawn(|| {}));
        reader.join().unwrap();
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        let errors = stderr.join().unwrap();
        assert!(
            exited.is_none() && status.signal() == Some(libc::SIGKILL),
            "the child died before the kill: {status}; stderr:\n{errors}"
        );
        errors
    }
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

/// The tests run one at a time. `flock` and `spawn` do not mix across threads: a process
/// spawned while another thread holds a database lock gets a copy of the LOCK file's
/// descriptor, and with it the lock (an `flock` belongs to the open file description), until
/// its `exec` closes it (`O_CLOEXEC`). A child spawned by one test could so hold another
/// test's lock for a moment after that test closed its database, and the test's next open
/// would fail with `CollectionLocked`.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A second writer in the same process is refused until the first `Database` and every
/// `Collection` handle from it are gone: a collection handle keeps the database locked.
/// A database `db` in a new temporary directory, open for writing, with collection `COLL`
/// holding batch 0 (in its WAL).
fn one_batch() -> (tempfile::TempDir, PathBuf, Database, Collection) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let db = Database::open(&dir).unwrap();
    let c = db.create_collection(COLL, config(64 << 20)).unwrap();
    c.insert_batch(batch_docs(0)).unwrap();
    (tmp, dir, db, c)
}

#[test]
fn second_open_in_the_same_process_is_locked() {
    let _serial = serial();
    let (_tmp, dir, db, c) = one_batch();

    assert!(is_locked(Database::open(&dir), &dir));
    // A clone is the same writer, not a second one.
    let clone = db.clone();
    assert_eq!(
        clone.get_collection(COLL).unwrap().get("b0-3").unwrap(),
        c.get("b0-3").unwrap()
    );
    drop(clone);
    assert!(is_locked(Database::open(&dir), &dir));

    // Readers do not need the lock.
    let ro = Database::open_read_only(&dir).unwrap();
    assert!(ro.is_read_only());
    let rc = ro.get_collection(COLL).unwrap();
    assert_eq!(rc.iter().unwrap().count(), BATCH as usize);

    // The collection handle outlives the database handle and keeps the lock (it holds the
    // database lock and the collection lock), and keeps working.
    drop(db);
    assert!(is_locked(Database::open(&dir), &dir));
    c.insert_batch(batch_docs(1)).unwrap();
    assert_eq!(c.stats().unwrap().doc_count, 2 * BATCH);
    let c2 = c.clone();
    drop(c);
    assert!(
        is_locked(Database::open(&dir), &dir),
        "a clone of the handle"
    );
    drop(c2);

    // A read-only handle never holds the lock.
    let db = Database::open(&dir).expect("open once every writer handle is gone");
    assert_eq!(
        db.get_collection(COLL).unwrap().stats().unwrap().doc_count,
        2 * BATCH
    );
    // The reader's snapshot is the one taken when it opened the collection.
    assert_eq!(rc.iter().unwrap().count(), BATCH as usize);
    drop((rc, ro));
    assert!(is_locked(Database::open(&dir), &dir));
    drop(db);
    assert!(!is_locked(Database::open(&dir), &dir));
}

/// Writes through a read-only handle fail with `Error::ReadOnly` and change nothing.
#[test]
fn read_only_handles_refuse_writes() {
    let _serial = serial();
    let (_tmp, dir, db, c) = one_batch();
    drop((c, db));
    let ro = Database::open_read_only(&dir).unwrap();
    let c = ro.get_collection(COLL).unwrap();
    let ro_err = |r: ndb::Result<()>, what: &str| match r {
        Err(Error::ReadOnly) => {}
        other => panic!("{what}: expected Error::ReadOnly, got {other:?}"),
    };
    ro_err(c.insert(batch_docs(5).remove(0)), "insert");
    ro_err(c.insert_batch(batch_docs(6)), "insert_batch");
    ro_err(c.insert_batch(Vec::new()), "empty insert_batch");
    ro_err(c.delete("b0-0").map(|_| ()), "delete");
    ro_err(c.delete("absent").map(|_| ()), "delete of an absent id");
    ro_err(c.flush(), "flush");
    ro_err(c.sync(), "sync");
    ro_err(c.compact().map(|_| ()), "compact");
    ro_err(c.rebuild_index(), "rebuild_index");
    ro_err(c.delete_index(), "delete_index");
    ro_err(
        ro.create_collection("other", config(64 << 20)).map(|_| ()),
        "create_collection",
    );
    ro_err(ro.drop_collection(COLL).map(|_| ()), "drop_collection");
    assert_eq!(c.iter().unwrap().count(), BATCH as usize);
    drop((c, ro));
    let db = Database::open(&dir).unwrap();
    assert_eq!(db.collection_names().unwrap(), vec![COLL.to_string()]);
    let c = db.get_collection(COLL).unwrap();
    assert_eq!(c.stats().unwrap().doc_count, BATCH);
    assert_eq!(c.get("b0-0").unwrap().unwrap().vector, vector(0, 0));
}

/// Another process holding the database blocks a writer here (not a reader); once it is
/// SIGKILLed, the next open succeeds at once and finds its acknowledged writes.
#[test]
fn lock_of_another_process_blocks_until_it_is_killed() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let mut child = spawn_child("child_hold", &dir);

    assert!(is_locked(Database::open(&dir), &dir));
    let ro = Database::open_read_only(&dir).expect("read-only beside another process");
    assert_eq!(
        ro.get_collection(COLL).unwrap().iter().unwrap().count(),
        3 * BATCH as usize,
        "the reader sees the writer's WAL"
    );
    assert!(is_locked(Database::open(&dir), &dir));

    child.kill();
    // The dead process's flock is gone with it: the very first attempt succeeds, although the
    // LOCK file is still there.
    assert!(dir.join("LOCK").exists());
    let started = Instant::now();
    let db = Database::open(&dir).expect("open right after the holder was killed");
    let c = db.get_collection(COLL).unwrap();
    let took = started.elapsed();
    assert_eq!(c.stats().unwrap().doc_count, 3 * BATCH);
    for b in 0..3 {
        for d in batch_docs(b) {
            assert_eq!(c.get(&d.id).unwrap().as_ref(), Some(&d));
        }
    }
    drop((c, db));
    println!("open after SIGKILL of the lock holder: {took:?}");
}

/// What one read-only open saw (the fields beyond `batches` and `segments` are for the
/// failure messages, through `Debug`).
#[derive(Debug)]
#[allow(dead_code)]
struct Snapshot {
    /// Complete batches `0..batches`.
    batches: u64,
    segments: usize,
    /// Documents in segments / in the replayed WAL.
    segment_docs: u64,
    memtable_docs: u64,
    wal_records: u64,
}

/// Check a read-only snapshot: every document is well-formed, every batch present is complete
/// and the batches present are exactly `0..k`.
fn check_snapshot(dir: &Path) -> Result<Snapshot, String> {
    let ro = Database::open_read_only(dir).map_err(|e| format!("open_read_only: {e}"))?;
    let c = ro
        .get_collection(COLL)
        .map_err(|e| format!("get_collection: {e}"))?;
    let mut batches: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for d in c.iter().map_err(|e| format!("iter: {e}"))? {
        let d = d.map_err(|e| format!("iter item: {e}"))?;
        let (b, i) =
            d.id.strip_prefix('b')
                .and_then(|s| s.split_once('-'))
                .and_then(|(b, i)| Some((b.parse::<u64>().ok()?, i.parse::<u64>().ok()?)))
                .ok_or_else(|| format!("unexpected id {:?}", d.id))?;
        if d.vector != vector(b, i) || d.payload != Some(json!({"batch": b})) {
            return Err(format!("document {} has wrong contents: {d:?}", d.id));
        }
        batches.entry(b).or_default().push(i);
    }
    for (b, is) in &mut batches {
        is.sort_unstable();
        if *is != (0..BATCH).collect::<Vec<_>>() {
            return Err(format!("batch {b} is torn: it has rows {is:?}"));
        }
    }
    let k = batches.len() as u64;
    if let Some((&last, _)) = batches.last_key_value() {
        if last + 1 != k {
            let missing: Vec<u64> = (0..last).filter(|b| !batches.contains_key(b)).collect();
            return Err(format!(
                "holes: batches {missing:?} are missing below {last}"
            ));
        }
    }
    // Point reads agree with the scan.
    if k > 0
        && c.get(&format!("b{}-{}", k - 1, BATCH - 1))
            .unwrap()
            .is_none()
    {
        return Err(format!("get misses the last batch {}", k - 1));
    }
    if c.get(&format!("b{k}-0")).unwrap().is_some() {
        return Err(format!("get sees batch {k}, which the scan did not"));
    }
    let stats = c.stats().map_err(|e| format!("stats: {e}"))?;
    if stats.doc_count != k * BATCH {
        return Err(format!(
            "stats.doc_count {} for {k} batches",
            stats.doc_count
        ));
    }
    if !matches!(c.insert_batch(batch_docs(k)), Err(Error::ReadOnly)) {
        return Err("a read-only write did not fail with ReadOnly".into());
    }
    Ok(Snapshot {
        batches: k,
        segments: stats.segment_count,
        segment_docs: stats.doc_count - stats.memtable_docs,
        memtable_docs: stats.memtable_docs,
        wal_records: stats.wal_replayed_records,
    })
}

/// Read-only opens beside a writer process that flushes all the time (WAL rotation, segment
/// writes, manifest swaps, file deletion), for `run`. Every snapshot must be a prefix of whole
/// batches, agree between scan, `get` and `stats`, and refuse writes. With `strict`, every
/// snapshot must also hold every batch acknowledged before its open began, and so never go
/// backwards; otherwise such stale snapshots are only counted. Returns how many were stale.
fn readers_beside_a_writer(run: Duration, strict: bool) -> u64 {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let mut child = spawn_child("child_writer", &dir);
    assert!(is_locked(Database::open(&dir), &dir));

    let started = Instant::now();
    let mut prev: Option<Snapshot> = None;
    let mut opens = 0;
    let mut stale = 0;
    let mut first_stale = None;
    let mut max_segments = 0;
    let mut failure = None;
    while started.elapsed() < run {
        let acked_before = child.acked.load(Ordering::Acquire);
        match check_snapshot(&dir) {
            Ok(s) => {
                opens += 1;
                max_segments = max_segments.max(s.segments);
                let prev_batches = prev.as_ref().map_or(0, |p| p.batches);
                if s.batches < acked_before || s.batches < prev_batches {
                    stale += 1;
                    let msg = format!(
                        "read-only open {opens} is stale: {s:?} misses batches acknowledged \
                         before the open began ({acked_before}); the previous open saw {prev:?}"
                    );
                    if strict {
                        failure = Some(msg);
                    } else {
                        first_stale.get_or_insert(msg);
                    }
                }
                prev = Some(s);
            }
            Err(e) => failure = Some(format!("read-only open {}: {e}", opens + 1)),
        }
        if failure.is_some() {
            break;
        }
    }
    let acked_at_end = child.acked.load(Ordering::Acquire);
    let errors = child.kill();
    if let Some(f) = failure {
        panic!("{f}\n(writer stderr:\n{errors})");
    }
    let acked = child.acked.load(Ordering::Acquire);

    // After the kill: a writer opens at once and holds every acknowledged batch (and perhaps
    // the one in flight).
    let db = Database::open(&dir).expect("open after the writer was killed");
    let c = db.get_collection(COLL).unwrap();
    c.verify().unwrap();
    drop((c, db));
    let end = check_snapshot(&dir).unwrap();
    assert!(
        end.batches == acked || end.batches == acked + 1,
        "{} batches recovered, {acked} acknowledged",
        end.batches
    );
    println!(
        "{opens} read-only snapshots in {:?} beside a writer that acknowledged {acked_at_end} \
         batches; up to {max_segments} segments; {stale} stale snapshots; {} batches after \
         recovery",
        started.elapsed(),
        end.batches
    );
    if let Some(msg) = first_stale {
        println!("first stale snapshot: {msg}");
    }
    assert!(opens >= 10, "only {opens} read-only opens");
    assert!(
        max_segments >= 3,
        "the writer should have flushed several times (saw {max_segments} segments)"
    );
    stale
}

/// Every read-only snapshot beside a flushing writer process is consistent: whole batches, a
/// prefix `0..k`, no holes (see [`readers_beside_a_writer`]).
#[test]
fn read_only_snapshots_beside_a_writer_process_are_consistent() {
    let _serial = serial();
    readers_beside_a_writer(Duration::from_secs(2), false);
}

/// And they are never stale: each holds every batch acknowledged before its open began, so
/// successive snapshots never go backwards.
///
/// Regression test: a read-only open that read the collection MANIFEST just before a flush
/// committed, and listed the WAL files just after the flush deleted the old generation, used to
/// find only the new, empty generation and return a stale snapshot; it now notices the missing
/// generation and retries.
#[test]
fn read_only_snapshots_beside_a_writer_process_are_never_stale() {
    let _serial = serial();
    let stale = readers_beside_a_writer(Duration::from_secs(3), true);
    assert_eq!(stale, 0);
}
