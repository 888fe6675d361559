#!/usr/bin/env bash
# The whole test suite (the README's test command): the Rust workspace (unit, integration and
# doc tests), then the Python package (pytest, with LangChain's standard vector-store suite) and
# the Node.js package (node --test), each installing what it needs under target/ or the
# package's node_modules. Long stress runs are #[ignore]d; see README.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets
cargo test --workspace --doc
bash scripts/test-python.sh
bash scripts/test-node.sh
