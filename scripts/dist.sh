#!/usr/bin/env bash
# `make dist`: builds every release artifact into dist/ (gitignored):
#
#   charter-VERSION-linux-x86_64.tar.gz   the C library: `cmake --install` of a
#                                         Release build (header, shared and
#                                         static library, CMake package,
#                                         pkg-config file, licences)
#   charter-VERSION-cp39-abi3-manylinux2014_x86_64...whl
#                                         the Python wheel: abi3, glibc >= 2.17
#                                         (linked with zig), stripped
#   charter-VERSION-cpXY-cpXY-manylinux2014_x86_64...whl
#                                         the same for the machine's CPython
#                                         only (python3): pip prefers it there.
#                                         Built without abi3, PyO3 takes the
#                                         fast call paths: about 23% fewer
#                                         instructions per publish + recv
#                                         (docs/BENCHMARKS.md); the abi3 wheel
#                                         serves every other CPython >= 3.9
#   charter-VERSION.tar.gz                the Python sdist (with the core crate)
#   charter-node-VERSION.tgz              the npm package (`npm pack`), with a
#                                         stripped linux-x64-gnu addon for
#                                         glibc >= 2.17
#   ARTIFACT.cdx.json                     a CycloneDX 1.6 SBOM per artifact
#   SHA256SUMS                            `sha256sum -c SHA256SUMS` checks all
#
# Needs Rust, Python 3.11+, Node 20+, cmake and a C compiler. The release
# tools (maturin, zig, cargo-zigbuild, auditwheel, the CycloneDX library)
# come from PyPI into target/dist-tools (scripts/dist-tools.sh). Builds go
# to target/dist and build-dist, so a run leaves `git status` clean.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${JOBS:-2}"
tools="$(bash scripts/dist-tools.sh)"
version="$(cargo metadata --no-deps --locked --format-version 1 |
  python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "charter-core"))')"
dist="$root/dist"
rm -rf "$dist"
mkdir -p "$dist"

step() { printf '\n== make dist: %s\n' "$*"; }

step "Python wheel (manylinux2014, abi3, stripped)"
PATH="$tools:$PATH" maturin build --quiet --profile wheel --strip --zig --compatibility manylinux2014 \
  --locked -j"$jobs" -m bindings-python/Cargo.toml --target-dir target/dist -o "$dist"
wheel="$(cd "$dist" && ls charter-"$version"-cp39-abi3-*manylinux2014_x86_64*.whl)"

step "Python wheel for this machine's CPython (version-specific, manylinux2014, stripped)"
PATH="$tools:$PATH" maturin build --quiet --profile wheel --strip --zig --compatibility manylinux2014 \
  --locked -j"$jobs" -m bindings-python/Cargo.toml --target-dir target/dist -o "$dist" \
  --no-default-features -i python3
tag="$(python3 -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
native_wheel="$(cd "$dist" && ls charter-"$version"-"$tag"-"$tag"-*manylinux2014_x86_64*.whl)"
# auditwheel reads the extensions' symbol versions: it must accept the tag.
for w in "$wheel" "$native_wheel"; do
  "$tools/auditwheel" show "$dist/$w" | tr '\n' ' ' | grep -q 'consistent with the following platform tag: "manylinux_2_17_x86_64"' ||
    { "$tools/auditwheel" show "$dist/$w"; echo "make dist: auditwheel does not accept $w as manylinux_2_17" >&2; exit 1; }
done

step "Python sdist"
PATH="$tools:$PATH" maturin sdist -m bindings-python/Cargo.toml -o "$dist"
sdist="charter-$version.tar.gz"

step "npm package (prebuilt addon for linux-x64-gnu, glibc >= 2.17)"
(cd bindings-node && npm pack --silent --pack-destination "$dist" >/dev/null)
npm_tarball="charter-$version.tgz"
mv "$dist/$npm_tarball" "$dist/charter-node-$version.tgz"
npm_tarball="charter-node-$version.tgz"

step "C library (cmake --install of a Release build)"
c_name="charter-$version-linux-x86_64"
cmake -S . -B build-dist -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DCHARTER_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-dist -j"$jobs" >/dev/null
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cmake --install build-dist --prefix "$stage/$c_name" >/dev/null
# Until the CMake install carries the licences itself, put them where a
# distribution's packages would.
if [ -z "$(find "$stage/$c_name" -name LICENSE-MIT)" ]; then
  mkdir -p "$stage/$c_name/share/doc/charter"
  cp LICENSE-MIT LICENSE-APACHE "$stage/$c_name/share/doc/charter/"
fi
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
  -C "$stage" -czf "$dist/$c_name.tar.gz" "$c_name"
c_tarball="$c_name.tar.gz"

step "SBOMs (CycloneDX 1.6) and SHA256SUMS"
sbom() { "$tools/python" scripts/dist_sbom.py "$dist/$1" "$2" "$3" "$dist/$1.cdx.json"; }
sbom "$wheel" charter-python "pkg:pypi/charter@$version"
sbom "$native_wheel" charter-python "pkg:pypi/charter@$version"
sbom "$sdist" charter-python "pkg:pypi/charter@$version"
sbom "$npm_tarball" charter-node "pkg:npm/charter@$version"
sbom "$c_tarball" charter-capi "pkg:generic/charter@$version"
(cd "$dist" && sha256sum -- *.whl *.tar.gz *.tgz *.cdx.json > SHA256SUMS)

step "done"
ls -l "$dist"
