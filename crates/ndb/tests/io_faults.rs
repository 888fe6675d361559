//! I/O errors injected through the simulated file system: failed fsyncs (WAL, flush, collection
//! creation), ENOSPC and failed writes (WAL appends and flushes), failed reads at open.
//!
//! For each: the error the user sees (kind, OS error code, the file it names, the message), what
//! the collection does afterwards (poisoned or still usable), and that every acknowledged write
//! is intact after a crash and reopen.

use ndb::testing::{CrashMode, Fault, SimVfs};
use ndb::{Collection, CollectionConfig, Database, Distance, Document, Durability, Error};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

const DB: &str = "/db";
const DIM: usize = 4;
const BOTH: [Durability; 2] = [Durability::FdatasyncEachBatch, Durability::Buffered];
const CRASHES: [CrashMode; 3] = [
    CrashMode::ProcessKill,
    CrashMode::PowerLoss,
    CrashMode::PowerLossTorn,
];

type Model = BTreeMap<String, Document>;

fn open(sim: &SimVfs) -> ndb::Result<Database> {
    Database::open_with_vfs(DB, Arc::new(sim.clone()), false)
}

fn config(durability: Durability) -> CollectionConfig {
    CollectionConfig::new(DIM)
        .with_distance(Distance::DotProduct)
        .with_durability(durability)
}

fn doc(i: u32, version: u32) -> Document {
    Document::new(format!("d{i}"), vec![i as f32, version as f32, 0.5, -1.0])
        .with_payload(json!({ "i": i, "v": version }))
}

/// A document whose WAL record is far larger than the small free-space budgets used below.
fn big_doc(id: &str) -> Document {
    Document::new(id, vec![9.0; DIM]).with_payload(json!({ "blob": "z".repeat(600) }))
}

fn state(c: &Collection) -> Model {
    let mut m = Model::new();
    for d in c.iter().expect("iter") {
        let d = d.expect("iter item");
        assert!(m.insert(d.id.clone(), d).is_none(), "iter repeated an id");
    }
    assert_eq!(c.stats().expect("stats").doc_count, m.len() as u64);
    for (id, d) in &m {
        assert_eq!(c.get(id).expect("get").as_ref(), Some(d), "get({id})");
    }
    m
}

fn put(c: &Collection, model: &mut Model, d: Document) {
    c.insert(d.clone()).expect("insert without a fault");
    model.insert(d.id.clone(), d);
}

/// An `Error::Io` with this OS error code, naming a path that contains `path_part`, and a
/// message that shows both.
#[track_caller]
fn assert_io(err: &Error, code: i32, path_part: &str) {
    match err {
        Error::Io { path, source } => {
            assert_eq!(source.raw_os_error(), Some(code), "{err}");
            let p = path.to_string_lossy();
            assert!(
                p.contains(path_part),
                "the error names {p}, expected a path containing {path_part:?}: {err}"
            );
            let msg = err.to_string();
            assert!(msg.contains(&*p), "message does not name the file: {msg}");
            assert!(
                msg.contains(&format!("os error {code}")),
                "message does not show the OS error: {msg}"
            );
        }
        other => panic!("expected Error::Io (os error {code}) on {path_part:?}, got {other:?}"),
    }
}

/// An `Error::Poisoned` for collection `name` whose message says why and what to do.
#[track_caller]
fn assert_poisoned(err: &Error, name: &str, reason_part: &str) {
    match err {
        Error::Poisoned { collection, reason } => {
            assert_eq!(collection, name);
            assert!(
                reason.contains(reason_part),
                "poison reason {reason:?} should mention {reason_part:?}"
            );
            let msg = err.to_string();
            assert!(msg.contains(name) && msg.contains("reopen"), "{msg}");
        }
        other => panic!("expected Error::Poisoned, got {other:?}"),
    }
}

/// Every write entry point refuses with `Poisoned`, and none of them syncs anything.
#[track_caller]
fn assert_refuses_writes(sim: &SimVfs, c: &Collection, reason_part: &str) {
    let syncs = sim.sync_count();
    let name = c.name().to_string();
    assert_poisoned(&c.insert(doc(900, 0)).unwrap_err(), &name, reason_part);
    assert_poisoned(
        &c.insert_batch([doc(901, 0), doc(902, 0)]).unwrap_err(),
        &name,
        reason_part,
    );
    assert_poisoned(&c.delete("d1").unwrap_err(), &name, reason_part);
    assert_poisoned(&c.flush().unwrap_err(), &name, reason_part);
    assert_poisoned(&c.sync().unwrap_err(), &name, reason_part);
    assert_eq!(
        sim.sync_count(),
        syncs,
        "a poisoned collection synced something (a retry?)"
    );
}

