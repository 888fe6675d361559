//! Filter tests: a semantics table, parsing and error tables, and a model test against a naive
//! evaluator over random documents and random filter trees.

use std::cmp::Ordering;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

// ---------------------------------------------------------------------------------------------
// Semantics, one row per rule.

/// Check each row: the filter on the payload (`Value::Null`: no payload) gives the expected
/// answer, directly and after a round trip through the JSON form.
fn check_rows(rows: &[(&str, Filter, Value, bool)]) {
    let mut failures = Vec::new();
    for (name, filter, payload, expected) in rows {
        let payload = (!payload.is_null()).then_some(payload);
        if filter.matches(payload) != *expected {
            failures.push(format!(
                "{name}: {filter} on {payload:?} should be {expected}"
            ));
        }
        // The JSON form evaluates the same.
        let reparsed = Filter::from_json(&filter.to_json()).expect("valid filter");
        assert_eq!(reparsed.matches(payload), *expected, "{name} after to_json");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn semantics_of_scalars() {
    #[rustfmt::skip]
    let rows: Vec<(&str, Filter, Value, bool)> = vec![
        // eq / ne on scalars
        ("eq string", Filter::eq("lang", "en"), json!({"lang": "en"}), true),
        ("eq string differs", Filter::eq("lang", "en"), json!({"lang": "de"}), false),
        ("eq is case-sensitive", Filter::eq("lang", "en"), json!({"lang": "EN"}), false),
        ("eq bool", Filter::eq("ok", true), json!({"ok": true}), true),
        ("eq bool vs number", Filter::eq("ok", true), json!({"ok": 1}), false),
        ("eq string vs number", Filter::eq("y", "1"), json!({"y": 1}), false),
        ("ne differs", Filter::ne("lang", "en"), json!({"lang": "de"}), true),
        ("ne equal", Filter::ne("lang", "en"), json!({"lang": "en"}), false),
        ("ne other type", Filter::ne("y", "1"), json!({"y": 1}), true),
        // numbers: ints and floats by value
        ("int eq float", Filter::eq("y", 1), json!({"y": 1.0}), true),
        ("float eq int", Filter::eq("y", 1.0), json!({"y": 1}), true),
        ("negative zero", Filter::eq("y", -0.0), json!({"y": 0}), true),
        ("int ne float", Filter::ne("y", 1), json!({"y": 1.5}), true),
        ("u64 max eq", Filter::eq("y", u64::MAX), json!({"y": u64::MAX}), true),
        ("i64 min lt 0", Filter::lt("y", 0), json!({"y": i64::MIN}), true),
        ("u64 max gt i64 max", Filter::gt("y", i64::MAX), json!({"y": u64::MAX}), true),
        ("2^53+1 gt 2^53 float", Filter::gt("y", 9_007_199_254_740_992.0), json!({"y": 9_007_199_254_740_993_i64}), true),
        ("2^53+1 ne 2^53 float", Filter::eq("y", 9_007_199_254_740_992.0), json!({"y": 9_007_199_254_740_993_i64}), false),
        ("int lt float", Filter::lt("y", 2.5), json!({"y": 2}), true),
        ("int gt float", Filter::gt("y", 2.5), json!({"y": 3}), true),
        ("float gt int", Filter::gt("y", 2), json!({"y": 2.5}), true),
        ("negative float vs int", Filter::lt("y", -2), json!({"y": -2.5}), true),
        ("negative float vs int 2", Filter::gt("y", -3), json!({"y": -2.5}), true),
        ("huge float vs int", Filter::gt("y", 1e300), json!({"y": u64::MAX}), false),
        ("tiny float vs int", Filter::lt("y", -1e300), json!({"y": i64::MIN}), false),
        ("gte equal", Filter::gte("y", 2020), json!({"y": 2020.0}), true),
        ("gt equal", Filter::gt("y", 2020), json!({"y": 2020}), false),
        ("lte equal", Filter::lte("y", 2020), json!({"y": 2020}), true),
        ("lt equal", Filter::lt("y", 2020), json!({"y": 2020}), false),
        // strings order by bytes
        ("string gt", Filter::gt("s", "apple"), json!({"s": "banana"}), true),
        ("string prefix lt", Filter::lt("s", "apple"), json!({"s": "app"}), true),
        ("uppercase before lowercase", Filter::lt("s", "a"), json!({"s": "Z"}), true),
        ("non-ascii after ascii", Filter::gt("s", "z"), json!({"s": "é"}), true),
        ("empty string least", Filter::lt("s", "a"), json!({"s": ""}), true),
        // mixed types never order
        ("string vs number gt", Filter::gt("y", "2000"), json!({"y": 2024}), false),
        ("string vs number lt", Filter::lt("y", "2000"), json!({"y": 2024}), false),
        ("number vs string", Filter::gt("s", 0), json!({"s": "x"}), false),
        ("bool not ordered", Filter::gte("b", 0), json!({"b": false}), false),
        ("null not ordered", Filter::gte("n", 0), json!({"n": null}), false),
        ("object not ordered", Filter::gte("o", 0), json!({"o": {"a": 1}}), false),
    ];
    check_rows(&rows);
}

#[test]
fn semantics_of_sets_and_paths() {
    #[rustfmt::skip]
    let rows: Vec<(&str, Filter, Value, bool)> = vec![
        // in / nin
        ("in hit", Filter::in_("lang", ["en", "de"]), json!({"lang": "de"}), true),
        ("in miss", Filter::in_("lang", ["en", "de"]), json!({"lang": "fr"}), false),
        ("in empty set", Filter::in_("lang", Vec::<Value>::new()), json!({"lang": "fr"}), false),
        ("in mixed numbers", Filter::in_("y", [json!(1.0), json!("x")]), json!({"y": 1}), true),
        ("nin miss", Filter::nin("lang", ["en", "de"]), json!({"lang": "fr"}), true),
        ("nin hit", Filter::nin("lang", ["en", "de"]), json!({"lang": "en"}), false),
        ("nin empty set", Filter::nin("lang", Vec::<Value>::new()), json!({"lang": "fr"}), true),
        // nested paths
        ("nested eq", Filter::eq("author.name", "Ada"), json!({"author": {"name": "Ada"}}), true),
        ("deep nested", Filter::gt("a.b.c.d", 1), json!({"a": {"b": {"c": {"d": 2}}}}), true),
        ("nested missing key", Filter::eq("author.name", "Ada"), json!({"author": {"id": 1}}), false),
        ("nested through scalar", Filter::exists("author.name"), json!({"author": "Ada"}), false),
        ("nested through null", Filter::exists("author.name"), json!({"author": null}), false),
        ("nested through array", Filter::exists("authors.name"), json!({"authors": [{"name": "Ada"}]}), false),
        ("numeric segment is a key", Filter::eq("tags.0", "x"), json!({"tags": ["x"]}), false),
        ("numeric key in object", Filter::eq("m.0", "x"), json!({"m": {"0": "x"}}), true),
        ("dotted key not addressable", Filter::exists("a.b"), json!({"a.b": 1}), false),
        ("object field eq", Filter::eq("a", json!({"b": 1, "c": [1, 2]})), json!({"a": {"c": [1.0, 2], "b": 1.0}}), true),
        ("object field eq extra key", Filter::eq("a", json!({"b": 1})), json!({"a": {"b": 1, "c": 2}}), false),
    ];
    check_rows(&rows);
}

#[test]
fn semantics_of_arrays() {
    let null = Value::Null;
    #[rustfmt::skip]
    let rows: Vec<(&str, Filter, Value, bool)> = vec![
        // arrays: the array or any element
        ("array eq element", Filter::eq("tags", "db"), json!({"tags": ["rust", "db"]}), true),
        ("array eq no element", Filter::eq("tags", "go"), json!({"tags": ["rust", "db"]}), false),
        ("array eq whole", Filter::eq("tags", json!(["rust", "db"])), json!({"tags": ["rust", "db"]}), true),
        ("array eq whole other order", Filter::eq("tags", json!(["db", "rust"])), json!({"tags": ["rust", "db"]}), false),
        ("array eq numeric element", Filter::eq("n", 2), json!({"n": [1.0, 2.0]}), true),
        ("array of arrays one level", Filter::eq("n", 1), json!({"n": [[1]]}), false),
        ("array of arrays element", Filter::eq("n", json!([1])), json!({"n": [[1], [2]]}), true),
        ("array eq null element", Filter::eq("n", null.clone()), json!({"n": [1, null]}), true),
        ("array gt any", Filter::gt("n", 5), json!({"n": [1, 9]}), true),
        ("array lt any", Filter::lt("n", 5), json!({"n": [1, 9]}), true),
        ("array gt none", Filter::gt("n", 10), json!({"n": [1, 9]}), false),
        ("array mixed types gt", Filter::gt("n", 5), json!({"n": ["z", 6]}), true),
        ("empty array eq", Filter::eq("n", 1), json!({"n": []}), false),
        ("empty array eq empty", Filter::eq("n", json!([])), json!({"n": []}), true),
        ("array in", Filter::in_("tags", ["go", "db"]), json!({"tags": ["rust", "db"]}), true),
        ("array in none", Filter::in_("tags", ["go"]), json!({"tags": ["rust", "db"]}), false),
        ("array ne with element", Filter::ne("tags", "db"), json!({"tags": ["rust", "db"]}), false),
        ("array ne without element", Filter::ne("tags", "go"), json!({"tags": ["rust", "db"]}), true),
        ("array ne whole", Filter::ne("tags", json!(["rust", "db"])), json!({"tags": ["rust", "db"]}), false),
        ("empty array ne", Filter::ne("tags", "go"), json!({"tags": []}), true),
        ("array nin with element", Filter::nin("tags", ["db", "go"]), json!({"tags": ["rust", "db"]}), false),
        ("array nin without", Filter::nin("tags", ["go"]), json!({"tags": ["rust", "db"]}), true),
    ];
    check_rows(&rows);
}

#[test]
fn semantics_of_missing_null_and_logic() {
    let null = Value::Null;
    #[rustfmt::skip]
    let rows: Vec<(&str, Filter, Value, bool)> = vec![
        // missing fields never match, ne and nin included
        ("missing eq", Filter::eq("y", 1), json!({}), false),
        ("missing ne", Filter::ne("y", 1), json!({}), false),
        ("missing gt", Filter::gt("y", 1), json!({}), false),
        ("missing lt", Filter::lt("y", 1), json!({}), false),
        ("missing in", Filter::in_("y", [1]), json!({}), false),
        ("missing nin", Filter::nin("y", [1]), json!({}), false),
        ("missing exists", Filter::exists("y"), json!({}), false),
        ("missing eq null", Filter::eq("y", null.clone()), json!({}), false),
        ("no payload ne", Filter::ne("y", 1), Value::Null, false),
        ("non-object payload", Filter::exists("y"), json!([{"y": 1}]), false),
        // null and exists
        ("exists value", Filter::exists("y"), json!({"y": 0}), true),
        ("exists null", Filter::exists("y"), json!({"y": null}), true),
        ("exists nested", Filter::exists("a.b"), json!({"a": {"b": null}}), true),
        ("exists object", Filter::exists("a"), json!({"a": {}}), true),
        ("eq null", Filter::eq("y", null.clone()), json!({"y": null}), true),
        ("eq null vs value", Filter::eq("y", null.clone()), json!({"y": 0}), false),
        ("ne null vs null", Filter::ne("y", null.clone()), json!({"y": null}), false),
        ("ne null vs value", Filter::ne("y", null), json!({"y": 0}), true),
        // not is plain negation
        ("not exists missing", Filter::not(Filter::exists("y")), json!({}), true),
        ("not exists present", Filter::not(Filter::exists("y")), json!({"y": null}), false),
        ("not eq missing", Filter::not(Filter::eq("y", 1)), json!({}), true),
        ("not eq differs", Filter::not(Filter::eq("y", 1)), json!({"y": 2}), true),
        ("not eq equal", Filter::not(Filter::eq("y", 1)), json!({"y": 1.0}), false),
        ("not ne missing", Filter::not(Filter::ne("y", 1)), json!({}), true),
        ("not not", Filter::not(Filter::not(Filter::eq("y", 1))), json!({"y": 1}), true),
        ("not operator", !Filter::exists("y"), json!({}), true),
        // and / or
        ("and both", Filter::and([Filter::eq("lang", "en"), Filter::gte("y", 2020)]), json!({"lang": "en", "y": 2024}), true),
        ("and one", Filter::and([Filter::eq("lang", "en"), Filter::gte("y", 2020)]), json!({"lang": "en", "y": 2019}), false),
        ("and empty", Filter::and([]), json!({}), true),
        ("or one", Filter::or([Filter::eq("lang", "en"), Filter::eq("lang", "de")]), json!({"lang": "de"}), true),
        ("or none", Filter::or([Filter::eq("lang", "en"), Filter::eq("lang", "de")]), json!({"lang": "fr"}), false),
        ("or empty", Filter::or([]), json!({}), false),
        ("or missing vs not", Filter::or([Filter::eq("y", 1), Filter::not(Filter::exists("y"))]), json!({}), true),
    ];
    check_rows(&rows);
}

#[test]
fn no_payload_never_matches_a_field_condition() {
    for f in [
        Filter::eq("a", 1),
        Filter::ne("a", 1),
        Filter::exists("a"),
        Filter::nin("a", [1]),
        Filter::eq("a", Value::Null),
    ] {
        assert!(!f.matches(None), "{f}");
        assert!(Filter::not(f).matches(None));
    }
    assert!(Filter::and([]).matches(None));
}

// ---------------------------------------------------------------------------------------------
// Parsing.

#[test]
fn parse_table() {
    #[rustfmt::skip]
    let rows: Vec<(Value, Filter)> = vec![
        (json!({"lang": "en"}), Filter::eq("lang", "en")),
        (json!({"y": 2020}), Filter::eq("y", 2020)),
        (json!({"y": null}), Filter::eq("y", Value::Null)),
        (json!({"tags": ["a", "b"]}), Filter::eq("tags", json!(["a", "b"]))),
        (json!({"a": {"b": 1}}), Filter::eq("a", json!({"b": 1}))),
        (json!({"a": {}}), Filter::eq("a", json!({}))),
        (json!({"a": {"$eq": {"$gt": 1}}}), Filter::eq("a", json!({"$gt": 1}))),
        (json!({"author.name": "Ada"}), Filter::eq("author.name", "Ada")),
        (json!({"y": {"$eq": 1}}), Filter::eq("y", 1)),
        (json!({"y": {"$ne": 1}}), Filter::ne("y", 1)),
        (json!({"y": {"$gt": 1}}), Filter::gt("y", 1)),
        (json!({"y": {"$gte": 1.5}}), Filter::gte("y", 1.5)),
        (json!({"y": {"$lt": "m"}}), Filter::lt("y", "m")),
        (json!({"y": {"$lte": -1}}), Filter::lte("y", -1)),
        (json!({"y": {"$in": [1, "a"]}}), Filter::in_("y", [json!(1), json!("a")])),
        (json!({"y": {"$in": []}}), Filter::in_("y", Vec::<Value>::new())),
        (json!({"y": {"$nin": [1]}}), Filter::nin("y", [1])),
        (json!({"y": {"$exists": true}}), Filter::exists("y")),
        (json!({"y": {"$exists": false}}), Filter::not(Filter::exists("y"))),
        (json!({"y": {"$not": {"$gt": 5}}}), Filter::not(Filter::gt("y", 5))),
        (json!({"y": {"$not": {"$gt": 1, "$lt": 5}}}), Filter::not(Filter::and([Filter::gt("y", 1), Filter::lt("y", 5)]))),
        // several operators on a field AND (keys in sorted order: serde_json's map)
        (json!({"y": {"$gte": 1, "$lt": 5}}), Filter::and([Filter::gte("y", 1), Filter::lt("y", 5)])),
        // several top-level keys AND
        (json!({"a": 1, "b": 2}), Filter::and([Filter::eq("a", 1), Filter::eq("b", 2)])),
        (json!({}), Filter::and([])),
        (json!({"$and": [{"a": 1}]}), Filter::and([Filter::eq("a", 1)])),
        (json!({"$or": [{"lang": "en"}, {"lang": "de"}]}), Filter::or([Filter::eq("lang", "en"), Filter::eq("lang", "de")])),
        (json!({"$not": {"a": 1}}), Filter::not(Filter::eq("a", 1))),
        (json!({"$not": {}}), Filter::not(Filter::and([]))),
        (
            json!({"year": {"$gte": 2020}, "$or": [{"lang": "en"}, {"lang": "de"}]}),
            Filter::and([
                Filter::or([Filter::eq("lang", "en"), Filter::eq("lang", "de")]),
                Filter::gte("year", 2020),
            ]),
        ),
    ];
    for (json, expected) in rows {
        let parsed = Filter::from_json(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(parsed, expected, "{json}");
        let from_text = Filter::from_json_str(&json.to_string()).expect("parses as text");
        assert_eq!(from_text, expected, "{json} as text");
    }
}

#[test]
fn error_table() {
    #[rustfmt::skip]
    let rows: Vec<(Value, &[&str])> = vec![
        (json!({"y": {"$foo": 1}}), &["unknown operator", "$foo", "\"y\""]),
        (json!({"$foo": 1}), &["unknown operator", "$foo"]),
        (json!({"$gt": 1}), &["$gt", "must be applied to a field"]),
        (json!({"tags": {"$in": "x"}}), &["$in", "\"tags\"", "array", "string \"x\""]),
        (json!({"tags": {"$nin": 3}}), &["$nin", "\"tags\"", "array", "number 3"]),
        (json!({"tags": {"$in": {"a": 1}}}), &["$in", "\"tags\"", "array"]),
        (json!({"$and": {"a": 1}}), &["$and", "non-empty array"]),
        (json!({"$and": []}), &["$and", "non-empty array", "[]"]),
        (json!({"$or": []}), &["$or", "non-empty array"]),
        (json!({"$or": "x"}), &["$or", "non-empty array"]),
        (json!({"$or": [{"a": 1}, 5]}), &["must be a JSON object", "number 5", "$or[1]"]),
        (json!({"x": {"$exists": 1}}), &["$exists", "\"x\"", "true or false", "number 1"]),
        (json!({"x": {"$exists": "yes"}}), &["$exists", "\"x\""]),
        (json!({"year": {"$gt": true}}), &["$gt", "\"year\"", "number or a string", "bool true"]),
        (json!({"year": {"$gte": null}}), &["$gte", "\"year\"", "null"]),
        (json!({"year": {"$lt": [1]}}), &["$lt", "\"year\"", "array"]),
        (json!({"year": {"$lte": {}}}), &["$lte", "\"year\"", "object"]),
        (json!({"$not": 1}), &["$not", "filter object", "number 1"]),
        (json!({"$not": [{"a": 1}]}), &["$not", "filter object"]),
        (json!({"y": {"$not": 5}}), &["$not", "\"y\"", "object of operators", "number 5"]),
        (json!({"y": {"$not": {"a": 1}}}), &["$not", "\"y\"", "object of operators"]),
        (json!({"y": {"$not": {}}}), &["$not", "\"y\""]),
        (json!({"y": {"$and": [{"a": 1}]}}), &["$and", "not allowed on field \"y\""]),
        (json!({"y": {"$gt": 1, "b": 2}}), &["\"y\"", "mixes operators", "$gt", "b"]),
        (json!({"a..b": 1}), &["\"a..b\"", "empty segment", "$eq"]),
        (json!({".a": {"$gt": 1}}), &["\".a\"", "empty segment", "$gt"]),
        (json!({"a.": {"$in": [1]}}), &["\"a.\"", "empty segment", "$in"]),
        (json!({"": 1}), &["path is empty", "$eq"]),
        (json!(5), &["must be a JSON object", "number 5"]),
        (json!([{"a": 1}]), &["must be a JSON object", "array"]),
        (json!({"$and": [{"$or": [{"a": {"$in": 1}}]}]}), &["$in", "\"a\"", "$and[0].$or[0]"]),
        (json!({"$not": {"a": {"$bad": 1}}}), &["$bad", "\"a\"", "$not"]),
    ];
    for (json, needles) in rows {
        match Filter::from_json(&json) {
            Err(Error::InvalidArgument(msg)) => {
                for needle in needles {
                    assert!(
                        msg.contains(needle),
                        "{json}: {msg:?} should contain {needle:?}"
                    );
                }
            }
            other => panic!("{json}: expected InvalidArgument, got {other:?}"),
        }
    }
    assert!(matches!(
        Filter::from_json_str("{\"a\": "),
        Err(Error::InvalidArgument(m)) if m.contains("not valid JSON")
    ));
}

#[test]
fn nesting_is_bounded() {
    let mut deep = json!({"a": 1});
    for _ in 0..200 {
        deep = json!({"$not": deep});
    }
    let err = Filter::from_json(&deep).expect_err("too deep");
    assert!(err.to_string().contains("deeper than"), "{err}");

    let mut field_deep = json!({"$gt": 1});
    for _ in 0..200 {
        field_deep = json!({"$not": field_deep});
    }
    let err = Filter::from_json(&json!({ "a": field_deep })).expect_err("too deep");
    assert!(err.to_string().contains("deeper than"), "{err}");

    let mut built = Filter::eq("a", 1);
    for _ in 0..200 {
        built = Filter::not(built);
    }
    assert!(built.validate().is_err());

    let mut ok = json!({"a": 1});
    for _ in 0..FILTER_DEPTH_MAX {
        ok = json!({"$or": [ok]});
    }
    Filter::from_json(&ok).expect("64 levels are allowed");
}

#[test]
fn validate_catches_what_constructors_cannot() {
    Filter::and([Filter::gt("a.b", 1), Filter::lt("c", "x")])
        .validate()
        .expect("valid");
    for (bad, needles) in [
        (Filter::gt("y", true), ["$gt", "\"y\""]),
        (Filter::lte("y", Value::Null), ["$lte", "\"y\""]),
        (Filter::eq("a..b", 1), ["$eq", "\"a..b\""]),
        (Filter::exists(""), ["$exists", "empty"]),
        (Filter::in_("$x", [1]), ["$in", "\"$x\""]),
    ] {
        let filter = Filter::or([Filter::eq("ok", 1), bad]);
        let msg = filter.validate().expect_err("invalid").to_string();
        for needle in needles {
            assert!(msg.contains(needle), "{msg:?} should contain {needle:?}");
        }
    }
    // An invalid ordering operand never matches.
    assert!(!Filter::gt("y", true).matches(Some(&json!({"y": true}))));
}

#[test]
fn json_form_and_display() {
    let f = Filter::and([
        Filter::eq("lang", "en"),
        Filter::gte("year", 2020),
        Filter::not(Filter::exists("draft")),
        Filter::eq("meta", json!({"k": 1})),
        Filter::or([Filter::in_("tags", ["a"]), Filter::not(Filter::ne("x", 1))]),
    ]);
    let expected = json!({"$and": [
        {"lang": "en"},
        {"year": {"$gte": 2020}},
        {"draft": {"$exists": false}},
        {"meta": {"$eq": {"k": 1}}},
        {"$or": [{"tags": {"$in": ["a"]}}, {"$not": {"x": {"$ne": 1}}}]},
    ]});
    assert_eq!(f.to_json(), expected);
    assert_eq!(f.to_string(), expected.to_string());
    assert_eq!(format!("{f:?}"), expected.to_string());
    assert_eq!(Filter::from_json(&f.to_json()).expect("parses"), f);
    assert_eq!(f.to_string().parse::<Filter>().expect("parses"), f);

    assert_eq!(Filter::and([]).to_json(), json!({}));
    assert_eq!(Filter::or([]).to_json(), json!({"$not": {}}));
    let empty_or = Filter::from_json(&Filter::or([]).to_json()).expect("parses");
    assert!(!empty_or.matches(Some(&json!({}))));

    // serde: a filter (de)serializes as its JSON form.
    let text = serde_json::to_string(&f).expect("serializes");
    assert_eq!(
        serde_json::from_str::<Filter>(&text).expect("deserializes"),
        f
    );
    let bad = serde_json::from_str::<Filter>("{\"a\": {\"$in\": 1}}").expect_err("bad");
    assert!(bad.to_string().contains("$in"), "{bad}");
}

#[test]
fn fields_lists_distinct_paths_in_order() {
    let f = Filter::and([
        Filter::eq("b", 1),
        Filter::or([Filter::gt("a.x", 1), Filter::eq("b", 2)]),
        Filter::not(Filter::exists("c")),
    ]);
    assert_eq!(f.fields(), vec!["b", "a.x", "c"]);
    assert!(Filter::and([]).fields().is_empty());
}

#[test]
fn filter_is_send_sync() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Filter>();
}

// ---------------------------------------------------------------------------------------------
// Model test: random documents and filter trees against a naive evaluator.

/// A filter as the test builds it, evaluated by `naive` and turned into a [`Filter`] through the
/// public constructors.
#[derive(Clone, Debug)]
enum Model {
    Eq(String, Value),
    Ne(String, Value),
    Gt(String, Value),
    Gte(String, Value),
    Lt(String, Value),
    Lte(String, Value),
    In(String, Vec<Value>),
    Nin(String, Vec<Value>),
    Exists(String),
    And(Vec<Model>),
    Or(Vec<Model>),
    Not(Box<Model>),
}

fn build(m: &Model) -> Filter {
    match m {
        Model::Eq(p, v) => Filter::eq(p.as_str(), v.clone()),
        Model::Ne(p, v) => Filter::ne(p.as_str(), v.clone()),
        Model::Gt(p, v) => Filter::gt(p.as_str(), v.clone()),
        Model::Gte(p, v) => Filter::gte(p.as_str(), v.clone()),
        Model::Lt(p, v) => Filter::lt(p.as_str(), v.clone()),
        Model::Lte(p, v) => Filter::lte(p.as_str(), v.clone()),
        Model::In(p, vs) => Filter::in_(p.as_str(), vs.clone()),
        Model::Nin(p, vs) => Filter::nin(p.as_str(), vs.clone()),
        Model::Exists(p) => Filter::exists(p.as_str()),
        Model::And(ms) => Filter::and(ms.iter().map(build)),
        Model::Or(ms) => Filter::or(ms.iter().map(build)),
        Model::Not(m) => Filter::not(build(m)),
    }
}

/// Walk the path key by key through objects.
fn naive_lookup<'a>(doc: Option<&'a Value>, path: &str) -> Option<&'a Value> {
    let mut current = doc?;
    for key in path.split('.') {
        match current {
            Value::Object(map) => current = map.get(key)?,
            _ => return None,
        }
    }
    Some(current)
}

