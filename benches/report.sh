#!/usr/bin/env bash
# Regenerates docs/BENCHMARKS.md's measured sections and charts after
# `cargo bench -p charter-benches` (what `make bench` runs): builds the
# instruction-count binary, installs matplotlib into a virtual environment
# under target/ (never into the repository or the system), then runs
# benches/report.py.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/target/bench-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import matplotlib" 2>/dev/null || "$venv/bin/pip" install --quiet "matplotlib>=3.8"
cargo build --release -p charter-benches --bin budget_loop
"$venv/bin/python" "$root/benches/report.py" "${1:-$root/target/criterion}"
