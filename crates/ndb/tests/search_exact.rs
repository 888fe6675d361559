//! Exact search equals a naive reference (score every live document, sort) on collections that
//! span the memtable and several segments, with deletes and replacements.

mod common;
use common::temp_db;

use ndb::{CollectionConfig, Database, Distance, Document, Error, Filter, Search};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::BTreeMap;

fn naive_score(metric: Distance, q: &[f32], v: &[f32]) -> f32 {
    let dot: f64 = q
        .iter()
        .zip(v)
        .map(|(a, b)| f64::from(*a) * f64::from(*b))
        .sum();
    match metric {
        Distance::DotProduct => dot as f32,
        Distance::Cosine => {
            let nq: f64 = q.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
            let nv: f64 = v.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
            (dot / (nq * nv)) as f32
        }
        Distance::Euclidean => {
            -(q.iter()
                .zip(v)
                .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                .sum::<f64>()
                .sqrt() as f32)
        }
    }
}

/// Compare by id set and scores within tolerance (exact ties may legitimately reorder only when
/// scores are equal within float error).
fn assert_same(got: &[ndb::Match], want: &[(String, f32)], ctx: &str) {
    assert_eq!(got.len(), want.len(), "{ctx}: result count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g.score - w.1).abs() <= 1e-4 * (1.0 + w.1.abs()),
            "{ctx}: rank {i}: got {} {} want {} {}",
            g.id,
            g.score,
            w.0,
            w.1
        );
        if g.id != w.0 {
            // Only acceptable if the two scores are (numerically) tied.
            let other = want.iter().find(|(id, _)| *id == g.id).map(|x| x.1);
            assert!(
                other.is_some_and(|s| (s - w.1).abs() <= 1e-4 * (1.0 + w.1.abs())),
                "{ctx}: rank {i}: got {} want {}",
                g.id,
                w.0
            );
        }
    }
    for w in got.windows(2) {
        assert!(
            w[0].score > w[1].score || (w[0].score == w[1].score && w[0].id < w[1].id),
            "{ctx}: order"
        );
    }
}

#[test]
fn exact_search_matches_naive_reference_across_memtable_and_segments() {
    for (seed, metric) in [
        (1u64, Distance::Euclidean),
        (2, Distance::Cosine),
        (3, Distance::DotProduct),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open_with_options(
            dir.path(),
            ndb::DatabaseOptions::default().with_background_maintenance(false),
        )
        .unwrap();
        let dim = 17;
        let c = db
            .create_collection(
                "c",
                CollectionConfig::new(dim)
                    .with_distance(metric)
                    .with_flush_threshold_bytes(16 << 10),
            )
            .unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut model: BTreeMap<String, (Vec<f32>, i64)> = BTreeMap::new();
        for step in 0..1500 {
            let id = format!("id{}", rng.gen_range(0..600));
            if rng.gen_bool(0.15) {
                let was = c.delete(&id).unwrap();
                assert_eq!(was, model.remove(&id).is_some());
            } else {
                let v: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
                c.insert(Document::new(id.clone(), v.clone()).with_payload(json!({"k": step % 7})))
                    .unwrap();
                let stored = if metric == Distance::Cosine {
                    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                    v.iter().map(|x| x / n).collect()
                } else {
                    v
                };
                model.insert(id, (stored, step % 7));
            }
        }
        for i in 0..5 {
            let v: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
            let id = format!("tail{i}");
            c.insert(Document::new(id.clone(), v.clone()).with_payload(json!({"k": 3})))
                .unwrap();
            let stored = if metric == Distance::Cosine {
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter().map(|x| x / n).collect()
            } else {
                v
            };
            model.insert(id, (stored, 3));
        }
        let stats = c.stats().unwrap();
        assert!(
            stats.segment_count >= 3 && stats.memtable_docs > 0 && stats.deleted_count > 0,
            "{stats:?}"
        );
        for qi in 0..20 {
            let q: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
            let k = [1, 5, 10, 50][qi % 4];
            let mut want: Vec<(String, f32)> = model
                .iter()
                .map(|(id, (v, _))| (id.clone(), naive_score(metric, &q, v)))
                .collect();
            want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let want_k: Vec<_> = want.iter().take(k).cloned().collect();
            let got = c.search(Search::new(&q).top_k(k)).unwrap();
            assert_same(&got, &want_k, &format!("{metric:?} q{qi}"));
            let one_thread = c.search(Search::new(&q).top_k(k).threads(1)).unwrap();
            assert_eq!(got, one_thread, "thread count changes nothing");
            // Filtered exact search.
            let mut want_f: Vec<(String, f32)> = model
                .iter()
                .filter(|(_, (_, kk))| *kk == 3)
                .map(|(id, (v, _))| (id.clone(), naive_score(metric, &q, v)))
                .collect();
            want_f.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            want_f.truncate(k);
            let got_f = c
                .search(Search::new(&q).top_k(k).filter(Filter::eq("k", 3)))
                .unwrap();
            assert_same(&got_f, &want_f, &format!("{metric:?} filtered q{qi}"));
            assert!(got_f.iter().all(|m| m.payload == Some(json!({"k": 3}))));
        }
        // Other metric than the collection's.
        let q: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let mut want: Vec<(String, f32)> = model
            .iter()
            .map(|(id, (v, _))| (id.clone(), naive_score(Distance::Euclidean, &q, v)))
            .collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        want.truncate(10);
        let got = c
            .search(Search::new(&q).distance(Distance::Euclidean))
            .unwrap();
        assert_same(&got, &want, "other metric");
        // Reopen: same answers.
        drop((c, db));
        let db = Database::open(dir.path()).unwrap();
        let c = db.get_collection("c").unwrap();
        let again = c
            .search(Search::new(&q).distance(Distance::Euclidean))
            .unwrap();
        assert_eq!(got, again);
    }
}