/// Every number as an f64, so that `==` on values compares numbers by value (the generated
/// numbers are small, so f64 is exact).
fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64().expect("finite")),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

fn naive_eq(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

fn naive_order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// The field's value and, for an array, each element.
fn naive_candidates(v: &Value) -> Vec<&Value> {
    let mut out = vec![v];
    if let Value::Array(items) = v {
        out.extend(items);
    }
    out
}

fn naive(m: &Model, doc: Option<&Value>) -> bool {
    let field = |p: &str, test: &dyn Fn(&Value) -> bool| match naive_lookup(doc, p) {
        None => false,
        Some(v) => naive_candidates(v).into_iter().any(test),
    };
    let present = |p: &str| naive_lookup(doc, p).is_some();
    match m {
        Model::Eq(p, v) => field(p, &|c| naive_eq(c, v)),
        Model::Ne(p, v) => present(p) && !field(p, &|c| naive_eq(c, v)),
        Model::Gt(p, v) => field(p, &|c| naive_order(c, v) == Some(Ordering::Greater)),
        Model::Gte(p, v) => field(p, &|c| {
            matches!(naive_order(c, v), Some(Ordering::Greater | Ordering::Equal))
        }),
        Model::Lt(p, v) => field(p, &|c| naive_order(c, v) == Some(Ordering::Less)),
        Model::Lte(p, v) => field(p, &|c| {
            matches!(naive_order(c, v), Some(Ordering::Less | Ordering::Equal))
        }),
        Model::In(p, vs) => field(p, &|c| vs.iter().any(|v| naive_eq(c, v))),
        Model::Nin(p, vs) => present(p) && !field(p, &|c| vs.iter().any(|v| naive_eq(c, v))),
        Model::Exists(p) => present(p),
        Model::And(ms) => ms.iter().all(|m| naive(m, doc)),
        Model::Or(ms) => ms.iter().any(|m| naive(m, doc)),
        Model::Not(m) => !naive(m, doc),
    }
}

fn has_empty_or(m: &Model) -> bool {
    match m {
        Model::Or(ms) if ms.is_empty() => true,
        Model::And(ms) | Model::Or(ms) => ms.iter().any(has_empty_or),
        Model::Not(m) => has_empty_or(m),
        _ => false,
    }
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(String::from)
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a"),
        Just("b"),
        Just("c"),
        Just("a.b"),
        Just("b.c"),
        Just("a.a"),
        Just("c.a.b"),
    ]
    .prop_map(String::from)
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-3i64..=3).prop_map(|i| json!(i)),
        (0u64..=3).prop_map(|u| json!(u)),
        prop::sample::select(vec![-2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, 2.5, 3.0])
            .prop_map(|f| json!(f)),
    ]
}

