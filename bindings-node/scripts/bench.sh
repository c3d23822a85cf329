#!/usr/bin/env bash
# Builds the Node binding (release) and runs its benchmarks: the registry,
# then the bus, then batches (options go to those three), then async at scale
# (scripts/scale.js: 100, 1,000 and 10,000 waiting receives).
# Usage: bash bindings-node/scripts/bench.sh [--rounds N] [--iterations N]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-locked.sh
npm run --silent build
node bench/registry.mjs "$@"
node bench/bus.mjs "$@"
node bench/batch.mjs "$@"
node scripts/scale.js
