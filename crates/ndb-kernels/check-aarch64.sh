#!/usr/bin/env bash
# Compiles ndb-kernels (library, tests, examples, benches) for aarch64 with warnings as errors, so
# that x86_64 CI catches NEON code that no longer builds (run by .ci/run; the NEON kernels run
# only under test-aarch64.sh). About 20 s, plus ~10 s the first time to fetch the toolchain of
# aarch64-toolchain.sh (needs apt-get, root; skipped with a warning where they are missing).
# NDB_SKIP_AARCH64_CHECK=1 skips it.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
if [ "${NDB_SKIP_AARCH64_CHECK:-}" = 1 ]; then
  echo "aarch64 check skipped (NDB_SKIP_AARCH64_CHECK=1)"
  exit 0
fi
if [ ! -x "$ROOT/target/aarch64-toolchain/usr/bin/rustc" ] &&
  { [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; }; then
  echo "warning: aarch64 check skipped: fetching its toolchain needs root, apt-get and dpkg" >&2
  exit 0
fi
# shellcheck source=crates/ndb-kernels/aarch64-toolchain.sh
. crates/ndb-kernels/aarch64-toolchain.sh
RUSTFLAGS="-D warnings" CARGO_TARGET_DIR=$ROOT/target/aarch64-check \
  cargo check -p ndb-kernels --target aarch64-unknown-linux-gnu --lib --tests --examples --benches
