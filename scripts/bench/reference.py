#!/usr/bin/env python3
"""Reference timings for nDB's exact search: faiss IndexFlat and numpy brute force, one query at a
time on one thread, on the same TexMex files that `ndb-search-bench` reads.

    target/bench-venv/bin/python scripts/bench/reference.py DIR [--metric l2|cosine|dot] [--k 10]
                                                           [--queries N] [--warmup 10]
                                                           [--engines faiss,numpy]

DIR holds base.fvecs, query.fvecs, gt.ivecs and gt_dist.fvecs (scripts/fetch-dataset.sh makes them;
`ndb-search-bench --synthetic N,DIM` writes synthetic ones to a temporary folder and calls this
script on it). The venv comes from scripts/bench/setup-venv.sh.

- faiss: IndexFlatL2 for l2, IndexFlatIP for cosine (base and queries normalised) and dot;
  faiss.omp_set_num_threads(1); each query timed alone: index.search(q[i:i+1], k).
- numpy: per query one matrix-vector product against the base (single-threaded BLAS), then
  argpartition + sort of the k best; l2 uses precomputed base norms (|b|^2 - 2<q,b>).
- recall@k: a result is a hit if its id is in the true top k, or if its exact (float64) distance
  is <= the k-th ground-truth distance (fair with ties), the same definition as ndb-search-bench.

Prints one JSON object on stdout; progress on stderr. Threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS
and MKL_NUM_THREADS are set to 1 before numpy is imported. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
(set machine-wide on some hosts for old OpenBLAS builds) slow a current numpy: ndb-search-bench
removes them from this script's environment; run it by hand with `env -u OPENBLAS_CORETYPE -u
OPENBLAS_L2_SIZE` to match.
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
           "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def log(*a):
    print("[reference]", *a, file=sys.stderr, flush=True)


def read_vecs(path, kind, limit=None):
    """TexMex .fvecs (kind 'f') / .ivecs (kind 'i'): per row an int32 LE dim, then dim values."""
    dt = np.dtype("<f4") if kind == "f" else np.dtype("<i4")
    raw = np.fromfile(path, dtype="<i4")
    if raw.size == 0:
        raise SystemExit(f"{path}: empty file")
    d = int(raw[0])
    if d <= 0 or raw.size % (d + 1) != 0:
        raise SystemExit(f"{path}: not a whole number of rows of dimension {d}")
    raw = raw.reshape(-1, d + 1)
    if not (raw[:, 0] == d).all():
        bad = int(np.flatnonzero(raw[:, 0] != d)[0])
        raise SystemExit(f"{path}: row {bad} has dimension {raw[bad, 0]}, expected {d}")
    if limit is not None:
        raw = raw[:limit]
    return np.ascontiguousarray(raw[:, 1:]).view(dt)


def exact_distance(metric, q, rows):
    """float64 distances of q to rows (lower is nearer), as the ground truth defines them."""
    q = q.astype(np.float64)
    rows = rows.astype(np.float64)
    if metric == "l2":
        diff = rows - q
        return np.einsum("ij,ij->i", diff, diff)
    if metric == "cosine":
        qn = np.linalg.norm(q)
        rn = np.linalg.norm(rows, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = 1.0 - (rows @ q) / (rn * qn)
        return np.where((rn == 0) | (qn == 0), 1.0, d)
    return -(rows @ q)


def recall(metric, k, base, queries, gt, gt_dist, results):
    """Hits / (queries * k), with ties at the k-th distance counted as hits."""
    hits = 0
    for i, res in enumerate(results):
        seen = []
        for r in res[:k]:
            r = int(r)
            if r < 0 or r in seen:
                continue
            seen.append(r)
        if not seen:
            continue
        truth = set(int(t) for t in gt[i, :k])
        kth = float(gt_dist[i, k - 1])
        tol = 1e-6 * abs(kth) + 1e-7
        ids = np.asarray(seen)
        d = exact_distance(metric, queries[i], base[ids])
        for r, dr in zip(seen, d):
            if r in truth or dr <= kth + tol:
                hits += 1
    return hits / (len(results) * k)


def run_delay_s():
    """Seconds this process's threads have waited for a CPU (run queue), from /proc schedstat."""
    total = 0
    try:
        for t in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{t}/schedstat") as f:
                    total += int(f.read().split()[1])
            except (OSError, IndexError, ValueError):
                pass
    except OSError:
        return 0.0
    return total / 1e9


def summarise(engine, mode, note, ms, wall_s, rec, wait_s):
    ms = np.sort(np.asarray(ms))
    n = len(ms)

    def pct(p):
        rank = int(np.ceil(p / 100.0 * n))
        return float(ms[min(max(rank, 1), n) - 1])

    return {
        "engine": engine,
        "mode": mode,
        "threads": 1,
        "queries": n,
        "p50_ms": round(pct(50), 4),
        "p95_ms": round(pct(95), 4),
        "p99_ms": round(pct(99), 4),
        "mean_ms": round(float(ms.mean()), 4),
        "max_ms": round(float(ms[-1]), 4),
        "qps": round(n / wall_s, 2),
        "recall": round(rec, 4),
        "sched_wait": round(wait_s / wall_s, 4),
        "note": note,
    }


