#!/usr/bin/env bash
# Installs node_modules as package-lock.json pins them, for test.sh and
# bench.sh. `npm ci` installs exactly the pinned versions and never
# rewrites the lockfile, so a run leaves a clone clean. It runs only when
# node_modules does not match the lockfile, to keep reruns fast. A fresh
# `npm ci` builds no addon: the callers build it from source next (cargo
# is incremental).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.charter-lock
if ! { [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; }; then
  npm ci
  cp package-lock.json "$stamp"
fi
