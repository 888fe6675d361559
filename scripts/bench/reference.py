#!/usr/bin/env python3
"""Reference timings for nDB's search: exact (faiss IndexFlat and numpy brute force) and, with
--hnsw, approximate (hnswlib and USearch HNSW), one query at a time on one thread, on the same
TexMex files that `ndb-search-bench` reads.

    target/bench-venv/bin/python scripts/bench/reference.py DIR [--metric l2|cosine|dot] [--k 10]
                                                           [--queries N] [--warmup 10]
                                                           [--engines faiss,numpy] [--repeat 1]

DIR holds base.fvecs, query.fvecs, gt.ivecs and gt_dist.fvecs (scripts/fetch-dataset.sh makes them;
`ndb-search-bench --synthetic N,DIM` writes synthetic ones to a temporary folder and calls this
script on it). The venv comes from scripts/bench/setup-venv.sh.

- faiss: IndexFlatL2 for l2, IndexFlatIP for cosine (base and queries normalised) and dot;
  faiss.omp_set_num_threads(1); each query timed alone: index.search(q[i:i+1], k).
- --repeat R: R timed passes over the queries per engine; the row's QPS and latencies are those of
  the median pass (by wall time), `qps_runs` lists every pass's QPS and `cpu_qps_runs` its
  queries per CPU second (ndb-search-bench --dims uses them for its per-dimension medians).
- numpy: per query one matrix-vector product against the base (single-threaded BLAS), then
  argpartition + sort of the k best; l2 uses precomputed base norms (|b|^2 - 2<q,b>).

--hnsw (ndb-search-bench --hnsw --reference runs it with its own M / ef_construction / ef sweep):

    reference.py DIR --hnsw [--m 16] [--ef-construction 200] [--ef-sweep 16,32,64,128,256,512]
                 [--build-threads 1,2] [--reopen-runs 5] [--sweep-runs 3]
                 [--engines hnswlib,usearch,faiss-hnsw] [--scratch DIR]

- hnswlib: Index(space l2 | ip (cosine: unit vectors)), init_index(n, M, ef_construction,
  random_seed=100), add_items(base, num_threads=t) timed once per build thread count (the last
  build is searched); set_num_threads(1), set_ef(ef), knn_query(q[i:i+1], k, num_threads=1).
  Reopen: load_index of the saved file (reads it into memory), median of --reopen-runs.
- USearch (if it imports): Index(ndim, metric l2sq | ip, dtype f32, connectivity=M,
  expansion_add=ef_construction), add(keys, base, threads=t) timed per thread count;
  expansion_search = ef, search(q, k, threads=1). Reopen: Index.restore(file, view=True) (mmap).
- faiss HNSW (`faiss-hnsw`, not run unless named): IndexHNSWFlat(d, M, METRIC_L2 |
  METRIC_INNER_PRODUCT), hnsw.efConstruction = ef_construction, add(base) timed per OpenMP thread
  count; omp_set_num_threads(1), hnsw.efSearch = ef, search(q[i:i+1], k). Reopen: read_index.
- Per ef: recall@k, QPS, latency percentiles and the CPU wait of the one-at-a-time loop (the
  fastest of --sweep-runs passes), and the QPS of one batched call over all queries on one thread
  (no per-call Python overhead; also the fastest of --sweep-runs).
- An engine that does not import is listed under "skipped" with the reason; the others still run.

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


def run_time_s():
    """Seconds this process's (live) threads have run on a CPU, from /proc schedstat."""
    total = 0
    try:
        for t in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{t}/schedstat") as f:
                    total += int(f.read().split()[0])
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
    c0 = run_time_s()
    t0 = perf()
    for i in range(len(queries)):
        t = perf()
        r = fn(i)
        ms.append((perf() - t) * 1e3)
        out.append(r)
    wall = perf() - t0
    timed_loop.cpu_s = run_time_s() - c0
    return ms, out, wall, run_delay_s() - d0


