#!/usr/bin/env bash
# Builds the release library and runs the Go binding's benchmarks: Notify
# with one Go handler against a direct call and a buffered channel, in one
# run. Extra arguments go to `go test` (e.g. -count=5).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cargo build --release -p charter-capi

cd bindings-go
export CGO_ENABLED=1
go test -run '^$' -bench . -benchmem "$@" ./...
