//! Search right after an ingest, before any flush: 40,000 random 384-d documents left in the
//! memtable (flush threshold 1 GiB), 200 queries one at a time, on the calling thread
//! (`threads(1)`) and with the default threads (the memtable scanned in row ranges on the
//! pool), taking turns for 5 rounds. DB_DIR is removed first and left behind.
//!
//! `cargo run --release -p ndb-bench --example memtable_probe -- DB_DIR`
use ndb::{CollectionConfig, Database, Distance, Document, Search};
use std::time::Instant;
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: memtable_probe DB_DIR")?;
    let _ = std::fs::remove_dir_all(&dir);
    let db = Database::open(&dir)?;
    let dim = 384;
    let c = db.create_collection(
        "m",
        CollectionConfig::new(dim)
            .with_distance(Distance::Cosine)
            .with_flush_threshold_bytes(1 << 30),
    )?;
    let mut s = 1u64;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    for b in 0..40 {
        let docs: Vec<Document> = (0..1000)
            .map(|i| Document::new(format!("{b}-{i}"), (0..dim).map(|_| next()).collect()))
            .collect();
        c.insert_batch(docs)?;
    }
    let qs: Vec<Vec<f32>> = (0..200)
        .map(|_| (0..dim).map(|_| next()).collect())
        .collect();
    println!("memtable docs {}", c.stats()?.memtable_docs);
    for round in 0..5 {
        let t = Instant::now();
        for q in &qs {
            std::hint::black_box(c.search(Search::new(q).top_k(10).threads(1))?);
        }
        let one = qs.len() as f64 / t.elapsed().as_secs_f64();
        let t = Instant::now();
        for q in &qs {
            std::hint::black_box(c.search(Search::new(q).top_k(10))?);
        }
        let all = qs.len() as f64 / t.elapsed().as_secs_f64();
        println!(
            "round {round}: threads(1) {one:.0} QPS, default {all:.0} QPS ({:.2}x)",
            all / one
        );
    }
    Ok(())
}
