//! Helpers shared by the CLI integration tests: run the `ndb` binary, sample databases and
//! input files.
#![allow(dead_code)] // each test binary uses a part

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Out {
    fn from(o: Output) -> Self {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub fn ndb(args: &[&str]) -> Out {
    Command::new(env!("CARGO_BIN_EXE_ndb"))
        .args(args)
        .output()
        .expect("run ndb")
        .into()
}

/// Run and expect success; returns stdout.
pub fn ok(args: &[&str]) -> String {
    let o = ndb(args);
    assert_eq!(o.code, 0, "ndb {args:?} failed: {}{}", o.stdout, o.stderr);
    o.stdout
}

/// Run and expect failure with `code`; returns stderr, checked to be one `error: ` line.
pub fn fails(args: &[&str], code: i32) -> String {
    let o = ndb(args);
    assert_eq!(
        o.code, code,
        "ndb {args:?}: expected exit {code}; stdout {:?} stderr {:?}",
        o.stdout, o.stderr
    );
    let last = o.stderr.lines().last().unwrap_or_default();
    if code != 2 {
        assert_eq!(o.stderr.lines().count(), 1, "one line: {:?}", o.stderr);
    }
    assert!(
        o.stderr.starts_with("error: ") || last.starts_with("For more information"),
        "{:?}",
        o.stderr
    );
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    o.stderr
}

pub fn json_of(args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    serde_json::from_str(&ok(&a)).expect("valid JSON output")
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// The arguments `import <db> <coll> <file> --create`, then `more`: an import into a new
/// collection.
pub fn import_new<'a>(
    db: &'a Path,
    coll: &'a str,
    file: &'a Path,
    more: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec!["import", p(db), coll, p(file), "--create"];
    args.extend_from_slice(more);
    args
}

/// Documents by id: (vector, payload).
pub type Docs = BTreeMap<String, (Vec<f32>, Value)>;

/// Every document of a collection.
pub fn dump(db: &Path, coll: &str) -> Docs {
    parse_jsonl(&ok(&["export", p(db), coll]))
}

pub fn parse_jsonl(text: &str) -> Docs {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON line");
            let id = match &v["id"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let vector = v["vector"]
                .as_array()
                .expect("vector")
                .iter()
                .map(|x| x.as_f64().expect("number") as f32)
                .collect();
            (
                id,
                (vector, v.get("payload").cloned().unwrap_or(Value::Null)),
            )
        })
        .collect()
}

pub fn doc_count(db: &Path, coll: &str) -> u64 {
    json_of(&["stats", p(db), coll])["doc_count"]
        .as_u64()
        .expect("doc_count")
}

/// A temporary directory, and the path in it (`db`) of a database not created yet.
pub fn new_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    (dir, db)
}

/// Write `contents` to the file `name` in `dir`; returns its path.
pub fn write_file(dir: impl AsRef<Path>, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.as_ref().join(name);
    std::fs::write(&path, contents).expect("write");
    path
}

/// A database with collection `docs` (dot product, dim 4) holding `sample_jsonl()`.
pub fn sample_db() -> (tempfile::TempDir, PathBuf) {
    let (dir, db) = new_db();
    let file = write_file(&dir, "docs.jsonl", sample_jsonl());
    ok(&["create", p(&db), "docs", "--dim", "4", "--distance", "dot"]);
    ok(&["import", p(&db), "docs", p(&file)]);
    (dir, db)
}

pub fn sample_jsonl() -> String {
    let lines = [
        json!({"id": "a", "vector": [1.0, 0.0, 0.0, 0.0], "payload": {"lang": "en", "year": 2020, "author": {"name": "x"}}}),
        json!({"id": "b", "vector": [0.0, 1.0, 0.0, 0.0], "payload": {"lang": "de", "year": 2021, "tags": ["t1", "t2"]}}),
        json!({"id": "c", "vector": [0.5, 0.5, 0.0, 0.0]}),
        json!({"id": "d", "vector": [0.9, 0.1, 0.25, -1.5e-3], "payload": {"lang": "en", "year": 2024}}),
        json!({"id": "e", "vector": [-1.0, 0.0, 0.0, 0.125], "payload": {"s": "unicode ✓ \"quoted\""}}),
    ];
    let mut s: String = lines.iter().map(|l| format!("{l}\n")).collect();
    s.push('\n'); // a blank line is allowed
    s
}

/// Write `rows` as the .fvecs file `name` in `dir`; returns its path.
pub fn write_fvecs(dir: impl AsRef<Path>, name: &str, rows: &[Vec<f32>]) -> PathBuf {
    let mut b = Vec::new();
    for r in rows {
        b.extend_from_slice(&(r.len() as i32).to_le_bytes());
        for x in r {
            b.extend_from_slice(&x.to_le_bytes());
        }
    }
    write_file(dir, name, b)
}

/// Write `rows` as the .npy file (float32, C order) `name` in `dir`; returns its path.
pub fn write_npy(dir: impl AsRef<Path>, name: &str, rows: &[Vec<f32>]) -> PathBuf {
    let dim = rows[0].len();
    let mut dict = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {dim}), }}",
        rows.len()
    );
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    b.extend_from_slice(dict.as_bytes());
    for r in rows {
        for x in r {
            b.extend_from_slice(&x.to_le_bytes());
        }
    }
    write_file(dir, name, b)
}

/// Deterministic pseudo-random rows.
pub fn rows(n: usize, dim: usize) -> Vec<Vec<f32>> {
    let mut s = 0x1234_5678_u64;
    (0..n)
        .map(|_| {
            (0..dim)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
                })
                .collect()
        })
        .collect()
}
