#!/usr/bin/env bash
# Compiles and runs the C quickstart from README.md against the built
# library, so the README cannot drift from the API.
set -euo pipefail
source "$(dirname "$0")/doc_snippet.sh"
check_doc_snippet "$1" "## Quickstart: C" "$2" "$3" "logger got ready" "delivered 1, failed 0"