def median_pass(fn, queries, warmup, repeat):
    """timed_loop `repeat` times (warmup before the first only): the median pass by wall time,
    and every pass's QPS; every pass's queries per CPU second of this process (its time on a
    CPU, waits for one excluded) in median_pass.cpu_runs."""
    passes = []
    cpu_runs = []
    for i in range(max(repeat, 1)):
        passes.append(timed_loop(fn, queries, warmup if i == 0 else 0))
        cpu = timed_loop.cpu_s
        cpu_runs.append(round(len(queries) / cpu, 2) if cpu > 0 else None)
    median_pass.cpu_runs = cpu_runs
    runs = [round(len(queries) / p[2], 2) for p in passes]
    passes.sort(key=lambda p: p[2])
    return passes[(len(passes) - 1) // 2], runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--metric", default="l2", choices=["l2", "cosine", "dot"])
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--queries", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=1,
                    help="timed passes per engine (exact search); the median pass is reported")
    ap.add_argument("--engines", default=None,
                    help="default faiss,numpy; with --hnsw hnswlib,usearch")
    ap.add_argument("--hnsw", action="store_true", help="approximate search: hnswlib / USearch sweep")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef-sweep", default="16,32,64,128,256,512")
    ap.add_argument("--build-threads", default="1,2")
    ap.add_argument("--reopen-runs", type=int, default=5)
    ap.add_argument("--sweep-runs", type=int, default=3, help="passes per ef, the fastest kept")
    ap.add_argument("--scratch", default=None, help="folder for the saved index files")
    a = ap.parse_args()
    if a.engines is None:
        a.engines = "hnswlib,usearch" if a.hnsw else "faiss,numpy"
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

    if a.hnsw:
        out = hnsw_reference(a, engines, base, queries, gt, gt_dist, xb, xq)
        json.dump(out, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return

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

        (ms, res, wall, wait), runs = median_pass(faiss_one, xq, a.warmup, a.repeat)
        rec = recall(metric, k, base, queries, gt, gt_dist, res)
        row = summarise(f"faiss {faiss.__version__} {name}", "exact, one query at a time",
                        f"omp_set_num_threads(1), index.search(q[i:i+1], k), SIMD {info['faiss_simd']}",
                        ms, wall, rec, wait)
        row["qps_runs"] = runs
        row["cpu_qps_runs"] = median_pass.cpu_runs
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

        (ms, res, wall, wait), runs = median_pass(numpy_one, xq, a.warmup, a.repeat)
        rec = recall(metric, k, base, queries, gt, gt_dist, res)
        row = summarise(f"numpy {np.__version__}", "exact, one query at a time",
                        "xb @ q (single-threaded BLAS) + argpartition", ms, wall, rec, wait)
        row["qps_runs"] = runs
        info["rows"].append(row)
        log(f"  p50 {row['p50_ms']} ms, {row['qps']} QPS, recall {row['recall']}")

    json.dump(info, sys.stdout, indent=1)
    sys.stdout.write("\n")


def int_list(s):
    v = sorted(set(int(x) for x in s.split(",") if x.strip()))
    if not v or v[0] <= 0:
        raise SystemExit(f"bad list {s!r}")
    return v


def package_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "?"


def cpu_s():
    """CPU seconds (user + system) of this process, exited threads included."""
    t = os.times()
    return t.user + t.system


def timed_build(build, threads):
    """Run build(threads); its wall seconds and CPU use (process CPU time / (wall x threads)).
    The build threads' run-queue wait cannot be read: they have exited when it returns."""
    c0 = cpu_s()
    t0 = time.perf_counter()
    index = build(threads)
    wall = time.perf_counter() - t0
    cpu = cpu_s() - c0
    return index, {"threads": threads, "seconds": round(wall, 4),
                   "cpu_use": round(cpu / (wall * threads), 4), "sched_wait": None}


def sweep(a, k, metric, base, queries, gt, gt_dist, xq, set_ef, one, batch):
    """The ef sweep: per ef, one query at a time (timed_loop) and one batched call."""
    points = []
    for ef in int_list(a.ef_sweep):
        set_ef(ef)
        # Best of --sweep-runs passes (noise on a shared machine only ever slows a pass).
        ms, res, wall, wait = timed_loop(one, xq, a.warmup)
        cpu = timed_loop.cpu_s
        for _ in range(1, a.sweep_runs):
            ms2, res2, wall2, wait2 = timed_loop(one, xq, 0)
            if wall2 < wall:
                ms, res, wall, wait, cpu = ms2, res2, wall2, wait2, timed_loop.cpu_s
        rec = recall(metric, k, base, queries, gt, gt_dist, res)
        row = summarise("", "", "", ms, wall, rec, wait)
        bwall = float("inf")
        for _ in range(a.sweep_runs):
            t0 = time.perf_counter()
            batch()
            bwall = min(bwall, time.perf_counter() - t0)
        point = {"ef": ef, "recall": row["recall"], "qps": row["qps"], "p50_ms": row["p50_ms"],
                 "p95_ms": row["p95_ms"], "p99_ms": row["p99_ms"], "mean_ms": row["mean_ms"],
                 "sched_wait": row["sched_wait"], "batch_qps": round(len(xq) / bwall, 2),
                 "cpu_qps": round(len(xq) / cpu, 2) if cpu > 0 else None}
        log(f"  ef {ef}: recall {point['recall']}, {point['qps']} QPS ({point['cpu_qps']} per CPU s), p50 {point['p50_ms']} ms, "
            f"batch {point['batch_qps']} QPS, CPU wait {100 * point['sched_wait']:.0f}%")
        points.append(point)
    return points


def median_ms(fn, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        obj = fn()
        times.append((time.perf_counter() - t0) * 1e3)
        del obj
    return round(float(np.median(times)), 4), [round(t, 4) for t in times]


def timed_builds(build, threads):
    """`build(t)` timed once per thread count (the previous graph freed before the next build);
    the last index and each build's timing."""
    builds = []
    index = None
    for t in threads:
        index = None  # free the previous graph first
        index, b = timed_build(build, t)
        log(f"  build, {t} thread(s): {b['seconds']:.2f} s (CPU use {100 * b['cpu_use']:.0f}%)")
        builds.append(b)
    return index, builds


def faiss_hnsw(a, k, metric, base, queries, gt, gt_dist, xb, xq, threads, tmp):
    """faiss's IndexHNSWFlat (M links per upper level, 2 M at level 0, as hnswlib): builds per
    thread count (OpenMP), file size, read_index time, ef sweep on one thread."""
    import faiss

    n, d = xb.shape
    ver = faiss.__version__
    fmetric = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
    log(f"faiss {ver} IndexHNSWFlat: M {a.m}, efConstruction {a.ef_construction}, "
        f"builds on {threads} thread(s)")

    def build(t):
        faiss.omp_set_num_threads(t)
        ix = faiss.IndexHNSWFlat(int(d), a.m, fmetric)
        ix.hnsw.efConstruction = a.ef_construction
        ix.add(xb)
        return ix

    index, builds = timed_builds(build, threads)
    faiss.omp_set_num_threads(1)
    path = os.path.join(tmp, "faiss-hnsw.index")
    faiss.write_index(index, path)
    size = os.path.getsize(path)
    open_ms, open_runs = median_ms(lambda: faiss.read_index(path), a.reopen_runs)
    log(f"  file {size / n:.0f} bytes/vector, read_index median {open_ms} ms")

    def set_ef(ef, index=index):
        index.hnsw.efSearch = ef

    def one(i, index=index):
        return index.search(xq[i:i + 1], k)[1][0]

    points = sweep(a, k, metric, base, queries, gt, gt_dist, xq, set_ef, one,
                   lambda index=index: index.search(xq, k))
    return {
        "engine": f"faiss {ver} HNSW",
        "version": ver,
        "builds": builds,
        "index_file_bytes": size,
        "file_holds_vectors": True,
        "open_ms": open_ms,
        "open_runs_ms": open_runs,
        "open_how": "read_index (reads the file into memory)",
        "sweep": points,
        "note": f"IndexHNSWFlat(d, M, {'METRIC_L2' if metric == 'l2' else 'METRIC_INNER_PRODUCT'}); "
                "build = add(base) with omp_set_num_threads(t); search = search(q[i:i+1], k) "
                "after omp_set_num_threads(1) and hnsw.efSearch = ef",
    }


def hnsw_reference(a, engines, base, queries, gt, gt_dist, xb, xq):
    """hnswlib, USearch and faiss HNSW: builds per thread count, file size, reopen, ef sweep."""
    import tempfile

    k, metric = a.k, a.metric
    n, d = xb.shape
    threads = int_list(a.build_threads)
    out = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "metric": metric,
        "k": k,
        "n": int(n),
        "dim": int(d),
        "queries": int(len(xq)),
        "m": a.m,
        "ef_construction": a.ef_construction,
        "ef_sweep": int_list(a.ef_sweep),
        "build_threads": threads,
        "engines": [],
        "skipped": [],
    }
    if a.scratch:
        os.makedirs(a.scratch, exist_ok=True)
    tmp = tempfile.TemporaryDirectory(prefix="ndb-ref-hnsw-", dir=a.scratch)
    ids = np.arange(n)

    for engine in engines:
        if engine == "hnswlib":
            try:
                import hnswlib
            except ImportError as e:
                out["skipped"].append({"engine": "hnswlib", "reason": f"not installed ({e})"})
                log(f"hnswlib skipped: {e}")
                continue
            ver = package_version("hnswlib")
            space = "l2" if metric == "l2" else "ip"
            log(f"hnswlib {ver}: space {space}, M {a.m}, ef_construction {a.ef_construction}, "
                f"builds on {threads} thread(s)")

            def build(t):
                ix = hnswlib.Index(space=space, dim=int(d))
                ix.init_index(max_elements=int(n), M=a.m, ef_construction=a.ef_construction,
                              random_seed=100)
                ix.set_num_threads(t)
                ix.add_items(xb, ids, num_threads=t)
                return ix

            index, builds = timed_builds(build, threads)
            path = os.path.join(tmp.name, "hnswlib.bin")
            index.save_index(path)
            size = os.path.getsize(path)

            def load():
                ix = hnswlib.Index(space=space, dim=int(d))
                ix.load_index(path, max_elements=int(n))
                return ix

            open_ms, open_runs = median_ms(load, a.reopen_runs)
            log(f"  file {size / n:.0f} bytes/vector, load_index median {open_ms} ms")
            index.set_num_threads(1)

            def one(i, index=index):
                labels, _ = index.knn_query(xq[i:i + 1], k=k, num_threads=1)
                return labels[0]

            points = sweep(a, k, metric, base, queries, gt, gt_dist, xq, index.set_ef, one,
                           lambda index=index: index.knn_query(xq, k=k, num_threads=1))
            out["engines"].append({
                "engine": f"hnswlib {ver}",
                "version": ver,
                "builds": builds,
                "index_file_bytes": size,
                "file_holds_vectors": True,
                "open_ms": open_ms,
                "open_runs_ms": open_runs,
                "open_how": "load_index (reads the file into memory)",
                "sweep": points,
                "note": f"space {space}, random_seed 100; build = add_items(num_threads=t); "
                        "search = knn_query(q[i:i+1], k, num_threads=1) after set_num_threads(1)",
            })
            del index
        elif engine == "usearch":
            try:
                import usearch
                from usearch.index import Index, ScalarKind
            except ImportError as e:
                out["skipped"].append({"engine": "usearch", "reason": f"not installed ({e})"})
                log(f"usearch skipped: {e}")
                continue
            ver = getattr(usearch, "__version__", package_version("usearch"))
            umetric = "l2sq" if metric == "l2" else "ip"
            log(f"USearch {ver}: metric {umetric}, connectivity {a.m}, expansion_add "
                f"{a.ef_construction}, builds on {threads} thread(s)")
            keys = ids.astype(np.uint64)

            def build(t):
                ix = Index(ndim=int(d), metric=umetric, dtype=ScalarKind.F32, connectivity=a.m,
                           expansion_add=a.ef_construction, expansion_search=64)
                ix.add(keys, xb, threads=t)
                return ix

            index, builds = timed_builds(build, threads)
            path = os.path.join(tmp.name, "usearch.bin")
            index.save(path)
            size = os.path.getsize(path)
            open_ms, open_runs = median_ms(lambda: Index.restore(path, view=True), a.reopen_runs)
            log(f"  file {size / n:.0f} bytes/vector, restore(view=True) median {open_ms} ms; "
                f"hardware acceleration {index.hardware_acceleration}")

            def set_ef(ef, index=index):
                index.expansion_search = ef

            def one(i, index=index):
                return index.search(xq[i], k, threads=1).keys

            points = sweep(a, k, metric, base, queries, gt, gt_dist, xq, set_ef, one,
                           lambda index=index: index.search(xq, k, threads=1))
            out["engines"].append({
                "engine": f"USearch {ver}",
                "version": ver,
                "builds": builds,
                "index_file_bytes": size,
                "file_holds_vectors": True,
                "open_ms": open_ms,
                "open_runs_ms": open_runs,
                "open_how": "Index.restore(view=True) (mmap)",
                "sweep": points,
                "note": f"metric {umetric}, dtype f32, hardware acceleration "
                        f"{index.hardware_acceleration}; build = add(keys, base, threads=t); "
                        "search = search(q, k, threads=1) after expansion_search = ef",
            })
            del index
        elif engine == "faiss-hnsw":
            out["engines"].append(faiss_hnsw(a, k, metric, base, queries, gt, gt_dist, xb, xq,
                                              threads, tmp.name))
        else:
            raise SystemExit(f"unknown --hnsw engine {engine!r} (hnswlib, usearch, faiss-hnsw)")
    tmp.cleanup()
    return out


if __name__ == "__main__":
    main()
