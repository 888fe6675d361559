#!/usr/bin/env bash
# Node.js benchmark (issue 16): nDB from Node beside hnswlib-node and usearch, plus the per-call
# overhead of Node over Rust: the same searches of the same collection (the one bench.js built and
# kept with --keep-ndb), timed from Rust by the example search_db right after.
#
#   bash crates/ndb-node/bench/run.sh                      # fashion-mnist and glove-50
#   bash crates/ndb-node/bench/run.sh fashion-mnist        # one dataset
#   QUERIES=1000 EF_SWEEP=8,10,12,16,24,32,48,64,96,128,192,256 bash crates/ndb-node/bench/run.sh
#
# Datasets are fetched into target/datasets/NAME (scripts/fetch-dataset.sh, cached); results go to
# target/bench-results/node-NAME.json (Node), node-rust-same-db-NAME.json (search_db on nDB's
# database from the Node run, kept in target/bench-tmp/node-bench-ndb-NAME and removed after) and
# node-bench.md (the report, also printed).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
cd "$ROOT"
DATASETS=("$@")
[ ${#DATASETS[@]} -gt 0 ] || DATASETS=(fashion-mnist glove-50)
QUERIES=${QUERIES:-1000}
EF_SWEEP=${EF_SWEEP:-8,10,12,16,24,32,48,64,96,128,192,256}
OUT="$ROOT/target/bench-results"
mkdir -p "$OUT"

# The addon (release) and its npm tooling.
(cd crates/ndb-node && { [ -f node_modules/.package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build)
# The peers: hnswlib-node is compiled by node-gyp against this Node's headers (/usr/include/node
# when Node comes from a distribution package, so nothing is downloaded); usearch ships a linux-x64
# prebuilt binary inside its npm package.
if [ ! -f crates/ndb-node/bench/node_modules/.package-lock.json ]; then
  if [ -f /usr/include/node/node_api.h ]; then export npm_config_nodedir=/usr; fi
  (cd crates/ndb-node/bench && npm ci --no-audit --no-fund --loglevel=error)
fi
cargo build --release -p ndb-bench --example search_db

for NAME in "${DATASETS[@]}"; do
  DIR="$ROOT/target/datasets/$NAME"
  bash scripts/fetch-dataset.sh "$NAME" "$DIR"
  KEEP="$ROOT/target/bench-tmp/node-bench-ndb-$NAME" # this script's own: removed before and after
  rm -rf "$KEEP"
  node "$HERE/bench.js" "$DIR" --queries "$QUERIES" --ef-sweep "$EF_SWEEP" --json "$OUT/node-$NAME.json" \
    --keep-ndb "$KEEP" >/dev/null
  # The same searches of the same collection ('bench', bench.js's), from Rust.
  target/release/examples/search_db "$KEEP" bench "$DIR/query.fvecs" "$QUERIES" "$EF_SWEEP" \
    "$OUT/node-rust-same-db-$NAME.json" >&2
  rm -rf "$KEEP"
done

node "$HERE/report.js" "${DATASETS[@]/#/$OUT/node-}" | tee "$OUT/node-bench.md"
