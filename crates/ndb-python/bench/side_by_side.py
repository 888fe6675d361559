"""nDB and hnswlib side by side in one process, unpinned, their passes interleaved: the first N
base vectors of a dataset (with small payloads in nDB if asked), one query at a time, ROUNDS
rounds of one nDB pass then one hnswlib pass over 1,000 queries; prints each engine's median
us/query and the median of the per-round ratios (hnswlib time / nDB time, i.e. nDB's QPS over
hnswlib's), which machine-wide slowdowns (other tenants of a shared cache) affect least.

    python crates/ndb-python/bench/side_by_side.py DATASET_DIR EF PAYLOADS [N] [ROUNDS]
    # e.g. target/datasets/fashion-mnist 16 1 (PAYLOADS 1: stored, 0: none; N 60000; ROUNDS 9)
"""
import os
import statistics
import sys
import tempfile
import time

import hnswlib
import numpy as np

import ndb

d = sys.argv[1]
ef = int(sys.argv[2])
payloads = sys.argv[3] == "1"
n = int(sys.argv[4]) if len(sys.argv) > 4 else 60000
rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 9
with open(os.path.join(d, "INFO.md"), encoding="utf-8") as f:
    info = f.read().lower()
cosine = "cosine" in info or "angular" in info
raw = np.fromfile(d + "/base.fvecs", dtype=np.int32)
dim = int(raw[0])
base = raw.reshape(-1, dim + 1)[:n, 1:].copy().view(np.float32)
rq = np.fromfile(d + "/query.fvecs", dtype=np.int32)
q = rq.reshape(-1, dim + 1)[:1000, 1:].copy().view(np.float32)

p = hnswlib.Index(space="cosine" if cosine else "l2", dim=dim)
p.init_index(max_elements=len(base), M=16, ef_construction=200, random_seed=100)
p.add_items(base)
p.set_ef(ef)
p.set_num_threads(1)

with tempfile.TemporaryDirectory() as t:
    db = ndb.Database(t)
    c = db.create_collection(
        "b", dim=dim, distance="cosine" if cosine else "euclidean", flush_threshold_bytes=1 << 30
    )
    ids = [str(i) for i in range(len(base))]
    for s in range(0, len(base), 1000):
        docs = [{"i": i, "w": "x"} for i in range(s, min(s + 1000, len(base)))] if payloads else None
        c.upsert(ids[s : s + 1000], base[s : s + 1000], docs)
    c.flush()

    def ndb_pass():
        for x in q:
            [int(m.id) for m in c.search(x, k=10, ef=ef)]

    def hnswlib_pass():
        for x in q:
            [int(i) for i in p.knn_query(x[None, :], k=10)[0][0]]

    ndb_pass()
    hnswlib_pass()
    times = {"nDB": [], "hnswlib": []}
    for _ in range(rounds):
        for name, fn in (("nDB", ndb_pass), ("hnswlib", hnswlib_pass)):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    db.close()
ratios = [h / m for m, h in zip(times["nDB"], times["hnswlib"])]
us = {k: 1e6 * statistics.median(v) / len(q) for k, v in times.items()}
print(
    f"{os.path.basename(d.rstrip('/'))} n={len(base)} ef={ef} payloads={'yes' if payloads else 'no'}: "
    f"nDB {us['nDB']:.1f} us/query, hnswlib {us['hnswlib']:.1f} us/query (medians of {rounds}); "
    f"nDB/hnswlib QPS per round: median {statistics.median(ratios):.2f}x "
    f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
)
