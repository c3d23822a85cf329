#!/usr/bin/env bash
# Installs the release tools pinned in scripts/dist-requirements.txt (maturin,
# zig, cargo-zigbuild, auditwheel, the CycloneDX library), all from PyPI, into
# target/dist-tools, and prints that virtualenv's bin directory. It reinstalls
# only when the pins change, so later runs cost nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/target/dist-tools"
requirements="$root/scripts/dist-requirements.txt"
if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install --quiet -r "$requirements" >&2
  cp "$requirements" "$venv/requirements.txt"
fi
echo "$venv/bin"
