"""Quantized codes from Python: chosen at creation or later, reported by stats(), searched with
oversampling and rescoring, and refused when the settings are wrong."""

import numpy as np
import pytest

import ndb


def clustered(n, dim, seed):
    """Clusters of points on a 16-dimensional subspace (like real embeddings, unlike isotropic
    noise, whose neighbours are all at nearly the same distance)."""
    rng = np.random.default_rng(seed)
    shape = np.random.default_rng(0)
    centres = shape.normal(size=(20, dim))
    basis = shape.normal(size=(16, dim)) / 4.0
    latent = rng.normal(size=(n, 16))
    return (centres[rng.integers(0, 20, n)] + latent @ basis).astype(np.float32)


@pytest.mark.parametrize("kind", ["int8", "binary"])
def test_quantized_search_finds_what_exact_search_finds(db, kind):
    dim = 384
    base = clustered(3000, dim, 1)
    coll = db.create_collection("q", dim=dim, distance="euclidean", quantization=kind,
                                index_min_rows=1000)
    coll.upsert([str(i) for i in range(len(base))], base)
    coll.flush()
    stats = coll.stats()
    assert stats["quantization"] == kind
    assert stats["quantized_docs"] == 3000
    assert all(s["quantization"] == kind for s in stats["segments"])
    assert stats["resident_bytes_per_vector"] < (stats["vector_bytes"] + stats["graph_bytes"]) / 3000
    assert coll.config()["quantization"] == kind
    queries = clustered(50, dim, 2)
    hits = 0
    for q in queries:
        exact = {m.id for m in coll.search(q, k=10, exact=True)}
        got = coll.search(q, k=10, oversampling=4)
        hits += len(exact & {m.id for m in got})
    assert hits / 500 >= 0.95
    # Rescored scores are exact distances; estimates are close to them.
    q = queries[0]
    rescored = coll.search(q, k=5)
    exact = coll.search(q, k=5, exact=True)
    assert [m.id for m in rescored] == [m.id for m in exact]
    assert [m.score for m in rescored] == pytest.approx([m.score for m in exact], rel=1e-5)
    estimated = coll.search(q, k=5, rescore=False)
    assert len(estimated) == 5
    batch = coll.search_batch(queries[:4], k=3, oversampling=3)
    assert [[m.id for m in r] for r in batch] == [[m.id for m in coll.search(q, k=3, oversampling=3)] for q in queries[:4]]


def test_quantization_changes_with_update_config_and_rebuild_index(db):
    base = clustered(500, 64, 3)
    coll = db.create_collection("q", dim=64)
    coll.upsert([str(i) for i in range(500)], base)
    coll.flush()
    assert coll.stats()["quantized_docs"] == 0
    assert coll.update_config(quantization="int8")["quantization"] == "int8"
    coll.rebuild_index()
    assert coll.stats()["quantized_docs"] == 500
    assert coll.search(base[7], k=1)[0].id == "7"


def test_bad_quantization_settings_raise(db):
    with pytest.raises(ndb.InvalidArgumentError):
        db.create_collection("a", dim=8, quantization="pq")
    with pytest.raises(ndb.InvalidArgumentError, match="binary"):
        db.create_collection("b", dim=8, quantization="binary")
    coll = db.create_collection("c", dim=8, quantization="int8")
    coll.upsert(["x"], np.ones((1, 8), dtype=np.float32))
    for bad in [0.0, 0.5, -1.0, float("nan")]:
        with pytest.raises(ndb.InvalidArgumentError, match="oversampling"):
            coll.search(np.ones(8), k=1, oversampling=bad)
    with pytest.raises(ndb.InvalidArgumentError):
        coll.update_config(quantization="pq")
