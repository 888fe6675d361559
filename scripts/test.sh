#!/usr/bin/env bash
# The whole test suite (the README's test command). Long stress runs are #[ignore]d; see README.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets
cargo test --workspace --doc
