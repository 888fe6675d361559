//! Profiling loop for graph search: builds a one-segment collection from a dataset once (kept
//! in DB_DIR), then runs the queries at one ef, one thread, for a number of passes, and prints
//! QPS and recall@10. Meant for `perf record` / `valgrind --tool=callgrind`.
//!
//! `cargo run --release -p ndb-bench --example hnsw_loop -- DATASET_DIR DB_DIR EF PASSES [QUERIES]`
use ndb::{CollectionConfig, Database, Document, Search};
use ndb_bench::measure::Metric;
use ndb_bench::vecs::{read_fvecs, read_ivecs};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let (data, db_dir) = (std::path::Path::new(&a[1]), &a[2]);
    let ef: usize = a[3].parse()?;
    let passes: usize = a[4].parse()?;
    let nq: usize = a.get(5).map_or(Ok(1000), |s| s.parse())?;
    let distance = Metric::from_info(data).unwrap_or(Metric::L2).ndb_distance();
    let queries = read_fvecs(data.join("query.fvecs"), Some(nq))?;
    let gt = read_ivecs(data.join("gt.ivecs"), Some(nq))?;
    let fresh = !std::path::Path::new(db_dir).exists();
    let db = Database::open(db_dir)?;
    let coll = if fresh {
        let base = read_fvecs(data.join("base.fvecs"), None)?;
        let c =
            db.create_collection("c", CollectionConfig::new(base.dim).with_distance(distance))?;
        let docs: Vec<Document> = base
            .iter()
            .enumerate()
            .map(|(i, v)| Document::new(i.to_string(), v.to_vec()))
            .collect();
        for chunk in docs.chunks(1000) {
            c.insert_batch(chunk.to_vec())?;
        }
        c.flush()?;
        c.compact()?;
        c.wait_for_index(std::time::Duration::from_secs(3600))?;
        c
    } else {
        db.get_collection("c")?
    };
    let mut best = f64::MAX;
    let mut hits = 0usize;
    for pass in 0..passes {
        let t = Instant::now();
        hits = 0;
        for (q, truth) in queries.iter().zip(gt.iter()) {
            let r = coll.search(Search::new(q).top_k(10).ef(ef).threads(1))?;
            for m in &r {
                let id: i32 = m.id.parse()?;
                hits += truth[..10].contains(&id) as usize;
            }
        }
        let s = t.elapsed().as_secs_f64();
        best = best.min(s);
        eprintln!("pass {pass}: {:.0} QPS", queries.rows() as f64 / s);
    }
    println!(
        "ef {ef}: best {:.0} QPS, recall@10 {:.4}",
        queries.rows() as f64 / best,
        hits as f64 / (10 * queries.rows()) as f64
    );
    Ok(())
}