def timed_loop(fn, queries, warmup):
    for i in range(min(warmup, len(queries))):
        fn(i)
    ms = []
    out = []
    perf = time.perf_counter
    d0 = run_delay_s()
    t0 = perf()
    for i in range(len(queries)):
        t = perf()
        r = fn(i)
        ms.append((perf() - t) * 1e3)
        out.append(r)
    wall = perf() - t0
    return ms, out, wall, run_delay_s() - d0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--metric", default="l2", choices=["l2", "cosine", "dot"])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--queries", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--engines", default="faiss,numpy")
    a = ap.parse_args()
    engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    k, metric = a.k, a.metric

    t = time.time()
    base = read_vecs(os.path.join(a.dir, "base.fvecs"), "f")
    queries = read_vecs(os.path.join(a.dir, "query.fvecs"), "f", a.queries)
    gt = read_vecs(os.path.join(a.dir, "gt.ivecs"), "i", a.queries)
    gt_dist = read_vecs(os.path.join(a.dir, "gt_dist.fvecs"), "f", a.queries)
    if gt.shape[1] < k or gt.shape[0] < len(queries):
        raise SystemExit(f"ground truth {gt.shape} too small for k={k}, {len(queries)} queries")
    log(f"loaded {a.dir}: base {base.shape}, queries {queries.shape}, metric {metric}, k={k} "
        f"({time.time() - t:.1f} s)")

    # The vectors the engines search (cosine: unit length, then inner product).
    if metric == "cosine":
        bn = np.linalg.norm(base, axis=1, keepdims=True)
        qn = np.linalg.norm(queries, axis=1, keepdims=True)
        xb = np.ascontiguousarray(base / np.where(bn == 0, 1, bn), dtype=np.float32)
        xq = np.ascontiguousarray(queries / np.where(qn == 0, 1, qn), dtype=np.float32)
    else:
        xb = np.ascontiguousarray(base, dtype=np.float32)
        xq = np.ascontiguousarray(queries, dtype=np.float32)

    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "faiss": None,
        "faiss_simd": None,
        "blas": None,
        "threadpools": None,
        "env_openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "env_openblas_l2_size": os.environ.get("OPENBLAS_L2_SIZE"),
        "metric": metric,
        "k": k,
        "n": int(base.shape[0]),
        "dim": int(base.shape[1]),
        "queries": int(len(queries)),
        "rows": [],
    }

    faiss = None
    if "faiss" in engines:
        import faiss  # noqa: F811
        faiss.omp_set_num_threads(1)
        info["faiss"] = faiss.__version__
        try:
            info["faiss_simd"] = faiss.SIMDConfig.get_level_name()
        except Exception:  # older faiss
            info["faiss_simd"] = faiss.get_compile_options().strip()

    try:
        import threadpoolctl
        pools = threadpoolctl.threadpool_info()
        info["threadpools"] = [
            {key: p.get(key) for key in ("internal_api", "prefix", "version", "architecture",
                                          "num_threads", "threading_layer")}
            for p in pools
        ]
        numpy_blas = [p for p in pools if p.get("user_api") == "blas" and "numpy" in p.get("filepath", "")]
        if numpy_blas:
            p = numpy_blas[0]
            info["blas"] = f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, " \
                           f"{p.get('num_threads')} thread)"
    except ImportError:
        pass

    if faiss is not None:
        if metric == "l2":
            index, name = faiss.IndexFlatL2(xb.shape[1]), "IndexFlatL2"
        else:
            index, name = faiss.IndexFlatIP(xb.shape[1]), "IndexFlatIP"
        index.add(xb)
        log(f"faiss {faiss.__version__} {name} ({info['faiss_simd']}): {len(xq)} queries, 1 thread")

        def faiss_one(i):
            _, ids = index.search(xq[i:i + 1], k)
            return ids[0]

        ms, res, wall, wait = timed_loop(faiss_one, xq, a.warmup)
        rec = recall(metric, k, base, queries, gt, gt_dist, res)
        row = summarise(f"faiss {faiss.__version__} {name}", "exact, one query at a time",
                        f"omp_set_num_threads(1), index.search(q[i:i+1], k), SIMD {info['faiss_simd']}",
                        ms, wall, rec, wait)
        info["rows"].append(row)
        log(f"  p50 {row['p50_ms']} ms, {row['qps']} QPS, recall {row['recall']}")
        del index

    if "numpy" in engines:
        bsq = (xb.astype(np.float32) ** 2).sum(axis=1) if metric == "l2" else None
        log(f"numpy {np.__version__} brute force: {len(xq)} queries, 1 BLAS thread ({info['blas']})")

        def numpy_one(i):
            s = xb @ xq[i]
            if metric == "l2":
                d = bsq - 2.0 * s
            else:
                d = -s
            part = np.argpartition(d, k - 1)[:k]
            return part[np.argsort(d[part], kind="stable")]

        ms, res, wall, wait = timed_loop(numpy_one, xq, a.warmup)
        rec = recall(metric, k, base, queries, gt, gt_dist, res)
        row = summarise(f"numpy {np.__version__}", "exact, one query at a time",
                        "xb @ q (single-threaded BLAS) + argpartition", ms, wall, rec, wait)
        info["rows"].append(row)
        log(f"  p50 {row['p50_ms']} ms, {row['qps']} QPS, recall {row['recall']}")

    json.dump(info, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
