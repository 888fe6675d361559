"""Readers that follow the writer: Collection.refresh() and Database(refresh_interval=...)."""

import math

import numpy as np
import pytest

import ndb


def ids(hits):
    return sorted(h.id for h in hits)


@pytest.fixture
def writer(db):
    c = db.create_collection("c", dim=2, distance="euclidean")
    c.insert("a", [1, 0])
    return c


def test_refresh_shows_the_writers_new_documents(db_path, writer):
    with ndb.Database(db_path, read_only=True) as ro:
        r = ro.get_collection("c")
        assert r.refresh() is False  # nothing changed since it opened
        writer.insert("b", [0, 1])
        assert "b" not in r and len(r) == 1  # a reader keeps its snapshot...
        assert r.refresh() is True  # ...until it refreshes
        assert r.get("b").payload is None and len(r) == 2
        assert ids(r.search([0, 1], k=5)) == ["a", "b"]
        assert r.refresh() is False  # and again nothing changed


def test_refresh_follows_flushes_compactions_and_deletions(db_path, writer, rng):
    with ndb.Database(db_path, read_only=True) as ro:
        r = ro.get_collection("c")
        vecs = rng.standard_normal((300, 2)).astype(np.float32)
        writer.upsert([f"d{i}" for i in range(300)], vecs)
        writer.flush()
        writer.delete("a")
        writer.compact()
        assert r.refresh() is True
        assert len(r) == 300 and "a" not in r
        np.testing.assert_array_equal(r.get("d7").vector, vecs[7])
        assert r.stats()["segment_count"] == writer.stats()["segment_count"]


def test_refresh_on_a_writer_is_false(writer):
    writer.insert("b", [0, 1])
    assert writer.refresh() is False
    assert "b" in writer


def test_a_self_refreshing_reader_sees_new_data_on_search(db_path, writer):
    with ndb.Database(db_path, read_only=True, refresh_interval=0) as ro:
        r = ro.get_collection("c")
        writer.insert("b", [0, 1])
        assert ids(r.search([0, 1], k=5)) == ["a", "b"]  # no refresh() call
        writer.delete("a")
        assert ids(r.search([0, 1], k=5)) == ["b"]
        assert r.refresh() is False  # the search already moved it


def test_a_long_refresh_interval_leaves_searches_on_the_snapshot(db_path, writer):
    with ndb.Database(db_path, read_only=True, refresh_interval=3600.0) as ro:
        r = ro.get_collection("c")
        writer.insert("b", [0, 1])
        assert ids(r.search([0, 1], k=5)) == ["a"]  # not due for an hour
        assert r.refresh() is True
        assert ids(r.search([0, 1], k=5)) == ["a", "b"]


@pytest.mark.parametrize("interval", [-1.0, math.nan, math.inf])
def test_a_bad_refresh_interval_is_refused(db_path, writer, interval):
    with pytest.raises(ndb.InvalidArgumentError, match="refresh_interval"):
        ndb.Database(db_path, read_only=True, refresh_interval=interval)


def test_refresh_interval_needs_a_read_only_handle(tmp_path):
    with pytest.raises(ndb.InvalidArgumentError, match="read_only=True"):
        ndb.Database(str(tmp_path / "other"), refresh_interval=1.0)
    assert not (tmp_path / "other").exists()  # refused before anything was created


def test_refresh_after_close_raises_closed(db_path, writer):
    ro = ndb.Database(db_path, read_only=True)
    r = ro.get_collection("c")
    ro.close()
    with pytest.raises(ndb.ClosedError):
        r.refresh()
