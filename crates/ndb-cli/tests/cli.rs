//! Integration tests of the `ndb` binary: every subcommand's happy path, import → export round
//! trips, and bad input (each with its message and exit code, leaving the database unchanged).

mod common;

use common::*;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Happy paths

#[test]
fn create_list_stats_drop() {
    let (_dir, db) = new_db();
    let out = ok(&["create", p(&db), "docs", "--dim", "3"]);
    assert!(out.contains("created collection \"docs\""), "{out}");
    ok(&[
        "create",
        p(&db),
        "imgs",
        "--dim",
        "8",
        "--distance",
        "euclidean",
        "--durability",
        "fsync",
        "--m",
        "8",
        "--ef-construction",
        "50",
        "--ef-search",
        "32",
        "--index-min-rows",
        "100",
        "--flush-threshold",
        "1MiB",
    ]);
    let table = ok(&["list", p(&db)]);
    assert!(table.starts_with("COLLECTION"), "{table}");
    assert!(table.contains("docs") && table.contains("imgs"), "{table}");
    let list = json_of(&["list", p(&db)]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["name"], "imgs");
    assert_eq!(list[1]["config"]["distance"], "euclidean");

    let s = json_of(&["stats", p(&db), "imgs"]);
    assert_eq!(s["config"]["dim"], 8);
    assert_eq!(s["config"]["durability"], "fsync");
    assert_eq!(s["config"]["flush_threshold_bytes"], 1 << 20);
    assert_eq!(
        s["config"]["index"],
        json!({"m": 8, "ef_construction": 50, "ef_search": 32, "min_rows": 100})
    );
    assert_eq!(s["doc_count"], 0);
    let text = ok(&["stats", p(&db), "docs"]);
    assert!(
        text.contains("cosine") && text.contains("documents"),
        "{text}"
    );

    let err = fails(&["create", p(&db), "docs", "--dim", "3"], 1);
    assert!(err.contains("already exists"), "{err}");

    assert!(ok(&["drop", p(&db), "docs"]).contains("dropped"));
    let list = json_of(&["list", p(&db)]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let err = fails(&["drop", p(&db), "docs"], 1);
    assert!(err.contains("no collection named \"docs\""), "{err}");
}

#[test]
fn jsonl_import_export_round_trip_with_payloads() {
    let (dir, db) = sample_db();
    let input = parse_jsonl(&sample_jsonl());
    assert_eq!(input.len(), 5);
    assert_eq!(dump(&db, "docs"), input);

    // Export to a file, import that into a new collection: the same documents again.
    let out = dir.path().join("out.jsonl");
    let msg = ok(&["export", p(&db), "docs", p(&out)]);
    assert!(msg.contains("exported 5 documents"), "{msg}");
    assert_eq!(parse_jsonl(&std::fs::read_to_string(&out).unwrap()), input);
    let r = json_of(&import_new(&db, "copy", &out, &["--distance", "dot"]));
    assert_eq!(r["imported"], 5);
    assert_eq!(dump(&db, "copy"), input);

    // Importing again replaces by id.
    ok(&["import", p(&db), "copy", p(&out)]);
    assert_eq!(doc_count(&db, "copy"), 5);
}

#[test]
fn fvecs_import_export_round_trip() {
    let (dir, db) = new_db();
    let data = rows(300, 16);
    let input = write_fvecs(&dir, "base.fvecs", &data);
    let r = json_of(&import_new(
        &db,
        "base",
        &input,
        &["--distance", "euclidean", "--batch", "64"],
    ));
    assert_eq!(r["imported"], 300);
    assert_eq!(r["format"], "fvecs");
    let s = json_of(&["stats", p(&db), "base"]);
    assert_eq!(s["config"]["dim"], 16);
    assert_eq!(s["doc_count"], 300);

    // Byte for byte through .fvecs; ids are the row numbers.
    let out = dir.path().join("out.fvecs");
    ok(&["export", p(&db), "base", p(&out)]);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&input).unwrap());
    let docs = dump(&db, "base");
    assert_eq!(docs.len(), 300);
    assert_eq!(docs["7"].0, data[7]);

    // And through .npy.
    let npy = dir.path().join("out.npy");
    ok(&["export", p(&db), "base", p(&npy)]);
    ok(&import_new(
        &db,
        "again",
        &npy,
        &["--distance", "euclidean"],
    ));
    let out2 = dir.path().join("out2.fvecs");
    ok(&["export", p(&db), "again", p(&out2), "--format", "fvecs"]);
    assert_eq!(
        std::fs::read(&out2).unwrap(),
        std::fs::read(&input).unwrap()
    );
}

