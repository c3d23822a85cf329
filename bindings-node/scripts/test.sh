#!/usr/bin/env bash
# Installs, builds and tests the Node binding; `make test` calls this from
# the repository root. Needs Node 20.19+, 22.13+ or 23.5+ (package.json
# engines), npm and a Rust toolchain; npm only fetches the packages pinned
# in package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-locked.sh
node scripts/check-engines.js
npm run --silent build

npm test
npm run --silent typecheck
echo "bindings-node: tests and typecheck passed"
