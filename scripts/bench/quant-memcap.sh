#!/usr/bin/env bash
# Quantized search under a memory cap (issue 17): for each kind (none = f32, int8, binary), the
# search phase of ndb-quant-bench from a cold page cache, first uncapped, then inside a memory
# cgroup (v1, /sys/fs/cgroup/memory; needs root) capped at half of the collection's f32 vector
# bytes, side by side in one run. The collections are built first (or reused) by
# `ndb-quant-bench --build-only`.
#
#   scripts/bench/quant-memcap.sh DB_DIR (--data DIR | --synthetic ROWS:DIM[:RANK]) [--ef 64] [--oversampling 2]
#       [--queries 300]
#
# The capped runs pass --no-base (the base vectors would count against the cap), so recall there
# counts the ground truth's ids only; the uncapped runs do the same, so the two are comparable.
# Output: one markdown table per run on stdout; JSON files beside DB_DIR.
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,13p "$0" >&2; exit 2; }
DB=$1; shift
DATA=("$1" "$2"); shift 2
EF=64; OVER=2; QUERIES=300
while [ $# -gt 0 ]; do
  case "$1" in
    --ef) EF=$2; shift 2 ;;
    --oversampling) OVER=$2; shift 2 ;;
    --queries) QUERIES=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/target/release/ndb-quant-bench
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -p ndb-bench --bin ndb-quant-bench)
CG=/sys/fs/cgroup/memory/ndb-quant-bench

"$BIN" "${DATA[@]}" --db "$DB" --kinds none,int8,binary --queries "$QUERIES" --build-only \
  --json-out "$DB.build.json" >&2
read -r ROWS DIM < <(python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(j['rows'], j['dim'])" "$DB.build.json")
CAP=$(( ROWS * DIM * 4 / 2 ))
echo "f32 vectors: $(( ROWS * DIM * 4 >> 20 )) MiB; cap: $(( CAP >> 20 )) MiB" >&2

cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }
run() { # KIND LABEL [in-cgroup]
  local kind=$1 label=$2 out="$DB.$1.$2.json"
  cold
  if [ "${3:-}" = cap ]; then
    mkdir -p "$CG"
    echo "$CAP" > "$CG/memory.limit_in_bytes"
    echo 0 > "$CG/memory.swappiness" 2>/dev/null || true
    (echo $BASHPID > "$CG/cgroup.procs"; exec "$BIN" "${DATA[@]}" --db "$DB" --no-base --kinds "$kind" \
      --ef "$EF" --oversampling "$OVER" --queries "$QUERIES" --passes 3 --json-out "$out")
    echo "peak in cgroup: $(( $(cat "$CG/memory.max_usage_in_bytes") >> 20 )) MiB" >&2
    echo 0 > "$CG/memory.max_usage_in_bytes" 2>/dev/null || true
  else
    "$BIN" "${DATA[@]}" --db "$DB" --no-base --kinds "$kind" --ef "$EF" --oversampling "$OVER" \
      --queries "$QUERIES" --passes 3 --json-out "$out"
  fi
  echo "($kind, $label)"
}
for kind in none int8 binary; do
  run "$kind" uncapped
  run "$kind" capped cap
done
rmdir "$CG" 2>/dev/null || true
