#!/usr/bin/env python3
"""Markdown summary of run.sh's results: python-<dataset>.json and rust-same-db-<dataset>.json in
DIR."""

import json
import os
import sys

out_dir = sys.argv[1]
lines = []


def fmt(x, nd=0):
    return "-" if x is None else f"{x:,.{nd}f}"


for ds in ("fashion-mnist", "glove-50"):
    py_path = os.path.join(out_dir, f"python-{ds}.json")
    rs_path = os.path.join(out_dir, f"rust-same-db-{ds}.json")
    if not os.path.exists(py_path):
        continue
    py = json.load(open(py_path))
    d = py["dataset"]
    res = py["results"]
    lines.append(f"### {ds}: {d['n']:,} x {d['dim']} ({d['metric']}), {d['queries']} queries, k=10, one core")
    if d["n"] < 100_000:
        lines.append(f"\n(The base has {d['base_total']:,} vectors: all of them are used, not 100k.)")
    lines.append("")
    lines.append("| engine | ingest docs/s | QPS at recall@10 >= 0.95 | recall there | setting |")
    lines.append("|---|---:|---:|---:|---|")
    for name in ("ndb", "hnswlib", "chroma", "lancedb"):
        r = res.get(name)
        if r is None:
            continue
        if "error" in r:
            lines.append(f"| {name} | failed: {r['error']} | | | |")
            continue
        b = r.get("best")
        lines.append(
            f"| {name} | {fmt(r['ingest_docs_per_s'])} | {fmt(b['qps'] if b else None)} | "
            f"{fmt(b['recall'] if b else None, 4)} | {b['setting'] if b else 'not reached: best ' + str(max(p['recall'] for p in r['sweep']))} |"
        )
    nd = res.get("ndb", {})
    for t in (1, 2):
        sb = nd.get(f"search_batch_{t}t")
        if sb:
            lines.append(f"\nnDB search_batch on {t} thread(s), ef {sb['ef']}: {fmt(sb['qps'])} QPS (recall {sb['recall']:.4f})")
    hb = res.get("hnswlib", {}).get("knn_query_batch_2t")
    if hb:
        lines.append(f"\nhnswlib knn_query batch on 2 threads, ef {hb['ef']}: {fmt(hb['qps'])} QPS")
    if os.path.exists(rs_path) and "sweep" in nd:
        rust = {p["ef"]: p for p in json.load(open(rs_path))["sweep"]}
        lines.append(
            "\nPer-call overhead of Python over Rust: the same queries on the same collection (the one"
            " the Python run built), one at a time, one core:\n"
        )
        lines.append("| ef | Python QPS | Rust QPS | Python recall | overhead us/query |")
        lines.append("|---:|---:|---:|---:|---:|")
        for p in nd["sweep"]:
            rp = rust.get(p["setting"])
            if rp is None:
                continue
            over = 1e6 / p["qps"] - 1e6 / rp["qps"]
            lines.append(f"| {p['setting']} | {fmt(p['qps'])} | {fmt(rp['qps'])} | {p['recall']:.4f} | {over:.1f} |")
    lines.append("")
    lines.append(f"versions: {py['versions']}")
    lines.append("")
print("\n".join(lines))
