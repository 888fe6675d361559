"""The API end to end: collections, writes, reads, search, maintenance, round trip through reopen."""

import numpy as np
import pytest

import ndb


def test_round_trip_through_reopen(db_path, rng):
    vecs = rng.standard_normal((500, 16)).astype(np.float32)
    ids = [f"doc-{i}" for i in range(500)]
    payloads = [{"i": i, "even": i % 2 == 0, "name": f"n{i}", "nested": {"x": [i, 1.5]}} for i in range(500)]
    with ndb.Database(db_path) as db:
        coll = db.create_collection("docs", dim=16, distance="euclidean", durability="fsync")
        coll.upsert(ids[:300], vecs[:300], payloads[:300])
        coll.flush()  # some in a segment, some in the WAL only
        coll.upsert(ids[300:], vecs[300:], payloads[300:])
        coll.insert("single", vecs[0], payload=None)
        assert coll.delete("doc-7")
        assert not coll.delete("doc-7")
    with ndb.Database(db_path) as db:
        assert db.collection_names() == ["docs"]
        assert "docs" in db and "other" not in db
        coll = db.get_collection("docs")
        assert coll.name == "docs" and coll.dim == 16 and coll.distance == "euclidean"
        assert len(coll) == 500  # 500 + single - doc-7
        assert "doc-7" not in coll and "doc-8" in coll
        doc = coll.get("doc-42")
        assert isinstance(doc, ndb.Document)
        assert doc.id == "doc-42"
        assert doc.vector.dtype == np.float32 and doc.vector.shape == (16,)
        np.testing.assert_array_equal(doc.vector, vecs[42])
        assert doc.payload == payloads[42]
        assert coll.get("single").payload is None
        assert coll.get("missing") is None
        seen = {d.id: d for d in coll}
        assert len(seen) == 500 and "doc-7" not in seen
        np.testing.assert_array_equal(seen["doc-499"].vector, vecs[499])
        hits = coll.search(vecs[10], k=3)
        assert hits[0].id == "doc-10" and hits[0].score == pytest.approx(0.0, abs=1e-4)
        assert isinstance(hits[0], ndb.Match) and hits[0].payload == payloads[10]
        assert hits[0].score >= hits[1].score >= hits[2].score


def test_match_payload_is_one_dict(db):
    """A hit's payload is made into Python values when first read; later reads give that object."""
    coll = db.create_collection("m", dim=2, distance="euclidean")
    coll.upsert(["a", "b"], np.array([[0, 0], [1, 0]], np.float32), [{"x": [1, {"y": None}]}, None])
    a, b = coll.search(np.zeros(2, np.float32), k=2)
    assert (a.id, b.id) == ("a", "b") and b.payload is None
    assert a.payload is a.payload and a.payload == {"x": [1, {"y": None}]}
    a.payload["z"] = 1
    assert a.payload == {"x": [1, {"y": None}], "z": 1}
    assert repr(b) == "Match(id='b', score=-1, payload=None)"


def test_search_modes_and_batch(db, rng):
    n, dim = 3000, 24
    vecs = rng.standard_normal((n, dim)).astype(np.float32)
    coll = db.create_collection("c", dim=dim, index_min_rows=1000)
    coll.upsert([str(i) for i in range(n)], vecs, [{"g": i % 3} for i in range(n)])
    coll.flush()
    assert coll.has_index()
    assert coll.stats()["indexed_docs"] == n
    q = vecs[:20] + 0.01
    exact = [coll.search(v, k=5, exact=True) for v in q]
    approx = [coll.search(v, k=5, ef=200) for v in q]
    assert sum(a[0].id == e[0].id for a, e in zip(approx, exact)) >= 18
    batch = coll.search_batch(q, k=5, exact=True)
    assert [[m.id for m in r] for r in batch] == [[m.id for m in r] for r in exact]
    batch2 = coll.search_batch(q, k=5, exact=True, threads=1)
    assert [[m.id for m in r] for r in batch2] == [[m.id for m in r] for r in exact]
    fb = coll.search_batch(q, k=5, filter={"g": 1})
    assert all(m.payload == {"g": 1} for r in fb for m in r)
    assert coll.search_batch(np.zeros((0, dim), np.float32)) == []


