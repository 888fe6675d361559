#!/usr/bin/env python3
"""nDB from Python beside hnswlib, Chroma and LanceDB: ingest and single-query QPS at recall@10.

    python bench.py DATASET_DIR [--n N] [--queries Q] [--engines ndb,hnswlib,chroma,lancedb]
                    [--cpus 0] [--json FILE] [--scratch DIR] [--keep-ndb DIR]

DATASET_DIR holds base.fvecs, query.fvecs, gt.ivecs, gt_dist.fvecs, INFO.md (from
scripts/fetch-dataset.sh). The first N base vectors are used (all of them if the base is
smaller); the ground truth is recomputed by brute force (float64) when N < the base size.

One core: the process pins itself to --cpus (default: the first CPU it may use) before any engine
starts a thread, so every engine's build and search run on one core; only the search_batch
figure widens the pin to two cores. Per engine:

- ingest: documents/s from the first write to "searchable with an index": batches of 1,000
  (id, vector, payload) then the index build (nDB: upsert + flush, which builds the HNSW graph
  of the one segment; hnswlib: add_items, no payloads; Chroma: add; LanceDB: add, then
  create_index IVF_HNSW_SQ).
- search: one query at a time, k=10, for each setting of a sweep (ef; LanceDB nprobes x ef),
  the fastest of 3 passes over the queries;
  recall@10 (a result counts if it is in the true top 10 or no farther than the 10th true
  neighbour, fair with ties) and QPS; the best QPS at recall >= 0.95 is the headline.
- nDB also: search_batch QPS on 2 threads (and on 1), at the ef chosen above.

With --keep-ndb DIR, nDB's database is made in DIR (which must not exist) and kept, closed, so
that the Rust example `search_db` can time the same searches on the same collection ("bench")
from Rust: the difference is the binding's cost per call (run.sh does this).

Prints a JSON document (also written to --json).
"""

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402

K = 10
BATCH = 1000
RECALL_TARGET = 0.95
EF_SWEEP = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
# --keep-ndb: where nDB's database is made and left (None: in the scratch folder, removed).
KEEP_NDB = None


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    d = int(raw[0])
    return raw.reshape(-1, d + 1)[:, 1:].copy().view(dtype)


def metric_of(dataset_dir):
    info = open(os.path.join(dataset_dir, "INFO.md")).read()
    return "cosine" if "metric = **cosine**" in info else "l2"


def distances(base, q, metric):
    """float64 distances from q to every row (squared l2, or 1 - cosine)."""
    if metric == "l2":
        diff = base - q
        return np.einsum("ij,ij->i", diff, diff)
    return 1.0 - base @ q


def ground_truth(base64, queries64, metric):
    """Exact top-K ids and the K-th distance per query (float64 brute force)."""
    n = len(base64)
    kth = np.empty(len(queries64))
    ids = np.empty((len(queries64), K), np.int64)
    for i, q in enumerate(queries64):
        d = distances(base64, q, metric)
        top = np.argpartition(d, K)[:K]
        top = top[np.argsort(d[top], kind="stable")]
        ids[i] = top
        kth[i] = d[top[-1]]
    assert n >= K
    return ids, kth


class Judge:
    def __init__(self, base, queries, metric, gt_ids, kth):
        self.base64 = base.astype(np.float64)
        self.q64 = queries.astype(np.float64)
        if metric == "cosine":
            self.base64 /= np.linalg.norm(self.base64, axis=1, keepdims=True)
            self.q64 /= np.linalg.norm(self.q64, axis=1, keepdims=True)
        self.metric = metric
        self.gt = [set(r.tolist()) for r in gt_ids]
        self.kth = kth

    def recall(self, results):
        """results: per query a list of base row numbers."""
        hits = 0
        for i, rows in enumerate(results):
            for r in rows[:K]:
                if r in self.gt[i]:
                    hits += 1
                else:
                    d = distances(self.base64[r : r + 1], self.q64[i], self.metric)[0]
                    hits += d <= self.kth[i] * (1 + 1e-9) + 1e-12
        return hits / (K * len(results))


