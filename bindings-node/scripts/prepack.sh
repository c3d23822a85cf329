#!/usr/bin/env bash
# `npm pack` and `npm publish` run this first. It puts into the package
# directory what the tarball ships beyond the committed JavaScript and types:
# the licences from the repository root, and the addon for linux-x64-gnu,
# built with zig (cargo-zigbuild) against glibc 2.17 so that it loads on
# RHEL 7 and later, without debug info and stripped. Both are gitignored.
# Needs Rust and python3; the zig tools come from PyPI (scripts/dist-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(cd .. && pwd)"

cp "$root/LICENSE-MIT" "$root/LICENSE-APACHE" .

tools="$(bash "$root/scripts/dist-tools.sh")"
target=x86_64-unknown-linux-gnu
PATH="$tools:$PATH" \
  CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=symbols \
  cargo zigbuild --release --locked -j"${JOBS:-2}" -p charter-node \
  --target "$target.2.17" --target-dir "$root/target/dist"

mkdir -p prebuilds/linux-x64-gnu
cp "$root/target/dist/$target/release/libcharter_node.so" prebuilds/linux-x64-gnu/charter.node