/// Crash, reopen, and return the collection (which must open).
fn crash_reopen(sim: &SimVfs, mode: CrashMode, name: &str) -> (Database, Collection) {
    sim.crash(mode);
    sim.clear_faults();
    let db = open(sim).unwrap_or_else(|e| panic!("reopen after {mode:?} failed: {e}"));
    let c = db
        .get_collection(name)
        .unwrap_or_else(|e| panic!("get_collection after {mode:?} failed: {e}"));
    c.verify().expect("verify after recovery");
    (db, c)
}

/// A collection with a segment, a replaced and a deleted segment row (so the next flush writes
/// a deletion file), and documents in the memtable; every write acknowledged and durable.
fn populated(seed: u64, durability: Durability) -> (SimVfs, Database, Collection, Model) {
    let sim = SimVfs::new(seed);
    let db = open(&sim).expect("open");
    let c = db
        .create_collection("c", config(durability))
        .expect("create");
    let mut model = Model::new();
    for i in 0..20 {
        put(&c, &mut model, doc(i, 0));
    }
    let batch: Vec<Document> = (20..30).map(|i| doc(i, 0)).collect();
    c.insert_batch(batch.clone()).expect("batch");
    model.extend(batch.into_iter().map(|d| (d.id.clone(), d)));
    c.flush().expect("flush");
    for i in 0..5 {
        put(&c, &mut model, doc(i, 1));
    }
    for i in 5..8 {
        assert!(c.delete(&format!("d{i}")).expect("delete"));
        model.remove(&format!("d{i}"));
    }
    for i in 30..40 {
        put(&c, &mut model, doc(i, 0));
    }
    c.sync().expect("sync");
    assert_eq!(state(&c), model);
    (sim, db, c, model)
}

#[test]
fn fail_sync_on_durable_insert_poisons_and_reopen_keeps_every_acked_write() {
    for mode in CRASHES {
        let (sim, _db, c, model) = populated(1, Durability::FdatasyncEachBatch);
        let syncs = sim.sync_count();
        sim.inject(Fault::FailSync { after: 0 });
        let err = c.insert(doc(100, 0)).unwrap_err();
        assert_io(&err, 5, "wal-");
        assert_eq!(sim.sync_count(), syncs);
        assert_refuses_writes(&sim, &c, "fdatasync of the WAL failed");

        // Reads still work. The failed insert was applied in memory before its sync failed, so
        // it may be visible; nothing else changed.
        let mut seen = state(&c);
        seen.remove("d100");
        assert_eq!(seen, model);
        assert_eq!(c.get("d3").unwrap(), model.get("d3").cloned());

        let (_db, c) = crash_reopen(&sim, mode, "c");
        let mut got = state(&c);
        let failed_present = got.remove("d100").is_some();
        assert_eq!(got, model, "{mode:?}: acknowledged writes lost or changed");
        assert!(!got.contains_key("d900") && !got.contains_key("d901"));
        println!("FailSync on insert, {mode:?}: the failed insert is present after reopen: {failed_present}");
        // The reopened collection is not poisoned.
        c.insert(doc(101, 0)).expect("insert after reopen");
        c.flush().expect("flush after reopen");
    }
}

#[test]
fn fail_sync_on_explicit_sync_poisons_buffered_collection() {
    for mode in CRASHES {
        let (sim, _db, c, mut model) = populated(2, Durability::Buffered);
        put(&c, &mut model, doc(50, 0));
        sim.inject(Fault::FailSync { after: 0 });
        assert_io(&c.sync().unwrap_err(), 5, "wal-");
        assert_refuses_writes(&sim, &c, "fdatasync of the WAL failed");
        assert_eq!(state(&c), model);
        let (_db, c) = crash_reopen(&sim, mode, "c");
        let mut got = state(&c);
        if mode != CrashMode::ProcessKill {
            // d50 was acknowledged under Buffered but never synced: a power loss may drop it.
            got.remove("d50");
            model.remove("d50");
        }
        assert_eq!(got, model, "{mode:?}");
    }
}

