#!/usr/bin/env bash
# Builds the Node binding (release) and runs its benchmarks: the registry,
# then the bus. Options go to both.
# Usage: bash bindings-node/scripts/bench.sh [--rounds N] [--iterations N]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d node_modules ]; then
  npm run --silent build
else
  npm install
fi
node bench/registry.mjs "$@"
node bench/bus.mjs "$@"
