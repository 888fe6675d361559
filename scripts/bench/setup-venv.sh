#!/usr/bin/env bash
# Creates target/bench-venv: a Python virtual environment with numpy and faiss-cpu (pinned) for
# scripts/bench/reference.py, the reference that `ndb-search-bench --reference` times beside nDB.
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
PY=${PYTHON:-python3}

check() {
  "$VENV/bin/python" - "$NUMPY" "$FAISS" <<'PY' 2>/dev/null
import sys, numpy, faiss, threadpoolctl
assert numpy.__version__ == sys.argv[1], numpy.__version__
assert faiss.__version__ == sys.argv[2], faiss.__version__
PY
}

if [ -x "$VENV/bin/python" ] && check; then
  echo "bench venv ready: $VENV (numpy $NUMPY, faiss-cpu $FAISS)"
  exit 0
fi
echo "creating bench venv in $VENV (numpy $NUMPY, faiss-cpu $FAISS)" >&2
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip >&2 || true
"$VENV/bin/python" -m pip install -q "numpy==$NUMPY" "faiss-cpu==$FAISS" "threadpoolctl==$THREADPOOLCTL" >&2
check || { echo "bench venv check failed in $VENV" >&2; exit 1; }
echo "bench venv ready: $VENV (numpy $NUMPY, faiss-cpu $FAISS)"