#[test]
fn npy_import_with_payload_file() {
    let (dir, db) = new_db();
    let data = rows(4, 5);
    let npy = write_npy(&dir, "emb.npy", &data);
    let payloads = write_file(
        &dir,
        "meta.jsonl",
        "{\"n\": 0}\nnull\n\n{\"n\": 3, \"lang\": \"en\"}\n",
    );
    ok(&[
        "import",
        p(&db),
        "emb",
        p(&npy),
        "--payloads",
        p(&payloads),
        "--create",
        "--dim",
        "5",
        "--distance",
        "dot",
    ]);
    let d = json_of(&["get", p(&db), "emb", "3"]);
    assert_eq!(d["payload"], json!({"n": 3, "lang": "en"}));
    assert_eq!(d["vector"].as_array().unwrap().len(), 5);
    assert_eq!(
        json_of(&["get", p(&db), "emb", "1"])["payload"],
        Value::Null
    );
    let text = ok(&["get", p(&db), "emb", "0"]);
    assert!(text.contains("{\"n\":0}"), "{text}");

    // A payload file with fewer lines than rows is refused, and nothing is written.
    std::fs::write(&payloads, "{\"n\": 0}\n").unwrap();
    let err = fails(
        &[
            "import",
            p(&db),
            "emb2",
            p(&npy),
            "--payloads",
            p(&payloads),
            "--create",
        ],
        1,
    );
    assert!(err.contains("meta.jsonl has 1 lines"), "{err}");
    assert_eq!(json_of(&["list", p(&db)]).as_array().unwrap().len(), 1);
}

/// The ids of a search's JSON hits, best first.
fn hit_ids(hits: &Value) -> Vec<&str> {
    hits.as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect()
}

#[test]
fn search_get_delete() {
    let (dir, db) = sample_db();
    let query = ["search", p(&db), "docs", "--vector", "[1, 0, 0, 0]"];
    let hits = json_of(&[&query[..], &["-k", "3"]].concat());
    let ids = hit_ids(&hits);
    assert_eq!(ids, ["a", "d", "c"]);
    assert_eq!(hits[0]["score"], 1.0);
    assert_eq!(hits[0]["payload"]["lang"], "en");

    let table = ok(&[&query[..], &["-k", "2", "--exact"]].concat());
    assert!(table.starts_with("RANK"), "{table}");
    assert!(table.contains("2 results"), "{table}");

    // Filter, and --id (the document itself is left out).
    let hits = json_of(&[
        "search",
        p(&db),
        "docs",
        "--id",
        "a",
        "--filter",
        r#"{"lang": "en", "year": {"$gte": 2021}}"#,
    ]);
    assert_eq!(hits.as_array().unwrap().len(), 1);
    assert_eq!(hits[0]["id"], "d");
    let hits = json_of(&["search", p(&db), "docs", "--id", "a", "-k", "2"]);
    let ids = hit_ids(&hits);
    assert_eq!(ids, ["d", "c"]);

    // --vector-file takes an exported line too; --ef and --threads are accepted.
    let q = write_file(&dir, "q.json", r#"{"id": "x", "vector": [0, 1, 0, 0]}"#);
    let hits = json_of(&[
        "search",
        p(&db),
        "docs",
        "--vector-file",
        p(&q),
        "-k",
        "1",
        "--ef",
        "100",
        "--threads",
        "1",
    ]);
    assert_eq!(hits[0]["id"], "b");

    let d = json_of(&["get", p(&db), "docs", "b"]);
    assert_eq!(
        d,
        json!({"id": "b", "vector": [0.0, 1.0, 0.0, 0.0], "payload": {"lang": "de", "year": 2021, "tags": ["t1", "t2"]}})
    );
    assert!(ok(&["delete", p(&db), "docs", "b"]).contains("deleted"));
    let err = fails(&["get", p(&db), "docs", "b"], 1);
    assert!(err.contains("no document with id \"b\""), "{err}");
    fails(&["delete", p(&db), "docs", "b"], 1);
    assert_eq!(doc_count(&db, "docs"), 4);
}

#[test]
fn verify_reports_damage_with_file_and_offset() {
    let (_dir, db) = sample_db();
    let out = ok(&["verify", p(&db)]);
    assert!(out.contains("docs") && out.contains("ok"), "{out}");
    let v = json_of(&["verify", p(&db), "docs"]);
    assert_eq!(v["ok"], true);

    // Flip a byte in the segment file.
    let seg_dir = db.join("docs").join("segments");
    let seg = std::fs::read_dir(&seg_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "ndb"))
        .expect("a segment file");
    let mut bytes = std::fs::read(&seg).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x55;
    std::fs::write(&seg, bytes).unwrap();

    let o = ndb(&["verify", p(&db)]);
    assert_eq!(o.code, 3, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("DAMAGED"), "{}", o.stdout);
    assert!(
        o.stdout.contains("000001.ndb") && o.stdout.contains("offset"),
        "{}",
        o.stdout
    );
    assert!(
        o.stderr
            .starts_with("error: damage found in 1 of 1 collection"),
        "{}",
        o.stderr
    );
    let o = ndb(&["--json", "verify", p(&db)]);
    assert_eq!(o.code, 3);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["collections"][0]["status"], "damaged");
    assert!(v["collections"][0]["problem"]["file"]
        .as_str()
        .unwrap()
        .ends_with(".ndb"));
    assert!(v["collections"][0]["problem"]["offset"].is_u64());
}

