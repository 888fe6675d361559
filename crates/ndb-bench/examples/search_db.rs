//! Times one-query-at-a-time searches of an existing collection from Rust, the way the Python
//! benchmark (`crates/ndb-python/bench/bench.py --keep-ndb DIR`) times them from Python, so that
//! the two runs search the same graph and their difference is the binding's cost per call.
//!
//! `cargo run --release -p ndb-bench --example search_db -- DB_DIR COLLECTION QUERY_FVECS NQ EF_LIST [JSON_OUT]`
//!
//! For each ef of `EF_LIST` (comma-separated): 20 warm-up queries, then three passes over the
//! first `NQ` queries of `QUERY_FVECS`, one at a time on this thread (`Search::new(q).top_k(10)
//! .ef(ef)`, the search `coll.search(q, k=10, ef=ef)` makes from Python), each hit's id parsed
//! as an integer (as the Python loop does); the fastest pass gives the QPS, and the median of
//! every timed query's latency the p50 (what the Node benchmark compares). Prints one line per
//! ef and writes `{"db", "collection", "queries", "sweep": [{"ef", "qps", "p50_us"}]}` to
//! `JSON_OUT` if given.
use ndb::{Database, Search};
use ndb_bench::median;
use ndb_bench::vecs::read_fvecs;
use std::time::Instant;

const K: usize = 10;
const WARMUP: usize = 20;
const PASSES: usize = 3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 6 {
        return Err("usage: search_db DB_DIR COLLECTION QUERY_FVECS NQ EF_LIST [JSON_OUT]".into());
    }
    let (db_dir, name, query_path) = (&a[1], &a[2], &a[3]);
    let nq: usize = a[4].parse()?;
    let efs = a[5]
        .split(',')
        .map(str::parse)
        .collect::<Result<Vec<usize>, _>>()?;
    let queries = read_fvecs(query_path, Some(nq))?;
    let db = Database::open(db_dir)?;
    let coll = db.get_collection(name)?;
    let mut sweep = Vec::new();
    for ef in efs {
        let search = |q: &[f32]| -> Result<usize, Box<dyn std::error::Error>> {
            let mut sum = 0usize;
            for m in coll.search(Search::new(q).top_k(K).ef(ef))? {
                sum = sum.wrapping_add(m.id.parse::<usize>()?);
            }
            Ok(sum)
        };
        for q in queries.iter().take(WARMUP) {
            search(q)?;
        }
        let mut best = f64::MAX;
        let mut check = 0usize;
        let mut latencies_us = Vec::with_capacity(PASSES * queries.rows());
        for _ in 0..PASSES {
            let t = Instant::now();
            for q in queries.iter() {
                let one = Instant::now();
                check = check.wrapping_add(search(q)?);
                latencies_us.push(one.elapsed().as_secs_f64() * 1e6);
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        let qps = queries.rows() as f64 / best;
        let p50 = median(&latencies_us);
        println!("ef {ef}: {qps:.1} QPS, p50 {p50:.1} us (id checksum {check})");
        sweep.push(serde_json::json!({
            "ef": ef,
            "qps": (qps * 10.0).round() / 10.0,
            "p50_us": (p50 * 100.0).round() / 100.0,
        }));
    }
    if let Some(out) = a.get(6) {
        let doc = serde_json::json!({
            "db": db_dir,
            "collection": name,
            "queries": queries.rows(),
            "sweep": sweep,
        });
        std::fs::write(out, serde_json::to_string_pretty(&doc)? + "\n")?;
    }
    Ok(())
}