def time_queries(fn, queries, warmup=20, runs=3):
    """One query at a time; the fastest of `runs` passes (as ndb-search-bench's --sweep-runs)."""
    for q in queries[:warmup]:
        fn(q)
    best = None
    for _ in range(runs):
        out = []
        t0 = time.perf_counter()
        for q in queries:
            out.append(fn(q))
        secs = time.perf_counter() - t0
        best = secs if best is None else min(best, secs)
    return out, best


def sweep(name, settings, apply, search, queries, judge):
    points = []
    for s in settings:
        apply(s)
        res, secs = time_queries(search, queries)
        p = {"setting": s, "recall": round(judge.recall(res), 4), "qps": round(len(queries) / secs, 1)}
        log(f"  {name} {s}: recall {p['recall']:.4f}  {p['qps']:.0f} QPS")
        points.append(p)
        if p["recall"] >= 0.995:
            break
    ok = [p for p in points if p["recall"] >= RECALL_TARGET]
    best = max(ok, key=lambda p: p["qps"]) if ok else None
    return points, best


def result(n, t_total, note, points, best, t_insert=None, **extra):
    """An engine's result: its ingest rate (and, where the index is built after the inserts, the
    time of each), the note on how it ingests, the ef sweep and its best point, then `extra`."""
    out = {"ingest_docs_per_s": round(n / t_total, 1)}
    if t_insert is not None:
        out["insert_s"] = round(t_insert, 3)
        out["index_build_s"] = round(t_total - t_insert, 3)
    out.update(ingest_note=note, sweep=points, best=best, **extra)
    return out


def payloads_for(ds, n):
    labels_path = os.path.join(ds, "base.labels")
    words_path = os.path.join(ds, "base.txt")
    if os.path.exists(labels_path):
        labels = np.loadtxt(labels_path, dtype=np.int64)[:n]
        return [{"i": i, "label": int(labels[i])} for i in range(n)]
    if os.path.exists(words_path):
        with open(words_path, encoding="utf-8") as f:
            words = f.read().split("\n")[:n]
        return [{"i": i, "word": words[i]} for i in range(n)]
    return [{"i": i} for i in range(n)]


# -- engines ---------------------------------------------------------------------------------


def run_ndb(base, queries, payloads, metric, judge, scratch, cpus):
    import ndb

    n, dim = base.shape
    ids = [str(i) for i in range(n)]
    if KEEP_NDB is not None and os.path.exists(KEEP_NDB):
        raise SystemExit(f"--keep-ndb {KEEP_NDB}: already exists")
    db = ndb.Database(KEEP_NDB or os.path.join(scratch, "ndb"))
    coll = db.create_collection(
        "bench",
        dim=dim,
        distance="euclidean" if metric == "l2" else "cosine",
        flush_threshold_bytes=max(n * (dim * 4 + 64) * 2, 1 << 30),
    )
    t0 = time.perf_counter()
    for s in range(0, n, BATCH):
        coll.upsert(ids[s : s + BATCH], base[s : s + BATCH], payloads[s : s + BATCH])
    t_insert = time.perf_counter() - t0
    coll.flush()
    t_total = time.perf_counter() - t0
    st = coll.stats()
    assert st["indexed_docs"] == n and st["segment_count"] == 1, st
    ef = [None]

    def search(q):
        return [int(m.id) for m in coll.search(q, k=K, ef=ef[0])]

    points, best = sweep("ndb", EF_SWEEP, lambda s: ef.__setitem__(0, s), search, queries, judge)
    note = "upsert batches of 1,000 with payloads, then flush (HNSW graph of the one segment, M=16, ef_construction=200)"
    out = result(n, t_total, note, points, best, t_insert=t_insert)
    if best is not None:
        e = best["setting"]
        for threads in (1, 2):
            os.sched_setaffinity(0, set(cpus[:threads]) if len(cpus) >= threads else set(cpus))
            coll.search_batch(queries[:50], k=K, ef=e, threads=threads)
            secs = None
            for _ in range(3):
                t = time.perf_counter()
                res = coll.search_batch(queries, k=K, ef=e, threads=threads)
                secs = min(secs or 1e9, time.perf_counter() - t)
            out[f"search_batch_{threads}t"] = {
                "ef": e,
                "qps": round(len(queries) / secs, 1),
                "recall": round(judge.recall([[int(m.id) for m in r] for r in res]), 4),
                "cpus": sorted(os.sched_getaffinity(0)),
            }
        os.sched_setaffinity(0, {cpus[0]})
    db.close()
    return out


