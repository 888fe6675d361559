"""Payload-only updates: set_payload and patch_payload (RFC 7396)."""

import numpy as np
import pytest

import ndb


@pytest.fixture
def coll(db):
    c = db.create_collection("c", dim=3, distance="euclidean")
    c.upsert(
        ["a", "b", "c"],
        [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
        [{"lang": "en", "meta": {"year": 2020, "draft": True}}, {"lang": "de"}, None],
    )
    return c


def ids(hits):
    return sorted(h.id for h in hits)


def test_set_payload_replaces_and_keeps_the_vector(coll):
    before = coll.get("a").vector
    assert coll.set_payload("a", {"lang": "fr", "tags": ["x", 1, 2.5, None]}) is True
    doc = coll.get("a")
    assert doc.payload == {"lang": "fr", "tags": ["x", 1, 2.5, None]}
    np.testing.assert_array_equal(doc.vector, before)
    assert len(coll) == 3
    # None removes the payload.
    assert coll.set_payload("b", None) is True
    assert coll.get("b").payload is None
    # A document without a payload gets one.
    assert coll.set_payload("c", {"lang": "en"}) is True
    assert coll.get("c").payload == {"lang": "en"}


def test_patch_payload_merges(coll):
    assert coll.patch_payload("a", {"meta": {"year": 2024, "draft": None}, "new": 1}) is True
    assert coll.get("a").payload == {"lang": "en", "meta": {"year": 2024}, "new": 1}
    # A field set to None is removed; a nested dict replaces a non-dict.
    assert coll.patch_payload("b", {"lang": None, "meta": {"k": "v"}}) is True
    assert coll.get("b").payload == {"meta": {"k": "v"}}
    # A document without a payload: the patch applies to an empty one.
    assert coll.patch_payload("c", {"x": {"y": None, "z": 1}}) is True
    assert coll.get("c").payload == {"x": {"z": 1}}


def test_absent_document_is_false_and_writes_nothing(coll):
    wal_before = coll.stats()["wal_bytes"]
    assert coll.set_payload("missing", {"lang": "en"}) is False
    assert coll.patch_payload("missing", {"lang": "en"}) is False
    assert coll.set_payload("missing", None) is False
    assert "missing" not in coll and len(coll) == 3
    assert coll.stats()["wal_bytes"] == wal_before


def test_filters_and_payload_indexes_see_the_new_payload(coll):
    coll.create_payload_index("lang", "keyword")
    q = [1, 0, 0]
    assert ids(coll.search(q, k=10, filter={"lang": "en"})) == ["a"]
    coll.set_payload("a", {"lang": "de"})
    assert ids(coll.search(q, k=10, filter={"lang": "en"})) == []
    assert ids(coll.search(q, k=10, filter={"lang": "de"})) == ["a", "b"]
    coll.patch_payload("c", {"lang": "en"})
    assert ids(coll.search(q, k=10, filter={"lang": "en"}, exact=True)) == ["c"]
    hit = coll.search(q, k=1)[0]
    assert hit.id == "a" and hit.payload == {"lang": "de"}
    # Still true after a flush (the update moves into a segment) and a compaction.
    coll.flush()
    coll.compact()
    assert ids(coll.search(q, k=10, filter={"lang": "de"})) == ["a", "b"]
    assert ids(coll.search(q, k=10, filter={"lang": "en"})) == ["c"]


def test_updates_survive_reopen(db_path):
    with ndb.Database(db_path) as db:
        c = db.create_collection("c", dim=2, durability="fsync")
        c.insert("a", [1, 0], {"v": 1})
        c.flush()
        c.set_payload("a", {"v": 2})
        c.patch_payload("a", {"w": 3})
    with ndb.Database(db_path) as db:
        assert db.get_collection("c").get("a").payload == {"v": 2, "w": 3}


def test_bad_input_raises_and_changes_nothing(coll):
    before = coll.get("a").payload
    wal_before = coll.stats()["wal_bytes"]
    for call, error in [
        # The library's rules: a payload is a JSON object, a patch too.
        (lambda: coll.set_payload("a", [1, 2]), ndb.InvalidArgumentError),
        (lambda: coll.set_payload("a", "text"), ndb.InvalidArgumentError),
        (lambda: coll.patch_payload("a", None), ndb.InvalidArgumentError),
        (lambda: coll.patch_payload("a", [{"lang": "x"}]), ndb.InvalidArgumentError),
        # Over the payload limit (16 MiB), alone or once merged.
        (lambda: coll.set_payload("a", {"big": "x" * (16 << 20)}), ndb.InvalidArgumentError),
        (lambda: coll.patch_payload("a", {"big": "x" * (16 << 20)}), ndb.InvalidArgumentError),
        (lambda: coll.set_payload("x" * 5000, {"lang": "x"}), ndb.InvalidArgumentError),
        (lambda: coll.patch_payload("", {"lang": "x"}), ndb.InvalidArgumentError),
        # Python values that are not JSON.
        (lambda: coll.set_payload("a", {"when": object()}), TypeError),
        (lambda: coll.patch_payload("a", {1: "x"}), TypeError),
        (lambda: coll.set_payload("a", {"nan": float("nan")}), ValueError),
    ]:
        with pytest.raises(error):
            call()
    assert coll.get("a").payload == before
    assert coll.stats()["wal_bytes"] == wal_before


def test_read_only_handle_refuses(db_path):
    with ndb.Database(db_path) as db:
        db.create_collection("c", dim=2).insert("a", [1, 0], {"v": 1})
    with ndb.Database(db_path, read_only=True) as ro:
        c = ro.get_collection("c")
        with pytest.raises(ndb.ReadOnlyError):
            c.set_payload("a", {"v": 2})
        with pytest.raises(ndb.ReadOnlyError):
            c.patch_payload("a", {"v": 2})
        assert c.get("a").payload == {"v": 1}
