//! Filtered recall and p50 at one `ef` on a collection kept by `ndb-filter-bench --keep`, in a
//! few seconds (the benchmark itself rebuilds the collection and its graph every run): for
//! tuning the planner's beams, where what matters is the filtered recall beside the unfiltered
//! one at the same `ef` and the p50 ratio, measured in one process.
//!
//! `cargo run --release -p ndb-bench --example filter_probe -- DB_DIR QUERY_FVECS NQ ROUNDS [EF]`
//!
//! `DB_DIR` is the kept database (`.../filter-bench-PID`, collection `filter`, payload
//! `{category: i % 100, bucket: i % 10, half: i % 2}`). The exact filtered answers come from
//! the collection (`approximate(false)`); then `ROUNDS` rounds run every query under each filter
//! in turn (none, 50%, 10%, 1%), one at a time on this thread with `ef` (default 100). Prints,
//! per filter, recall@10 (first round), p50 over all rounds and p50 / unfiltered p50.
use ndb::{Database, Filter, Search};
use std::collections::HashSet;
use std::time::Instant;

const K: usize = 10;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        return Err("usage: filter_probe DB_DIR QUERY_FVECS NQ ROUNDS [EF]".into());
    }
    let nq: usize = a[3].parse()?;
    let rounds: usize = a[4].parse()?;
    let ef: usize = a.get(5).map(|s| s.parse()).transpose()?.unwrap_or(100);
    let queries = ndb_bench::vecs::read_fvecs(&a[2], Some(nq))?;
    let db = Database::open(&a[1])?;
    let coll = db.get_collection("filter")?;
    let cases: [(&str, Option<Filter>); 4] = [
        ("none", None),
        ("50%", Some(Filter::eq("half", 1i64))),
        ("10%", Some(Filter::eq("bucket", 3i64))),
        ("1%", Some(Filter::eq("category", 7i64))),
    ];
    let search = |q: &[f32], f: &Option<Filter>, exact: bool| {
        let mut s = Search::new(q).top_k(K).threads(1);
        s = if exact {
            s.approximate(false)
        } else {
            s.ef(ef)
        };
        if let Some(f) = f {
            s = s.filter(f.clone());
        }
        coll.search(s)
    };
    let mut truth = Vec::new();
    for (_, f) in &cases {
        let mut answers = Vec::new();
        for q in queries.iter() {
            let ids = search(q, f, true)?.into_iter().map(|m| m.id);
            answers.push(ids.collect::<HashSet<_>>());
        }
        truth.push(answers);
    }
    let mut lat_ms = vec![Vec::new(); cases.len()];
    let mut hits = vec![0usize; cases.len()];
    for round in 0..rounds {
        for (ci, (_, f)) in cases.iter().enumerate() {
            for (qi, q) in queries.iter().enumerate() {
                let t = Instant::now();
                let got = search(q, f, false)?;
                lat_ms[ci].push(t.elapsed().as_secs_f64() * 1e3);
                if round == 0 {
                    hits[ci] += got.iter().filter(|m| truth[ci][qi].contains(&m.id)).count();
                }
            }
        }
    }
    let p50s: Vec<f64> = lat_ms.iter().map(|l| ndb_bench::median(l)).collect();
    for (ci, (name, _)) in cases.iter().enumerate() {
        let recall = hits[ci] as f64 / (K * queries.rows()) as f64;
        let p50 = p50s[ci];
        println!(
            "{name:5} recall@10 {recall:.4}  p50 {p50:.3} ms  x unfiltered {:.2}",
            p50 / p50s[0]
        );
    }
    Ok(())
}