def run_hnswlib(base, queries, payloads, metric, judge, scratch, cpus):
    import hnswlib

    n, dim = base.shape
    index = hnswlib.Index(space="l2" if metric == "l2" else "cosine", dim=dim)
    t0 = time.perf_counter()
    index.init_index(max_elements=n, M=16, ef_construction=200, random_seed=100)
    for s in range(0, n, BATCH):
        index.add_items(base[s : s + BATCH], np.arange(s, min(n, s + BATCH)), num_threads=1)
    t_total = time.perf_counter() - t0
    index.set_num_threads(1)

    def search(q):
        labels, _ = index.knn_query(q, k=K, num_threads=1)
        return labels[0].tolist()

    points, best = sweep("hnswlib", EF_SWEEP, index.set_ef, search, queries, judge)
    note = "add_items in batches of 1,000, num_threads=1, M=16, ef_construction=200; no payloads (hnswlib has none)"
    out = result(n, t_total, note, points, best)
    if best is not None:
        index.set_ef(best["setting"])
        os.sched_setaffinity(0, set(cpus[:2]))
        secs = None
        for _ in range(3):
            t = time.perf_counter()
            index.knn_query(queries, k=K, num_threads=2)
            secs = min(secs or 1e9, time.perf_counter() - t)
        out["knn_query_batch_2t"] = {"ef": best["setting"], "qps": round(len(queries) / secs, 1)}
        os.sched_setaffinity(0, {cpus[0]})
    return out


def run_chroma(base, queries, payloads, metric, judge, scratch, cpus):
    import chromadb

    n, dim = base.shape
    client = chromadb.PersistentClient(path=os.path.join(scratch, "chroma"))
    space = "l2" if metric == "l2" else "cosine"
    coll = client.create_collection(
        "bench",
        configuration={"hnsw": {"space": space, "ef_construction": 200, "max_neighbors": 16, "ef_search": 100}},
    )
    ids = [str(i) for i in range(n)]
    t0 = time.perf_counter()
    for s in range(0, n, BATCH):
        coll.add(ids=ids[s : s + BATCH], embeddings=base[s : s + BATCH], metadatas=payloads[s : s + BATCH])
    t_total = time.perf_counter() - t0

    def apply(ef):
        coll.modify(configuration={"hnsw": {"ef_search": ef}})

    def search(q):
        r = coll.query(query_embeddings=q.reshape(1, -1), n_results=K, include=[])
        return [int(i) for i in r["ids"][0]]

    points, best = sweep("chroma", EF_SWEEP, apply, search, queries, judge)
    note = "PersistentClient, add() in batches of 1,000 with metadata; HNSW max_neighbors=16, ef_construction=200"
    return result(n, t_total, note, points, best, version=chromadb.__version__)


def run_lancedb(base, queries, payloads, metric, judge, scratch, cpus):
    import lancedb
    import pyarrow as pa

    n, dim = base.shape
    db = lancedb.connect(os.path.join(scratch, "lance"))
    keys = sorted(payloads[0])

    def batch(s):
        e = min(n, s + BATCH)
        cols = {
            "id": pa.array([str(i) for i in range(s, e)]),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(base[s:e].reshape(-1)), dim),
        }
        for k in keys:
            cols[k] = pa.array([p[k] for p in payloads[s:e]])
        return pa.table(cols)

    t0 = time.perf_counter()
    table = db.create_table("bench", data=batch(0))
    for s in range(BATCH, n, BATCH):
        table.add(batch(s))
    t_insert = time.perf_counter() - t0
    lmetric = "l2" if metric == "l2" else "cosine"
    table.create_index(metric=lmetric, vector_column_name="vector", index_type="IVF_HNSW_SQ")
    try:
        table.wait_for_index(["vector_idx"])
    except Exception as e:  # older/newer API names
        log("  lancedb wait_for_index:", e)
    t_total = time.perf_counter() - t0
    setting = [None]

    def search(q):
        nprobes, ef = setting[0]
        r = table.search(q).metric(lmetric).nprobes(nprobes).ef(ef).limit(K).select(["id"]).to_arrow()
        return [int(i) for i in r.column("id").to_pylist()]

    settings = [(p, e) for p in (10, 20, 40) for e in (16, 32, 64, 128, 256)]
    points, best = sweep("lancedb", settings, lambda s: setting.__setitem__(0, s), search, queries, judge)
    note = "create_table + add() in Arrow batches of 1,000 with payload columns, then create_index IVF_HNSW_SQ (defaults)"
    return result(n, t_total, note, points, best, t_insert=t_insert, version=lancedb.__version__)


