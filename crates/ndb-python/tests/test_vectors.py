"""Vectors in: numpy dtypes, non-contiguous arrays, lists; wrong shapes raise before any write."""

import tracemalloc

import numpy as np
import pytest

import ndb

DIM = 8


@pytest.fixture
def coll(db):
    return db.create_collection("v", dim=DIM, distance="euclidean")


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble, np.int32, np.int64, np.uint8])
def test_dtypes(coll, dtype):
    base = np.arange(3 * DIM).reshape(3, DIM) % 7
    coll.upsert(["a", "b", "c"], base.astype(dtype))
    coll.insert("d", base[0].astype(dtype))
    for i, id_ in enumerate("abc"):
        np.testing.assert_array_equal(coll.get(id_).vector, base[i].astype(np.float32))
    hits = coll.search(base[1].astype(dtype), k=1)
    assert hits[0].id == "b"
    assert [r[0].id for r in coll.search_batch(base.astype(dtype), k=1)] == ["a", "b", "c"]


def test_lists_and_tuples(coll):
    rows = [[float(i + j) for j in range(DIM)] for i in range(3)]
    coll.upsert(["a", "b", "c"], rows, [{"i": 0}, None, {"i": 2}])
    coll.insert("d", tuple(range(DIM)))
    assert coll.search(rows[2], k=1)[0].id == "c"
    assert coll.get("b").payload is None and coll.get("c").payload == {"i": 2}
    assert coll.search_batch(rows, k=1)[1][0].id == "b"


def test_non_contiguous(coll, rng):
    big = rng.standard_normal((6, 2 * DIM))
    strided = big[:, ::2]  # every other column: not contiguous
    assert not strided.flags.c_contiguous
    fortran = np.asfortranarray(rng.standard_normal((4, DIM)).astype(np.float32))
    reversed_rows = fortran[::-1]
    coll.upsert([f"s{i}" for i in range(6)], strided)
    coll.upsert([f"f{i}" for i in range(4)], reversed_rows)
    np.testing.assert_array_equal(coll.get("s3").vector, strided[3].astype(np.float32))
    np.testing.assert_array_equal(coll.get("f0").vector, reversed_rows[0])
    q = strided[4]
    assert coll.search(q, k=1)[0].id == "s4"
    row = fortran[1]  # a row of a Fortran-ordered array: strided
    assert not row.flags.c_contiguous
    assert coll.search(row, k=1)[0].id == "f2"


def test_float32_contiguous_is_not_copied(coll, rng):
    n = 20_000
    f32 = rng.standard_normal((n, DIM)).astype(np.float32)
    f64 = f32.astype(np.float64)
    ids = [str(i) for i in range(n)]
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        coll.upsert(ids, f64)
        converted = tracemalloc.get_traced_memory()[1] - before
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        coll.upsert(ids, f32)
        direct = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    # numpy reports its buffers to tracemalloc: the float64 input needed a float32 copy
    # (n * DIM * 4 bytes); the float32 one no numpy buffer at all.
    assert converted >= f32.nbytes
    assert direct < f32.nbytes // 10


def test_wrong_shapes_raise_before_writing(coll):
    good = np.ones((2, DIM), np.float32)
    cases = [
        (["a", "b"], np.ones((2, DIM + 1), np.float32), ndb.DimensionError),
        (["a", "b"], np.ones((2, DIM - 1)), ndb.DimensionError),
        (["a", "b"], np.ones(DIM, np.float32), ndb.InvalidArgumentError),  # 1-D
        (["a", "b"], np.ones((2, 1, DIM), np.float32), ndb.InvalidArgumentError),  # 3-D
        (["a", "b", "c"], good, ndb.InvalidArgumentError),  # 3 ids, 2 rows
        (["a"], good, ndb.InvalidArgumentError),
        (["a", "b"], [[1.0] * DIM, [1.0] * (DIM - 1)], TypeError),  # ragged
        (["a", "b"], [["x"] * DIM] * 2, TypeError),
        (["a", "b"], np.ones((2, DIM), np.complex64), TypeError),
        (["a", "b"], np.array([[np.nan] * DIM, [1.0] * DIM]), ndb.InvalidArgumentError),
        (["a", ""], good, ndb.InvalidArgumentError),  # empty id: the library's rule
        ("ab", good, TypeError),  # a str is not a sequence of ids
        ([1, 2], good, TypeError),
    ]
    for ids, vecs, exc in cases:
        with pytest.raises(exc):
            coll.upsert(ids, vecs)
        assert len(coll) == 0, (ids, vecs)
    with pytest.raises(ndb.InvalidArgumentError):
        coll.upsert(["a", "b"], good, payloads=[{"x": 1}])
    with pytest.raises(TypeError):
        coll.upsert(["a", "b"], good, payloads=[{"x": 1}, {"y": object()}])
    assert len(coll) == 0
    # DimensionError and InvalidArgumentError are ValueErrors too.
    with pytest.raises(ValueError):
        coll.insert("a", [1.0, 2.0])
    with pytest.raises(ndb.DimensionError, match="expected 8, got 3"):
        coll.search([1.0, 2.0, 3.0])
    with pytest.raises(ndb.InvalidArgumentError):
        coll.search(np.ones((1, DIM)))
    with pytest.raises(ndb.DimensionError):
        coll.search_batch(np.ones((3, DIM + 2)))
    with pytest.raises(ndb.InvalidArgumentError):
        coll.search_batch(np.ones(DIM))
    with pytest.raises(ndb.InvalidArgumentError):
        coll.search(np.ones(DIM), k=0)
    assert len(coll) == 0
    coll.upsert([], [])  # an empty batch is fine
    assert len(coll) == 0


def test_cosine_stores_unit_vectors(db):
    coll = db.create_collection("cos", dim=3)
    coll.insert("a", [3.0, 0.0, 4.0])
    np.testing.assert_allclose(coll.get("a").vector, [0.6, 0.0, 0.8], rtol=1e-6)
    with pytest.raises(ndb.InvalidArgumentError, match="zero vector"):
        coll.insert("z", [0.0, 0.0, 0.0])
