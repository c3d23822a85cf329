#!/usr/bin/env bash
# Compiles and runs the C quickstart from README.md against the built
# library, so the README cannot drift from the API.
set -euo pipefail
readme=$1 include=$2 libdir=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk '/^## Quickstart: C/{s=1} s&&/^```c$/{c=1;next} c&&/^```$/{exit} c{print}' "$readme" > "$work/quickstart.c"
[ -s "$work/quickstart.c" ] || { echo "no C quickstart found in $readme"; exit 1; }
cc -std=c99 -Wall -Wextra -Werror -pedantic -I"$include" "$work/quickstart.c" -o "$work/quickstart" \
  -L"$libdir" -lcharter -Wl,-rpath,"$libdir"
out=$("$work/quickstart")
echo "$out"
grep -q "logger got ready" <<<"$out"
grep -q "delivered 1, failed 0" <<<"$out"
