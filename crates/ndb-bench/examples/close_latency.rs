//! Close latency with graph builds in flight, and time from the last insert to fully indexed
//! (issue 14's figures), on a real dataset through the public API with background maintenance on.
//!
//! `cargo run --release -p ndb-bench --example close_latency -- DATASET_DIR SCRATCH_DIR [ROUNDS]`
//!
//! Each round, in a fresh database under `SCRATCH_DIR` (made by this program and removed at the
//! end): one collection with the default configuration (64 MiB flush threshold, so the
//! background flusher cuts segments while data arrives and their graphs are built in the
//! background), every base vector inserted with `insert_batch` of 1,000, then either
//! - **indexed**: `flush()` (durable and searchable through the index when it returns), the
//!   time from the last insert to the end of the flush = time to fully indexed; or
//! - **close**: the collection and the database dropped right after the last insert, with the
//!   backlog (rows waiting for a graph) read just before; the drop's duration is the close
//!   latency. The database is then reopened and `wait_for_index` times the resumed work.
use ndb::{CollectionConfig, Database, Document};
use ndb_bench::measure::Metric;
use ndb_bench::vecs::read_fvecs;
use std::path::Path;
use std::time::{Duration, Instant};

const BATCH: usize = 1000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 3 {
        return Err("usage: close_latency DATASET_DIR SCRATCH_DIR [ROUNDS]".into());
    }
    let data = Path::new(&a[1]);
    let scratch = Path::new(&a[2]);
    let rounds: usize = a.get(3).map_or(Ok(3), |s| s.parse())?;
    if scratch.exists() {
        return Err(format!("{} exists; name a new folder", scratch.display()).into());
    }
    let distance = Metric::from_info(data).unwrap_or(Metric::L2).ndb_distance();
    let base = read_fvecs(data.join("base.fvecs"), None)?;
    let docs: Vec<Document> = base
        .iter()
        .enumerate()
        .map(|(i, v)| Document::new(i.to_string(), v.to_vec()))
        .collect();
    println!("{}: {} x {}", data.display(), base.rows(), base.dim);
    for round in 0..rounds {
        for close in [false, true] {
            let dir = scratch.join(format!(
                "r{round}-{}",
                if close { "close" } else { "indexed" }
            ));
            let db = Database::open(&dir)?;
            let config = CollectionConfig::new(base.dim).with_distance(distance);
            let coll = db.create_collection("c", config)?;
            let t0 = Instant::now();
            for chunk in docs.chunks(BATCH) {
                coll.insert_batch(chunk.to_vec())?;
            }
            let ingest = t0.elapsed();
            if !close {
                let t = Instant::now();
                coll.flush()?;
                let st = coll.stats()?;
                println!(
                    "round {round} indexed: insert {:.2} s, last insert -> fully indexed (flush) {:.2} s; {} segments, {} of {} rows indexed",
                    ingest.as_secs_f64(),
                    t.elapsed().as_secs_f64(),
                    st.segment_count,
                    st.indexed_docs,
                    st.doc_count
                );
                continue;
            }
            let st = coll.stats()?;
            let t = Instant::now();
            drop(coll);
            drop(db);
            let closed = t.elapsed();
            let t = Instant::now();
            let db = Database::open(&dir)?;
            let coll = db.get_collection("c")?;
            let done = coll.wait_for_index(Duration::from_secs(3600))?;
            println!(
                "round {round} close: insert {:.2} s; backlog at close {} rows in {} segments (memtable {} rows); close {:.1} ms; reopen + wait_for_index {:.2} s (done: {done})",
                ingest.as_secs_f64(),
                st.index_backlog_rows,
                st.index_backlog_segments,
                st.memtable_docs,
                closed.as_secs_f64() * 1e3,
                t.elapsed().as_secs_f64()
            );
        }
    }
    std::fs::remove_dir_all(scratch)?;
    Ok(())
}