ENGINES = {"ndb": run_ndb, "hnswlib": run_hnswlib, "chroma": run_chroma, "lancedb": run_lancedb}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--engines", default="ndb,hnswlib,chroma,lancedb")
    ap.add_argument("--cpus", default=None, help="comma-separated CPUs; the first is the one-core pin")
    ap.add_argument("--json", default=None)
    ap.add_argument("--scratch", default=None)
    ap.add_argument("--keep-ndb", default=None, help="make nDB's database here and keep it")
    args = ap.parse_args()
    global KEEP_NDB
    KEEP_NDB = args.keep_ndb

    allowed = sorted(os.sched_getaffinity(0))
    cpus = [int(c) for c in args.cpus.split(",")] if args.cpus else allowed
    os.sched_setaffinity(0, {cpus[0]})

    ds = args.dataset
    metric = metric_of(ds)
    base_all = read_vecs(os.path.join(ds, "base.fvecs"), np.float32)
    n = min(args.n, len(base_all))
    base = np.ascontiguousarray(base_all[:n])
    queries = np.ascontiguousarray(read_vecs(os.path.join(ds, "query.fvecs"), np.float32)[: args.queries])
    log(f"{ds}: {n} of {len(base_all)} base vectors x {base.shape[1]}, {len(queries)} queries, {metric}")
    judge = Judge(base, queries, metric, *(np.zeros((len(queries), K), np.int64), np.zeros(len(queries))))
    if n == len(base_all):
        gt = read_vecs(os.path.join(ds, "gt.ivecs"), np.int32)[: len(queries), :K]
        gd = read_vecs(os.path.join(ds, "gt_dist.fvecs"), np.float32)[: len(queries)]
        # gt_dist is float32; recompute the K-th distance in float64 from the ids.
        kth = np.array([distances(judge.base64[gt[i, -1] : gt[i, -1] + 1], judge.q64[i], metric)[0] for i in range(len(queries))])
        assert np.allclose(kth, gd[:, K - 1], rtol=1e-4, atol=1e-4)
        gt_how = "gt.ivecs of the dataset (the whole base is used)"
    else:
        t = time.time()
        gt, kth = ground_truth(judge.base64, judge.q64, metric)
        gt_how = f"brute force over the first {n} base vectors (float64, {time.time() - t:.0f} s)"
    judge.gt = [set(r.tolist()) for r in gt]
    judge.kth = kth
    payloads = payloads_for(ds, n)

    scratch = args.scratch or tempfile.mkdtemp(prefix="ndb-py-bench-")
    results = {}
    for name in args.engines.split(","):
        log(f"{name}: ingest {n} documents")
        d = os.path.join(scratch, name)
        os.makedirs(d, exist_ok=True)
        try:
            results[name] = ENGINES[name](base, queries, payloads, metric, judge, d, cpus)
        except Exception as e:  # report and go on with the others
            log(f"{name} failed: {type(e).__name__}: {e}")
            results[name] = {"error": f"{type(e).__name__}: {e}"}
        shutil.rmtree(d, ignore_errors=True)
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("ndb-vector", "hnswlib", "chromadb", "lancedb", "numpy"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    doc = {
        "bench": "crates/ndb-python/bench/bench.py",
        "command": " ".join(sys.argv),
        "dataset": {"dir": ds, "n": n, "base_total": len(base_all), "dim": int(base.shape[1]), "queries": len(queries), "metric": metric, "ground_truth": gt_how},
        "k": K,
        "one_core_pin": cpus[0],
        "machine": {"python": platform.python_version(), "cpus_allowed": allowed, "processor": platform.processor() or platform.machine()},
        "versions": versions,
        "results": results,
    }
    text = json.dumps(doc, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
