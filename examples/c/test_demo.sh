#!/usr/bin/env bash
# ctest demo.end_to_end: runs what `make demo` runs, in a scratch directory,
# and checks the lines a reader relies on: each verdict, the counts the
# program and the CLI report, and the CLI's verification.
set -euo pipefail
demo=$1 cli=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

out=$("$(dirname "$0")/run_demo.sh" "$demo" "$cli" "$work/demo")
echo "$out"

expect() {
  grep -qxF -- "$1" <<<"$out" || { echo "FAIL: missing line: $1" >&2; exit 1; }
}
expect_count() {
  local n
  n=$(grep -c -- "$2" <<<"$out" || true)
  [ "$n" -eq "$1" ] || { echo "FAIL: $n lines match '$2', expected $1" >&2; exit 1; }
}

expect_count 7 '^   allowed  '
expect_count 6 '^   denied   '
expect "   allowed  worker   publish    orders.eu.created"
expect "   denied   worker   publish    orders.us.created"
expect "   denied   billing  publish    orders.eu.deleted"
expect "   worker's session active: no"
expect "            CHARTER_E_REVOKED: the session's token was revoked"
expect "   recorded      14 records: 8 allowed, 6 denied"
expect "   $work/demo/audit.log: OK"
expect "   checkpoint  size 14 of demo.charter.local/audit: consistent"
expect "Summary: 14 records (8 allowed, 6 denied), verified against the signed checkpoint by the CLI."
echo "demo.end_to_end: passed"
