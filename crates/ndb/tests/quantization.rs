//! Quantized codes (issue 17): recall at the default settings on real data, codes kept true
//! through flush, merge, compaction, reopen and a change of settings, damaged code files that
//! fall back to `f32` search and that `verify` names, and bad settings refused.

mod common;

use common::data::{glove_sample, recall, test_data};
use common::quiet;
use ndb::{
    CollectionConfig, ConfigUpdate, Database, Distance, Document, Error, IndexConfig, Quantization,
    Search,
};
use std::path::PathBuf;

/// Fashion-MNIST, 784-d: 4,000 base images and 100 queries stored as bytes (tests/data/README.md).
fn fashion() -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let bytes = std::fs::read(test_data("fashion-mnist-4k-784.u8")).unwrap();
    let rows: Vec<Vec<f32>> = bytes
        .chunks_exact(784)
        .map(|r| r.iter().map(|&b| f32::from(b)).collect())
        .collect();
    let (base, queries) = rows.split_at(4_000);
    (base.to_vec(), queries.to_vec())
}

fn docs(base: &[Vec<f32>]) -> Vec<Document> {
    base.iter()
        .enumerate()
        .map(|(i, v)| Document::new(format!("{i}"), v.clone()))
        .collect()
}

/// Recall@10 of searches (each query's `Search` with `options` applied) against exact
/// search, over `queries`.
fn recall_at_10(
    c: &ndb::Collection,
    queries: &[Vec<f32>],
    options: impl for<'q> Fn(Search<'q>) -> Search<'q>,
) -> f64 {
    let mut hits = 0;
    for q in queries {
        let exact = c
            .search(Search::new(q).top_k(10).approximate(false))
            .unwrap();
        hits += recall(
            &c.search(options(Search::new(q)).top_k(10)).unwrap(),
            &exact,
        );
    }
    hits as f64 / (queries.len() * 10) as f64
}

fn collection(
    db: &Database,
    name: &str,
    dim: usize,
    distance: Distance,
    q: Quantization,
) -> ndb::Collection {
    let config = CollectionConfig::new(dim)
        .with_distance(distance)
        .with_flush_threshold_bytes(256 << 20)
        .with_index(IndexConfig::default().with_min_rows(1_000))
        .with_quantization(q);
    db.create_collection(name, config).unwrap()
}

#[test]
fn int8_recall_on_glove_at_the_default_settings() {
    let (base, queries) = glove_sample();
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_with_options(dir.path(), quiet()).unwrap();
    let c = collection(&db, "g", 50, Distance::Cosine, Quantization::Int8);
    c.insert_batch(docs(&base)).unwrap();
    c.flush().unwrap();
    let stats = c.stats().unwrap();
    assert_eq!(stats.quantized_docs, 20_000);
    assert_eq!(stats.segments[0].quantization, Quantization::Int8);
    // Codes (50 bytes + 4) and the graph instead of 200 bytes of f32 per vector.
    assert!(stats.code_bytes < stats.vector_bytes / 3, "{stats:?}");

    let graph = recall_at_10(&c, &queries, |s| s);
    println!(
        "glove sample, int8: recall@10 {graph:.4} (graph on codes, default ef and oversampling)"
    );
    assert!(graph >= 0.95, "int8 graph recall@10 {graph}");
    // Estimates only: still a ranking, but rescoring is what keeps recall.
    let raw = recall_at_10(&c, &queries, |s| s.rescore(false));
    println!("glove sample, int8 without rescoring: recall@10 {raw:.4}");
    assert!(raw > 0.5 && raw <= graph + 0.01, "{raw} vs {graph}");

    // The same collection searched on its f32 vectors.
    let f32 = recall_at_10(&c, &queries, |s| s.quantized(false));
    println!("glove sample, codes ignored: recall@10 {f32:.4}");
    assert!(f32 >= 0.95, "f32 graph recall@10 {f32}");

    // Scans on codes (graphs deleted), then rescoring.
    c.delete_index().unwrap();
    let scan = recall_at_10(&c, &queries, |s| s);
    println!("glove sample, int8 code scan: recall@10 {scan:.4}");
    assert!(scan >= 0.99, "int8 scan recall@10 {scan}");
}

#[test]
fn binary_recall_on_fashion_mnist_at_the_default_settings() {
    let (base, queries) = fashion();
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_with_options(dir.path(), quiet()).unwrap();
    for (name, q) in [
        ("int8", Quantization::Int8),
        ("binary", Quantization::Binary),
    ] {
        let c = collection(&db, name, 784, Distance::Euclidean, q);
        c.insert_batch(docs(&base)).unwrap();
        c.flush().unwrap();
        assert_eq!(c.stats().unwrap().quantized_docs, 4_000);
        let r = recall_at_10(&c, &queries, |s| s);
        println!("fashion-mnist sample, {name}: recall@10 {r:.4} at the default settings");
        assert!(r >= 0.95, "{name}: recall@10 {r}");
        if q == Quantization::Binary {
            let stats = c.stats().unwrap();
            // 98 bytes of code + 24 of factors per vector instead of 3,136 of f32.
            assert!(stats.code_bytes * 20 < stats.vector_bytes, "{stats:?}");
        }
    }
}

