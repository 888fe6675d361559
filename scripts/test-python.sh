#!/usr/bin/env bash
# The Python package's tests (crates/ndb-python): creates target/py-venv (once), installs the
# pinned test dependencies (crates/ndb-python/requirements-test.txt: maturin, pytest, numpy,
# langchain-core, langchain-tests) unless they are already there, builds the extension in
# release mode into the workspace's target/ (sharing compiled dependencies with cargo) and
# installs it into the venv with `maturin develop`, then runs pytest. Exits non-zero on failure.
#
#   bash scripts/test-python.sh [PYTEST_ARGS...]     # e.g. -k filters, -x
#
# Environment: PYTHON (default python3, >= 3.9), NDB_PY_VENV (default target/py-venv).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-python3}
VENV=$(realpath -m "${NDB_PY_VENV:-$ROOT/target/py-venv}")
REQ=crates/ndb-python/requirements-test.txt
T0=$(date +%s)

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV" >&2
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.ndb-requirements.sha256"
WANT=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "installing the pinned test dependencies into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
  echo "$WANT" > "$STAMP"
fi

echo "building the extension (release) and installing it into $VENV" >&2
VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" CARGO_TARGET_DIR="$ROOT/target" \
  "$VENV/bin/maturin" develop --release --quiet -m crates/ndb-python/Cargo.toml >&2

cd crates/ndb-python
set +e
"$VENV/bin/python" -m pytest -p no:cacheprovider -q "$@"
RC=$?
set -e
echo "test-python.sh: pytest exit code $RC, $(( $(date +%s) - T0 )) s in all" >&2
exit $RC
