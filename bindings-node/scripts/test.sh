#!/usr/bin/env bash
# Installs, builds and tests the Node binding; `make test` calls this from
# the repository root. Needs Node 20.19+, 22.13+ or 23.5+ (package.json
# engines), npm and a Rust toolchain; npm only fetches the packages pinned
# in package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

# `npm ci` installs exactly the versions pinned in package-lock.json and
# never rewrites it, so a run leaves a clone clean. It runs only when
# node_modules does not match the lockfile, to keep reruns fast; the addon
# is then rebuilt from source (cargo is incremental).
stamp=node_modules/.charter-lock
if ! { [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; }; then
  npm ci
  cp package-lock.json "$stamp"
fi
node scripts/check-engines.js
npm run --silent build

npm test
npm run --silent typecheck
echo "bindings-node: tests and typecheck passed"
