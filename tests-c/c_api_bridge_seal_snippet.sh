#!/usr/bin/env bash
# Compiles and runs the batch sealing snippet from docs/c-api.md against
# the built library, so the documentation cannot drift from the API.
set -euo pipefail
source "$(dirname "$0")/doc_snippet.sh"
check_doc_snippet "$1" "### Sealing a batch from C" "$2" "$3" \
  "^orders.us: accepted$" \
  "^orders.eu: accepted$"
