#!/usr/bin/env bash
# The main job, on a fresh machine: build `ndb`, fetch a real dataset (fashion-mnist: 60,000
# images of 784 pixels, with exact ground truth), import it with a progress bar, run a few
# searches (plain, by id, filtered by class), verify every checksum, and measure search
# latency and recall@10 against the exact ground truth.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-target/datasets/fashion-mnist}
DB=${DB:-target/quickstart-db}

echo "== build"
cargo build --release -p ndb-cli -p ndb-bench
ndb=target/release/ndb

echo "== dataset"
bash scripts/fetch-dataset.sh fashion-mnist "$DATA"
# Class labels as payloads: line i of the JSON Lines file is the payload of row i.
awk '{ printf "{\"label\": %d}\n", $1 }' "$DATA/base.labels" > "$DATA/base.payloads.jsonl"

echo "== import"
rm -rf "$DB"
"$ndb" create "$DB" fashion --dim 784 --distance euclidean
"$ndb" import "$DB" fashion "$DATA/base.fvecs" --payloads "$DATA/base.payloads.jsonl"
"$ndb" stats "$DB" fashion

echo "== search: the 5 nearest to document 0, then only trousers (label 1)"
"$ndb" search "$DB" fashion --id 0 -k 5
"$ndb" search "$DB" fashion --id 0 -k 5 --filter '{"label": 1}'

echo "== verify"
"$ndb" verify "$DB"

echo "== bench: exact search vs ground truth (1,000 queries)"
"$ndb" bench "$DATA" --queries 1000 --skip-throughput --bw-mib 256
