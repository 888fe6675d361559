//! Inputs built to break nDB: payloads nested past the decoder's limit and filters nested past
//! the stack. Each is refused with a clear error (or handled) and never makes stored data
//! unreadable.

mod common;
use common::temp_db;

use ndb::limits::PAYLOAD_DEPTH_MAX;
use ndb::{CollectionConfig, Database, Document, Error, Filter, Search};
use serde_json::{json, Value};

/// An object nested `levels` deep: `{"a": {"a": ... {"leaf": 1}}}` (`levels` = 1 is `{"leaf": 1}`).
fn nested_object(levels: usize) -> Value {
    let mut v = json!({"leaf": 1});
    for _ in 1..levels {
        v = json!({ "a": v });
    }
    v
}

/// An object holding arrays nested until the whole value is `levels` deep.
fn nested_arrays(levels: usize) -> Value {
    let mut v = json!([1]);
    for _ in 2..levels {
        v = json!([v]);
    }
    json!({ "x": v })
}

#[test]
fn payloads_nested_past_the_limit_are_refused_and_the_limit_reads_back_everywhere() {
    let (dir, db) = temp_db();
    let c = db.create_collection("c", CollectionConfig::new(2)).unwrap();
    for deep in [
        nested_object(PAYLOAD_DEPTH_MAX + 1),
        nested_arrays(PAYLOAD_DEPTH_MAX + 1),
        nested_object(200),
        nested_arrays(5000),
    ] {
        let err = c
            .insert(Document::new("deep", vec![1.0, 0.0]).with_payload(deep.clone()))
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("nested more than")),
            "{err}"
        );
        assert!(ndb::CollectionConfig::new(2)
            .check_document(&Document::new("deep", vec![1.0, 0.0]).with_payload(deep))
            .is_err());
    }
    assert_eq!(c.stats().unwrap().doc_count, 0);
    // At the limit: stored, and readable by get, search, iter, and after flush and reopen.
    let at_limit = [
        nested_object(PAYLOAD_DEPTH_MAX),
        nested_arrays(PAYLOAD_DEPTH_MAX),
    ];
    for (i, p) in at_limit.iter().enumerate() {
        c.insert(Document::new(format!("d{i}"), vec![1.0, i as f32]).with_payload(p.clone()))
            .unwrap();
    }
    let check = |c: &ndb::Collection| {
        for (i, p) in at_limit.iter().enumerate() {
            assert_eq!(
                c.get(&format!("d{i}")).unwrap().unwrap().payload.as_ref(),
                Some(p)
            );
        }
        let hits = c.search(Search::new(&[1.0, 0.0]).top_k(2)).unwrap();
        assert_eq!(hits.len(), 2);
        assert!(hits.iter().all(|h| h.payload.is_some()));
        assert_eq!(c.iter().unwrap().filter(|d| d.is_ok()).count(), 2);
        c.verify().unwrap();
    };
    check(&c);
    c.flush().unwrap();
    check(&c);
    drop((c, db));
    let db = Database::open(dir.path()).unwrap();
    check(&db.get_collection("c").unwrap());
}

/// A filter nested far deeper than any stack allows, built in code.
fn deep_filter(levels: usize) -> Filter {
    let mut f = Filter::eq("a", 1);
    for i in 0..levels {
        f = if i % 2 == 0 {
            Filter::not(f)
        } else {
            Filter::and([f])
        };
    }
    f
}

#[test]
fn filters_nested_past_the_limit_are_refused_without_overflowing_the_stack() {
    let (_dir, db) = temp_db();
    let c = db.create_collection("c", CollectionConfig::new(2)).unwrap();
    c.insert(Document::new("a", vec![1.0, 0.0]).with_payload(json!({"a": 1})))
        .unwrap();
    // Run on a thread with a small stack, so a recursive Clone, Debug, to_json or drop shows.
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let f = deep_filter(100_000);
            let copy = f.clone();
            assert_eq!(copy, f);
            let shown = format!("{copy:?}");
            assert!(shown.contains("$invalid"), "{shown}");
            assert!(f.to_json().to_string().contains("nests deeper than"));
            assert!(Filter::from_json(&f.to_json()).is_err());
            let err = f.validate().unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
            assert!(!f.matches(Some(&json!({"a": 1}))));
            assert!(!Filter::not(f.clone()).matches(Some(&json!({"a": 1}))));
            let err = c.search(Search::new(&[1.0, 0.0]).filter(copy)).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
            // At the limit a filter is whole and works.
            let ok = deep_filter(64);
            ok.validate().unwrap();
            assert_eq!(Filter::from_json(&ok.to_json()).unwrap(), ok);
            assert!(deep_filter(65).validate().is_err());
            drop(f);
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
}

/// Issue 13: a huge `ef` with a filter on an indexed segment overflowed the planner's cost
/// model; `ef` is bounded like `top_k`, with a typed error naming the limit.
#[test]
fn ef_is_bounded_and_never_overflows_the_planner() {
    let (_dir, db) = temp_db();
    let config = CollectionConfig::new(2).with_index(ndb::IndexConfig::default().with_min_rows(10));
    let c = db.create_collection("c", config).unwrap();
    c.insert_batch((0..200).map(|i| {
        Document::new(format!("d{i}"), vec![1.0, i as f32]).with_payload(json!({"i": i % 10}))
    }))
    .unwrap();
    c.flush().unwrap();
    assert!(c.has_index());
    let q = [1.0, 3.0];
    for ef in [0, ndb::EF_MAX + 1, usize::MAX / 4, usize::MAX] {
        let err = c
            .search(Search::new(&q).ef(ef).filter(Filter::eq("i", 3)))
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains("ef must be in")),
            "{err}"
        );
    }
    let hits = c
        .search(
            Search::new(&q)
                .ef(ndb::EF_MAX)
                .top_k(5)
                .filter(Filter::eq("i", 3)),
        )
        .unwrap();
    assert_eq!(hits.len(), 5);
}
