# Sourced by test-aarch64.sh and check-aarch64.sh: unpacks (without installing) Debian 12's
# rustc-web with its x86_64 and aarch64 standard libraries under target/aarch64-toolchain (rustup's
# toolchain here has no aarch64 standard library; the registries reachable from this machine are
# crates, PyPI, Debian and npm) and points RUSTC at a wrapper using it. About 120 MB of packages,
# fetched once. Needs apt-get (root). Expects ROOT (the workspace root).
TC=$ROOT/target/aarch64-toolchain
RUST_VERSION=1.96.0+dfsg1-1~deb12u2
if [ ! -x "$TC/usr/bin/rustc" ]; then
  rm -rf "$TC"
  mkdir -p "$TC/debs/amd64" "$TC/debs/arm64" "$TC/lists/partial"
  apt-get update -qq
  # `apt-get download` writes as root into the folder: no sandbox user needed.
  (cd "$TC/debs/amd64" && apt-get -qq -oAPT::Sandbox::User=root download rustc-web=$RUST_VERSION \
    libstd-rust-web-1.96=$RUST_VERSION libstd-rust-web-dev=$RUST_VERSION libllvm22)
  arm64="-oAPT::Architecture=arm64 -oAPT::Architectures=arm64 -oDir::State::Lists=$TC/lists"
  # shellcheck disable=SC2086
  apt-get $arm64 update -qq
  # shellcheck disable=SC2086
  (cd "$TC/debs/arm64" && apt-get $arm64 -qq -oAPT::Sandbox::User=root download \
    libstd-rust-web-dev=$RUST_VERSION)
  for deb in "$TC"/debs/*/*.deb; do dpkg -x "$deb" "$TC"; done
fi
cat >"$TC/rustc.sh" <<WRAP
#!/bin/sh
export LD_LIBRARY_PATH=$TC/usr/lib/x86_64-linux-gnu:$TC/usr/lib/llvm-22/lib
exec $TC/usr/bin/rustc --sysroot $TC/usr "\$@"
WRAP
chmod +x "$TC/rustc.sh"
export RUSTC=$TC/rustc.sh
