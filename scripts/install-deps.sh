#!/usr/bin/env bash
# Installs the system tools the test suite needs beyond the machine's
# toolchains (Rust, Go, Python, Node, gcc, cmake, a JDK), only when missing:
# Debian's packages, nats-server included (the bridge's tests run one).
# Language packages (maturin, pytest, npm modules) are installed by each
# binding's own script; cargo-deny by cargo.
set -euo pipefail

missing=()
for tool in valgrind pkg-config cmake make doxygen; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
command -v readelf >/dev/null 2>&1 || missing+=(binutils)
# libuv for the C harness's libuv example (examples/c/readiness_libuv.c).
[ -f /usr/include/uv.h ] || missing+=(libuv1-dev)
# The NATS bridge's integration tests start a real server on loopback.
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
# The Kotlin binding builds with Maven on a JDK (17 or later); Maven fetches
# its own plugins and the Kotlin compiler.
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for tool in cargo go node npm python3 cc c++; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool is required but not installed" >&2; exit 1; }
done

# cargo-deny for `make deny`, built from crates.io with its own lockfile.
# The version is pinned because deny.toml's keys follow it. Building it takes
# about 25 minutes on a loaded 2-core machine, once.
CARGO_DENY_VERSION=0.20.2
if ! cargo deny --version >/dev/null 2>&1; then
  echo "installing: cargo-deny $CARGO_DENY_VERSION (cargo install --locked)"
  cargo install --locked --quiet cargo-deny --version "$CARGO_DENY_VERSION"
fi
