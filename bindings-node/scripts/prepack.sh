#!/usr/bin/env bash
# `npm pack` and `npm publish` run this first. It puts into the package
# directory what the tarball ships beyond the committed JavaScript and types:
# the licences from the repository root, and the addon for linux-x64-gnu,
# built with zig (cargo-zigbuild) against glibc 2.17 so that it loads on
# RHEL 7 and later, then stripped of debug info and symbols. Both are
# gitignored. The addon is built in the Python wheels' profile (fat LTO, one
# codegen unit: Cargo.toml), in the same target directory, so that the two
# artifacts of `make dist` share every dependency they have in common; it is
# stripped after the link because a strip setting in the profile would make
# cargo compile those dependencies a second time.
# Needs Rust and python3; the zig tools come from PyPI (scripts/dist-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(cd .. && pwd)"

cp "$root/LICENSE-MIT" "$root/LICENSE-APACHE" .

tools="$(bash "$root/scripts/dist-tools.sh")"
target=x86_64-unknown-linux-gnu
PATH="$tools:$PATH" \
  cargo zigbuild --profile wheel --locked -j"${JOBS:-2}" -p charter-node \
  --target "$target.2.17" --target-dir "$root/target/dist"

mkdir -p prebuilds/linux-x64-gnu
strip --strip-all -o prebuilds/linux-x64-gnu/charter.node "$root/target/dist/$target/wheel/libcharter_node.so"
