#!/usr/bin/env bash
# Installs the Python binding (release build) and runs its benchmarks.
# Extra arguments go to each benchmark, e.g. --repeat 50.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

"$python" -m pip install --quiet --force-reinstall --no-deps \
    ./bindings-python
"$python" bindings-python/bench/bench_registry.py "$@"
"$python" bindings-python/bench/bench_bus.py "$@"
# Async at scale: 100, 1,000 and 10,000 asyncio receivers (docs/BENCHMARKS.md).
"$python" bindings-python/bench/scale.py
