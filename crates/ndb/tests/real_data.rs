//! Recall on real embeddings (a 20,000-vector sample of GloVe 6B 50-d, cosine; see
//! `tests/data/README.md`): approximate search at the default `ef`, identical answers after
//! reopen, and filtered search at 1%, 10% and 50% selectivity returning `min(k, matches)`
//! results with recall against exact filtered search.

mod common;
use common::data::{glove_sample, recall};

use ndb::{
    CollectionConfig, Database, DatabaseOptions, Document, Filter, IndexConfig, PayloadIndexKind,
    Search,
};
use serde_json::json;

#[test]
fn glove_sample_recall_filters_and_reopen() {
    let (base, queries) = glove_sample();
    assert_eq!(
        (base.len(), queries.len(), base[0].len()),
        (20_000, 200, 50)
    );
    let dir = tempfile::tempdir().unwrap();
    let quiet = DatabaseOptions::default().with_background_maintenance(false);
    let db = Database::open_with_options(dir.path(), quiet.clone()).unwrap();
    let c = db
        .create_collection(
            "glove",
            CollectionConfig::new(50)
                .with_flush_threshold_bytes(64 << 20)
                .with_index(IndexConfig::default().with_min_rows(1000)),
        )
        .unwrap();
    for f in ["category", "bucket", "half"] {
        c.create_payload_index(f, PayloadIndexKind::Integer)
            .unwrap();
    }
    c.insert_batch(base.iter().enumerate().map(|(i, v)| {
        Document::new(format!("{i}"), v.clone())
            .with_payload(json!({"category": i % 100, "bucket": i % 10, "half": i % 2, "tag": if i < 9 { "rare" } else { "common" }}))
    }))
    .unwrap();
    c.flush().unwrap();
    assert_eq!(c.stats().unwrap().indexed_docs, 20_000);

    // Unfiltered recall@10 at the default ef.
    let k = 10;
    let mut hits = 0;
    let mut answers = Vec::new();
    for q in &queries {
        let exact = c
            .search(Search::new(q).top_k(k).approximate(false))
            .unwrap();
        let got = c.search(Search::new(q).top_k(k)).unwrap();
        hits += recall(&got, &exact);
        answers.push(got);
    }
    let r = hits as f64 / (queries.len() * k) as f64;
    println!("glove sample: recall@10 {r:.4} at the default ef");
    assert!(r >= 0.95, "recall@10 {r}");

    // Filtered recall at 1%, 10% and 50% selectivity.
    for (name, filter) in [
        ("1%", Filter::eq("category", 42)),
        ("10%", Filter::eq("bucket", 7)),
        ("50%", Filter::eq("half", 0)),
    ] {
        let mut hits = 0;
        for q in queries.iter().take(100) {
            let exact = c
                .search(
                    Search::new(q)
                        .top_k(k)
                        .filter(filter.clone())
                        .approximate(false),
                )
                .unwrap();
            let got = c
                .search(Search::new(q).top_k(k).filter(filter.clone()))
                .unwrap();
            assert_eq!(got.len(), k, "{name}");
            assert!(
                got.iter().all(|m| filter.matches(m.payload.as_ref())),
                "{name}"
            );
            hits += recall(&got, &exact);
        }
        let r = hits as f64 / (100 * k) as f64;
        println!("glove sample: filtered {name}: recall@10 {r:.4}");
        assert!(r >= 0.95, "{name}: recall@10 {r}");
    }
    // Exactly min(k, matches) results: 0, 1 and k - 1 matches.
    let q = &queries[0];
    let count = |f: Filter| c.search(Search::new(q).top_k(k).filter(f)).unwrap().len();
    assert_eq!(count(Filter::eq("tag", "none")), 0);
    assert_eq!(
        count(Filter::and([
            Filter::eq("tag", "rare"),
            Filter::eq("category", 3)
        ])),
        1
    );
    assert_eq!(count(Filter::eq("tag", "rare")), k - 1);

    // Identical answers after reopen.
    drop((c, db));
    let db = Database::open_with_options(dir.path(), quiet).unwrap();
    let c = db.get_collection("glove").unwrap();
    for (q, before) in queries.iter().zip(&answers) {
        assert_eq!(&c.search(Search::new(q).top_k(k)).unwrap(), before);
    }
}
