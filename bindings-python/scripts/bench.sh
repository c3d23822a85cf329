#!/usr/bin/env bash
# Installs the Python binding (release build) and runs its benchmarks.
# Extra arguments go to each benchmark, e.g. --repeat 50.
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
"$bench_python" -m pip install --quiet --force-reinstall --no-deps \
    ./bindings-python
"$bench_python" bindings-python/bench/bench_registry.py "$@"
"$bench_python" bindings-python/bench/bench_bus.py "$@"
# Async at scale: 100, 1,000 and 10,000 asyncio receivers (docs/BENCHMARKS.md).
"$bench_python" bindings-python/bench/scale.py
