//! Approximate search through per-segment HNSW indexes: recall, deletes, reopen, damage
//! fallback, rebuild and delete.

mod common;
use common::data::clustered;
use common::quiet;

use ndb::{CollectionConfig, Database, Distance, Document, IndexConfig, Search};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::HashSet;

fn config(distance: Distance) -> CollectionConfig {
    CollectionConfig::new(32)
        .with_distance(distance)
        .with_index(IndexConfig::default().with_min_rows(1000))
}

fn recall(c: &ndb::Collection, queries: &[Vec<f32>], k: usize) -> f64 {
    let mut hits = 0;
    for q in queries {
        let exact: HashSet<String> = c
            .search(Search::new(q).top_k(k).approximate(false))
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        let approx = c.search(Search::new(q).top_k(k)).unwrap();
        assert_eq!(approx.len(), k);
        hits += approx.iter().filter(|m| exact.contains(&m.id)).count();
    }
    hits as f64 / (queries.len() * k) as f64
}

#[test]
fn indexed_search_has_high_recall_and_survives_reopen() {
    for distance in [Distance::Euclidean, Distance::Cosine] {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        let data = clustered(6000, 32, 40, 0.3, &mut rng);
        let queries = clustered(50, 32, 40, 0.3, &mut rng);
        let results;
        {
            let db = Database::open(dir.path()).unwrap();
            let c = db.create_collection("c", config(distance)).unwrap();
            for (b, chunk) in data.chunks(3000).enumerate() {
                c.insert_batch(
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, v)| Document::new(format!("{b}-{i}"), v.clone())),
                )
                .unwrap();
                c.flush().unwrap();
            }
            assert!(c.has_index());
            assert_eq!(c.stats().unwrap().indexed_docs, 6000);
            let r = recall(&c, &queries, 10);
            assert!(r >= 0.95, "{distance:?} recall@10 {r}");
            results = queries
                .iter()
                .map(|q| c.search(Search::new(q)).unwrap())
                .collect::<Vec<_>>();
            c.verify().unwrap();
        }
        let db = Database::open(dir.path()).unwrap();
        let c = db.get_collection("c").unwrap();
        assert!(c.has_index());
        let again: Vec<_> = queries
            .iter()
            .map(|q| c.search(Search::new(q)).unwrap())
            .collect();
        assert_eq!(results, again, "identical results after reopen");
    }
}

/// Collection `c` (Euclidean) holding `data` (document `i` has the id `"{i}"`) in one
/// flushed segment.
fn one_segment(db: &Database, data: &[Vec<f32>]) -> ndb::Collection {
    let c = db
        .create_collection("c", config(Distance::Euclidean))
        .unwrap();
    c.insert_batch(
        data.iter()
            .enumerate()
            .map(|(i, v)| Document::new(format!("{i}"), v.clone())),
    )
    .unwrap();
    c.flush().unwrap();
    c
}

#[test]
fn deleted_and_replaced_rows_are_never_returned() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(6);
    let data = clustered(4000, 32, 40, 0.3, &mut rng);
    let db = Database::open(dir.path()).unwrap();
    let c = one_segment(&db, &data);
    // Delete every third document; replace every fifth with a far-away vector.
    for i in (0..4000).step_by(3) {
        c.delete(&format!("{i}")).unwrap();
    }
    for i in (1..4000).step_by(5) {
        c.insert(Document::new(format!("{i}"), vec![100.0; 32]))
            .unwrap();
    }
    for round in 0..2 {
        for q in data.iter().step_by(97) {
            for m in c.search(Search::new(q).top_k(10)).unwrap() {
                let i: usize = m.id.parse().unwrap();
                if i % 5 == 1 {
                    // Replaced by a far-away vector: only the new version may come back.
                    assert!(m.score < -400.0, "stale version of replaced {i} returned");
                } else {
                    assert!(!i.is_multiple_of(3), "deleted {i} returned (round {round})");
                }
            }
        }
        c.flush().unwrap();
    }
}

