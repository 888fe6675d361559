//! Small CLI defects of issue 12, item 9, one test each: search limits, help defaults, bounded
//! input reads, escaped ids, byte-order marks, --dim 0, .npy trailing bytes, cleanup after a
//! failed `import --create`, and an import that reports its index build.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

#[test]
fn search_k_zero_is_the_same_error_for_id_and_vector() {
    let (_dir, db) = sample_db();
    let by_vector = fails(
        &["search", p(&db), "docs", "--vector", "[1,0,0,0]", "-k", "0"],
        2,
    );
    let by_id = fails(&["search", p(&db), "docs", "--id", "a", "-k", "0"], 2);
    assert_eq!(by_vector, by_id);
    assert!(by_id.contains("-k must be between 1 and"), "{by_id}");
}

#[test]
fn search_k_limit_is_about_what_the_user_asked() {
    let (_dir, db) = sample_db();
    let max = ndb::TOP_K_MAX.to_string();
    let hits = json_of(&["search", p(&db), "docs", "--id", "a", "-k", &max]);
    assert_eq!(hits.as_array().unwrap().len(), 4, "every other document");
    let over = (ndb::TOP_K_MAX + 1).to_string();
    for query in [["--id", "a"], ["--vector", "[1,0,0,0]"]] {
        let mut args = vec!["search", p(&db), "docs"];
        args.extend(query);
        args.extend(["-k", &over]);
        let err = fails(&args, 2);
        assert!(err.contains(&format!("got {over}")), "{err}");
    }
}

#[test]
fn ef_search_default_in_help_and_guide_is_the_librarys() {
    let ef = ndb::CollectionConfig::new(1).index().ef_search;
    for cmd in ["create", "import"] {
        let help = ok(&[cmd, "--help"]);
        let line = help
            .lines()
            .skip_while(|l| !l.contains("--ef-search"))
            .take(3)
            .collect::<String>();
        assert!(line.contains(&format!("[default: {ef}]")), "{cmd}: {line}");
    }
    let guide = include_str!("../../../docs/USER-GUIDE.md");
    assert!(
        guide.contains(&format!("[--ef-search {ef}]")),
        "the user guide's synopsis shows another --ef-search default"
    );
    let (_dir, db) = new_db();
    ok(&["create", p(&db), "c", "--dim", "2"]);
    assert_eq!(
        json_of(&["stats", p(&db), "c"])["config"]["index"]["ef_search"],
        ef
    );
}

/// Run `ndb` with its address space limited to 1 GiB, so that an unbounded read fails in the
/// test instead of taking the machine's memory.
fn ndb_limited(args: &[&str]) -> Out {
    let mut script = String::from("ulimit -v 1048576; exec \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_ndb"))
        .args(args)
        .output()
        .expect("run sh")
        .into()
}

