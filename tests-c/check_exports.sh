#!/usr/bin/env bash
# Fails when the shared library exports a symbol outside the charter_
# namespace, or has a soname without the ABI major version.
set -euo pipefail
lib=$1
foreign=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^charter_' || true)
if [ -n "$foreign" ]; then
  echo "exported symbols outside charter_*:"; echo "$foreign"; exit 1
fi
count=$(nm -D --defined-only "$lib" | grep -c ' charter_')
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
echo "ok - $count exported symbols, all charter_*; soname $soname"
[ "$soname" = "libcharter.so.1" ]
