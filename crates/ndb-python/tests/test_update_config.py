"""Settings after creation: Collection.config() and Collection.update_config(**settings)."""

import pytest

import ndb


@pytest.fixture
def coll(db):
    return db.create_collection("c", dim=3, distance="euclidean", ef_search=50, index_min_rows=500)


def test_config_has_the_create_collection_keywords(db, coll):
    config = coll.config()
    assert config == {
        "dim": 3,
        "distance": "euclidean",
        "durability": "buffered",
        "m": config["m"],
        "ef_construction": config["ef_construction"],
        "ef_search": 50,
        "index_min_rows": 500,
        "flush_threshold_bytes": config["flush_threshold_bytes"],
        "quantization": "none",
    }
    # ...so that it creates a collection with the same settings.
    assert db.create_collection("twin", **config).config() == config


def test_update_config_changes_and_returns_the_settings(coll):
    before = coll.config()
    after = coll.update_config(durability="fsync", ef_search=200)
    assert after == {**before, "durability": "fsync", "ef_search": 200}
    assert coll.config() == after
    after = coll.update_config(
        m=24, ef_construction="300", index_min_rows=1000, flush_threshold_bytes=1 << 20, durability="buffered"
    )
    assert after == {
        **before,
        "m": 24,
        "ef_construction": 300,
        "index_min_rows": 1000,
        "flush_threshold_bytes": 1 << 20,
        "ef_search": 200,
    }
    assert coll.update_config() == after  # no settings: no change


def test_new_durability_is_used_at_once(coll):
    coll.insert("a", [1, 0, 0])
    syncs = coll.stats()["wal_syncs"]
    coll.update_config(durability="fsync")
    coll.insert("b", [0, 1, 0])
    assert coll.stats()["wal_syncs"] > syncs


def test_update_config_persists_across_reopen(db_path):
    with ndb.Database(db_path) as db:
        c = db.create_collection("c", dim=3)
        c.insert("a", [1, 0, 0])
        changed = c.update_config(durability="fsync", ef_search=150, m=32)
    with ndb.Database(db_path) as db:
        assert db.get_collection("c").config() == changed
    with ndb.Database(db_path, read_only=True) as ro:
        assert ro.get_collection("c").config() == changed


def test_a_reader_sees_new_settings_after_refresh(db_path, coll):
    with ndb.Database(db_path, read_only=True) as ro:
        r = ro.get_collection("c")
        coll.update_config(ef_search=123)
        assert r.config()["ef_search"] == 50
        assert r.refresh() is True
        assert r.config()["ef_search"] == 123


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"dim": 4}, "dim of a collection cannot change"),
        ({"distance": "cosine"}, "distance of a collection cannot change"),
        ({"ef_serch": 10}, "unknown setting"),
        ({"ef_search": 10, "dim": 4}, "dim"),  # a good setting beside a refused one
        ({"ef_search": "many"}, "not a whole number"),
        ({"ef_search": 2.5}, "not a whole number"),
        ({"m": -3}, "not a whole number"),
        ({"m": True}, "not a whole number"),
        ({"ef_search": None}, "not a whole number"),
        ({"durability": "never"}, "durability"),
        ({"m": 1}, "m must be in"),
        ({"ef_search": 0}, "ef_search"),
        ({"flush_threshold_bytes": 10}, "flush threshold"),
    ],
)
def test_refused_settings_change_nothing(db_path, coll, settings, message):
    before = coll.config()
    with pytest.raises(ndb.InvalidArgumentError, match=message) as e:
        coll.update_config(**settings)
    assert isinstance(e.value, ValueError)
    assert coll.config() == before
    with ndb.Database(db_path, read_only=True) as ro:
        assert ro.get_collection("c").config() == before  # nor on disk


def test_update_config_on_a_read_only_handle_raises_read_only(db_path, coll):
    before = coll.config()
    with ndb.Database(db_path, read_only=True) as ro:
        r = ro.get_collection("c")
        with pytest.raises(ndb.ReadOnlyError):
            r.update_config(ef_search=99)
        assert r.config() == before
    assert coll.config() == before


def test_update_config_after_close_raises_closed(db_path):
    db = ndb.Database(db_path)
    c = db.create_collection("c", dim=3)
    db.close()
    with pytest.raises(ndb.ClosedError):
        c.update_config(ef_search=10)
    with pytest.raises(ndb.ClosedError):
        c.config()
