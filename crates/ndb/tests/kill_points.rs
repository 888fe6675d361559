//! Named kill points: a child process writes (durable batches, payload updates, flushes,
//! compactions, backups) and aborts at the k-th time it reaches one named point before or
//! after an fsync, rename or unlink; the parent reopens and checks that every acknowledged
//! batch and payload update is there, the state is a prefix of the batches, `verify` passes,
//! every segment has its quantized codes, and every backup that finished holds the batches
//! acknowledged before it. CI: every point, twice; with
//! `NDB_KILL_POINT_RUNS=50 cargo test --release -p ndb --test kill_points -- --ignored`, 50 times
//! each.

mod common;
use common::env_number;

use ndb::{CollectionConfig, Database, Document, Durability, IndexConfig, Quantization};
use serde_json::json;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const BATCH: usize = 25;

fn config() -> CollectionConfig {
    CollectionConfig::new(4)
        .with_durability(Durability::FdatasyncEachBatch)
        .with_flush_threshold_bytes(16 << 10)
        .with_index(
            IndexConfig::default()
                .with_min_rows(200)
                .with_m(4)
                .with_ef_construction(16)
                .with_ef_search(16),
        )
        // Every crash also lands among code file writes, renames and removals.
        .with_quantization(Quantization::Int8)
}

/// The child: write batches `start..`, flushing and compacting now and then; print each
/// acknowledged batch.
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var("NDB_KP_DIR") else {
        return;
    };
    let start: u64 = std::env::var("NDB_KP_START").unwrap().parse().unwrap();
    let db = Database::open(&dir).unwrap();
    let c = match db.get_collection("c") {
        Ok(c) => c,
        Err(_) => db.create_collection("c", config()).unwrap(),
    };
    let mut out = std::io::stdout();
    for b in start..start + 60 {
        c.insert_batch(
            (0..BATCH)
                .map(|i| Document::new(format!("{b}-{i}"), vec![b as f32, i as f32, 1.0, 0.5])),
        )
        .unwrap();
        writeln!(out, "ACK {b}").unwrap();
        out.flush().unwrap();
        assert!(c
            .set_payload(&format!("{b}-0"), Some(json!({"b": b})))
            .unwrap());
        writeln!(out, "PAYLOAD {b}").unwrap();
        out.flush().unwrap();
        if b % 29 == 28 {
            db.backup(backup_dir(&dir, b)).unwrap();
            writeln!(out, "BACKUP {b}").unwrap();
            out.flush().unwrap();
        }
        if b % 17 == 16 {
            c.flush().unwrap();
        }
        if b % 5 == 4 {
            // Room for the background threads: threshold flushes leave graphs to the indexer.
            std::thread::sleep(std::time::Duration::from_millis(15));
        }
        if b % 23 == 22 {
            c.compact().unwrap();
        }
    }
}

/// Where the child backs up the database in `dir` after batch `b` (beside it, not inside).
fn backup_dir(dir: impl AsRef<std::path::Path>, b: u64) -> std::path::PathBuf {
    let dir = dir.as_ref();
    dir.with_file_name(format!(
        "{}-backup-{b}",
        dir.file_name().unwrap().to_string_lossy()
    ))
}

/// What a child acknowledged: batches, payload updates, finished backups.
#[derive(Default)]
struct Acked {
    batches: BTreeSet<u64>,
    payloads: BTreeSet<u64>,
    backups: BTreeSet<u64>,
}

fn run(point: &str, skip: u64, dir: &std::path::Path, start: u64) -> (Acked, bool) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env("NDB_KP_DIR", dir)
        .env("NDB_KP_START", start.to_string())
        .env("NDB_FAILPOINT", point)
        .env("NDB_FAILPOINT_SKIP", skip.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Acked::default();
    for line in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        let Some((kind, n)) = line.split_once(' ') else {
            continue;
        };
        let Ok(n) = n.parse() else { continue };
        match kind {
            "ACK" => acked.batches.insert(n),
            "PAYLOAD" => acked.payloads.insert(n),
            "BACKUP" => acked.backups.insert(n),
            _ => false,
        };
    }
    let status = child.wait().unwrap();
    (acked, !status.success())
}

