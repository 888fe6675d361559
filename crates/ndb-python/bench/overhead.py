#!/usr/bin/env python3
"""The extension's own cost per call, on a collection so small that the search itself is almost
free (64 documents of 8 dimensions in one segment, exact): what a Python caller pays above the
Rust call (argument conversion, the GIL release, building the ``ndb.Match`` list and payload
dicts), with and without payloads in the results. The Python twin of
crates/ndb-node/bench/overhead.js.

    python bench/overhead.py [--calls 200000] [--repeat 5]

Each figure is the median of ``--repeat`` timed loops of ``--calls`` calls (after a warm-up).
"""

import argparse
import os
import shutil
import statistics
import tempfile
import time

import numpy as np

import ndb


def per_call_us(fn, calls, repeat):
    for _ in range(min(calls, 2000)):
        fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - t0) * 1e6 / calls)
    return statistics.median(runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    scratch = tempfile.mkdtemp(prefix="ndb-overhead-")
    rows = []
    try:
        db = ndb.Database(os.path.join(scratch, "db"))
        for with_payload in (False, True):
            coll = db.create_collection("p" if with_payload else "n", dim=8, distance="euclidean")
            vecs = np.sin(np.arange(64 * 8, dtype=np.float64)).reshape(64, 8).astype(np.float32)
            payloads = (
                [{"row": i, "label": i % 10, "split": "odd" if i % 2 else "even"} for i in range(64)]
                if with_payload
                else None
            )
            coll.upsert([f"doc-{i}" for i in range(64)], vecs, payloads)
            coll.flush()  # one segment: payloads are decoded for the hits only
            q = np.full(8, 0.25, dtype=np.float32)
            ql = q.tolist()
            cases = [
                ("search(q, k=10)", lambda: coll.search(q, k=10)),
                ("search(q, k=1)", lambda: coll.search(q, k=1)),
                ("search(list, k=10)", lambda: coll.search(ql, k=10)),
                ("[m.id for m in search(q, k=10)]", lambda: [m.id for m in coll.search(q, k=10)]),
                (
                    "[(m.id, m.payload) for m in search(q, k=10)]",
                    lambda: [(m.id, m.payload) for m in coll.search(q, k=10)],
                ),
                ("has_index() (no search, no conversion)", coll.has_index),
            ]
            for label, fn in cases:
                rows.append((label, with_payload, per_call_us(fn, args.calls, args.repeat)))
        db.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("| call (64 docs x 8 dims, exact) | payloads | µs per call |")
    print("|---|---|---:|")
    for label, with_payload, us in rows:
        print(f"| {label} | {'yes (3 fields)' if with_payload else 'no'} | {us:.2f} |")


if __name__ == "__main__":
    main()
