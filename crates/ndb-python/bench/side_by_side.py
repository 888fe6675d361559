"""nDB and hnswlib side by side in one process, unpinned: 60,000 base vectors of a dataset
(with small payloads in nDB), one query at a time, best of 5 passes of 1,000 queries, us/query.

    python crates/ndb-python/bench/side_by_side.py target/datasets/fashion-mnist EF 1   # 1: payloads stored, 0: none
"""
import sys, time, os, tempfile, numpy as np, ndb
d = sys.argv[1]; ef = int(sys.argv[2]); payloads = sys.argv[3] == "1"
raw = np.fromfile(d + "/base.fvecs", dtype=np.int32); dim = raw[0]
base = raw.reshape(-1, dim + 1)[:60000, 1:].copy().view(np.float32)
rq = np.fromfile(d + "/query.fvecs", dtype=np.int32); q = rq.reshape(-1, dim + 1)[:1000, 1:].copy().view(np.float32)
with tempfile.TemporaryDirectory() as t:
    db = ndb.Database(t)
    c = db.create_collection("b", dim=int(dim), distance="euclidean", flush_threshold_bytes=1 << 30)
    ids = [str(i) for i in range(len(base))]
    for s in range(0, len(base), 1000):
        c.upsert(ids[s:s+1000], base[s:s+1000], [{"i": i, "w": "x"} for i in range(s, s+1000)] if payloads else None)
    c.flush()
    best = {}
    for r in range(5):
        for name, fn in (("ids", lambda x: [int(m.id) for m in c.search(x, k=10, ef=ef)]),
                         ("payloads", lambda x: [m.payload for m in c.search(x, k=10, ef=ef)])):
            t0 = time.perf_counter()
            for x in q: fn(x)
            best[name] = min(best.get(name, 1e9), time.perf_counter() - t0)
    print({k: f"{1e6 * v / len(q):.1f} us/query" for k, v in best.items()}, "payloads stored" if payloads else "no payloads")
    db.close()
import hnswlib
p = hnswlib.Index(space="l2", dim=int(dim)); p.init_index(max_elements=len(base), M=16, ef_construction=200, random_seed=100)
p.add_items(base); p.set_ef(ef); p.set_num_threads(1)
bh = 1e9
for r in range(5):
    t0 = time.perf_counter()
    for x in q: [int(i) for i in p.knn_query(x[None, :], k=10)[0][0]]
    bh = min(bh, time.perf_counter() - t0)
print(f"hnswlib: {1e6 * bh / len(q):.1f} us/query")
