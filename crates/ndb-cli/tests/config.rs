//! `ndb config`: show and change a collection's settings (issue 18).

mod common;
use common::{fails, json_of, ok, p, sample_db};

#[test]
fn config_shows_and_changes_settings_that_may_change() {
    let (_dir, db) = sample_db();
    let shown = json_of(&["config", p(&db), "docs"]);
    assert_eq!(shown["config"]["dim"], 4);
    assert_eq!(shown["config"]["durability"], "buffered");
    let changed = json_of(&[
        "config",
        p(&db),
        "docs",
        "durability=fsync",
        "ef_search=200",
        "m=24",
    ]);
    assert_eq!(changed["config"]["durability"], "fsync");
    assert_eq!(changed["config"]["index"]["ef_search"], 200);
    assert_eq!(changed["config"]["index"]["m"], 24);
    let text = ok(&["config", p(&db), "docs"]);
    assert!(
        text.contains("fsync durability") && text.contains("ef_search 200"),
        "{text}"
    );
}

#[test]
fn config_refuses_what_cannot_change_and_changes_nothing() {
    let (_dir, db) = sample_db();
    let before = json_of(&["config", p(&db), "docs"]);
    let err = fails(&["config", p(&db), "docs", "dim=8"], 1);
    assert!(err.contains("cannot change after creation"), "{err}");
    fails(&["config", p(&db), "docs", "distance=euclidean"], 1);
    fails(&["config", p(&db), "docs", "m=1"], 1);
    fails(&["config", p(&db), "docs", "ef_search"], 2);
    fails(
        &["config", p(&db), "docs", "ef_search=200", "colour=blue"],
        1,
    );
    assert_eq!(json_of(&["config", p(&db), "docs"]), before);
}

#[test]
fn quantization_is_chosen_at_create_shown_by_stats_and_changeable() {
    let (dir, db) = common::new_db();
    let file = common::write_fvecs(dir.path(), "v.fvecs", &common::rows(300, 40));
    ok(&common::import_new(
        &db,
        "q",
        &file,
        &["--quantization", "int8"],
    ));
    let stats = json_of(&["stats", p(&db), "q", "--json"]);
    assert_eq!(stats["config"]["quantization"], "int8");
    assert_eq!(stats["quantization"], "int8");
    assert_eq!(stats["quantized_docs"], 300);
    assert_eq!(stats["segments"][0]["quantization"], "int8");
    assert!(stats["code_bytes"].as_u64().unwrap() > 300 * 40);
    let text = ok(&["stats", p(&db), "q"]);
    assert!(text.contains("int8 codes"), "{text}");
    let hits = json_of(&[
        "search",
        p(&db),
        "q",
        "--id",
        "0",
        "-k",
        "3",
        "--oversampling",
        "3",
        "--json",
    ]);
    assert_eq!(hits.as_array().unwrap().len(), 3, "{hits}");
    let err = fails(
        &["search", p(&db), "q", "--id", "0", "--oversampling", "0"],
        1,
    );
    assert!(err.contains("oversampling"), "{err}");
    let changed = json_of(&["config", p(&db), "q", "quantization=binary"]);
    assert_eq!(changed["config"]["quantization"], "binary");
    fails(&["config", p(&db), "q", "quantization=pq"], 1);
}
