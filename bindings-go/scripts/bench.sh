#!/usr/bin/env bash
# Builds the release library and runs the Go binding's benchmarks, each
# against a direct call or a buffered channel in the same run: Notify with
# one Go handler (BenchmarkDispatch), and Publish + Recv on the bus
# (BenchmarkBus). Extra arguments go to `go test` (e.g. -count=5, or
# -bench Bus for one of them: the last -bench wins).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cargo build --release -p charter-capi

cd bindings-go
export CGO_ENABLED=1
go test -run '^$' -bench . -benchmem "$@" ./...
