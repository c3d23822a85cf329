#!/usr/bin/env bash
# The bridge's RSS under a 60 s overload, core and durable import
# (bridge/benches/rss_overload.rs): writes target/bridge-rss/{core,durable}.csv
# and draws docs/benchmarks/bridge-rss.svg with matplotlib from the venv
# benches/report.sh keeps under target/. Not part of `make test` (two minutes).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/target/bridge-rss"
mkdir -p "$out"
for mode in core durable; do
  cargo bench -p charter-bridge --bench rss_overload -- "$mode" "$out/$mode.csv"
done
venv="$root/target/bench-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import matplotlib" 2>/dev/null || "$venv/bin/pip" install --quiet "matplotlib>=3.8"
"$venv/bin/python" "$root/bridge/benches/rss_plot.py" "$out" "$root/docs/benchmarks/bridge-rss.svg"
