//! `ndb recover` (issue 18): a damaged database is salvaged into a new one that `ndb verify`
//! accepts; the report (text and `--json`) names what was lost; exit code 3 when something
//! was; the source is byte-identical afterwards; a destination that is not new and empty is
//! refused with nothing written.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("list") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                out.insert(path, bytes);
            }
        }
    }
    out
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// The byte range of section `kind` of a segment file (docs/FORMAT.md, "Segment files").
fn section(b: &[u8], kind: u32) -> std::ops::Range<usize> {
    let count = u32::from_le_bytes(b[48..52].try_into().expect("4 bytes")) as usize;
    let at = (0..count)
        .map(|i| 56 + 32 * i)
        .find(|&at| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes")) == kind)
        .expect("section");
    let off = le_u64(b, at + 8) as usize;
    off..off + le_u64(b, at + 16) as usize
}

/// The row holding `id` and the offset of its payload bytes.
fn row_and_payload(b: &[u8], id: &str) -> (usize, usize) {
    let rows = le_u64(b, 24) as usize;
    let bytes_of = |offsets: u32, data: u32, row: usize| {
        let o = section(b, offsets).start + row * 8;
        let base = section(b, data).start;
        base + le_u64(b, o) as usize..base + le_u64(b, o + 8) as usize
    };
    let row = (0..rows)
        .find(|&r| &b[bytes_of(2, 3, r)] == id.as_bytes())
        .expect("row of id");
    (row, bytes_of(5, 6, row).start)
}

#[test]
fn an_undamaged_database_is_copied_whole() {
    let (dir, db) = sample_db();
    let before = snapshot(&db);
    let dest = dir.path().join("salvaged");
    let out = ok(&["recover", p(&db), p(&dest)]);
    assert!(out.contains("recovered 5 documents"), "{out}");
    assert!(out.contains("nothing lost"), "{out}");
    assert!(before == snapshot(&db), "the source changed");
    assert_eq!(dump(&dest, "docs"), dump(&db, "docs"));
    ok(&["verify", p(&dest)]);

    let dest = dir.path().join("salvaged-json");
    let v = json_of(&["recover", p(&db), p(&dest)]);
    assert_eq!(v["complete"], Value::Bool(true));
    assert_eq!(v["documents_recovered"], 5);
    assert_eq!(v["rows_lost"], 0);
    let c = &v["collections"][0];
    assert_eq!(c["name"], "docs");
    assert_eq!(c["config_from_manifest"], Value::Bool(true));
    let kinds: Vec<&str> = c["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["kind"].as_str().expect("kind"))
        .collect();
    assert!(
        kinds.contains(&"collection_manifest") && kinds.contains(&"segment"),
        "{kinds:?}"
    );
}

#[test]
fn a_damaged_row_is_reported_and_everything_else_recovered() {
    let (dir, db) = sample_db();
    let seg = db.join("docs/segments/000001.ndb");
    let mut bytes = std::fs::read(&seg).expect("segment");
    let (row, payload_at) = row_and_payload(&bytes, "b");
    bytes[payload_at + 2] ^= 0x20;
    std::fs::write(&seg, &bytes).expect("write");
    fails(&["verify", p(&db)], 3);
    let before = snapshot(&db);

    let dest = dir.path().join("salvaged");
    let o = ndb(&["recover", p(&db), p(&dest)]);
    assert_eq!(o.code, 3, "{}{}", o.stdout, o.stderr);
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);
    assert!(
        o.stderr
            .starts_with("error: the source is damaged (1 segment row lost"),
        "{}",
        o.stderr
    );
    assert!(
        o.stdout
            .contains("docs/segments/000001.ndb: DAMAGED, 4 documents read, 1 row LOST"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains(&format!("row {row}, bytes ")),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("ids \"b\""), "{}", o.stdout);
    assert!(before == snapshot(&db), "the source changed");

    let mut want = parse_jsonl(&sample_jsonl());
    want.remove("b");
    assert_eq!(dump(&dest, "docs"), want);
    ok(&["verify", p(&dest)]);

    let dest = dir.path().join("salvaged-json");
    let o = ndb(&["--json", "recover", p(&db), p(&dest)]);
    assert_eq!(o.code, 3);
    let v: Value = serde_json::from_str(&o.stdout).expect("JSON report");
    assert_eq!(v["complete"], Value::Bool(false));
    assert_eq!(v["documents_recovered"], 4);
    let file = v["collections"][0]["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"] == "docs/segments/000001.ndb")
        .expect("the segment's report");
    assert_eq!(file["rows_lost"], 1);
    let damage = &file["damage"][0];
    assert_eq!(damage["rows"], serde_json::json!([row, row + 1]));
    assert_eq!(damage["ids"], serde_json::json!(["b"]));
    assert!(damage["reason"]
        .as_str()
        .expect("reason")
        .contains("checksum"));
}

#[test]
fn a_destination_that_is_not_new_and_empty_is_refused() {
    let (dir, db) = sample_db();
    let dest = dir.path().join("taken");
    std::fs::create_dir(&dest).expect("mkdir");
    std::fs::write(dest.join("keep.txt"), "mine").expect("write");
    let before = snapshot(&dest);
    let err = fails(&["recover", p(&db), p(&dest)], 1);
    assert!(err.contains("is not an empty directory"), "{err}");
    assert!(before == snapshot(&dest));
    let err = fails(
        &[
            "recover",
            p(&dir.path().join("nothing")),
            p(&dir.path().join("d")),
        ],
        1,
    );
    assert!(err.contains("not an nDB database"), "{err}");
    assert!(!dir.path().join("d").exists());
}

#[test]
fn help_has_examples() {
    let h = ok(&["recover", "--help"]);
    assert!(
        h.contains("Examples") && h.contains("ndb recover data/ salvaged/"),
        "{h}"
    );
    assert!(ok(&["--help"]).contains("ndb recover"));
}
