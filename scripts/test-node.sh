#!/usr/bin/env bash
# The Node.js package's tests (crates/ndb-node): installs its npm packages if missing (npm ci,
# kept in crates/ndb-node/node_modules), builds the addon in release into the workspace target/,
# checks that the committed index.d.ts is what the build generates, then runs `node --test`.
set -euo pipefail
cd "$(dirname "$0")/../crates/ndb-node"
ROOT=$(cd ../.. && pwd)
T0=$(date +%s)

command -v node >/dev/null || { echo "test-node: node is not installed (Node.js >= 18 is needed)" >&2; exit 1; }
command -v npm >/dev/null || { echo "test-node: npm is not installed" >&2; exit 1; }

# npm ci only when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "test-node: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# Build the addon (ndb.node, next to index.js) and generate the type declarations beside the
# build, not over the committed file.
FRESH="$ROOT/target/ndb-node/index.d.ts"
mkdir -p "$(dirname "$FRESH")"
rm -f "$FRESH"
echo "test-node: napi build --release"
npx --no-install napi build --release --no-js --dts "$(realpath --relative-to=. "$FRESH")"
if ! diff -u index.d.ts "$FRESH"; then
  echo "test-node: crates/ndb-node/index.d.ts differs from the generated one (above);" \
    "run 'npm run build' in crates/ndb-node and commit index.d.ts" >&2
  exit 1
fi

echo "test-node: node --test"
node --test test/
echo "test-node: passed in $(( $(date +%s) - T0 )) s"
