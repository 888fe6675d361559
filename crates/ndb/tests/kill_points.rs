//! Named kill points: a child process writes (durable batches, flushes, compactions) and
//! aborts at the k-th time it reaches one named point before or after an fsync, rename or
//! unlink; the parent reopens and checks that every acknowledged batch is there, the state is
//! a prefix of the batches, and `verify` passes. CI: every point, twice; with
//! `NDB_KILL_POINT_RUNS=50 cargo test --release -p ndb --test kill_points -- --ignored`, 50 times
//! each.

mod common;
use common::env_number;

use ndb::{CollectionConfig, Database, Document, Durability, IndexConfig};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const BATCH: usize = 25;

fn config() -> CollectionConfig {
    CollectionConfig::new(4)
        .with_durability(Durability::FdatasyncEachBatch)
        .with_flush_threshold_bytes(16 << 10)
        .with_index(IndexConfig {
            min_rows: 200,
            m: 4,
            ef_construction: 16,
            ef_search: 16,
        })
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

fn run(point: &str, skip: u64, dir: &std::path::Path, start: u64) -> (BTreeSet<u64>, bool) {
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
    let acked: BTreeSet<u64> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| l.strip_prefix("ACK ").and_then(|n| n.parse().ok()))
        .collect();
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
                acked_all.extend(&acked);
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
                    assert_eq!(
                        per_batch.get(b),
                        Some(&BATCH),
                        "{point} run {r}: acknowledged batch {b} lost or torn"
                    );
                }
                for (b, n) in &per_batch {
                    assert_eq!(*n, BATCH, "{point} run {r}: batch {b} torn");
                }
                c.verify()
                    .unwrap_or_else(|e| panic!("{point} run {r}: verify: {e}"));
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
