#!/usr/bin/env bash
# Uses the Go module as a user outside the repository would, against the
# installed Charter that PKG_CONFIG_PATH points at (scripts/prefix.sh):
#   - publishes this module's directory as a version in a file:// module
#     proxy (scripts/modproxy, the zip `go mod download` would fetch), so
#     only the files the module ships are used;
#   - in a new module in <work>/app: `go get`, build and run a program that
#     notifies a handler and checks the library's version;
#   - the same with -tags charter_shared, which must link libcharter.so.1;
#   - `go mod vendor`, then the same build from the vendor directory;
#   - CGO_ENABLED=0 must fail, with the cgo_required.go message first.
# Usage: outside.sh <work dir>   (PKG_CONFIG_PATH set, run from bindings-go)
set -euo pipefail
work=$1
module_dir=$(pwd)
version=v$(sed -n 's/^const ModuleVersion = "\(.*\)"$/\1/p' version.go)
[ "$version" != v ] || { echo "outside: no ModuleVersion in version.go" >&2; exit 1; }

go run ./scripts/modproxy "$module_dir" "$version" "$work/proxy"
# A module cache of its own, so no version fetched by an earlier run is
# reused; the module comes from the file proxy, its dependencies from the
# usual cache (itself a proxy layout) or, failing that, the usual proxy.
# charter.dev is not in the public checksum database.
export GOPROXY="file://$work/proxy,file://$(go env GOMODCACHE)/cache/download,$(go env GOPROXY)"
export GOMODCACHE=$work/modcache
export GONOSUMDB=charter.dev/charter
export GOFLAGS="-mod=mod -modcacherw"
export CGO_ENABLED=1

app=$work/app
mkdir -p "$app"
cd "$app"
cat > main.go <<'GO'
// A program outside the repository that uses Charter.
package main

import (
	"fmt"
	"log"

	"charter.dev/charter"
)

func main() {
	if charter.Version() != charter.ModuleVersion {
		log.Fatalf("library %s, module %s", charter.Version(), charter.ModuleVersion)
	}
	reg, err := charter.NewRegistry()
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
	var got string
	if _, err := reg.Register(func(event []byte) error {
		got = string(event)
		return nil
	}); err != nil {
		log.Fatal(err)
	}
	report, err := reg.Notify([]byte("hello"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("charter %s: delivered=%d event=%s\n", charter.ModuleVersion, report.Delivered, got)
}
GO
go mod init example.com/app >/dev/null 2>&1
go get "charter.dev/charter@$version" >/dev/null 2>&1 || go get "charter.dev/charter@$version"
want="charter ${version#v}: delivered=1 event=hello"

check_output() {
    local what=$1 out=$2
    [ "$out" = "$want" ] || { echo "outside ($what): got '$out', want '$want'" >&2; exit 1; }
    echo "ok - outside the repository, $what: $out"
}

check_run() {
    local what=$1 exe=$2
    if readelf -d "$exe" | grep -q 'NEEDED.*libcharter'; then
        echo "outside ($what): the program needs libcharter.so; the default link is static" >&2
        exit 1
    fi
    check_output "$what" "$("$exe")"
}

go build -o app-module .
check_run "go get" ./app-module

go build -tags charter_shared -o app-shared .
readelf -d app-shared | grep -q 'NEEDED.*\[libcharter\.so\.1\]' \
    || { echo "outside (charter_shared): the program does not need libcharter.so.1" >&2; exit 1; }
check_output "go get, -tags charter_shared" \
    "$(LD_LIBRARY_PATH=$(pkg-config --variable=libdir charter) ./app-shared)"

go mod vendor
for licence in LICENSE-MIT LICENSE-APACHE; do
    [ -f "vendor/charter.dev/charter/$licence" ] || { echo "outside: go mod vendor copied no $licence" >&2; exit 1; }
done
GOFLAGS="-mod=vendor -modcacherw" GOPROXY=off go build -o app-vendor .
check_run "go mod vendor" ./app-vendor

if out=$(CGO_ENABLED=0 go build -o app-nocgo . 2>&1); then
    echo "outside: CGO_ENABLED=0 built; it must fail" >&2
    exit 1
fi
first=$(grep -m1 -v '^#' <<<"$out")
case $first in
    *charter_requires_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler*) ;;
    *) echo "outside: CGO_ENABLED=0 fails, but its first error is not the cgo one:" >&2
       echo "$out" >&2
       exit 1 ;;
esac
echo "ok - CGO_ENABLED=0 fails first with: $first"
