#!/usr/bin/env bash
# Writes the version of Cargo.toml's [workspace.package] into the copies that
# cannot derive it (the npm package and its lockfile, the Go module's
# Version, the Kotlin pom.xml's version), regenerates the header's version macros (make header), then
# runs scripts/check-version.sh. To release X.Y.Z: set it in Cargo.toml,
# run `make sync-version`, commit.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 - <<'PY'
import re

cargo = open("Cargo.toml", encoding="utf-8").read()
section = re.search(r"^\[workspace\.package\]\n(.*?)(?=^\[|\Z)", cargo, re.M | re.S)
match = section and re.search(r'^version = "(\d+\.\d+\.\d+)"$', section.group(1), re.M)
if not match:
    raise SystemExit('sync-version: no version = "X.Y.Z" in [workspace.package] of Cargo.toml')
version = match.group(1)

def rewrite(path, pattern, count):
    """Replaces the version in the first `count` matches of `pattern`
    (whose group 1 precedes the version and group 2 follows it), and
    fails unless there are that many, so no other field is touched."""
    text = open(path, encoding="utf-8").read()
    new, n = re.subn(pattern, lambda m: m.group(1) + version + m.group(2), text, count=count, flags=re.M)
    if n != count:
        raise SystemExit(f"sync-version: {path}: expected {count} version fields, found {n}")
    if new != text:
        open(path, "w", encoding="utf-8").write(new)
        print(f"sync-version: {path} -> {version}")

# package.json: the package's own "version" is at the top level (2 spaces).
rewrite("bindings-node/package.json", r'^(  "version": ")[^"]*(",?)$', 1)
# package-lock.json: the top level, then packages[""] (6 spaces), in order.
rewrite("bindings-node/package-lock.json", r'^(  "version": ")[^"]*(",?)$', 1)
rewrite("bindings-node/package-lock.json", r'^(      "version": ")[^"]*(",?)$', 1)
rewrite("bindings-go/version.go", r'^(const Version = ")[^"]*(")$', 1)
# pom.xml: the project's own <version> is the only one indented by 2 spaces.
rewrite("bindings-kotlin/pom.xml", r'^(  <version>)[^<]*(</version>)$', 1)
PY
CHARTER_BLESS=1 cargo test -q -p charter-capi --test header >/dev/null
scripts/check-version.sh
