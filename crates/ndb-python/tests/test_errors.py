"""Every error class, each from a real cause; the message is the library's."""

import os
import textwrap

import numpy as np
import pytest

import ndb
from conftest import flip_byte_in_the_middle, run_python


def test_hierarchy():
    for cls in (
        ndb.CorruptionError,
        ndb.LockedError,
        ndb.ReadOnlyError,
        ndb.DimensionError,
        ndb.InvalidArgumentError,
        ndb.CollectionNotFoundError,
        ndb.CollectionExistsError,
        ndb.IoError,
        ndb.UnsupportedFormatError,
        ndb.NotADatabaseError,
        ndb.PoisonedError,
        ndb.DestinationNotEmptyError,
        ndb.InternalError,
        ndb.ClosedError,
    ):
        assert issubclass(cls, ndb.Error) and cls.__module__ == "ndb"
    assert issubclass(ndb.Error, Exception)
    assert issubclass(ndb.DimensionError, ValueError)
    assert issubclass(ndb.InvalidArgumentError, ValueError)
    assert issubclass(ndb.CollectionNotFoundError, KeyError)
    assert issubclass(ndb.IoError, OSError)
    assert issubclass(ndb.DestinationNotEmptyError, FileExistsError)


def test_second_writer_process_gets_locked_error(db_path):
    with ndb.Database(db_path) as db:
        db.create_collection("c", dim=2)
        code = textwrap.dedent(
            """
            import sys, ndb
            try:
                ndb.Database(sys.argv[1])
            except ndb.LockedError as e:
                print("LOCKED", e)
                sys.exit(0)
            print("OPENED")
            sys.exit(1)
            """
        )
        r = run_python(code, db_path)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "LOCKED locked by another writer" in r.stdout and "LOCK" in r.stdout
        # A reader process is welcome meanwhile.
        r = run_python(
            "import sys, ndb; print(ndb.Database(sys.argv[1], read_only=True).collection_names())",
            db_path,
        )
        assert r.returncode == 0 and "['c']" in r.stdout, r.stderr
        # In this process too.
        with pytest.raises(ndb.LockedError):
            ndb.Database(db_path)
    # Released by close(): the other process may write now.
    r = run_python("import sys, ndb; ndb.Database(sys.argv[1]).close(); print('OK')", db_path)
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr


def _segment_file(db_path, coll):
    seg_dir = os.path.join(db_path, coll, "segments")
    segs = [f for f in os.listdir(seg_dir) if f.endswith(".ndb")]
    assert len(segs) == 1, os.listdir(seg_dir)
    return os.path.join(seg_dir, segs[0])


def test_flipped_byte_gets_corruption_error(db_path, rng):
    vecs = rng.standard_normal((1000, 32)).astype(np.float32)
    with ndb.Database(db_path) as db:
        coll = db.create_collection("c", dim=32, distance="euclidean")
        coll.upsert([str(i) for i in range(1000)], vecs, [{"i": i} for i in range(1000)])
        coll.flush()
    path = _segment_file(db_path, "c")
    flip_byte_in_the_middle(path)
    with pytest.raises(ndb.CorruptionError) as info:
        with ndb.Database(db_path) as db:
            db.get_collection("c").verify()
    msg = str(info.value)
    assert msg.startswith("corruption in ") and path in msg and "offset" in msg


def test_read_only_error(db_path):
    with ndb.Database(db_path) as db:
        db.create_collection("c", dim=2).insert("a", [1.0, 0.0])
    ro = ndb.Database(db_path, read_only=True)
    coll = ro.get_collection("c")
    assert coll.get("a") is not None
    for call in (
        lambda: ro.create_collection("d", dim=2),
        lambda: ro.drop_collection("c"),
        lambda: coll.insert("b", [0.0, 1.0]),
        lambda: coll.delete("a"),
        lambda: coll.flush(),
    ):
        with pytest.raises(ndb.ReadOnlyError, match="read-only"):
            call()


def test_argument_errors(db):
    coll = db.create_collection("c", dim=4)
    with pytest.raises(ndb.DimensionError, match="expected 4, got 5") as info:
        coll.insert("a", [1, 2, 3, 4, 5])
    assert isinstance(info.value, ValueError)
    with pytest.raises(ndb.InvalidArgumentError, match="collection name"):
        db.create_collection("no spaces allowed", dim=4)
    with pytest.raises(ndb.InvalidArgumentError, match="dimension"):
        db.create_collection("zero", dim=0)
    with pytest.raises(ndb.InvalidArgumentError, match="distance"):
        db.create_collection("x", dim=4, distance="manhattan")
    with pytest.raises(ndb.InvalidArgumentError, match="durability"):
        db.create_collection("x", dim=4, durability="sometimes")
    with pytest.raises(ndb.InvalidArgumentError, match="m must be"):
        db.create_collection("x", dim=4, m=1)
    with pytest.raises(ndb.InvalidArgumentError, match="id"):
        coll.insert("x" * 5000, [1, 2, 3, 4])
    with pytest.raises(ndb.InvalidArgumentError, match=r"\$gte"):
        coll.search([1, 2, 3, 4], filter={"year": {"$gte": True}})
    with pytest.raises(ndb.InvalidArgumentError):
        coll.search([1, 2, 3, 4], filter='{"year": ')
    with pytest.raises(TypeError):
        coll.search([1, 2, 3, 4], filter=["year"])
    with pytest.raises(ndb.InvalidArgumentError):
        coll.search([1, 2, 3, 4], k=ndb.TOP_K_MAX + 1)
    assert "x" not in db.collection_names()


def test_collection_errors(db):
    db.create_collection("c", dim=2)
    with pytest.raises(ndb.CollectionExistsError, match='"c"'):
        db.create_collection("c", dim=2)
    with pytest.raises(ndb.CollectionNotFoundError) as info:
        db.get_collection("missing")
    assert isinstance(info.value, KeyError)
    assert str(info.value) == 'collection not found: "missing"'
    with pytest.raises(KeyError):
        db.get_collection("missing")
    coll = db.get_collection("c")
    db.drop_collection("c")
    with pytest.raises(ndb.CollectionNotFoundError):
        coll.insert("a", [1.0, 0.0])


def test_not_a_database_and_io_errors(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "photo.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ndb.NotADatabaseError, match="not an nDB database"):
        ndb.Database(str(foreign))
    with pytest.raises(ndb.NotADatabaseError):
        ndb.Database(str(tmp_path / "nothing-here"), read_only=True)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises((ndb.NotADatabaseError, ndb.IoError)):
        ndb.Database(str(a_file))
    with pytest.raises(ndb.IoError) as info:
        ndb.Database(str(a_file / "sub"))
    assert isinstance(info.value, OSError) and str(a_file) in str(info.value)


def test_closed_error(db_path):
    db = ndb.Database(db_path)
    coll = db.create_collection("c", dim=2)
    db.close()
    for call in (lambda: coll.search([1.0, 0.0]), lambda: len(coll), lambda: db.get_collection("c")):
        with pytest.raises(ndb.ClosedError, match="closed"):
            call()