/// Fails each sync a flush makes, in turn. Returns the file each failure named, in order.
fn fail_each_flush_sync(durability: Durability) -> Vec<String> {
    let (sim, _db, c, _) = populated(3, durability);
    let before = sim.sync_count();
    c.flush().expect("dry-run flush");
    let syncs = sim.sync_count() - before;
    assert!(syncs >= 6, "a flush made only {syncs} syncs");

    let mut named = Vec::new();
    for k in 0..syncs {
        let mode = CRASHES[k as usize % 3];
        let (sim, _db, c, model) = populated(3, durability);
        sim.inject(Fault::FailSync { after: k });
        let err = c.flush().expect_err("flush must report the failed sync");
        let Error::Io { path, .. } = &err else {
            panic!("sync {k} of the flush: expected Error::Io, got {err:?}");
        };
        assert_io(&err, 5, "/db/c");
        named.push(path.to_string_lossy().into_owned());
        let reason = if k == 0 {
            "WAL rotation failed"
        } else {
            "failed"
        };
        assert_refuses_writes(&sim, &c, reason);
        assert_eq!(state(&c), model, "sync {k}: reads after the failed flush");

        let (db, c) = crash_reopen(&sim, mode, "c");
        assert_eq!(state(&c), model, "sync {k} failed, {mode:?}: acked data");
        // Usable again, and what it does now survives another power loss.
        let mut model = model;
        put(&c, &mut model, doc(60, 0));
        c.flush().expect("flush after recovery");
        drop((db, c));
        let (_db, c) = crash_reopen(&sim, CrashMode::PowerLoss, "c");
        assert_eq!(
            state(&c),
            model,
            "sync {k} failed, {mode:?}: after a second crash"
        );
    }
    println!("{durability:?}: the {syncs} syncs of a flush, in order: {named:?}");
    named
}

#[test]
fn fail_sync_at_each_step_of_a_flush_poisons_and_reopen_recovers() {
    for durability in BOTH {
        let named = fail_each_flush_sync(durability);
        // The order the spec requires: the old WAL, the new WAL and its directory entry; the new
        // segment and deletion files, then the segments directory; then the manifest (its
        // temporary file and the directory after the rename).
        let pos = |pred: &dyn Fn(&str) -> bool| {
            named
                .iter()
                .position(|p| pred(p))
                .unwrap_or_else(|| panic!("no sync of that file in {named:?}"))
        };
        let segment = pos(&|p| p.ends_with(".ndb"));
        let deletes = pos(&|p| p.ends_with(".del"));
        let seg_dir = pos(&|p| p.ends_with("/segments"));
        let manifest = pos(&|p| p.ends_with("/c/MANIFEST"));
        // The first flush already rotated wal-000001 to wal-000002; this one goes to 000003.
        let old_wal = pos(&|p| p.ends_with("wal-000002.log"));
        let new_wal = pos(&|p| p.ends_with("wal-000003.log"));
        assert!(old_wal < new_wal && new_wal < segment, "{named:?}");
        assert!(segment < seg_dir && deletes < seg_dir, "{named:?}");
        assert!(seg_dir < manifest, "{named:?}");
        assert_eq!(
            named.iter().filter(|p| p.ends_with("/c/MANIFEST")).count(),
            2,
            "manifest: temp-file fsync and directory fsync: {named:?}"
        );
    }
}

#[test]
fn no_space_on_wal_append_is_cut_back_and_the_collection_stays_usable() {
    for durability in BOTH {
        for free_bytes in [0, 1, 7, 20, 40, 100, 300] {
            for mode in CRASHES {
                let ctx = format!("{durability:?}, free_bytes {free_bytes}, {mode:?}");
                let (sim, _db, c, mut model) = populated(4, durability);
                sim.inject(Fault::NoSpace { free_bytes });
                let err = c.insert(big_doc("big")).unwrap_err();
                assert_io(&err, 28, "/db/c/wal-");
                // Not poisoned: reads work, and another failing write is again a plain ENOSPC.
                assert_eq!(c.get("big").unwrap(), None, "{ctx}");
                assert_eq!(state(&c), model, "{ctx}");
                let err = c.insert_batch([big_doc("big2"), doc(1, 7)]).unwrap_err();
                assert_io(&err, 28, "/db/c/wal-");
                assert_eq!(c.get("d1").unwrap(), model.get("d1").cloned(), "{ctx}");
                sim.clear_faults();
                // The WAL was cut back: the next record follows the last good one.
                put(&c, &mut model, doc(70, 0));
                put(&c, &mut model, big_doc("big3"));
                c.sync().expect("sync");
                let (_db, c) = crash_reopen(&sim, mode, "c");
                assert_eq!(state(&c), model, "{ctx}: no trace of the failed inserts");
                let stats = c.stats().unwrap();
                assert_eq!(
                    stats.wal_truncated_bytes, 0,
                    "{ctx}: garbage left in the WAL"
                );
            }
        }
    }
}

