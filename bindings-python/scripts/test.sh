#!/usr/bin/env bash
# Builds and installs the Python binding, then runs its tests and type checks.
# Called by `make test` from the repository root; works from any directory.
# Set PYTHON to test another interpreter (default: python3).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

# Test tools, installed only when missing. The build itself needs nothing
# here: pip fetches maturin into an isolated build environment.
missing=()
for tool in pytest mypy cryptography; do
    "$python" -c "import $tool" 2>/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
    "$python" -m pip install --quiet "${missing[@]}"
fi

# --force-reinstall: the version does not change with the sources, so
# without it pip would keep a stale build. Cargo rebuilds only what changed.
# The release profile, not the wheels' fat-LTO one (Cargo.toml): the tests
# check behaviour, and this build reuses the dependencies that the C
# library's release build compiled, where the wheel profile compiles every
# crate again. make dist builds and make dist-check tests the wheels.
MATURIN_PEP517_ARGS="--profile release" "$python" -m pip install --quiet --force-reinstall --no-deps \
    ./bindings-python

"$python" -m pytest -q -p no:cacheprovider bindings-python/tests
"$python" -m mypy --strict --no-incremental \
    bindings-python/examples bindings-python/tests bindings-python/bench bindings-python/python/charter
"$python" -m mypy.stubtest charter._native \
    --allowlist bindings-python/scripts/stubtest-allowlist.txt
