#!/usr/bin/env bash
# Compiles and runs the fd snippet of docs/c-api.md's "Waiting without a
# thread" against the built library, so the documented protocol cannot
# drift from the API.
set -euo pipefail
doc=$1 include=$2 libdir=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk '/^## Waiting without a thread/{s=1} s&&/^```c$/{c=1;next} c&&/^```$/{exit} c{print}' "$doc" > "$work/ready.c"
[ -s "$work/ready.c" ] || { echo "no readiness snippet found in $doc"; exit 1; }
cc -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic -I"$include" "$work/ready.c" \
  -o "$work/ready" -L"$libdir" -lcharter -Wl,-rpath,"$libdir"
out=$("$work/ready")
echo "$out"
grep -q "^got 17$" <<<"$out"
grep -q "^ended: CHARTER_E_NOT_FOUND$" <<<"$out"
