#!/usr/bin/env bash
# Runs every fuzz target for $1 seconds (default 60) each, from the
# committed seeds plus whatever corpus earlier runs left in fuzz/corpus/.
# A finding stops the run with the crashing input in fuzz/artifacts/.
#
# The targets are built once, together, then run FUZZ_JOBS at a time
# (default JOBS, else 2): a fuzzer is one single-threaded process, so on two
# cores two targets each get their full time on a core of their own.
set -euo pipefail
seconds=${1:-60}
jobs=${FUZZ_JOBS:-${JOBS:-2}}
targets=(token topic audit capi_sequence)
cd "$(dirname "$0")/../fuzz"
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: SKIPPED, no nightly toolchain on this machine (cargo-fuzz needs one)"
  exit 0
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked -q
mkdir -p target
echo "fuzz: building ${targets[*]}"
if ! cargo +nightly fuzz build >target/fuzz-build.log 2>&1; then
  tail -n 40 target/fuzz-build.log
  echo "fuzz: the build FAILED"
  exit 1
fi

# fuzz TARGET: runs one target for $seconds, its output in target/fuzz-TARGET.log.
fuzz() {
  local target=$1
  mkdir -p "corpus/$target"
  cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=20000 -print_final_stats=1 \
    >"target/fuzz-$target.log" 2>&1
}

failed=()
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
  batch=("${targets[@]:i:jobs}")
  echo "fuzz: ${batch[*]} for ${seconds}s"
  pids=()
  for target in "${batch[@]}"; do
    fuzz "$target" &
    pids+=($!)
  done
  for j in "${!batch[@]}"; do
    target=${batch[j]}
    if wait "${pids[j]}"; then
      echo "fuzz: $target"
      grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done)" "target/fuzz-$target.log" || true
    else
      tail -n 40 "target/fuzz-$target.log"
      echo "fuzz: $target FAILED (inputs, if any, in fuzz/artifacts/$target)"
      failed+=("$target")
    fi
  done
  ((${#failed[@]} == 0)) || exit 1
done