fn string() -> impl Strategy<Value = Value> {
    prop::sample::select(vec!["", "a", "ab", "b", "B", "é", "1"]).prop_map(|s| json!(s))
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => number(),
        3 => string(),
    ]
}

/// Nested objects and arrays of scalars.
fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A payload: usually an object, sometimes none or not an object.
fn document() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        1 => Just(None),
        1 => scalar().prop_map(Some),
        8 => prop::collection::btree_map(key(), value(), 0..4)
            .prop_map(|m| Some(Value::Object(m.into_iter().collect()))),
    ]
}

fn ordered() -> impl Strategy<Value = Value> {
    prop_oneof![number(), string()]
}

fn operand() -> impl Strategy<Value = Value> {
    prop_oneof![4 => scalar(), 1 => value()]
}

fn set() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(scalar(), 0..4)
}

fn model() -> impl Strategy<Value = Model> {
    let leaf = prop_oneof![
        (path(), operand()).prop_map(|(p, v)| Model::Eq(p, v)),
        (path(), operand()).prop_map(|(p, v)| Model::Ne(p, v)),
        (path(), ordered()).prop_map(|(p, v)| Model::Gt(p, v)),
        (path(), ordered()).prop_map(|(p, v)| Model::Gte(p, v)),
        (path(), ordered()).prop_map(|(p, v)| Model::Lt(p, v)),
        (path(), ordered()).prop_map(|(p, v)| Model::Lte(p, v)),
        (path(), set()).prop_map(|(p, vs)| Model::In(p, vs)),
        (path(), set()).prop_map(|(p, vs)| Model::Nin(p, vs)),
        path().prop_map(Model::Exists),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Model::And),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Model::Or),
            inner.prop_map(|m| Model::Not(Box::new(m))),
        ]
    })
}