#[test]
fn index_rebuild_and_delete() {
    let (_dir, db) = sample_db();
    let r = json_of(&["index", p(&db), "docs", "--rebuild"]);
    assert_eq!(r["has_index"], true);
    assert_eq!(r["indexed_docs"], 5);
    let stats = json_of(&["stats", p(&db), "docs"]);
    assert_eq!(stats["has_index"], true);
    assert_eq!(stats["index_backlog_rows"], 0);
    assert_eq!(stats["index_enabled"], true);
    assert!(ok(&["stats", p(&db), "docs"]).contains("waiting for graphs"));
    // Approximate search over the index still finds the nearest.
    let hits = json_of(&[
        "search",
        p(&db),
        "docs",
        "--vector",
        "[0, 1, 0, 0]",
        "-k",
        "1",
    ]);
    assert_eq!(hits[0]["id"], "b");
    assert!(ok(&["index", p(&db), "docs", "--delete"]).contains("deleted"));
    assert_eq!(json_of(&["stats", p(&db), "docs"])["has_index"], false);
    fails(&["index", p(&db), "docs"], 2);
}

#[test]
fn skip_invalid_imports_the_valid_rows() {
    let (dir, db) = sample_db();
    let f = write_file(
        &dir,
        "mixed.jsonl",
        concat!(
            "{\"id\": \"m1\", \"vector\": [1, 1, 1, 1]}\n",
            "{\"id\": \"m2\", \"vector\": [1, 1]}\n",
            "not json\n",
            "{\"id\": \"m4\", \"vector\": [2, 2, 2, 2], \"payload\": 5}\n",
            "{\"id\": \"m5\", \"vector\": [3, 3, 3, 3], \"payload\": {\"ok\": true}}\n",
        ),
    );
    let o = ndb(&["--json", "import", p(&db), "docs", p(&f), "--skip-invalid"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(r["imported"], 2);
    assert_eq!(r["skipped"], 3);
    assert!(
        o.stderr.contains("line 2") && o.stderr.contains("line 3") && o.stderr.contains("line 4"),
        "{}",
        o.stderr
    );
    assert_eq!(doc_count(&db, "docs"), 7);
}

#[test]
fn help_has_examples_and_exit_codes() {
    let top = ok(&["--help"]);
    assert!(
        top.contains("Exit codes") && top.contains("Examples"),
        "{top}"
    );
    for cmd in [
        "create", "list", "drop", "stats", "import", "search", "get", "delete", "export", "verify",
        "index", "compact", "bench",
    ] {
        let h = ok(&[cmd, "--help"]);
        assert!(
            h.contains("Example"),
            "ndb {cmd} --help has no example:\n{h}"
        );
    }
    assert!(ok(&["--version"]).starts_with("ndb "));
    assert_eq!(ndb(&[]).code, 2);
    fails(&["frobnicate"], 2);
}

#[test]
fn bench_without_harness_or_dataset_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let o = ndb(&["bench", p(&dir.path().join("no-such-dataset"))]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("ndb-search-bench"), "{}", o.stderr);
}

// ---------------------------------------------------------------------------------------------
// Bad input: a clear message, the right exit code, and the database unchanged.

/// The sample database after an import of a bad input file into `docs` was refused.
struct Refused {
    dir: tempfile::TempDir,
    db: std::path::PathBuf,
    /// The documents before the import (and after it: that is checked).
    before: Docs,
    input: std::path::PathBuf,
    /// The error message.
    err: String,
}

/// Import the file `name` holding `contents` into the sample database's `docs`: it must fail
/// with exit code 1 and leave the documents as they were.
fn refused_import(name: &str, contents: &str) -> Refused {
    let (dir, db) = sample_db();
    let before = dump(&db, "docs");
    let input = write_file(&dir, name, contents);
    let err = fails(&["import", p(&db), "docs", p(&input)], 1);
    assert_eq!(dump(&db, "docs"), before);
    Refused {
        dir,
        db,
        before,
        input,
        err,
    }
}

#[test]
fn malformed_json_line_is_named_and_nothing_is_imported() {
    let refused = refused_import(
        "bad.jsonl",
        "{\"id\": \"n1\", \"vector\": [1, 2, 3, 4]}\n{\"id\": \"n2\", \"vector\": [1, 2, 3, 4]}\n{\"id\": \"n3\", \"vector\": [1, 2,\n",
    );
    let (db, err) = (&refused.db, &refused.err);
    assert!(err.contains("bad.jsonl line 3"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    // With --create, no collection is created either.
    fails(
        &["import", p(db), "fresh", p(&refused.input), "--create"],
        1,
    );
    assert!(!ok(&["list", p(db)]).contains("fresh"));
}

#[test]
fn wrong_dimension_is_refused() {
    let refused = refused_import(
        "dim.jsonl",
        "{\"id\": \"n1\", \"vector\": [1, 2, 3, 4]}\n{\"id\": \"n2\", \"vector\": [1, 2, 3]}\n",
    );
    let (dir, db, before, err) = (&refused.dir, &refused.db, &refused.before, &refused.err);
    assert!(
        err.contains("dim.jsonl line 2") && err.contains("expected 4, got 3"),
        "{err}"
    );

    // Binary input of the wrong dimension, and a query of the wrong dimension.
    let fv = write_fvecs(dir, "v.fvecs", &rows(3, 5));
    let err = fails(&["import", p(db), "docs", p(&fv)], 1);
    assert!(
        err.contains("v.fvecs row 0") && err.contains("expected 4, got 5"),
        "{err}"
    );
    let err = fails(&["search", p(db), "docs", "--vector", "[1, 2]"], 1);
    assert!(err.contains("expected 4, got 2"), "{err}");
    assert_eq!(dump(db, "docs"), *before);
}

#[test]
fn unknown_collection() {
    let (dir, db) = sample_db();
    let f = dir.path().join("docs.jsonl");
    for args in [
        vec!["import", p(&db), "nope", p(&f)],
        vec!["stats", p(&db), "nope"],
        vec!["search", p(&db), "nope", "--vector", "[1,0,0,0]"],
        vec!["get", p(&db), "nope", "a"],
        vec!["export", p(&db), "nope"],
        vec!["verify", p(&db), "nope"],
    ] {
        let err = fails(&args, 1);
        assert!(
            err.contains("no collection named \"nope\""),
            "{args:?}: {err}"
        );
    }
    assert_eq!(json_of(&["list", p(&db)]).as_array().unwrap().len(), 1);
    let err = fails(&["list", p(&dir.path().join("no-db"))], 1);
    assert!(err.contains("no database at"), "{err}");
    assert!(!dir.path().join("no-db").exists());
}

#[test]
fn missing_input_file() {
    let (dir, db) = sample_db();
    let missing = dir.path().join("missing.jsonl");
    let err = fails(&["import", p(&db), "docs", p(&missing)], 1);
    assert!(
        err.contains("missing.jsonl") && err.contains("No such file"),
        "{err}"
    );
    let err = fails(
        &[
            "import",
            p(&db),
            "fresh",
            p(&missing),
            "--create",
            "--dim",
            "4",
        ],
        1,
    );
    assert!(err.contains("missing.jsonl"), "{err}");
    assert_eq!(json_of(&["list", p(&db)]).as_array().unwrap().len(), 1);
    let err = fails(&["search", p(&db), "docs", "--vector-file", p(&missing)], 1);
    assert!(err.contains("missing.jsonl"), "{err}");
    let err = fails(
        &["import", p(&db), "docs", p(&dir.path().join("data.csv"))],
        2,
    );
    assert!(err.contains("--format"), "{err}");
}

#[test]
fn bad_filter_json() {
    let (_dir, db) = sample_db();
    let with_filter = |filter| {
        let args = [
            "search",
            p(&db),
            "docs",
            "--vector",
            "[1,0,0,0]",
            "--filter",
            filter,
        ];
        fails(&args, 2)
    };
    let err = with_filter("{lang: en}");
    assert!(
        err.contains("--filter") && err.contains("not valid JSON"),
        "{err}"
    );
    let err = with_filter(r#"{"year": {"$around": 3}}"#);
    assert!(err.contains("$around"), "{err}");
    let err = fails(&["search", p(&db), "docs", "--vector", "[1, zero]"], 2);
    assert!(err.contains("--vector"), "{err}");
}

#[test]
fn locked_database() {
    let (dir, db) = sample_db();
    let before = dump(&db, "docs");
    let f = write_file(
        &dir,
        "more.jsonl",
        "{\"id\": \"z\", \"vector\": [1, 2, 3, 4]}\n",
    );
    {
        let _writer = ndb::Database::open(&db).expect("open the database in the test process");
        for args in [
            vec!["import", p(&db), "docs", p(&f)],
            vec!["delete", p(&db), "docs", "a"],
            vec!["create", p(&db), "other", "--dim", "2"],
            vec!["drop", p(&db), "docs"],
            vec!["index", p(&db), "docs", "--rebuild"],
        ] {
            let err = fails(&args, 4);
            assert!(err.contains("locked by another writer"), "{args:?}: {err}");
        }
        // Read-only commands still work.
        assert_eq!(dump(&db, "docs"), before);
        assert!(ok(&["list", p(&db)]).contains("docs"));
        ok(&["verify", p(&db)]);
    }
    assert_eq!(dump(&db, "docs"), before);
    assert_eq!(json_of(&["list", p(&db)]).as_array().unwrap().len(), 1);
    ok(&["import", p(&db), "docs", p(&f)]);
    assert_eq!(doc_count(&db, "docs"), 6);
}

#[test]
fn compact_drops_deleted_rows() {
    let (dir, db) = sample_db();
    // A second segment that replaces "a", then delete "b".
    let f = write_file(
        &dir,
        "more.jsonl",
        "{\"id\": \"a\", \"vector\": [0, 0, 1, 0]}\n",
    );
    ok(&["import", p(&db), "docs", p(&f)]);
    ok(&["delete", p(&db), "docs", "b"]);
    let before = dump(&db, "docs");
    let r = json_of(&["compact", p(&db), "docs"]);
    assert_eq!(r["segments_after"], 1);
    assert_eq!(r["docs_after"], 4);
    // Background maintenance may already have rewritten the mostly deleted segment after the
    // flush that `compact` starts with; either way no deleted row is left.
    assert!(r["docs_before"].as_u64().unwrap() >= 4, "{r}");
    assert_eq!(dump(&db, "docs"), before);
    let s = json_of(&["stats", p(&db), "docs"]);
    assert_eq!(s["segment_count"], 1);
    assert_eq!(s["deleted_count"], 0);
    assert!(ok(&["compact", p(&db), "docs"]).contains("compacted"));
}
