#!/usr/bin/env bash
# One version: [workspace.package] in Cargo.toml sets it. Every crate
# inherits it (version.workspace), CMake reads it from Cargo.toml, the wheel
# takes it from its crate (pyproject.toml's dynamic version, through
# maturin), and the header's CHARTER_VERSION* macros are generated from it.
# The copies that cannot be derived (the npm package and its lockfile, the
# Go module's ModuleVersion constant) are checked here; `make test` runs this, and
# `make sync-version` (scripts/sync-version.sh) rewrites them.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 - <<'PY'
import json, re, subprocess, sys

def fail(msg):
    sys.exit(f"check-version: {msg}")

cargo = open("Cargo.toml", encoding="utf-8").read()
section = re.search(r"^\[workspace\.package\]\n(.*?)(?=^\[|\Z)", cargo, re.M | re.S)
match = section and re.search(r'^version = "(\d+\.\d+\.\d+)"$', section.group(1), re.M)
if not match:
    fail('no version = "X.Y.Z" in [workspace.package] of Cargo.toml')
version = match.group(1)
found = []

def expect(what, got):
    if got != version:
        fail(f"{what} is {got!r}, but Cargo.toml's [workspace.package] says {version!r}")
    found.append(what)

metadata = json.loads(subprocess.run(
    ["cargo", "metadata", "--no-deps", "--format-version", "1", "--offline"],
    check=True, capture_output=True, text=True).stdout)
for package in metadata["packages"]:
    expect(f"crate {package['name']}", package["version"])

pyproject = open("bindings-python/pyproject.toml", encoding="utf-8").read()
if re.search(r"^version\s*=", pyproject, re.M) or not re.search(r'^dynamic = \[.*"version".*\]', pyproject, re.M):
    fail('bindings-python/pyproject.toml must take its version from its crate: dynamic = ["version"], no version =')
found.append("wheel (dynamic, from charter-python)")

package = json.load(open("bindings-node/package.json", encoding="utf-8"))
expect("bindings-node/package.json", package.get("version"))
lock = json.load(open("bindings-node/package-lock.json", encoding="utf-8"))
expect("bindings-node/package-lock.json", lock.get("version"))
expect('bindings-node/package-lock.json packages[""]', lock.get("packages", {}).get("", {}).get("version"))

go = re.search(r'^const ModuleVersion = "(.*)"$', open("bindings-go/version.go", encoding="utf-8").read(), re.M)
expect("bindings-go/version.go ModuleVersion", go and go.group(1))

pom = re.search(r"^  <version>(.*)</version>$", open("bindings-kotlin/pom.xml", encoding="utf-8").read(), re.M)
expect("bindings-kotlin/pom.xml version", pom and pom.group(1))

header = re.search(r'^#define CHARTER_VERSION "(.*)"$', open("include/charter.h", encoding="utf-8").read(), re.M)
expect("include/charter.h CHARTER_VERSION", header and header.group(1))

print(f"ok - version {version}: {len(found)} places agree")
PY