#[test]
fn damaged_index_falls_back_to_exact_and_rebuild_and_delete_work() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let data = clustered(3000, 32, 40, 0.3, &mut rng);
    let q = data[17].clone();
    {
        let db = Database::open(dir.path()).unwrap();
        let c = one_segment(&db, &data);
        assert!(c.has_index());
    }
    let seg_dir = dir.path().join("c").join("segments");
    let index_file = std::fs::read_dir(&seg_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "hnsw"))
        .unwrap();
    let mut bytes = std::fs::read(&index_file).unwrap();
    bytes[20] ^= 0xFF; // segment id in the header
    std::fs::write(&index_file, &bytes).unwrap();

    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    assert!(!c.has_index(), "damaged index is not used");
    let exact = c
        .search(Search::new(&q).top_k(10).approximate(false))
        .unwrap();
    assert_eq!(
        c.search(Search::new(&q).top_k(10)).unwrap(),
        exact,
        "falls back to exact"
    );
    let err = c.verify().unwrap_err();
    assert!(matches!(err, ndb::Error::Corruption { .. }), "{err}");
    assert!(err.to_string().contains(".hnsw"), "{err}");

    c.rebuild_index().unwrap();
    assert!(c.has_index());
    c.verify().unwrap();
    assert_eq!(c.stats().unwrap().indexed_docs, 3000);

    c.delete_index().unwrap();
    assert!(!c.has_index());
    c.insert_batch((0..2000).map(|i| Document::new(format!("new{i}"), data[i].clone())))
        .unwrap();
    c.flush().unwrap();
    assert!(!c.has_index(), "no index built after delete_index");
    drop((c, db));
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    assert!(!c.has_index());
    assert!(std::fs::read_dir(&seg_dir).unwrap().all(|e| e
        .unwrap()
        .path()
        .extension()
        .is_none_or(|x| x != "hnsw")));
    c.verify().unwrap();
}

/// A merge starts the merged graph from the largest input's graph when all of that input's
/// rows move over (no persisted deletions), else rebuilds; either way the merged segment is
/// indexed, recall stays high, and deleted or replaced rows never come back.
#[test]
fn merged_graphs_keep_recall_whether_started_from_the_largest_or_rebuilt() {
    for delete_from_largest in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = StdRng::seed_from_u64(9);
        let data = clustered(7000, 32, 40, 0.3, &mut rng);
        let queries = clustered(50, 32, 40, 0.3, &mut rng);
        let db = Database::open_with_options(dir.path(), quiet()).unwrap();
        let c = db
            .create_collection("c", config(Distance::Euclidean))
            .unwrap();
        let doc = |i: usize| Document::new(format!("d{i}"), data[i].clone());
        // Segments of 4000, 1500 and 1500 rows, each with a graph.
        for range in [0..4000, 4000..5500, 5500..7000] {
            c.insert_batch(range.map(doc)).unwrap();
            c.flush().unwrap();
        }
        // Deletions persisted in a small segment (and in the largest one, in the second
        // round, which makes it unusable as a starting graph).
        let mut gone: Vec<String> = (4000..4100).map(|i| format!("d{i}")).collect();
        if delete_from_largest {
            gone.extend((0..100).map(|i| format!("d{i}")));
        }
        for id in &gone {
            assert!(c.delete(id).unwrap());
        }
        c.flush().unwrap();
        // Replacements still only in the memtable: hidden in the merged segment, not dropped.
        c.insert_batch((100..150).map(|i| Document::new(format!("d{i}"), data[i + 6000].clone())))
            .unwrap();
        let stats = c.compact().unwrap();
        assert_eq!(stats.segments_after, 1);
        let s = c.stats().unwrap();
        assert!(s.segments.iter().all(|seg| seg.indexed), "{s:?}");
        assert_eq!(s.doc_count, 7000 - gone.len() as u64);
        let r = recall(&c, &queries, 10);
        assert!(
            r >= 0.95,
            "recall@10 {r} (deleted from largest: {delete_from_largest})"
        );
        for id in &gone {
            assert_eq!(c.get(id).unwrap(), None);
        }
        for i in 100..150 {
            let hits = c.search(Search::new(&data[i + 6000]).top_k(5)).unwrap();
            assert!(hits.iter().any(|h| h.id == format!("d{i}")));
            let d = c.get(&format!("d{i}")).unwrap().unwrap();
            assert_eq!(d.vector, data[i + 6000]);
        }
        c.verify().unwrap();
    }
}
