#!/usr/bin/env bash
# Runs the kernel tests for aarch64 (NEON, with and without the dot-product extension) on an x86_64
# Debian 12 machine, under qemu-user: CI builds only x86_64, so this is how the NEON code is tested.
#
#   bash crates/ndb-kernels/test-aarch64.sh
#
# Needs root (apt-get). Installs qemu-user and the aarch64 cross linker and libc, and unpacks the
# toolchain of aarch64-toolchain.sh under target/aarch64-toolchain. Builds into
# target/aarch64 (about 10 minutes on 2 cores the first time), then runs the tests twice: on qemu's `max` CPU (has dotprod: the `sdot` kernel) and
# on a Cortex-A57 (ARMv8.0, no dotprod: the widening kernel).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
# shellcheck source=crates/ndb-kernels/aarch64-toolchain.sh
. crates/ndb-kernels/aarch64-toolchain.sh
export CARGO_TARGET_DIR=$ROOT/target/aarch64
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
for cpu in max cortex-a57; do
  echo "== aarch64, qemu CPU $cpu"
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu $cpu" \
    cargo test -p ndb-kernels --target aarch64-unknown-linux-gnu \
      --lib --test isa_parity --test quant_kernels --test reference_and_contract
done
# Not run: tests/force_isa_env.rs re-executes its own binary, which without a binfmt_misc entry for
# qemu cannot start as a child process.
