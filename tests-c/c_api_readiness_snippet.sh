#!/usr/bin/env bash
# Compiles and runs the fd snippet of docs/c-api.md's "Waiting without a
# thread" against the built library, so the documented protocol cannot
# drift from the API.
set -euo pipefail
source "$(dirname "$0")/doc_snippet.sh"
snippet_cflags=-D_POSIX_C_SOURCE=200809L
check_doc_snippet "$1" "## Waiting without a thread" "$2" "$3" "^got 17$" "^ended: CHARTER_E_NOT_FOUND$"
