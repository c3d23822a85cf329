#!/usr/bin/env bash
# Runs make test's suites one after another, each as its own `make` goal,
# and prints how long each one took. CI has a 30-minute budget for the
# whole run; a per-suite time says which suite grew when the total does.
# Stops at the first suite that fails, as a plain `make` would.
set -uo pipefail
make=${MAKE:-make}
report=()
total=0
for suite in "$@"; do
    start=$(date +%s)
    "$make" --no-print-directory "$suite"
    status=$?
    took=$(( $(date +%s) - start ))
    total=$(( total + took ))
    report+=("$(printf '  %-14s %5d s' "$suite" "$took")")
    if [ "$status" -ne 0 ]; then
        printf 'make test: %s failed after %d s\n' "$suite" "$took" >&2
        exit "$status"
    fi
done
echo "make test: every suite passed in $total s"
printf '%s\n' "${report[@]}"
