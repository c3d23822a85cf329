#!/usr/bin/env bash
# Runs every fuzz target for $1 seconds (default 60) each, from the
# committed seeds plus whatever corpus earlier runs left in fuzz/corpus/.
# A finding stops the run with the crashing input in fuzz/artifacts/.
set -euo pipefail
seconds=${1:-60}
cd "$(dirname "$0")/../fuzz"
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: SKIPPED, no nightly toolchain on this machine (cargo-fuzz needs one)"
  exit 0
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked -q
for target in token topic audit capi_sequence; do
  mkdir -p "corpus/$target"
  echo "fuzz: $target for ${seconds}s"
  log="target/fuzz-$target.log"
  mkdir -p target
  if ! cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=20000 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz: $target FAILED (inputs, if any, in fuzz/artifacts/$target)"
    exit 1
  fi
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done)" "$log" || true
done
