#!/usr/bin/env bash
# Builds the C readiness scale harness against the release static library and runs
# it for 100, 1,000 and 10,000 subscriptions in one epoll set (or the counts
# given). `make bench` runs it; its table goes to docs/BENCHMARKS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cargo build --release -p charter-capi --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -std=c99 -O2 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic -Iinclude -Itests-c \
  benches/c/readiness_scale.c -o "$out/readiness_scale" \
  target/release/libcharter.a -lpthread -ldl -lm
"$out/readiness_scale" "$@"