/// Random JSON that looks like a filter, often broken: for the parser's no-panic property.
fn filterish() -> impl Strategy<Value = Value> {
    let k = prop::sample::select(vec![
        "a", "b.c", "", "a..b", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin",
        "$exists", "$and", "$or", "$not", "$foo",
    ])
    .prop_map(String::from);
    scalar().prop_recursive(4, 32, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(k.clone(), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn matches_agrees_with_naive_evaluator(
        m in model(),
        docs in prop::collection::vec(document(), 1..8),
    ) {
        let filter = build(&m);
        prop_assert!(filter.validate().is_ok(), "{filter}");
        let reparsed = Filter::from_json(&filter.to_json()).expect("own JSON parses");
        let from_text = Filter::from_json_str(&filter.to_string()).expect("own text parses");
        if !has_empty_or(&m) {
            prop_assert_eq!(&reparsed, &filter);
        }
        for doc in &docs {
            let expected = naive(&m, doc.as_ref());
            prop_assert_eq!(filter.matches(doc.as_ref()), expected, "{} on {:?}", filter, doc);
            prop_assert_eq!(reparsed.matches(doc.as_ref()), expected, "reparsed {} on {:?}", reparsed, doc);
            prop_assert_eq!(from_text.matches(doc.as_ref()), expected);
        }
    }

    #[test]
    fn parser_never_panics_and_round_trips(json in filterish(), doc in document()) {
        if let Ok(filter) = Filter::from_json(&json) {
            prop_assert!(filter.validate().is_ok());
            let reparsed = Filter::from_json(&filter.to_json()).expect("own JSON parses");
            prop_assert_eq!(&reparsed, &filter);
            prop_assert_eq!(reparsed.matches(doc.as_ref()), filter.matches(doc.as_ref()));
        }
    }
}
