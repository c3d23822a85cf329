#!/usr/bin/env bash
# Installs the C library into a temporary prefix (scripts/prefix.sh) and
# runs the Go binding's benchmarks, each against a direct call or a buffered
# channel in the same run: Notify with one Go handler (BenchmarkDispatch),
# Publish + Recv on the bus (BenchmarkBus) and batches of 64
# (BenchmarkBatch); then, from the module bench/nats (kept apart so the
# charter module does not depend on nats.go), the peer: nats.go Publish +
# NextMsg against a local nats-server (skipped without one on PATH), with
# Charter and a channel in the same run (BenchmarkPeer). Extra arguments go to
# `go test` (e.g. -count=5, or -bench Bus for one of them: the last -bench
# wins). Then the scale harness (scripts/scale): threads, memory, idle CPU,
# wake, burst and cancellation latency and loss with 100, 1,000 and 10,000
# receivers waiting (SCALE_ARGS to change its flags).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=prefix.sh
source bindings-go/scripts/prefix.sh
charter_install_prefix "$root" "$work"

cd bindings-go
export CGO_ENABLED=1
# The output is kept in target/bench-results/go-bench.txt too, where
# benches/report.py reads BenchmarkBatch for docs/BENCHMARKS.md's targets.
results="$root/target/bench-results"
mkdir -p "$results"
go test -count=1 -run '^$' -bench . -benchmem "$@" ./... | tee "$results/go-bench.txt"
(cd bench/nats && go test -count=1 -run '^$' -bench . -benchmem "$@" .)
# shellcheck disable=SC2086 # SCALE_ARGS is a list of flags
go run ./scripts/scale ${SCALE_ARGS:-}
