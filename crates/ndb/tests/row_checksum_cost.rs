//! What the row and vector block checksums cost on `get` and search (issue 12, item 4).
//!
//! One collection is built and flushed (format version 2: row and vector block checksums),
//! then copied, and the copy's segment is rewritten as a version 1 segment (the checksum
//! sections dropped from its table: the same bytes, read without row checks). Both are timed
//! in the same run, alternating: `get` of random ids, graph searches (first pass, with every
//! vector block still unchecked, then warm), and exact searches.
//!
//! `cargo test --release -p ndb --test row_checksum_cost -- --ignored --nocapture`
//! (`NDB_COST_DOCS`, default 50,000 documents of dimension 128).

mod common;
use common::data::xorshift_noise;
use common::{copy_dir, env_number, quiet};

use ndb::{CollectionConfig, Database, Distance, Document, Search};
use serde_json::json;
use std::path::Path;
use std::time::Instant;

const DIM: usize = 128;
const LANGS: [&str; 3] = ["en", "de", "fr"];

fn docs(n: usize) -> Vec<Document> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|i| {
            let v: Vec<f32> = (0..DIM).map(|_| xorshift_noise(&mut s)).collect();
            Document::new(format!("doc-{i:07}"), v).with_payload(
                json!({"i": i, "lang": LANGS[i % 3], "title": format!("title of document {i}")}),
            )
        })
        .collect()
}

/// Rewrite every segment of `dir`'s collection `c` as format version 1 (docs/FORMAT.md).
fn downgrade(dir: &Path) {
    for e in std::fs::read_dir(dir.join("c/segments")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "ndb") {
            continue;
        }
        let mut b = std::fs::read(&path).unwrap();
        assert_eq!(u32::from_le_bytes(b[48..52].try_into().unwrap()), 8);
        b[8..12].copy_from_slice(&1u32.to_le_bytes());
        b[48..52].copy_from_slice(&6u32.to_le_bytes());
        b[56 + 6 * 32..56 + 8 * 32].fill(0);
        let crc = crc32c::crc32c(&b[..504]);
        b[504..508].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&path, &b).unwrap();
    }
}

struct Timings {
    get_ns: f64,
    graph_first_us: f64,
    graph_warm_us: f64,
    exact_ms: f64,
}

fn measure(dir: &Path, ids: &[String], queries: &[Vec<f32>]) -> Timings {
    let db = Database::open_read_only(dir).unwrap();
    let c = db.get_collection("c").unwrap();
    let t = Instant::now();
    for q in queries {
        c.search(Search::new(q).top_k(10)).unwrap();
    }
    let graph_first_us = t.elapsed().as_secs_f64() * 1e6 / queries.len() as f64;
    let mut warm = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        for q in queries {
            c.search(Search::new(q).top_k(10)).unwrap();
        }
        warm.push(t.elapsed().as_secs_f64() * 1e6 / queries.len() as f64);
    }
    let t = Instant::now();
    for id in ids {
        assert!(c.get(id).unwrap().is_some());
    }
    let get_ns = t.elapsed().as_secs_f64() * 1e9 / ids.len() as f64;
    let t = Instant::now();
    for q in &queries[..20] {
        let s = Search::new(q).top_k(10).approximate(false).threads(1);
        c.search(s).unwrap();
    }
    let exact_ms = t.elapsed().as_secs_f64() * 1e3 / 20.0;
    warm.sort_by(f64::total_cmp);
    Timings {
        get_ns,
        graph_first_us,
        graph_warm_us: warm[1],
        exact_ms,
    }
}

#[test]
#[ignore = "a measurement: run with --release -- --ignored --nocapture"]
fn row_checksum_cost_on_get_and_search() {
    let n: usize = env_number("NDB_COST_DOCS").unwrap_or(50_000);
    let tmp = tempfile::tempdir().unwrap();
    let (v2, v1) = (tmp.path().join("v2"), tmp.path().join("v1"));
    let all = docs(n);
    {
        let db = Database::open_with_options(&v2, quiet()).unwrap();
        let c = db
            .create_collection(
                "c",
                CollectionConfig::new(DIM).with_distance(Distance::Euclidean),
            )
            .unwrap();
        for chunk in all.chunks(5_000) {
            c.insert_batch(chunk.to_vec()).unwrap();
        }
        c.flush().unwrap();
        assert!(c.has_index());
    }
    copy_dir(&v2, &v1);
    downgrade(&v1);
    let mut s = 7u64;
    let ids: Vec<String> = (0..20_000)
        .map(|_| {
            all[((xorshift_noise(&mut s) + 0.5) * n as f32) as usize % n]
                .id
                .clone()
        })
        .collect();
    let queries: Vec<Vec<f32>> = (0..500)
        .map(|_| (0..DIM).map(|_| xorshift_noise(&mut s)).collect())
        .collect();
    println!("{n} documents, dim {DIM}; v1 = no row checks, v2 = row and vector block checksums");
    println!(
        "round | get ns (v1 / v2) | graph 1st pass us/query | graph warm us/query | exact ms/query"
    );
    for round in 0..3 {
        let a = measure(&v1, &ids, &queries);
        let b = measure(&v2, &ids, &queries);
        println!(
            "{round} | {:.0} / {:.0} | {:.1} / {:.1} | {:.1} / {:.1} | {:.2} / {:.2}",
            a.get_ns,
            b.get_ns,
            a.graph_first_us,
            b.graph_first_us,
            a.graph_warm_us,
            b.graph_warm_us,
            a.exact_ms,
            b.exact_ms
        );
    }
}