#[test]
fn search_bad_input_and_edge_cases() {
    let (_dir, db) = temp_db();
    let c = db.create_collection("c", CollectionConfig::new(3)).unwrap();
    // Empty collection: no results, not an error.
    assert_eq!(c.search(Search::new(&[1.0, 0.0, 0.0])).unwrap(), vec![]);
    c.insert(Document::new("a", vec![1.0, 0.0, 0.0])).unwrap();
    c.insert(Document::new("b", vec![0.0, 1.0, 0.0])).unwrap();
    assert!(matches!(
        c.search(Search::new(&[1.0, 0.0])),
        Err(Error::WrongDimension {
            expected: 3,
            got: 2
        })
    ));
    assert!(matches!(
        c.search(Search::new(&[f32::NAN, 0.0, 0.0])),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.search(Search::new(&[f32::INFINITY, 0.0, 0.0])),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.search(Search::new(&[])),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.search(Search::new(&[1.0, 0.0, 0.0]).top_k(0)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(
        matches!(
            c.search(Search::new(&[0.0, 0.0, 0.0])),
            Err(Error::InvalidArgument(_))
        ),
        "zero query under cosine"
    );
    // top_k larger than the collection: every document, best first.
    let all = c.search(Search::new(&[1.0, 0.1, 0.0]).top_k(1000)).unwrap();
    assert_eq!(
        all.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    assert!((all[0].score - 0.995_037).abs() < 1e-5);
    // Ties break by id.
    c.insert(Document::new("c", vec![1.0, 0.0, 0.0])).unwrap();
    let tied = c.search(Search::new(&[1.0, 0.0, 0.0]).top_k(2)).unwrap();
    assert_eq!(
        tied.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        vec!["a", "c"]
    );
    c.flush().unwrap();
    let tied = c.search(Search::new(&[1.0, 0.0, 0.0]).top_k(2)).unwrap();
    assert_eq!(
        tied.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        vec!["a", "c"]
    );
}

#[test]
fn large_collection_uses_threads_with_identical_results() {
    let (_dir, db) = temp_db();
    let dim = 64;
    let c = db
        .create_collection(
            "c",
            CollectionConfig::new(dim).with_distance(Distance::Euclidean),
        )
        .unwrap();
    let mut rng = StdRng::seed_from_u64(9);
    for b in 0..40 {
        let docs: Vec<Document> = (0..1000)
            .map(|i| {
                Document::new(
                    format!("{b}-{i}"),
                    (0..dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect(),
                )
            })
            .collect();
        c.insert_batch(docs).unwrap();
    }
    c.flush().unwrap();
    for _ in 0..5 {
        let q: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let a = c.search(Search::new(&q).top_k(20)).unwrap();
        let b = c.search(Search::new(&q).top_k(20).threads(1)).unwrap();
        let d = c.search(Search::new(&q).top_k(20).threads(2)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, d);
    }
}

/// Exact scans over segments of several scan tasks, on one thread (one top-k shared by every
/// task, rows skipped on the kernel's values) and on several, return exactly the naive
/// answer: small integer coordinates make every score exact and ties frequent, so the
/// tie-break by id at the top-k floor is checked too; deleted rows never come back.
#[test]
fn exact_scans_of_large_segments_equal_the_naive_answer_with_ties() {
    let (_dir, db) = temp_db();
    let dim = 48;
    let mut rng = StdRng::seed_from_u64(21);
    for metric in [Distance::Euclidean, Distance::DotProduct] {
        let name = format!("{metric:?}").to_lowercase();
        let c = db
            .create_collection(
                &name,
                CollectionConfig::new(dim)
                    .with_distance(metric)
                    .with_index(ndb::IndexConfig::default().with_min_rows(usize::MAX)),
            )
            .unwrap();
        let mut model: BTreeMap<String, Vec<f32>> = BTreeMap::new();
        for b in 0..5 {
            let docs: Vec<Document> = (0..10_000)
                .map(|i| {
                    let v: Vec<f32> = (0..dim).map(|_| rng.gen_range(-2i8..=2).into()).collect();
                    // Ids out of row order, so that a later row can win a tie.
                    let id = format!("{:05}", ((b * 10_000 + i) * 7919) % 50_000);
                    model.insert(id.clone(), v.clone());
                    Document::new(id, v)
                })
                .collect();
            c.insert_batch(docs).unwrap();
        }
        c.flush().unwrap();
        for i in (20_000..30_000).step_by(7) {
            let id = format!("{:05}", (i * 7919) % 50_000);
            assert!(c.delete(&id).unwrap());
            model.remove(&id);
        }
        for qi in 0..6 {
            let q: Vec<f32> = (0..dim).map(|_| rng.gen_range(-2i8..=2).into()).collect();
            let k = [1, 10, 100][qi % 3];
            let mut want: Vec<(String, f32)> = model
                .iter()
                .map(|(id, v)| (id.clone(), naive_score(metric, &q, v)))
                .collect();
            want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            want.truncate(k);
            let tied = want.iter().filter(|w| w.1 == want[k - 1].1).count();
            for threads in [Some(1), Some(2), None] {
                let mut search = Search::new(&q).top_k(k);
                if let Some(t) = threads {
                    search = search.threads(t);
                }
                let got: Vec<(String, f32)> = c
                    .search(search)
                    .unwrap()
                    .into_iter()
                    .map(|m| (m.id, m.score))
                    .collect();
                assert_eq!(
                    got, want,
                    "{metric:?} q{qi} k {k} threads {threads:?} ({tied} tied at the floor)"
                );
            }
        }
    }
}

/// A memtable large enough to be scanned in parallel (rows right after an ingest, before any
/// flush) gives exactly the naive answer on 1, 2 and all threads, with ties, replaced and
/// deleted documents.
#[test]
fn exact_scans_of_a_large_memtable_equal_the_naive_answer_with_ties() {
    let (_dir, db) = temp_db();
    let dim = 48;
    let mut rng = StdRng::seed_from_u64(22);
    let c = db
        .create_collection(
            "m",
            CollectionConfig::new(dim)
                .with_distance(Distance::Euclidean)
                .with_flush_threshold_bytes(1 << 30),
        )
        .unwrap();
    let mut model: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    let mut random_docs = |n: usize, model: &mut BTreeMap<String, Vec<f32>>| -> Vec<Document> {
        (0..n)
            .map(|_| {
                let v: Vec<f32> = (0..dim).map(|_| rng.gen_range(-2i8..=2).into()).collect();
                let id = format!("{:05}", rng.gen_range(0..60_000));
                model.insert(id.clone(), v.clone());
                Document::new(id.clone(), v).with_payload(json!({ "id": id }))
            })
            .collect()
    };
    for _ in 0..6 {
        let docs = random_docs(10_000, &mut model);
        // Within a batch the last document of an id wins, as in the model.
        c.insert_batch(docs).unwrap();
    }
    let gone: Vec<String> = model.keys().step_by(11).cloned().collect();
    for id in &gone {
        assert!(c.delete(id).unwrap());
        model.remove(id);
    }
    let stats = c.stats().unwrap();
    assert_eq!(stats.segment_count, 0, "{stats:?}");
    assert!(stats.memtable_bytes > 8 << 20, "{stats:?}");
    let mut rng = StdRng::seed_from_u64(23);
    for qi in 0..6 {
        let q: Vec<f32> = (0..dim).map(|_| rng.gen_range(-2i8..=2).into()).collect();
        let k = [1, 10, 100][qi % 3];
        let mut want: Vec<(String, f32)> = model
            .iter()
            .map(|(id, v)| (id.clone(), naive_score(Distance::Euclidean, &q, v)))
            .collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        want.truncate(k);
        for threads in [Some(1), Some(2), None] {
            let mut search = Search::new(&q).top_k(k);
            if let Some(t) = threads {
                search = search.threads(t);
            }
            let matches = c.search(search).unwrap();
            for m in &matches {
                assert_eq!(
                    m.payload,
                    Some(json!({ "id": m.id })),
                    "each hit its own payload"
                );
            }
            let got: Vec<(String, f32)> = matches.into_iter().map(|m| (m.id, m.score)).collect();
            assert_eq!(got, want, "q{qi} k {k} threads {threads:?}");
        }
    }
}

/// `search_raw` / `search_batch_raw` give the same hits as `search`, each payload as JSON text
/// that parses to the same value, for hits in the memtable, in segments with and without a
/// graph, with and without payloads, filtered or not.
#[test]
fn raw_payload_searches_equal_parsed_ones() {
    let (_dir, db) = temp_db();
    let config =
        CollectionConfig::new(4).with_index(ndb::IndexConfig::default().with_min_rows(150));
    let c = db.create_collection("c", config).unwrap();
    let doc = |i: u32| {
        let v = vec![(i % 17) as f32, (i % 5) as f32, i as f32 / 100.0, 1.0];
        let d = Document::new(format!("d{i}"), v);
        match i % 3 {
            0 => d,
            _ => d.with_payload(
                json!({"i": i, "tag": format!("t{}", i % 4), "nested": {"x": [i, 1.5]}}),
            ),
        }
    };
    c.insert_batch((0..200).map(doc)).unwrap();
    c.flush().unwrap(); // a segment with a graph
    c.insert_batch((200..300).map(doc)).unwrap();
    c.flush().unwrap(); // one without (under min_rows)
    c.insert_batch((300..350).map(doc)).unwrap(); // and the memtable
    let queries: Vec<Vec<f32>> = (0..20u32)
        .map(|i| vec![(i % 17) as f32 + 0.3, (i % 5) as f32, i as f32 / 7.0, 1.0])
        .collect();
    let mut searches = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        let s = Search::new(q).top_k(1 + i % 15).approximate(i % 2 == 0);
        searches.push(match i % 4 {
            3 => s.filter(Filter::eq("tag", "t1")),
            _ => s,
        });
    }
    let mut payloads = 0;
    for s in &searches {
        let parsed = c.search(s.clone()).unwrap();
        let raw = c.search_raw(s.clone()).unwrap();
        assert_eq!(parsed.len(), raw.len());
        for (p, r) in parsed.iter().zip(&raw) {
            assert_eq!((&p.id, p.score), (&r.id, r.score));
            let reparsed = r
                .payload_json
                .as_deref()
                .map(|t| serde_json::from_str::<serde_json::Value>(t).unwrap());
            assert_eq!(p.payload, reparsed, "{}", p.id);
            payloads += usize::from(r.payload_json.is_some());
        }
    }
    assert!(payloads > 20, "payloads were compared: {payloads}");
    let batch = c.search_batch_raw(&searches).unwrap();
    for (s, got) in searches.iter().zip(&batch) {
        assert_eq!(got, &c.search_raw(s.clone()).unwrap());
    }
}
