//! Damage to HNSW index files and payload index files: the database still opens, answers stay
//! valid (filtered, no deleted rows, `k` results: the damaged index is ignored or its damage
//! only affects which neighbours are found), and `verify` names the damaged file.

use ndb::{
    CollectionConfig, Database, Distance, Document, Filter, IndexConfig, PayloadIndexKind, Search,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::path::{Path, PathBuf};

fn build(dir: &Path) {
    let db = Database::open_with_options(
        dir,
        ndb::DatabaseOptions::default().with_background_maintenance(false),
    )
    .unwrap();
    let c = db
        .create_collection(
            "c",
            CollectionConfig::new(8)
                .with_distance(Distance::Euclidean)
                .with_index(
                    IndexConfig::default()
                        .with_min_rows(100)
                        .with_m(8)
                        .with_ef_construction(40)
                        .with_ef_search(32),
                ),
        )
        .unwrap();
    c.create_payload_index("k", PayloadIndexKind::Integer)
        .unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    c.insert_batch((0..600).map(|i| {
        Document::new(
            format!("{i}"),
            (0..8).map(|_| rng.gen_range(-1.0f32..1.0)).collect(),
        )
        .with_payload(json!({"k": i % 5}))
    }))
    .unwrap();
    c.flush().unwrap();
    for i in (0..600).step_by(9) {
        c.delete(&format!("{i}")).unwrap();
    }
    c.flush().unwrap();
}

fn file_with_ext(dir: &Path, ext: &str) -> PathBuf {
    std::fs::read_dir(dir.join("c/segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == ext))
        .unwrap()
}

fn check_answers(dir: &Path) -> ndb::Result<()> {
    let db = Database::open(dir)?;
    let c = db.get_collection("c")?;
    let q = [0.1f32, -0.2, 0.3, 0.0, 0.5, -0.5, 0.2, 0.1];
    for filter in [None, Some(Filter::eq("k", 2)), Some(Filter::gte("k", 1))] {
        let mut s = Search::new(&q).top_k(10);
        if let Some(f) = &filter {
            s = s.filter(f.clone());
        }
        let hits = c.search(s)?;
        assert_eq!(hits.len(), 10);
        for m in &hits {
            let i: usize = m.id.parse().unwrap();
            assert!(!i.is_multiple_of(9), "deleted {i} returned");
            if let Some(f) = &filter {
                assert!(f.matches(m.payload.as_ref()), "{} does not match {f}", m.id);
            }
            let exact = c.get(&m.id)?.unwrap();
            let d: f32 = exact
                .vector
                .iter()
                .zip(&q)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f32>()
                .sqrt();
            assert!(
                (m.score + d).abs() < 1e-4,
                "score of {} is not its distance",
                m.id
            );
        }
    }
    Ok(())
}

#[test]
fn damaged_index_files_never_give_wrong_answers_and_verify_names_them() {
    for ext in ["hnsw", "pidx"] {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path());
        let path = file_with_ext(dir.path(), ext);
        let pristine = std::fs::read(&path).unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let mut detected = 0;
        let trials = 60;
        for t in 0..trials {
            let mut bytes = pristine.clone();
            if t % 10 == 9 {
                bytes.truncate(rng.gen_range(0..bytes.len()));
            } else {
                let at = rng.gen_range(0..bytes.len());
                bytes[at] ^= 1 << rng.gen_range(0..8);
            }
            std::fs::write(&path, &bytes).unwrap();
            check_answers(dir.path()).unwrap_or_else(|e| panic!("{ext} trial {t}: {e}"));
            let db = Database::open(dir.path()).unwrap();
            match db.get_collection("c").unwrap().verify() {
                Err(ndb::Error::Corruption { file, .. }) => {
                    assert_eq!(file, path, "{ext} trial {t}");
                    detected += 1;
                }
                Err(e) => panic!("{ext} trial {t}: unexpected {e}"),
                // Only the reserved bytes of the index header are unchecked.
                Ok(()) => assert_eq!(ext, "hnsw", "{ext} trial {t}: damage went unnoticed"),
            }
        }
        std::fs::write(&path, &pristine).unwrap();
        check_answers(dir.path()).unwrap();
        println!("{ext}: {detected}/{trials} damaged files reported by verify");
        assert!(
            detected >= trials * 9 / 10,
            "{ext}: only {detected}/{trials} detected"
        );
    }
}
