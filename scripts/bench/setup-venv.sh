#!/usr/bin/env bash
# Creates target/bench-venv: a Python virtual environment for scripts/bench/reference.py, the
# reference that `ndb-search-bench --reference` times beside nDB:
#   - numpy and faiss-cpu (pinned; required): exact search, `ndb-search-bench --reference`;
#   - hnswlib and USearch (pinned; optional): HNSW, `ndb-search-bench --hnsw --reference`.
#     hnswlib ships as source only and is compiled here (needs a C++ compiler). If either fails
#     to install, the venv is still made without it, a warning says so, and the HNSW reference
#     reports that engine as skipped. The attempt is not repeated on later runs (delete
#     $VENV/.optional-tried-* to try again).
#
# Usage: scripts/bench/setup-venv.sh [VENV_DIR]     (default: <repo>/target/bench-venv)
# Does nothing if the venv already has the pinned versions. Needs python3 (>= 3.10) with venv and
# access to PyPI.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=$(realpath -m "${1:-$ROOT/target/bench-venv}")
NUMPY=2.4.6
FAISS=1.15.1
THREADPOOLCTL=3.8.0
HNSWLIB=0.8.0
USEARCH=2.26.6
# USearch's own dependencies, pinned too so that runs are comparable.
NUMKONG=7.8.6
TQDM=4.70.1
PY=${PYTHON:-python3}
TRIED="$VENV/.optional-tried-hnswlib-$HNSWLIB-usearch-$USEARCH"

check() {
  "$VENV/bin/python" - "$NUMPY" "$FAISS" <<'PY' 2>/dev/null
import sys, numpy, faiss, threadpoolctl
assert numpy.__version__ == sys.argv[1], numpy.__version__
assert faiss.__version__ == sys.argv[2], faiss.__version__
PY
}

# Which optional engines import, at the pinned versions: prints e.g. "hnswlib 0.8.0, usearch -".
optional_status() {
  "$VENV/bin/python" - "$HNSWLIB" "$USEARCH" <<'PY' 2>/dev/null || echo "hnswlib -, usearch -"
import sys
from importlib.metadata import version
out = []
for name, want in (("hnswlib", sys.argv[1]), ("usearch", sys.argv[2])):
    try:
        __import__(name)
        v = version(name)
        out.append(f"{name} {v}" if v == want else f"{name} {v} (want {want})")
    except Exception:
        out.append(f"{name} -")
print(", ".join(out))
PY
}

optional_ok() {
  [ "$(optional_status)" = "hnswlib $HNSWLIB, usearch $USEARCH" ]
}

install_optional() {
  echo "installing hnswlib $HNSWLIB (compiled from source) and usearch $USEARCH" >&2
  if ! "$VENV/bin/python" -m pip install -q "hnswlib==$HNSWLIB" >&2; then
    echo "WARNING: hnswlib $HNSWLIB did not install; the HNSW reference runs without it" >&2
  fi
  if ! "$VENV/bin/python" -m pip install -q "usearch==$USEARCH" "numkong==$NUMKONG" "tqdm==$TQDM" >&2; then
    echo "WARNING: usearch $USEARCH did not install; the HNSW reference runs without it" >&2
  fi
  touch "$TRIED"
  return 0
}

if [ -x "$VENV/bin/python" ] && check; then
  if ! optional_ok && [ ! -e "$TRIED" ]; then
    install_optional
  fi
  echo "bench venv ready: $VENV (numpy $NUMPY, faiss-cpu $FAISS; $(optional_status))"
  exit 0
fi
echo "creating bench venv in $VENV (numpy $NUMPY, faiss-cpu $FAISS, hnswlib $HNSWLIB, usearch $USEARCH)" >&2
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip >&2 || true
"$VENV/bin/python" -m pip install -q "numpy==$NUMPY" "faiss-cpu==$FAISS" "threadpoolctl==$THREADPOOLCTL" >&2
check || { echo "bench venv check failed in $VENV" >&2; exit 1; }
install_optional
echo "bench venv ready: $VENV (numpy $NUMPY, faiss-cpu $FAISS; $(optional_status))"
