#!/usr/bin/env bash
# Builds the release library, then vets and tests the Go binding, plainly
# and under the race detector. Called by `make test` from the repository
# root; exits non-zero on the first failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

for tool in cargo go gcc; do
    command -v "$tool" >/dev/null || { echo "bindings-go: $tool is not installed" >&2; exit 1; }
done

cargo build --release -p charter-capi

cd bindings-go
# cgo is off by default when no C compiler is found or when cross-compiling.
export CGO_ENABLED=1
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
    echo "bindings-go: not gofmt-formatted: $unformatted" >&2
    exit 1
fi
go vet ./...
# -count=1: Go does not track libcharter.a, so a cached result could hide a
# change in the library.
go test -count=1 ./...
go test -count=1 -race ./...
