//! Many segments search like one (issue 14): a collection as background maintenance leaves it
//! after an ingest, against the same data compacted into one segment.
//!
//! - `many_segments_recall` (CI): a synthetic clustered ingest with a small flush threshold and
//!   no background maintenance (so the segments stay as flushes left them); at each `ef`,
//!   recall stays within 0.01 of the same data compacted into one segment.
//! - `a_flushed_ingest_ends_on_one_graph` (CI): with maintenance on, after `flush()` the
//!   segments with graphs are merged into one in the background.
//! - `segments_vs_one_segment_qps` (`#[ignore]`, a measurement): a real dataset
//!   (`NDB_DATASET`, default `target/datasets/fashion-mnist`, fetched by
//!   `scripts/fetch-dataset.sh`; `NDB_DISTANCE=cosine` for text embeddings) ingested through
//!   `insert_batch` with maintenance on, then `flush()`: recall@10 and single-thread QPS right
//!   after the flush, and once maintenance has settled, side by side (alternating, best of 3)
//!   with the same data compacted and rebuilt as one fresh graph:
//!   `cargo test --release -p ndb --test segments_like_one -- --ignored --nocapture`.

use ndb::{CollectionConfig, Database, DatabaseOptions, Distance, Document, IndexConfig, Search};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn read_vecs<T: Copy>(path: &Path, from: fn([u8; 4]) -> T) -> Vec<Vec<T>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut rest = &bytes[..];
    while rest.len() >= 4 {
        let dim = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        let row = &rest[4..4 + 4 * dim];
        out.push(
            row.chunks_exact(4)
                .map(|c| from(c.try_into().unwrap()))
                .collect(),
        );
        rest = &rest[4 + 4 * dim..];
    }
    out
}

/// Fraction of the true top `k` found.
fn recall_at(k: usize, got: &[Vec<ndb::Match>], truth: &[Vec<usize>]) -> f64 {
    let mut hits = 0;
    for (g, t) in got.iter().zip(truth) {
        let want: HashSet<String> = t.iter().take(k).map(|i| i.to_string()).collect();
        hits += g.iter().filter(|m| want.contains(&m.id)).count();
    }
    hits as f64 / (k * got.len()) as f64
}

/// Run every query one at a time on this thread; (recall@10, QPS), best of `rounds` for QPS.
fn measure(
    c: &ndb::Collection,
    queries: &[Vec<f32>],
    truth: &[Vec<usize>],
    ef: usize,
    rounds: usize,
) -> (f64, f64) {
    let mut best = f64::MAX;
    let mut answers = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        answers = queries
            .iter()
            .map(|q| {
                c.search(Search::new(q).top_k(10).ef(ef).threads(1))
                    .unwrap()
            })
            .collect();
        best = best.min(started.elapsed().as_secs_f64());
    }
    (recall_at(10, &answers, truth), queries.len() as f64 / best)
}

fn ingest(c: &ndb::Collection, base: &[Vec<f32>]) {
    for (b, chunk) in base.chunks(1000).enumerate() {
        c.insert_batch(
            chunk
                .iter()
                .enumerate()
                .map(|(i, v)| Document::new((b * 1000 + i).to_string(), v.clone())),
        )
        .unwrap();
    }
    c.flush().unwrap();
}

/// Exact top-10 by the collection itself (the ground truth for synthetic data).
fn exact_truth(c: &ndb::Collection, queries: &[Vec<f32>]) -> Vec<Vec<usize>> {
    queries
        .iter()
        .map(|q| {
            c.search(Search::new(q).top_k(10).approximate(false))
                .unwrap()
                .iter()
                .map(|m| m.id.parse().unwrap())
                .collect()
        })
        .collect()
}

/// Seeded clustered vectors: `clusters` Gaussian blobs.
fn clustered(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) as f32 - 0.5
    };
    let centers: Vec<Vec<f32>> = (0..clusters)
        .map(|_| (0..dim).map(|_| next() * 4.0).collect())
        .collect();
    (0..n)
        .map(|i| {
            let c = &centers[i % clusters];
            c.iter().map(|x| x + next()).collect()
        })
        .collect()
}

fn small_segments(dim: usize) -> CollectionConfig {
    CollectionConfig::new(dim)
        .with_distance(Distance::Euclidean)
        .with_flush_threshold_bytes(1 << 20)
        .with_index(IndexConfig::default().with_min_rows(2_000))
}

