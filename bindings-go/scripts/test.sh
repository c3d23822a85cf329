#!/usr/bin/env bash
# Installs the C library into a temporary prefix (scripts/prefix.sh), then
# vets (go vet, staticcheck) and tests the Go binding against it, plainly
# and under the race detector, and finally uses the module as a user would, from outside the
# repository (scripts/outside.sh). Called by `make go` (and `make test`)
# from the repository root; exits non-zero on the first failure and leaves
# nothing behind but cargo's target directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

for tool in go gcc; do
    command -v "$tool" >/dev/null || { echo "bindings-go: $tool is not installed" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=prefix.sh
source bindings-go/scripts/prefix.sh
charter_install_prefix "$root" "$work"
echo "bindings-go: Charter installed in $work/prefix (PKG_CONFIG_PATH=$PKG_CONFIG_PATH)"

cd bindings-go
# cgo is off by default when no C compiler is found or when cross-compiling.
export CGO_ENABLED=1
unformatted="$(gofmt -l .)"
if [ -n "$unformatted" ]; then
    echo "bindings-go: not gofmt-formatted: $unformatted" >&2
    exit 1
fi
go vet ./...
go vet -tags charter_shared ./...
# staticcheck, pinned; installed into GOPATH/bin when missing or another
# version.
staticcheck_version=v0.8.2
staticcheck="$(go env GOPATH)/bin/staticcheck"
if ! "$staticcheck" -version 2>/dev/null | grep -q "${staticcheck_version#v}"; then
    go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
"$staticcheck" ./...
"$staticcheck" -tags charter_shared ./...
# -count=1: Go does not track libcharter.a, so a cached result could hide a
# change in the library.
go test -count=1 ./...
go test -count=1 -race ./...

bash scripts/outside.sh "$work"
