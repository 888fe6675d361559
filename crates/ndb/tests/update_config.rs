//! Settings after creation (issue 18): `Collection::update_config` changes what may change
//! without rewriting data, persists it, uses it at once, and refuses the rest.

use ndb::{CollectionConfig, ConfigUpdate, Database, DatabaseOptions, Document, Durability, Error};

#[test]
fn changed_settings_are_used_at_once_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let quiet = DatabaseOptions::default().with_background_maintenance(false);
    {
        let db = Database::open_with_options(dir.path(), quiet.clone()).unwrap();
        let c = db.create_collection("c", CollectionConfig::new(4)).unwrap();
        let update = ConfigUpdate::new()
            .durability(Durability::FdatasyncEachBatch)
            .ef_search(150)
            .m(24)
            .ef_construction(120)
            .min_rows(500)
            .flush_threshold_bytes(64 << 10);
        let config = c.update_config(&update).unwrap();
        assert_eq!(config.durability(), Durability::FdatasyncEachBatch);
        assert_eq!(
            (
                config.index().ef_search,
                config.index().m,
                config.index().ef_construction
            ),
            (150, 24, 120)
        );
        assert_eq!(c.config(), config);
        // The durability is used by the next write: one WAL sync per acknowledged write.
        let syncs = c.stats().unwrap().wal_syncs;
        c.insert(Document::new("a", vec![1.0, 0.0, 0.0, 0.0]))
            .unwrap();
        assert!(c.stats().unwrap().wal_syncs > syncs);
        // The flush threshold too: 64 KiB of writes make a segment.
        c.insert_batch(
            (0..1_000).map(|i| Document::new(format!("d{i}"), vec![i as f32, 1.0, 0.0, 0.0])),
        )
        .unwrap();
        assert!(c.stats().unwrap().segment_count >= 1);
    }
    let db = Database::open(dir.path()).unwrap();
    let c = db.get_collection("c").unwrap();
    let config = c.config();
    assert_eq!(config.durability(), Durability::FdatasyncEachBatch);
    assert_eq!((config.index().m, config.index().min_rows), (24, 500));
    assert_eq!(config.flush_threshold_bytes(), 64 << 10);
    assert_eq!(config.dim(), 4);
}

#[test]
fn what_cannot_change_is_refused_with_nothing_changed() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path()).unwrap();
    let c = db.create_collection("c", CollectionConfig::new(4)).unwrap();
    let before = c.config();
    for (key, value) in [
        ("dim", "8"),
        ("distance", "euclidean"),
        ("colour", "blue"),
        ("m", "x"),
        ("durability", "maybe"),
    ] {
        let err = ConfigUpdate::new().set(key, value).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{key}: {err}");
    }
    let err = ConfigUpdate::new().set("dim", "8").unwrap_err().to_string();
    assert!(err.contains("cannot change after creation"), "{err}");
    for bad in [
        ConfigUpdate::new().m(1),
        ConfigUpdate::new().ef_search(0),
        ConfigUpdate::new().flush_threshold_bytes(10),
    ] {
        assert!(
            matches!(c.update_config(&bad), Err(Error::InvalidArgument(_))),
            "{bad:?}"
        );
    }
    assert_eq!(c.config(), before);
    let parsed = ConfigUpdate::new()
        .set("durability", "fsync")
        .unwrap()
        .set("ef_search", "64")
        .unwrap();
    assert_eq!(c.update_config(&parsed).unwrap().index().ef_search, 64);
    drop((c, db));
    let reader = Database::open_read_only(dir.path()).unwrap();
    let r = reader.get_collection("c").unwrap();
    assert_eq!(r.config().index().ef_search, 64);
    assert!(matches!(
        r.update_config(&ConfigUpdate::new().m(8)),
        Err(Error::ReadOnly)
    ));
}
