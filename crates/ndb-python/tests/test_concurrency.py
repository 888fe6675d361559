"""Readers and writers at the same time: another process, and threads in this one."""

import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import ndb

BATCH = 50
DIM = 16

WRITER = textwrap.dedent(
    """
    import sys, time, numpy as np, ndb
    path, batches = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(7)
    with ndb.Database(path) as db:
        coll = db.create_collection("c", dim=%(dim)d, flush_threshold_bytes=64 * 1024)
        print("ready", flush=True)
        for b in range(batches):
            ids = [f"{b}-{i}" for i in range(%(batch)d)]
            coll.upsert(ids, rng.standard_normal((%(batch)d, %(dim)d)), [{"batch": b}] * %(batch)d)
            if b %% 7 == 3:
                coll.delete_many([f"{b - 1}-{i}" for i in range(%(batch)d)])  # never the last batch
            time.sleep(0.002)
        print("done", flush=True)
    """
) % {"dim": DIM, "batch": BATCH}


def test_reader_process_while_writer_writes(db_path):
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, db_path, "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
        snapshots = 0
        sizes = set()
        q = np.ones(DIM, np.float32)
        while writer.poll() is None or snapshots < 3:
            ro = ndb.Database(db_path, read_only=True)
            coll = ro.get_collection("c")
            n = len(coll)
            per_batch = {}
            for doc in coll:
                b = int(doc.id.split("-")[0])
                assert doc.payload == {"batch": b}
                per_batch[b] = per_batch.get(b, 0) + 1
            # An upsert batch is all-or-nothing. delete_many deletes one id at a time, so the
            # batch being deleted may be seen half gone.
            partial = {b: v for b, v in per_batch.items() if v != BATCH}
            assert all((b + 1) % 7 == 3 for b in partial), partial
            assert sum(per_batch.values()) == n
            hits = coll.search(q, k=5)
            assert len(hits) == min(5, n)
            sizes.add(n)
            snapshots += 1
            ro.close()
        assert writer.wait(timeout=60) == 0, writer.stderr.read()
        # The reader saw the collection grow while it was being written.
        assert len(sizes) >= 2, sizes
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    with ndb.Database(db_path, read_only=True) as ro:
        coll = ro.get_collection("c")
        deleted = len([b for b in range(300) if b % 7 == 3])
        assert len(coll) == (300 - deleted) * BATCH


def test_threads_search_while_one_thread_upserts(db):
    rng = np.random.default_rng(3)
    coll = db.create_collection("c", dim=DIM, distance="euclidean", index_min_rows=500, flush_threshold_bytes=256 * 1024)
    base = rng.standard_normal((2000, DIM)).astype(np.float32)
    coll.upsert([f"base-{i}" for i in range(2000)], base, [{"base": True}] * 2000)
    coll.flush()
    stop = threading.Event()
    errors = []
    searches = [0] * 4

    def writer():
        try:
            for b in range(100):
                ids = [f"w{b}-{i}" for i in range(50)]
                coll.upsert(ids, rng.standard_normal((50, DIM)) + 100.0, [{"base": False}] * 50)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            stop.set()

    def searcher(t):
        try:
            while not stop.is_set():
                i = (searches[t] * 7 + t) % 2000
                hits = coll.search(base[i], k=3, filter={"base": True})
                assert hits[0].id == f"base-{i}"
                searches[t] += 1
                if searches[t] % 10 == 0:
                    r = coll.search_batch(base[i : i + 4], k=1, exact=True)
                    assert [h[0].id for h in r] == [f"base-{j}" for j in range(i, i + len(r))]
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=searcher, args=(t,)) for t in range(4)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert all(s > 0 for s in searches), searches
    assert len(coll) == 2000 + 100 * 50


def test_gil_is_released_during_calls(db):
    """A pure-Python thread keeps running while another thread is inside a long nDB call."""
    rng = np.random.default_rng(5)
    coll = db.create_collection("c", dim=64, distance="euclidean")
    coll.upsert([str(i) for i in range(10_000)], rng.standard_normal((10_000, 64)).astype(np.float32))
    coll.flush()
    queries = rng.standard_normal((200, 64)).astype(np.float32)
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        for call in (
            lambda: coll.search_batch(queries, k=10, exact=True, threads=1),
            lambda: [coll.search(q, k=10, exact=True) for q in queries[:10]],
            lambda: coll.compact(),
        ):
            before = counter[0]
            t0 = time.perf_counter()
            call()
            elapsed = time.perf_counter() - t0
            ran = counter[0] - before
            # With the GIL held for the whole call the spinner could not count at all.
            assert ran > 1000 or elapsed < 0.02, (ran, elapsed)
    finally:
        stop.set()
        t.join()


@pytest.mark.parametrize("threads", [1, 2])
def test_search_batch_matches_single_searches(db, threads):
    rng = np.random.default_rng(11)
    coll = db.create_collection("c", dim=DIM)
    coll.upsert([str(i) for i in range(3000)], rng.standard_normal((3000, DIM)))
    q = rng.standard_normal((64, DIM))
    single = [[m.id for m in coll.search(v, k=7)] for v in q]
    batch = [[m.id for m in r] for r in coll.search_batch(q, k=7, threads=threads)]
    assert batch == single