fn check_points(runs_per_point: u64) {
    let mut aborted = 0;
    let mut checked = 0;
    let mut never_reached = Vec::new();
    for (p, point) in ndb::testing::FAILPOINTS.iter().enumerate() {
        let aborted_before = aborted;
        for r in 0..runs_per_point {
            let dir = tempfile::tempdir().unwrap();
            let mut acked_all: BTreeSet<u64> = BTreeSet::new();
            // Two children: the second starts on what the first left behind.
            for (round, start) in [(0, 0u64), (1, 1000)] {
                let skip = (p as u64 * 7 + r * 3 + round) % 4;
                let (acked, killed) = run(point, skip, dir.path(), start);
                aborted += u64::from(killed);
                acked_all.extend(&acked.batches);
                check_backups(dir.path(), &acked_all, point);
                let db = Database::open(dir.path())
                    .unwrap_or_else(|e| panic!("{point} run {r}: open failed: {e}"));
                let Ok(c) = db.get_collection("c") else {
                    assert!(
                        acked_all.is_empty(),
                        "{point}: collection lost with acknowledged batches"
                    );
                    continue;
                };
                let mut per_batch = std::collections::BTreeMap::<u64, usize>::new();
                for d in c.iter().unwrap() {
                    let b: u64 = d.unwrap().id.split('-').next().unwrap().parse().unwrap();
                    *per_batch.entry(b).or_default() += 1;
                }
                for b in &acked_all {
                    let missing: Vec<String> = (0..BATCH)
                        .map(|i| format!("{b}-{i}"))
                        .filter(|id| c.get(id).ok().flatten().is_none())
                        .collect();
                    assert_eq!(
                        per_batch.get(b),
                        Some(&BATCH),
                        "{point} run {r}: acknowledged batch {b} lost or torn (missing {missing:?}, {} ids counted)",
                        per_batch.values().sum::<usize>()
                    );
                }
                for (b, n) in &per_batch {
                    assert_eq!(*n, BATCH, "{point} run {r}: batch {b} torn");
                }
                for b in &acked.payloads {
                    let doc = c
                        .get(&format!("{b}-0"))
                        .unwrap()
                        .expect("acknowledged batch");
                    assert_eq!(
                        doc.payload,
                        Some(json!({"b": b})),
                        "{point} run {r}: acknowledged payload update of batch {b} lost"
                    );
                }
                c.verify()
                    .unwrap_or_else(|e| panic!("{point} run {r}: verify: {e}"));
                let stats = c.stats().unwrap();
                assert!(
                    stats
                        .segments
                        .iter()
                        .all(|s| s.quantization == Quantization::Int8),
                    "{point} run {r}: a segment without its codes: {stats:?}"
                );
                checked += 1;
            }
        }
        if aborted == aborted_before {
            never_reached.push(*point);
        }
    }
    println!("points no child reached: {never_reached:?}");
    println!("{} points x {runs_per_point} runs: {aborted} children aborted at their point, {checked} recoveries checked", ndb::testing::FAILPOINTS.len());
    assert!(aborted > 0);
}

/// Every backup directory left beside `dir` must be a complete backup: it opens, passes
/// `verify`, and holds every batch acknowledged before it was taken (batches are numbered in
/// order, so those up to its own number). Removed afterwards.
fn check_backups(dir: &std::path::Path, acked: &BTreeSet<u64>, point: &str) {
    for b in 0..2000 {
        let path = backup_dir(dir, b);
        if !path.exists() {
            continue;
        }
        {
            let copy = Database::open(&path)
                .unwrap_or_else(|e| panic!("{point}: backup {b} does not open: {e}"));
            let c = copy.get_collection("c").unwrap();
            c.verify().unwrap();
            for a in acked.iter().filter(|&&a| a <= b) {
                assert!(
                    c.get(&format!("{a}-{}", BATCH - 1)).unwrap().is_some(),
                    "{point}: backup {b} lacks batch {a}"
                );
            }
        }
        std::fs::remove_dir_all(&path).unwrap();
    }
    // Staging directories of backups a kill interrupted.
    let parent = dir.parent().unwrap();
    let prefix = format!(".{}-backup-", dir.file_name().unwrap().to_string_lossy());
    for entry in std::fs::read_dir(parent).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            std::fs::remove_dir_all(entry.path()).unwrap();
        }
    }
}

#[test]
fn every_kill_point_ci() {
    check_points(2);
}

#[test]
#[ignore = "long: NDB_KILL_POINT_RUNS (default 50) per point"]
fn every_kill_point_long() {
    let runs = env_number("NDB_KILL_POINT_RUNS").unwrap_or(50);
    check_points(runs);
}
