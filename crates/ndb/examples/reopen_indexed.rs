//! Reopen time of an indexed collection: builds N random vectors of DIM dimensions into one
//! segment with an HNSW graph (once), then times `Database::open` + `get_collection` + one
//! approximate search, median of 5 opens (page cache warm).
//!
//! `cargo run --release -p ndb --example reopen_indexed -- DIR [N] [DIM]`

use ndb::{CollectionConfig, Database, DatabaseOptions, Document, Search};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).ok_or("usage: reopen_indexed DIR [N] [DIM]")?;
    let n: usize = args.get(2).map_or(Ok(1_000_000), |s| s.parse())?;
    let dim: usize = args.get(3).map_or(Ok(16), |s| s.parse())?;
    let quiet = DatabaseOptions::default().with_background_maintenance(false);
    if !std::path::Path::new(dir).join("c").exists() {
        let t = Instant::now();
        let db = Database::open_with_options(dir, quiet.clone())?;
        let c = db.create_collection(
            "c",
            CollectionConfig::new(dim).with_flush_threshold_bytes(1 << 31),
        )?;
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        for b in 0..n / 10_000 {
            c.insert_batch((0..10_000).map(|i| {
                Document::new(
                    format!("{}", b * 10_000 + i),
                    (0..dim).map(|_| next()).collect(),
                )
            }))?;
        }
        c.flush()?;
        println!(
            "built {n} x {dim} with its graph in {:.1} s; stats {:?}",
            t.elapsed().as_secs_f64(),
            c.stats()?.indexed_docs
        );
    }
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let db = Database::open_with_options(dir, quiet.clone())?;
        let c = db.get_collection("c")?;
        let open = t.elapsed();
        let hits = c.search(Search::new(&vec![0.1; dim]).top_k(10))?;
        times.push((
            open.as_secs_f64() * 1e3,
            t.elapsed().as_secs_f64() * 1e3,
            hits.len(),
            c.stats()?.indexed_docs,
        ));
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    println!("open + get_collection, median of 5: {:.2} ms (with the first search: {:.2} ms); {} hits; {} indexed docs", times[2].0, times[2].1, times[2].2, times[2].3);
    Ok(())
}
