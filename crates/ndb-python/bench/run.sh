#!/usr/bin/env bash
# nDB from Python beside hnswlib, Chroma and LanceDB, on fashion-mnist and glove-50, plus the
# per-call overhead of Python over Rust: the same searches of the same collection, timed from Rust
# by the example search_db right after.
#
#   bash crates/ndb-python/bench/run.sh [QUERIES]        # default 1000 queries per dataset
#
# Makes (once, cached): the datasets under target/datasets/ (scripts/fetch-dataset.sh), a venv
# target/py-bench-venv with the pinned peers (hnswlib compiled from source, chromadb, lancedb),
# nDB's extension built in release mode and installed there, and the example search_db.
# Writes target/bench-results/python-<dataset>.json, rust-same-db-<dataset>.json and
# python-bench.md.
# Everything runs pinned to one CPU (the first this process may use) except the 2-thread batch
# figures. Takes about 20-30 minutes on 2 cores.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$ROOT"
Q=${1:-1000}
PY=${PYTHON:-python3}
VENV=$ROOT/target/py-bench-venv
OUT=$ROOT/target/bench-results
mkdir -p "$OUT"
PEERS="numpy==2.4.6 hnswlib==0.8.0 chromadb==1.5.9 lancedb==0.40.0 pyarrow==26.0.1 maturin==1.16.0"
CPU0=$("$PY" -c 'import os; print(min(os.sched_getaffinity(0)))')

for ds in fashion-mnist glove-50; do
  bash scripts/fetch-dataset.sh "$ds" "target/datasets/$ds" >&2
done

STAMP="$VENV/.peers"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$PEERS" ]; then
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check $PEERS
  echo "$PEERS" > "$STAMP"
fi
VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" CARGO_TARGET_DIR="$ROOT/target" \
  "$VENV/bin/maturin" develop --release --quiet -m crates/ndb-python/Cargo.toml >&2
cargo build --release -q -p ndb-bench --example search_db

for ds in fashion-mnist glove-50; do
  echo "== $ds: Python (nDB, hnswlib, Chroma, LanceDB)" >&2
  KEEP="$ROOT/target/bench-tmp/py-bench-ndb-$ds"
  rm -rf "$KEEP"
  "$VENV/bin/python" crates/ndb-python/bench/bench.py "target/datasets/$ds" --n 100000 \
    --queries "$Q" --json "$OUT/python-$ds.json" --keep-ndb "$KEEP" > /dev/null
  EFS=$("$VENV/bin/python" -c 'import json,sys; print(",".join(str(p["setting"]) for p in json.load(open(sys.argv[1]))["results"]["ndb"]["sweep"]))' "$OUT/python-$ds.json")
  echo "== $ds: Rust on the same collection (example search_db, ef $EFS)" >&2
  taskset -c "$CPU0" target/release/examples/search_db "$KEEP" bench \
    "target/datasets/$ds/query.fvecs" "$Q" "$EFS" "$OUT/rust-same-db-$ds.json" >&2
  rm -rf "$KEEP"
done
"$VENV/bin/python" crates/ndb-python/bench/report.py "$OUT" | tee "$OUT/python-bench.md"