/// Every live segment of `c` has codes of `q` (or none when `q` is `None`), and searches
/// answer like exact search for documents' own vectors.
fn assert_codes(c: &ndb::Collection, q: Quantization, base: &[Vec<f32>]) {
    let stats = c.stats().unwrap();
    for s in &stats.segments {
        assert_eq!(s.quantization, q, "segment {}: {stats:?}", s.id);
        assert_eq!(s.code_bytes > 0, q != Quantization::None);
    }
    for i in (0..base.len()).step_by(97) {
        let hits = c.search(Search::new(&base[i]).top_k(1)).unwrap();
        assert_eq!(hits[0].id, format!("{i}"), "row {i}");
    }
}

#[test]
fn codes_follow_flushes_merges_compaction_reopen_and_setting_changes() {
    let (base, _) = glove_sample();
    let base = &base[..6_000];
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_with_options(dir.path(), quiet()).unwrap();
    let c = collection(&db, "g", 50, Distance::Euclidean, Quantization::Int8);
    for chunk in docs(base).chunks(1_500) {
        c.insert_batch(chunk.to_vec()).unwrap();
        c.flush().unwrap();
    }
    assert_codes(&c, Quantization::Int8, base);
    c.delete("7").unwrap();
    let stats = c.compact().unwrap();
    assert_eq!(stats.segments_after, 1);
    assert_codes(&c, Quantization::Int8, &base[..7]);
    drop((c, db));

    // Reopened: the codes are read back; a change of setting applies to new segments, and to
    // all of them with rebuild_index.
    let db = Database::open_with_options(dir.path(), quiet()).unwrap();
    let c = db.get_collection("g").unwrap();
    assert_codes(&c, Quantization::Int8, &base[..7]);
    assert_eq!(c.stats().unwrap().quantized_docs, 5_999);
    c.update_config(&ConfigUpdate::new().set("quantization", "binary").unwrap())
        .unwrap();
    assert_eq!(c.config().quantization(), Quantization::Binary);
    c.rebuild_index().unwrap();
    assert_codes(&c, Quantization::Binary, &base[..7]);
    c.update_config(&ConfigUpdate::new().quantization(Quantization::None))
        .unwrap();
    c.rebuild_index().unwrap();
    assert_codes(&c, Quantization::None, &base[..7]);
    let stats = c.stats().unwrap();
    assert_eq!((stats.quantized_docs, stats.code_bytes), (0, 0));
    c.verify().unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path().join("g/segments"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".codes")), "{names:?}");
}

#[test]
fn damaged_codes_fall_back_to_f32_search_and_verify_names_them() {
    let (base, queries) = glove_sample();
    let base = &base[..3_000];
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open_with_options(dir.path(), quiet()).unwrap();
        let c = collection(&db, "g", 50, Distance::Cosine, Quantization::Int8);
        c.insert_batch(docs(base)).unwrap();
        c.flush().unwrap();
    }
    let codes: PathBuf = std::fs::read_dir(dir.path().join("g/segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "codes"))
        .expect("a code file");
    let mut bytes = std::fs::read(&codes).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x5A;
    std::fs::write(&codes, bytes).unwrap();

    let db = Database::open_with_options(dir.path(), quiet()).unwrap();
    let c = db.get_collection("g").unwrap();
    assert_eq!(c.stats().unwrap().quantized_docs, 0);
    // Searched on the f32 vectors: answers as without quantization.
    let r = recall_at_10(&c, &queries[..50], |s| s);
    assert!(r >= 0.95, "recall@10 {r}");
    match c.verify() {
        Err(Error::Corruption { file, .. }) => assert_eq!(file, codes),
        other => panic!("verify: {other:?}"),
    }
    // rebuild_index writes intact codes again.
    c.rebuild_index().unwrap();
    c.verify().unwrap();
    assert_eq!(c.stats().unwrap().quantized_docs, 3_000);
}

#[test]
fn bad_settings_are_typed_errors() {
    let (_dir, db) = common::temp_db();
    let invalid = |r: ndb::Result<ndb::Collection>| {
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}")
    };
    invalid(db.create_collection(
        "b",
        CollectionConfig::new(16).with_quantization(Quantization::Binary),
    ));
    let c = db
        .create_collection(
            "c",
            CollectionConfig::new(4).with_quantization(Quantization::Int8),
        )
        .unwrap();
    c.insert(Document::new("a", vec![1.0, 2.0, 3.0, 4.0]))
        .unwrap();
    for o in [0.0, 0.5, -1.0, f32::NAN, f32::INFINITY] {
        let r = c.search(Search::new(&[1.0, 0.0, 0.0, 0.0]).oversampling(o));
        assert!(matches!(r, Err(Error::InvalidArgument(_))), "{o}: {r:?}");
    }
    assert!(matches!(
        ConfigUpdate::new().set("quantization", "pq"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.update_config(&ConfigUpdate::new().quantization(Quantization::Binary)),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(c.config().quantization(), Quantization::Int8);
}