#[test]
fn fail_write_on_wal_append_is_cut_back_and_the_collection_stays_usable() {
    for durability in BOTH {
        for seed in 0..12 {
            let mode = CRASHES[seed as usize % 3];
            let ctx = format!("{durability:?}, seed {seed}, {mode:?}");
            let (sim, _db, c, mut model) = populated(seed, durability);
            sim.inject(Fault::FailWrite { after: 0 });
            let err = c.insert(big_doc("big")).unwrap_err();
            assert_io(&err, 5, "/db/c/wal-");
            assert_eq!(state(&c), model, "{ctx}");
            // The fault is consumed: the next write goes through.
            put(&c, &mut model, doc(71, 0));
            c.sync().expect("sync");
            let (_db, c) = crash_reopen(&sim, mode, "c");
            assert_eq!(state(&c), model, "{ctx}");
            assert_eq!(c.stats().unwrap().wal_truncated_bytes, 0, "{ctx}");
        }
    }
}

/// Runs a flush under `fault(k)` for k = 0, 1, ... until the flush succeeds; every failure must
/// be an `Io` error with `code`, poison the collection and recover on reopen. Returns the files
/// the failures named.
fn fail_flush_until_it_succeeds(
    durability: Durability,
    code: i32,
    fault: impl Fn(u64) -> Fault,
) -> Vec<String> {
    let mut named = Vec::new();
    for k in 0.. {
        assert!(k < 10_000, "the flush never succeeded");
        let mode = CRASHES[k as usize % 3];
        let (sim, _db, c, mut model) = populated(5 + k, durability);
        sim.inject(fault(k));
        let err = match c.flush() {
            Ok(()) => {
                sim.clear_faults();
                assert_eq!(state(&c), model, "k {k}: after the flush");
                break;
            }
            Err(e) => e,
        };
        let Error::Io { path, .. } = &err else {
            panic!("k {k}: expected Error::Io, got {err:?}");
        };
        assert_io(&err, code, "/db/c");
        named.push(path.to_string_lossy().into_owned());
        assert_refuses_writes(&sim, &c, "failed");
        assert_eq!(state(&c), model, "k {k}: reads after the failed flush");
        let (_db, c) = crash_reopen(&sim, mode, "c");
        assert_eq!(state(&c), model, "k {k}, {mode:?}");
        put(&c, &mut model, doc(72, 0));
        c.flush().expect("flush after recovery");
        assert_eq!(state(&c), model, "k {k}, {mode:?}: after another flush");
    }
    named
}

#[test]
fn no_space_during_a_flush_poisons_and_reopen_recovers() {
    for durability in BOTH {
        // Free space from nothing up to enough for the whole flush, in 24-byte steps.
        let named =
            fail_flush_until_it_succeeds(durability, 28, |k| Fault::NoSpace { free_bytes: k * 24 });
        let mut hit = named.clone();
        hit.dedup();
        println!(
            "{durability:?}: ENOSPC during a flush ({} free-space budgets that fail) hit, in order: {hit:?}",
            named.len()
        );
        assert!(
            named.iter().any(|p| p.ends_with(".ndb")),
            "no case ran out of space in the segment file: {named:?}"
        );
        assert!(named.iter().any(|p| p.contains("wal-")), "{named:?}");
    }
}

#[test]
fn fail_write_during_a_flush_poisons_and_reopen_recovers() {
    for durability in BOTH {
        let named = fail_flush_until_it_succeeds(durability, 5, |k| Fault::FailWrite { after: k });
        println!("{durability:?}: a failed write during a flush hit {named:?}");
        for part in [".ndb", ".del", "MANIFEST", "wal-"] {
            assert!(named.iter().any(|p| p.contains(part)), "{part}: {named:?}");
        }
    }
}

