#!/usr/bin/env bash
# Installs the Python binding (release build) and runs its benchmarks.
# Extra arguments go to each benchmark, e.g. --repeat 50.
#
# The build benched is the one a user of this CPython gets: `make dist`
# ships a version-specific wheel for the machine's CPython beside the abi3
# one (scripts/dist.sh), and pip prefers it, so this installs the binding
# built for the benchmarks' interpreter (the abi3 cargo feature off).
# BENCH_ABI3=1 benches the abi3 build instead, what every other CPython
# from 3.9 gets.
#
# The benchmarks run in a venv of their own (target/python-bench-venv,
# or $BENCH_VENV), into which this script installs pyzmq from PyPI: the bus
# benchmark times an inproc PUSH/PULL pair beside the bus, and the machine's
# own Python is left as it was.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

venv="${BENCH_VENV:-$root/target/python-bench-venv}"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
bench_python="$venv/bin/python"
"$bench_python" -m pip install --quiet pyzmq
build=(--no-default-features)
[ "${BENCH_ABI3:-0}" = 1 ] && build=()
MATURIN_PEP517_ARGS="${build[*]}" "$bench_python" -m pip install --quiet --force-reinstall --no-deps \
    ./bindings-python
"$bench_python" bindings-python/bench/bench_registry.py "$@"
"$bench_python" bindings-python/bench/bench_bus.py "$@"
# Async at scale: 100, 1,000 and 10,000 asyncio receivers (docs/BENCHMARKS.md).
"$bench_python" bindings-python/bench/scale.py
