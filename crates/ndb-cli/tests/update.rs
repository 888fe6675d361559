//! `ndb update`: payload-only updates from the command line (issue 18).

mod common;
use common::{fails, json_of, ok, p, sample_db};
use serde_json::json;

#[test]
fn payload_and_patch_change_the_payload_and_keep_the_vector() {
    let (_dir, db) = sample_db();
    let before = json_of(&["get", p(&db), "docs", "a"]);
    let out = json_of(&[
        "update",
        p(&db),
        "docs",
        "a",
        "--patch",
        r#"{"year": 2025, "author": null, "tags": ["x"]}"#,
    ]);
    let want = json!({"lang": "en", "year": 2025, "tags": ["x"]});
    assert_eq!(out, json!({"updated": "a", "payload": want}));
    let after = json_of(&["get", p(&db), "docs", "a"]);
    assert_eq!(after["payload"], want);
    assert_eq!(after["vector"], before["vector"]);

    let text = ok(&["update", p(&db), "docs", "c", "--payload", r#"{"k": 1}"#]);
    assert!(text.contains(r#"updated "c""#), "{text}");
    assert_eq!(
        json_of(&["get", p(&db), "docs", "c"])["payload"],
        json!({"k": 1})
    );
    ok(&["update", p(&db), "docs", "c", "--payload", "null"]);
    assert_eq!(
        json_of(&["get", p(&db), "docs", "c"])["payload"],
        json!(null)
    );
    // Filters see the new payload.
    let hits = json_of(&[
        "search",
        p(&db),
        "docs",
        "--vector",
        "[1, 0, 0, 0]",
        "--filter",
        r#"{"year": 2025}"#,
    ]);
    let ids: Vec<&str> = hits
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a"]);
}

#[test]
fn bad_updates_fail_with_their_exit_code_and_change_nothing() {
    let (_dir, db) = sample_db();
    let before = json_of(&["get", p(&db), "docs", "b"]);
    let err = fails(&["update", p(&db), "docs", "nope", "--payload", "{}"], 1);
    assert!(err.contains("nope"), "{err}");
    fails(
        &["update", p(&db), "docs", "b", "--payload", "{not json"],
        2,
    );
    // JSON the library refuses as a payload or a patch (exit 1, as for an import).
    let err = fails(&["update", p(&db), "docs", "b", "--payload", "[1, 2]"], 1);
    assert!(err.contains("must be a JSON object"), "{err}");
    fails(&["update", p(&db), "docs", "b", "--patch", "7"], 1);
    fails(&["update", p(&db), "docs", "b"], 2);
    fails(
        &[
            "update",
            p(&db),
            "docs",
            "b",
            "--payload",
            "{}",
            "--patch",
            "{}",
        ],
        2,
    );
    assert_eq!(json_of(&["get", p(&db), "docs", "b"]), before);
}
