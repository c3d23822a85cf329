#!/usr/bin/env bash
# Compiles and runs the audit log snippet from docs/c-api.md against the
# built library, so the documentation cannot drift from the API.
set -euo pipefail
doc=$1 include=$2 libdir=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk '/^## The audit log/{s=1} s&&/^```c$/{c=1;next} c&&/^```$/{exit} c{print}' "$doc" > "$work/audit.c"
[ -s "$work/audit.c" ] || { echo "no audit log snippet found in $doc"; exit 1; }
cc -std=c99 -Wall -Wextra -Werror -pedantic -I"$include" "$work/audit.c" -o "$work/audit" \
  -L"$libdir" -lcharter -Wl,-rpath,"$libdir"
out=$("$work/audit")
echo "$out"
grep -q "record 0: deny publish payments.refund" <<<"$out"
grep -q "example.com/orders-audit size 1: record 0 included: yes" <<<"$out"
grep -q "verified: ok" <<<"$out"
