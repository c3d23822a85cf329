#!/usr/bin/env bash
# Installs, builds and tests the Node binding; `make test` calls this from
# the repository root. Needs Node >= 20, npm and a Rust toolchain; npm only
# fetches the packages pinned in package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

# `npm install` installs the versions pinned in package-lock.json and its
# `prepare` script builds the addon. (Not `npm ci`: it insists that the
# lockfile list the other platforms' optional packages of the build tools,
# which a registry mirror may not carry.) When node_modules already matches
# the lockfile, only rebuild (cargo is incremental), to keep reruns fast.
stamp=node_modules/.charter-lock
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
  npm run --silent build
else
  npm install
  cp package-lock.json "$stamp"
fi

npm test
npm run --silent typecheck
echo "bindings-node: tests and typecheck passed"
