#!/usr/bin/env bash
# Compiles and runs the audit log snippet from docs/c-api.md against the
# built library, so the documentation cannot drift from the API.
set -euo pipefail
source "$(dirname "$0")/doc_snippet.sh"
check_doc_snippet "$1" "## The audit log" "$2" "$3" \
  "record 0: deny publish payments.refund" \
  "example.com/orders-audit size 1: record 0 included: yes" \
  "verified: ok"