/// Wait (at most `limit`) until background maintenance has left at most `segments` segments.
fn settle(c: &ndb::Collection, segments: usize, limit: Duration) -> usize {
    let started = Instant::now();
    loop {
        let now = c.stats().unwrap().segment_count;
        if now <= segments || started.elapsed() > limit {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// After an ingest and `flush()`, background maintenance leaves one graph: the segments with
/// graphs are consolidated into one, and any other segment is one that ADR 0012 leaves alone
/// (below the graph threshold, and less than 1/16 of the graph's rows: the last memtable of an
/// ingest can be flushed as such a segment, depending on when the background flusher ran).
fn assert_one_graph(c: &ndb::Collection, n: u64) {
    let stats = c.stats().unwrap();
    assert_eq!(stats.doc_count, n);
    let (with, without): (Vec<_>, Vec<_>) = stats.segments.iter().partition(|s| s.indexed);
    assert_eq!(with.len(), 1, "one graph: {:?}", stats.segments);
    let rest: u64 = without.iter().map(|s| s.rows).sum();
    assert!(
        without.iter().all(|s| s.rows < 2_000) && rest * 16 < with[0].rows,
        "the other segments are small: {:?}",
        stats.segments
    );
    assert!(c.has_index());
}

#[test]
fn a_flushed_ingest_ends_on_one_graph() {
    let (dim, n) = (32, 24_000);
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = db.create_collection("c", small_segments(dim)).unwrap();
    ingest(&c, &clustered(n, dim, 40, 7));
    let settled = Instant::now();
    while c
        .stats()
        .unwrap()
        .segments
        .iter()
        .filter(|s| s.indexed)
        .count()
        > 1
        && settled.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_one_graph(&c, n as u64);
    // What a reopen finds is the same.
    drop((c, db));
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    assert_one_graph(&c, n as u64);
}

#[test]
fn many_segments_recall() {
    let (dim, n) = (32, 24_000);
    let base = clustered(n, dim, 40, 7);
    let queries = clustered(200, dim, 40, 99);
    let dir = tempfile::tempdir().unwrap();
    let quiet = DatabaseOptions::default().with_background_maintenance(false);
    let db = Database::open_with_options(dir.path(), quiet).unwrap();
    let c = db.create_collection("c", small_segments(dim)).unwrap();
    ingest(&c, &base);
    assert!(c.has_index());
    let truth = exact_truth(&c, &queries);
    let segments = c.stats().unwrap().segment_count;
    assert!(segments >= 4, "{segments} segments");
    let layout: Vec<f64> = [16, 32, 64]
        .iter()
        .map(|&ef| measure(&c, &queries, &truth, ef, 1).0)
        .collect();
    c.compact().unwrap();
    assert_eq!(c.stats().unwrap().segment_count, 1);
    for (i, &ef) in [16, 32, 64].iter().enumerate() {
        let one = measure(&c, &queries, &truth, ef, 1).0;
        assert!(
            layout[i] >= one - 0.01,
            "ef {ef}: recall {:.3} on {segments} segments vs {one:.3} on one",
            layout[i]
        );
    }
}

fn dataset() -> PathBuf {
    std::env::var_os("NDB_DATASET").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/datasets/fashion-mnist"),
        PathBuf::from,
    )
}

/// Per `ef`: (recall, QPS) of each collection, measured in alternation (best of `rounds`), so
/// that a noisy machine treats them alike.
fn measure_side_by_side(
    colls: &[&ndb::Collection],
    queries: &[Vec<f32>],
    truth: &[Vec<usize>],
    efs: &[usize],
    rounds: usize,
) -> Vec<Vec<(f64, f64)>> {
    efs.iter()
        .map(|&ef| {
            let mut best = vec![(0.0_f64, 0.0_f64); colls.len()];
            for _ in 0..rounds {
                for (b, c) in best.iter_mut().zip(colls) {
                    let (recall, qps) = measure(c, queries, truth, ef, 1);
                    *b = (recall, b.1.max(qps));
                }
            }
            best
        })
        .collect()
}

#[test]
#[ignore = "a measurement on a real dataset; see the module comment"]
fn segments_vs_one_segment_qps() {
    let dir = dataset();
    let base = read_vecs(&dir.join("base.fvecs"), f32::from_le_bytes);
    let queries: Vec<Vec<f32>> = read_vecs(&dir.join("query.fvecs"), f32::from_le_bytes)
        .into_iter()
        .take(1000)
        .collect();
    let truth: Vec<Vec<usize>> =
        read_vecs(&dir.join("gt.ivecs"), |b| u32::from_le_bytes(b) as usize);
    let distance = match std::env::var("NDB_DISTANCE").as_deref() {
        Ok("cosine") => Distance::Cosine,
        _ => Distance::Euclidean,
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::open(tmp.path()).unwrap();
    let dim = base[0].len();
    let config = CollectionConfig::new(dim).with_distance(distance);
    let rows = |c: &ndb::Collection| -> Vec<u64> {
        c.stats().unwrap().segments.iter().map(|s| s.rows).collect()
    };
    let efs = [10, 16, 24, 32, 48, 64, 96, 128];

    // A fresh single graph: the reference ("one compacted segment", rebuilt from scratch).
    let fresh = db.create_collection("fresh", config.clone()).unwrap();
    ingest(&fresh, &base);
    fresh.compact().unwrap();
    let started = Instant::now();
    fresh.rebuild_index().unwrap();
    let rebuild_s = started.elapsed().as_secs_f64();
    assert_eq!(fresh.stats().unwrap().segment_count, 1);

    // The product as used: ingest with maintenance on, flush(), then whatever maintenance does.
    let used = db.create_collection("used", config).unwrap();
    let started = Instant::now();
    ingest(&used, &base);
    let ingest_s = started.elapsed().as_secs_f64();
    println!(
        "{} rows × {dim}: one-graph rebuild {rebuild_s:.1} s; ingest + flush {ingest_s:.1} s, layout then {:?}",
        base.len(),
        rows(&used)
    );
    let right_after = measure_side_by_side(&[&used], &queries, &truth, &[16, 64], 1);
    let started = Instant::now();
    let settled = settle(&used, 1, Duration::from_secs(900));
    println!(
        "right after flush(): ef 16 {:.4} / {:.0} QPS, ef 64 {:.4} / {:.0} QPS; maintenance settled {:.1} s later: {settled} segment(s) {:?}",
        right_after[0][0].0,
        right_after[0][0].1,
        right_after[1][0].0,
        right_after[1][0].1,
        started.elapsed().as_secs_f64(),
        rows(&used)
    );
    let side = measure_side_by_side(&[&used, &fresh], &queries, &truth, &efs, 3);
    println!("ef   | as used: recall    QPS | fresh one graph: recall    QPS | QPS ratio");
    for (ef, r) in efs.iter().zip(&side) {
        println!(
            "{ef:>4} | {:.4} {:>8.0} | {:.4} {:>8.0} | {:.2}",
            r[0].0,
            r[0].1,
            r[1].0,
            r[1].1,
            r[0].1 / r[1].1
        );
    }
}

/// `search_batch` on all cores against the same queries one at a time on one thread, on the
/// collection as maintenance leaves it: `cargo test --release -p ndb --test segments_like_one
/// search_batch_scaling -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement on a real dataset; see the module comment"]
fn search_batch_scaling() {
    let dir = dataset();
    let base = read_vecs(&dir.join("base.fvecs"), f32::from_le_bytes);
    let queries: Vec<Vec<f32>> = read_vecs(&dir.join("query.fvecs"), f32::from_le_bytes);
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::open(tmp.path()).unwrap();
    let config = CollectionConfig::new(base[0].len()).with_distance(Distance::Euclidean);
    let c = db.create_collection("c", config).unwrap();
    ingest(&c, &base);
    settle(&c, 1, Duration::from_secs(900));
    let searches: Vec<Search> = queries.iter().map(|q| Search::new(q).top_k(10)).collect();
    let (mut one, mut batch) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        let t = Instant::now();
        for s in &searches {
            c.search(s.clone().threads(1)).unwrap();
        }
        one = one.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        c.search_batch(&searches).unwrap();
        batch = batch.min(t.elapsed().as_secs_f64());
    }
    let n = searches.len() as f64;
    println!(
        "{} queries: one at a time {:.0} QPS, search_batch on {} threads {:.0} QPS: {:.2}x",
        searches.len(),
        n / one,
        rayon::current_num_threads(),
        n / batch,
        one / batch
    );
}
