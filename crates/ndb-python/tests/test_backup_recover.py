"""Online backup (Database.backup) and salvage (ndb.recover)."""

import os
import pathlib
import threading

import numpy as np
import pytest

import ndb
from conftest import flip_byte_in_the_middle


def fill(db, rng, n=600, dim=16):
    """Two collections: "docs" with a flushed segment and a WAL tail, "empty" with nothing."""
    vecs = rng.standard_normal((n, dim)).astype(np.float32)
    docs = db.create_collection("docs", dim=dim, distance="euclidean")
    docs.upsert([f"d{i}" for i in range(n // 2)], vecs[: n // 2], [{"i": i} for i in range(n // 2)])
    docs.flush()
    docs.upsert([f"d{i}" for i in range(n // 2, n)], vecs[n // 2 :], [{"i": i} for i in range(n // 2, n)])
    docs.delete("d3")
    db.create_collection("empty", dim=4)
    return vecs


def contents(db):
    return {
        name: {d.id: (d.vector.tobytes(), d.payload) for d in db.get_collection(name)}
        for name in db.collection_names()
    }


def test_backup_opens_with_the_same_documents(db, tmp_path, rng):
    fill(db, rng)
    dest = tmp_path / "copy"
    stats = db.backup(dest)
    assert set(stats) == {"dest", "collections", "files_linked", "files_copied", "bytes_copied", "duration_s"}
    assert stats["dest"] == pathlib.Path(os.path.abspath(dest))
    assert stats["collections"] == 2
    assert stats["files_linked"] + stats["files_copied"] > 0 and stats["bytes_copied"] > 0
    assert stats["duration_s"] >= 0
    # Writes after the backup are not in it.
    db.get_collection("docs").insert("later", np.zeros(16), {"late": True})
    with ndb.Database(dest) as copy:
        got = contents(copy)
        assert got["docs"].keys() == {f"d{i}" for i in range(600)} - {"d3"}
        assert got["empty"] == {}
        for name in ("docs", "empty"):
            c = copy.get_collection(name)
            c.verify()
            assert (c.dim, c.distance) == (db.get_collection(name).dim, db.get_collection(name).distance)
        copy.get_collection("docs").insert("new", np.ones(16))  # an ordinary, writable database
    live = contents(db)["docs"]
    del live["later"]
    assert got["docs"] == live


def test_backup_into_an_empty_directory_and_while_writing(db, tmp_path, rng):
    fill(db, rng)
    docs = db.get_collection("docs")
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            docs.insert(f"w{i}", np.full(16, i, dtype=np.float32))
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        dest = tmp_path / "empty-dir"
        dest.mkdir()
        db.backup(str(dest))  # str or PathLike; the GIL is released, so the writer runs
    finally:
        stop.set()
        t.join()
    with ndb.Database(dest, read_only=True) as copy:
        written = {d.id for d in copy.get_collection("docs") if d.id.startswith("w")}
    # A prefix of the writer's acknowledged inserts.
    assert written == {f"w{i}" for i in range(len(written))}


def test_backup_refusals_change_nothing(db, db_path, tmp_path, rng):
    fill(db, rng)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep me")
    with pytest.raises(ndb.DestinationNotEmptyError, match="not an empty directory") as info:
        db.backup(taken)
    assert isinstance(info.value, FileExistsError) and str(taken) in str(info.value)
    assert os.listdir(taken) == ["mine.txt"]
    with pytest.raises(ndb.InvalidArgumentError, match="overlaps"):
        db.backup(os.path.join(db_path, "inside"))
    assert not os.path.exists(os.path.join(db_path, "inside"))
    with ndb.Database(db_path, read_only=True) as ro:
        with pytest.raises(ndb.ReadOnlyError):
            ro.backup(tmp_path / "from-reader")
    assert not (tmp_path / "from-reader").exists()
    db.close()
    with pytest.raises(ndb.ClosedError):
        db.backup(tmp_path / "after-close")


def test_recover_of_an_undamaged_database_copies_everything(db_path, tmp_path, rng):
    with ndb.Database(db_path) as db:
        fill(db, rng)
        want = contents(db)
    dest = tmp_path / "salvaged"
    report = ndb.recover(db_path, dest)
    assert isinstance(report, ndb.RecoverReport)
    assert report.complete and report.rows_lost == 0
    assert report.documents_recovered == 599
    assert report.source == pathlib.Path(db_path) and report.dest == dest
    assert [c["name"] for c in report.collections] == ["docs", "empty"]
    docs = report.collections[0]
    assert docs["documents_recovered"] == 599 and docs["complete"] and docs["config_from_manifest"]
    kinds = {f["kind"] for f in docs["files"]}
    assert {"collection_manifest", "segment", "wal"} <= kinds
    assert all(f["damage"] == [] for c in report.collections for f in c["files"])
    assert str(report).startswith("recovered 599 documents from 2 collections of ")
    assert "nothing lost" in str(report).splitlines()[0]
    assert "RecoverReport(" in repr(report)
    with ndb.Database(dest) as copy:
        got = contents(copy)
    # Euclidean vectors are copied bit for bit; so are payloads.
    assert got == want


def test_recover_reports_a_flipped_byte_in_a_segment_row(db_path, tmp_path, rng):
    with ndb.Database(db_path) as db:
        c = db.create_collection("c", dim=32, distance="euclidean")
        vecs = rng.standard_normal((1000, 32)).astype(np.float32)
        c.upsert([str(i) for i in range(1000)], vecs, [{"i": i} for i in range(1000)])
        c.flush()
    seg_dir = os.path.join(db_path, "c", "segments")
    (seg,) = [f for f in os.listdir(seg_dir) if f.endswith(".ndb")]
    flip_byte_in_the_middle(os.path.join(seg_dir, seg))
    source_files = {p: p.read_bytes() for p in pathlib.Path(db_path).rglob("*") if p.is_file()}

    report = ndb.recover(db_path, tmp_path / "salvaged")
    assert not report.complete
    assert report.rows_lost == 1 and report.documents_recovered == 999
    (coll,) = report.collections
    assert not coll["complete"] and coll["rows_lost"] == 1
    (damaged,) = [f for f in coll["files"] if f["damage"]]
    assert damaged["kind"] == "segment" and damaged["path"] == pathlib.Path("c", "segments", seg)
    assert damaged["rows_lost"] == 1 and damaged["documents_read"] == 999
    (damage,) = damaged["damage"]
    assert isinstance(damage["rows"], range) and len(damage["rows"]) == 1
    assert isinstance(damage["bytes"], range) and damage["records"] is None
    lost = damage["ids"]
    assert len(lost) == 1 and damage["reason"]
    assert "1 row lost" in str(report) and "LOST" in str(report)
    with ndb.Database(tmp_path / "salvaged") as copy:
        salvaged = copy.get_collection("c")
        assert len(salvaged) == 999 and lost[0] not in salvaged
    # The source was not written.
    assert {p: p.read_bytes() for p in pathlib.Path(db_path).rglob("*") if p.is_file()} == source_files


def test_recover_refusals(db_path, tmp_path):
    with ndb.Database(db_path) as db:
        db.create_collection("c", dim=2).insert("a", [1, 0])
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("x")
    with pytest.raises(ndb.DestinationNotEmptyError):
        ndb.recover(db_path, taken)
    assert os.listdir(taken) == ["x"]
    with pytest.raises(ndb.NotADatabaseError):
        ndb.recover(tmp_path / "missing", tmp_path / "out")
    assert not (tmp_path / "out").exists()