#[test]
fn endless_input_files_are_refused_not_read_without_limit() {
    let (_dir, db) = sample_db();
    let o = ndb_limited(&["search", p(&db), "docs", "--vector-file", "/dev/zero"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("/dev/zero is larger than"),
        "{}",
        o.stderr
    );
    let o = ndb_limited(&["import", p(&db), "docs", "/dev/zero", "--format", "jsonl"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("/dev/zero line 1: longer than"),
        "{}",
        o.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let npy = write_npy(&dir, "v.npy", &rows(2, 4));
    let o = ndb_limited(&["import", p(&db), "docs", p(&npy), "--payloads", "/dev/zero"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("longer than"), "{}", o.stderr);
    assert_eq!(doc_count(&db, "docs"), 5);
}

#[test]
fn ids_are_escaped_in_tables() {
    let (dir, db) = new_db();
    let evil = "x\n   9  forged  1.000000  {}\x1b[2J\u{9b}31m\u{202e}";
    let f = dir.path().join("evil.jsonl");
    let line = json!({"id": evil, "vector": [1.0, 0.0], "payload": {"p": "\u{9b}\n"}});
    std::fs::write(&f, format!("{line}\n")).unwrap();
    ok(&import_new(&db, "c", &f, &["--distance", "dot"]));
    let table = ok(&["search", p(&db), "c", "--vector", "[1,0]"]);
    assert_eq!(
        table.lines().count(),
        3,
        "header, one row, summary: {table:?}"
    );
    for out in [table, ok(&["get", p(&db), "c", evil])] {
        assert!(
            !out.contains(['\x1b', '\u{9b}', '\u{202e}']),
            "raw control characters: {out:?}"
        );
        assert!(out.contains("x\\n   9  forged"), "{out:?}");
    }
    // JSON output keeps the id exact.
    let hits = json_of(&["search", p(&db), "c", "--vector", "[1,0]"]);
    assert_eq!(hits[0]["id"], evil);
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let (dir, db) = new_db();
    let f = write_file(
        &dir,
        "bom.jsonl",
        "\u{feff}{\"id\": \"a\", \"vector\": [1, 0]}\n{\"id\": \"b\", \"vector\": [0, 1]}\n",
    );
    let r = json_of(&import_new(&db, "c", &f, &["--distance", "dot"]));
    assert_eq!(r["imported"], 2);
    let q = write_file(&dir, "q.json", "\u{feff}[0, 1]");
    let hits = json_of(&["search", p(&db), "c", "--vector-file", p(&q), "-k", "1"]);
    assert_eq!(hits[0]["id"], "b");
    let npy = write_npy(&dir, "v.npy", &rows(2, 2));
    let meta = write_file(&dir, "meta.jsonl", "\u{feff}{\"n\": 0}\n{\"n\": 1}\n");
    ok(&[
        "import",
        p(&db),
        "v",
        p(&npy),
        "--payloads",
        p(&meta),
        "--create",
    ]);
    assert_eq!(
        json_of(&["get", p(&db), "v", "0"])["payload"],
        json!({"n": 0})
    );
}

#[test]
fn dim_zero_is_an_argument_error() {
    let (dir, db) = new_db();
    let f = write_file(&dir, "a.jsonl", "{\"id\": \"a\", \"vector\": [1, 0]}\n");
    let err = fails(&["import", p(&db), "c", p(&f), "--create", "--dim", "0"], 2);
    assert!(err.contains("--dim must be between 1 and"), "{err}");
    let err = fails(&["create", p(&db), "c", "--dim", "0"], 2);
    assert!(err.contains("--dim must be between 1 and"), "{err}");
    assert!(!db.exists(), "nothing was created");
}

#[test]
fn npy_with_trailing_bytes_says_so() {
    let (dir, db) = new_db();
    let npy = write_npy(&dir, "v.npy", &rows(3, 4));
    let mut bytes = std::fs::read(&npy).unwrap();
    bytes.extend_from_slice(b"extra");
    std::fs::write(&npy, &bytes).unwrap();
    let err = fails(&["import", p(&db), "v", p(&npy), "--create"], 1);
    assert!(err.contains("5 trailing bytes"), "{err}");
    bytes.truncate(bytes.len() - 9);
    std::fs::write(&npy, &bytes).unwrap();
    let err = fails(&["import", p(&db), "v", p(&npy), "--create"], 1);
    assert!(err.contains("truncated"), "{err}");
}

/// An .fvecs file whose first rows are good and whose later bytes are not one.
fn fvecs_broken_after(dir: &Path, good: usize) -> std::path::PathBuf {
    let f = write_fvecs(dir, "broken.fvecs", &rows(good, 4));
    let mut b = std::fs::read(&f).unwrap();
    b.extend_from_slice(&(-7i32).to_le_bytes());
    std::fs::write(&f, b).unwrap();
    f
}

#[test]
fn failed_import_create_removes_only_what_it_created() {
    let dir = tempfile::tempdir().unwrap();
    // Refused at validation: no database directory is left.
    let db = dir.path().join("db");
    let bad = write_file(
        &dir,
        "bad.jsonl",
        "{\"id\": \"a\", \"vector\": [1, 0]}\nnot json\n",
    );
    fails(&["import", p(&db), "c", p(&bad), "--create"], 1);
    assert!(!db.exists(), "the new database directory was left");
    // Fails part-way with --skip-invalid, after batches were written: the same.
    let f = fvecs_broken_after(dir.path(), 10);
    let import_broken = |db: &Path| {
        fails(
            &import_new(db, "c", &f, &["--skip-invalid", "--batch", "2"]),
            1,
        )
    };
    let err = import_broken(&db);
    assert!(err.contains("removed"), "{err}");
    assert!(!db.exists(), "the new database directory was left");
    // An empty directory the user made stays, empty.
    std::fs::create_dir(&db).unwrap();
    import_broken(&db);
    assert_eq!(std::fs::read_dir(&db).unwrap().count(), 0);
    // In an existing database, only the new collection goes; the others stay.
    let (_d, sample) = sample_db();
    let before = dump(&sample, "docs");
    import_broken(&sample);
    let names: Vec<Value> = json_of(&["list", p(&sample)]).as_array().unwrap().clone();
    assert_eq!(names.len(), 1);
    assert_eq!(dump(&sample, "docs"), before);
}

#[test]
fn import_reports_the_index_build_in_its_time() {
    let (dir, db) = new_db();
    let f = write_fvecs(&dir, "base.fvecs", &rows(3000, 16));
    let r = json_of(&import_new(
        &db,
        "c",
        &f,
        &[
            "--distance",
            "euclidean",
            "--index-min-rows",
            "200",
            "--flush-threshold",
            "32KiB",
            "--batch",
            "100",
        ],
    ));
    assert_eq!(r["imported"], 3000);
    assert_eq!(r["unindexed_docs"], 0, "{r}");
    let s = json_of(&["stats", p(&db), "c"]);
    let due: u64 = s["segments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["rows"].as_u64().unwrap() >= 200)
        .map(|g| g["rows"].as_u64().unwrap())
        .sum();
    assert!(due > 0, "no segment large enough for a graph: {s}");
    assert_eq!(r["indexed_docs"], s["indexed_docs"], "{r} {s}");
    for g in s["segments"].as_array().unwrap() {
        if g["rows"].as_u64().unwrap() >= 200 {
            assert_eq!(g["indexed"], true, "{s}");
        }
    }
    assert!(r["seconds"].as_f64().unwrap() >= r["index_seconds"].as_f64().unwrap());
}