def test_maintenance_calls(db, rng):
    coll = db.create_collection("m", dim=8, distance="dot")
    assert coll.distance == "dot_product"
    vecs = rng.standard_normal((200, 8))
    coll.upsert([f"{i}" for i in range(200)], vecs, [{"year": 2000 + i % 30} for i in range(200)])
    coll.flush()
    coll.upsert([f"{i}" for i in range(100)], vecs[:100], None)  # replace half
    coll.flush()
    assert coll.delete_many(["1", "2", "nope", "1"]) == 2
    coll.sync()
    stats = coll.stats()
    assert stats["doc_count"] == 198 and stats["segment_count"] == 2
    assert {"rows", "deleted", "bytes", "indexed", "id"} <= set(stats["segments"][0])
    c = coll.compact()
    assert c["segments_after"] == 1 and c["duration_s"] >= 0
    assert len(coll) == 198
    coll.create_payload_index("year", "integer")
    assert coll.payload_indexes() == {"year": "integer"}
    assert coll.stats()["payload_indexes"] == {"year": "integer"}
    hits = coll.search(vecs[150], k=200, filter={"year": {"$gte": 2025}}, exact=True)
    assert hits and all(h.payload["year"] >= 2025 for h in hits)
    coll.drop_payload_index("year")
    coll.rebuild_index()
    coll.delete_index()
    assert not coll.has_index()
    coll.verify()
    with pytest.raises(ndb.InvalidArgumentError, match="kind"):
        coll.create_payload_index("year", "date")


def test_flush_leaves_every_graph_built_and_wait_for_index(db_path, rng):
    with ndb.Database(db_path) as db:
        coll = db.create_collection("g", dim=16, flush_threshold_bytes=64 << 10, index_min_rows=200)
        vecs = rng.standard_normal((4000, 16))
        for start in range(0, 4000, 250):
            coll.upsert([f"{i}" for i in range(start, start + 250)], vecs[start : start + 250])
        coll.flush()
        stats = coll.stats()
        assert stats["index_backlog_rows"] == 0 and stats["index_backlog_segments"] == 0
        assert stats["index_enabled"] is True
        assert coll.has_index()
        assert coll.wait_for_index(timeout=0) is True
        assert coll.wait_for_index() is True
        with pytest.raises(ndb.InvalidArgumentError, match="timeout"):
            coll.wait_for_index(timeout=-1)


def test_database_lifecycle(db_path):
    db = ndb.Database(db_path)
    coll = db.create_collection("a", dim=2)
    db.create_collection("b", dim=2)
    assert db.collection_names() == ["a", "b"]
    assert db.drop_collection("b") and not db.drop_collection("b")
    assert not db.closed and "Database" in repr(db) and "Collection" in repr(coll)
    db.close()
    db.close()  # twice is fine
    assert db.closed
    with pytest.raises(ndb.ClosedError):
        coll.insert("x", [1.0, 0.0])
    with pytest.raises(ndb.ClosedError):
        db.collection_names()
    # close() released the writer lock: a new writer opens at once.
    with ndb.Database(db_path) as db2:
        assert db2.collection_names() == ["a"]
    ro = ndb.Database(db_path, read_only=True)
    assert ro.read_only and ro.get_collection("a").dim == 2


def test_document_and_match_types():
    d = ndb.Document("x", [1, 2, 3], {"a": 1})
    assert d.vector.dtype == np.float32 and d == ndb.Document("x", np.array([1, 2, 3.0]), {"a": 1})
    assert d != ndb.Document("x", [1, 2, 4], {"a": 1})
    assert "Document" in repr(d)
    assert isinstance(ndb.__version__, str) and ndb.TOP_K_MAX > 0 and ndb.DIM_MAX > 0


def test_payload_values_round_trip(db):
    coll = db.create_collection("p", dim=2)
    payload = {
        "s": "héllo ✓",
        "i": -(2**63),
        "u": 2**64 - 1,
        "f": 0.1,
        "b": False,
        "n": None,
        "l": [1, "2", [3.5], {"k": True}],
        "t": (1, 2),
        "np_int": np.int64(7),
        "np_float": np.float32(0.5),
        "np_arr": np.array([1, 2]),
    }
    coll.insert("a", [1, 0], payload)
    got = coll.get("a").payload
    assert got["s"] == "héllo ✓" and got["i"] == -(2**63) and got["u"] == 2**64 - 1
    assert got["f"] == 0.1 and got["b"] is False and got["n"] is None
    assert got["l"] == [1, "2", [3.5], {"k": True}] and got["t"] == [1, 2]
    assert got["np_int"] == 7 and got["np_float"] == 0.5 and got["np_arr"] == [1, 2]
    for bad in ({"x": float("nan")}, {"x": 2**64}, {1: "a"}, {"x": object()}):
        with pytest.raises((ValueError, TypeError)):
            coll.insert("b", [1, 0], bad)
    deep = []
    cur = deep
    for _ in range(1000):
        cur.append([])
        cur = cur[0]
    with pytest.raises(ValueError):
        coll.insert("b", [1, 0], {"deep": deep})
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError):
        coll.insert("b", [1, 0], {"loop": loop})
    with pytest.raises(ndb.InvalidArgumentError):
        coll.insert("b", [1, 0], [1, 2])  # a payload must be an object: the library says so
    assert "b" not in coll
