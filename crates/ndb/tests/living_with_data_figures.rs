//! The figures of issue 18, measured side by side in one run (`#[ignore]`):
//! `NDB_FIGURES_N=1000000 cargo test --release -p ndb --test living_with_data_figures -- --ignored --nocapture`
//!
//! - `set_payload` vs re-inserting the document (384-d, 1 KiB payload): WAL bytes and median
//!   latency, alternating;
//! - backup of N × 384 (default 1,000,000) beside `cp -r` of the same directory;
//! - p99 single-insert latency with and without backups running;
//! - `refresh()` when nothing changed and after one flush.

use ndb::{CollectionConfig, Database, DatabaseOptions, Document, IndexConfig};
use serde_json::json;
use std::time::{Duration, Instant};

fn vector(i: u64, dim: usize) -> Vec<f32> {
    let mut s = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..dim)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn inserts_for(c: &ndb::Collection, from: u64, run: Duration, dim: usize) -> Vec<Duration> {
    let started = Instant::now();
    let mut lat = Vec::new();
    let mut i = from;
    while started.elapsed() < run {
        let t = Instant::now();
        c.insert(Document::new(format!("live{i}"), vector(i, dim)))
            .unwrap();
        lat.push(t.elapsed());
        i += 1;
    }
    lat
}

#[test]
#[ignore = "a measurement; see the module comment"]
fn issue_18_figures() {
    let n: u64 = std::env::var("NDB_FIGURES_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dim = 384;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("db");
    // Without background merges, so that `cp -r` (which is not safe while files change) can
    // copy the same directory; the backup is safe either way.
    let quiet = DatabaseOptions::default().with_background_maintenance(false);
    let db = Database::open_with_options(&src, quiet).unwrap();
    // Graph builds are not what this measures: none for segments under 100M rows.
    let config =
        CollectionConfig::new(dim).with_index(IndexConfig::default().with_min_rows(100_000_000));
    let c = db.create_collection("c", config).unwrap();

    // 1. Payload updates vs re-inserts.
    let payload = json!({"text": "x".repeat(1000), "n": 0});
    c.insert_batch(
        (0..1000)
            .map(|i| Document::new(format!("p{i}"), vector(i, dim)).with_payload(payload.clone())),
    )
    .unwrap();
    let (mut upd, mut ins) = (Vec::new(), Vec::new());
    let (mut upd_bytes, mut ins_bytes) = (0, 0);
    for i in 0..1000u64 {
        let id = format!("p{i}");
        let p = json!({"text": "y".repeat(1000), "n": i});
        let w = c.stats().unwrap().wal_bytes;
        let t = Instant::now();
        c.set_payload(&id, Some(p.clone())).unwrap();
        upd.push(t.elapsed());
        let w2 = c.stats().unwrap().wal_bytes;
        let t = Instant::now();
        c.insert(Document::new(id, vector(i, dim)).with_payload(p))
            .unwrap();
        ins.push(t.elapsed());
        let w3 = c.stats().unwrap().wal_bytes;
        if w2 > w && w3 > w2 {
            upd_bytes = w2 - w;
            ins_bytes = w3 - w2;
        }
    }
    println!(
        "set_payload: {upd_bytes} WAL bytes, median {:?} | re-insert: {ins_bytes} WAL bytes, median {:?}",
        percentile(&mut upd, 0.5),
        percentile(&mut ins, 0.5)
    );

    // 2. N × 384, then backup beside cp -r.
    let started = Instant::now();
    for b in 0..n.div_ceil(10_000) {
        let end = ((b + 1) * 10_000).min(n);
        c.insert_batch((b * 10_000..end).map(|i| Document::new(format!("d{i}"), vector(i, dim))))
            .unwrap();
    }
    c.flush().unwrap();
    let stats = c.stats().unwrap();
    println!(
        "{n} × {dim} ingested and flushed in {:.1} s: {} segments, {:.0} MiB on disk",
        started.elapsed().as_secs_f64(),
        stats.segment_count,
        stats.disk_bytes as f64 / (1 << 20) as f64
    );
    let t = Instant::now();
    let status = std::process::Command::new("cp")
        .args([
            "-r",
            src.to_str().unwrap(),
            tmp.path().join("cp").to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let cp = t.elapsed();
    let t = Instant::now();
    let b = db.backup(tmp.path().join("backup")).unwrap();
    let backup = t.elapsed();
    println!(
        "backup {:.3} s ({} linked, {} copied, {:.1} MiB copied) | cp -r {:.3} s ({:.0} MiB/s)",
        backup.as_secs_f64(),
        b.files_linked,
        b.files_copied,
        b.bytes_copied as f64 / (1 << 20) as f64,
        cp.as_secs_f64(),
        stats.disk_bytes as f64 / (1 << 20) as f64 / cp.as_secs_f64()
    );

    // 3. Insert latency with and without backups running.
    let run = Duration::from_secs(3);
    let mut alone = inserts_for(&c, 0, run, dim);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let backups = {
        let (db, stop, dir) = (db.clone(), stop.clone(), tmp.path().to_path_buf());
        std::thread::spawn(move || {
            let mut k = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                db.backup(dir.join(format!("b{k}"))).unwrap();
                k += 1;
            }
            k
        })
    };
    let mut during = inserts_for(&c, 10_000_000, run, dim);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let count = backups.join().unwrap();
    println!(
        "single inserts alone: p50 {:?} p99 {:?} | during {count} back-to-back backups: p50 {:?} p99 {:?}",
        percentile(&mut alone, 0.5),
        percentile(&mut alone, 0.99),
        percentile(&mut during, 0.5),
        percentile(&mut during, 0.99)
    );

    // 4. refresh() when nothing changed and after one flush.
    let reader = Database::open_read_only(&src).unwrap();
    let r = reader.get_collection("c").unwrap();
    r.refresh().unwrap();
    let mut unchanged: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            assert!(!r.refresh().unwrap());
            t.elapsed()
        })
        .collect();
    let mut after_flush = Vec::new();
    for k in 0..5u64 {
        c.insert_batch((0..1000).map(|i| Document::new(format!("f{k}-{i}"), vector(i, dim))))
            .unwrap();
        c.flush().unwrap();
        let t = Instant::now();
        assert!(r.refresh().unwrap());
        after_flush.push(t.elapsed());
    }
    println!(
        "refresh: unchanged median {:?} | after one flush median {:?} ({} segments)",
        percentile(&mut unchanged, 0.5),
        percentile(&mut after_flush, 0.5),
        r.stats().unwrap().segment_count
    );
}