#[test]
fn fail_read_at_open_is_a_clear_error_and_clearing_it_opens() {
    // (fault substring, where the error must point, whether Database::open itself fails)
    let cases = [
        ("segments", "/db/c/segments/", false),
        (".del", ".del", false),
        ("wal-", "/db/c/wal-", false),
        ("c/MANIFEST", "/db/c/MANIFEST", false),
        ("/db/MANIFEST", "/db/MANIFEST", true),
    ];
    for (fault, names, db_level) in cases {
        for read_only in [false, true] {
            let (sim, db, c, mut model) = populated(6, Durability::FdatasyncEachBatch);
            // A deletion file (the flush persists the replaced and deleted rows), and records in
            // the WAL, so that open reads every kind of file.
            c.flush().expect("flush");
            put(&c, &mut model, doc(80, 0));
            drop((db, c));
            sim.crash(CrashMode::ProcessKill);
            sim.inject(Fault::FailRead {
                path_contains: fault.to_string(),
            });
            let ctx = format!("FailRead {fault:?}, read_only {read_only}");
            let opened = Database::open_with_vfs(DB, Arc::new(sim.clone()), read_only);
            let err = if db_level {
                opened.expect_err(&ctx)
            } else {
                let db = opened.unwrap_or_else(|e| panic!("{ctx}: Database::open: {e}"));
                let err = db.get_collection("c").expect_err(&ctx);
                // A second try fails the same way: the failed open released its lock.
                let again = db.get_collection("c").expect_err(&ctx);
                assert_io(&again, 5, names);
                err
            };
            assert_io(&err, 5, names);
            sim.clear_faults();
            let db = Database::open_with_vfs(DB, Arc::new(sim.clone()), read_only)
                .unwrap_or_else(|e| panic!("{ctx}: open after clearing: {e}"));
            let c = db
                .get_collection("c")
                .unwrap_or_else(|e| panic!("{ctx}: get_collection after clearing: {e}"));
            assert_eq!(state(&c), model, "{ctx}");
            if !read_only {
                put(&c, &mut model, doc(81, 0));
            }
        }
    }
}

/// `create_collection` with each of its syncs failing in turn; then the live process, or a
/// process kill or power loss and a reopen, must show the collection complete and usable or not
/// at all. With `then_power_loss`, a synced insert into it must also survive a power loss.
fn create_collection_with_a_failing_sync(then_power_loss: bool) {
    // The syncs `create_collection` makes, counted on a dry run.
    let setup = |seed| {
        let sim = SimVfs::new(seed);
        let db = open(&sim).expect("open");
        let a = db
            .create_collection("a", config(Durability::FdatasyncEachBatch))
            .expect("create a");
        let mut model = Model::new();
        for i in 0..5 {
            put(&a, &mut model, doc(i, 0));
        }
        (sim, db, a, model)
    };
    let (sim, db, _a, _) = setup(7);
    let before = sim.sync_count();
    db.create_collection("c", config(Durability::Buffered))
        .expect("dry run");
    let syncs = sim.sync_count() - before;
    assert!(syncs >= 5, "create_collection made only {syncs} syncs");

    let mut outcomes = Vec::new();
    for k in 0..syncs {
        // None: check the live process; Some(mode): crash first.
        for crash in [
            None,
            Some(CrashMode::ProcessKill),
            Some(CrashMode::PowerLoss),
        ] {
            let ctx = format!("create_collection with sync {k} failing, crash {crash:?}");
            let (sim, db, a, model_a) = setup(8 + k);
            sim.inject(Fault::FailSync { after: k });
            let err = db
                .create_collection("c", config(Durability::Buffered))
                .expect_err(&ctx);
            assert_io(&err, 5, "/db");
            let db = match crash {
                None => db,
                Some(mode) => {
                    drop((db, a));
                    sim.crash(mode);
                    sim.clear_faults();
                    let db = open(&sim).unwrap_or_else(|e| panic!("{ctx}: reopen: {e}"));
                    let a = db.get_collection("a").expect("collection a");
                    assert_eq!(state(&a), model_a, "{ctx}: the other collection");
                    db
                }
            };
            let exists = db.has_collection("c").unwrap();
            assert_eq!(
                db.collection_names().unwrap().contains(&"c".to_string()),
                exists,
                "{ctx}"
            );
            let c = if exists {
                let c = db
                    .get_collection("c")
                    .unwrap_or_else(|e| panic!("{ctx}: listed but cannot be opened: {e}"));
                assert!(state(&c).is_empty(), "{ctx}");
                c.verify().expect("verify");
                c
            } else {
                assert!(
                    matches!(db.get_collection("c"), Err(Error::CollectionNotFound(_))),
                    "{ctx}"
                );
                if crash.is_some() {
                    let leftovers: Vec<_> = sim
                        .list_all()
                        .into_iter()
                        .filter(|p| p.starts_with("/db/c"))
                        .collect();
                    assert!(leftovers.is_empty(), "{ctx}: leftovers {leftovers:?}");
                }
                db.create_collection("c", config(Durability::Buffered))
                    .unwrap_or_else(|e| panic!("{ctx}: create again: {e}"))
            };
            outcomes.push(format!("sync {k} {crash:?}: exists={exists}"));
            // Usable: a write is acknowledged, synced and read back, also after a reopen.
            c.insert(doc(1, 0)).expect("insert");
            c.sync().expect("sync");
            assert_eq!(c.get("d1").unwrap(), Some(doc(1, 0)), "{ctx}");
            drop((db, c));
            let mode = if then_power_loss {
                CrashMode::PowerLoss
            } else {
                CrashMode::ProcessKill
            };
            sim.crash(mode);
            let db = open(&sim).expect("reopen");
            let got = db.get_collection("c").and_then(|c| c.get("d1"));
            assert!(
                matches!(&got, Ok(Some(d)) if *d == doc(1, 0)),
                "{ctx} (the collection was {}): after a synced insert and a {mode:?}, get = {got:?}",
                if exists { "there after the failure" } else { "created again" },
            );
        }
    }
    println!("create_collection with a failing sync: {outcomes:?}");
}

#[test]
fn fail_sync_during_create_collection_leaves_it_complete_or_absent() {
    create_collection_with_a_failing_sync(false);
}

/// Sync 4 of `create_collection` is the fsync of the database directory after the database
/// MANIFEST rename. When it fails and the process then dies, the page cache still holds the
/// renamed MANIFEST: the reopened database lists the collection and acknowledges synced writes
/// into it, but nothing ever fsyncs the database directory, so a power loss brings back the old
/// MANIFEST and the collection, with every acknowledged write, is gone. Regression test: open
/// now fsyncs the database directory.
#[test]
fn fail_sync_during_create_collection_then_restart_and_power_loss() {
    create_collection_with_a_failing_sync(true);
}

/// Concurrent `FdatasyncEachBatch` writers share fsyncs (group commit). When the shared fsync
/// fails, no writer may fsync again and acknowledge its write: the failed fsync may have dropped
/// the dirty pages (Linux does), so a later fsync that "succeeds" proves nothing.
fn concurrent_writers_with_a_failing_fsync(rounds: u64) -> Vec<String> {
    let mut retried = Vec::new();
    for round in 0..rounds {
        let sim = SimVfs::new(round);
        let db = open(&sim).expect("open");
        let c = db
            .create_collection("c", config(Durability::FdatasyncEachBatch))
            .expect("create");
        let base = sim.sync_count();
        let fail_at = 5 + round % 20;
        sim.inject(Fault::FailSync { after: fail_at });
        let acked: Vec<Vec<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8u32)
                .map(|t| {
                    let c = c.clone();
                    s.spawn(move || {
                        let mut acked = Vec::new();
                        for i in 0..200 {
                            let id = t * 1000 + i;
                            match c.insert(doc(id, 0)) {
                                Ok(()) => acked.push(id),
                                Err(Error::Io { .. } | Error::Poisoned { .. }) => break,
                                Err(e) => panic!("unexpected error: {e:?}"),
                            }
                        }
                        acked
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        // WAL fsyncs are serialized by the group commit (no flush runs here), so the successful
        // ones after the failed call are exactly the syncs beyond `base + fail_at`.
        let after_failure = sim.sync_count() - base - fail_at;
        let n_acked: usize = acked.iter().map(Vec::len).sum();
        if after_failure > 0 {
            retried.push(format!(
                "round {round}: {after_failure} fsyncs after the failed one, {n_acked} inserts acknowledged in all"
            ));
        }
        drop((db, c));
        let (_db, c) = crash_reopen(&sim, CrashMode::PowerLoss, "c");
        for id in acked.iter().flatten() {
            assert_eq!(
                c.get(&format!("d{id}")).unwrap(),
                Some(doc(*id, 0)),
                "round {round}"
            );
        }
    }
    retried
}

#[test]
fn concurrent_writers_acknowledged_before_a_failed_fsync_survive() {
    let retried = concurrent_writers_with_a_failing_fsync(100);
    // The failing leader wakes the waiters (GroupCommit::wait) before wait_durable poisons the
    // collection, so a waiter that wins that race leads another fsync and is acknowledged.
    assert!(
        retried.is_empty(),
        "a writer fsynced again after a failed fsync and acknowledged writes: {retried:?}"
    );
}
