#!/usr/bin/env bash
# Installs the build in $1 into a fresh prefix, then builds and runs the
# consumer project against it with find_package(Charter) (shared and static,
# C and C++) and with pkg-config.
set -euo pipefail
build=$1
cmake=${2:-cmake}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cmake" --install "$build" --prefix "$work/prefix" >/dev/null
"$cmake" -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
"$cmake" --build "$work/build" >/dev/null
"$work/build/consumer_c"
"$work/build/consumer_cxx"
"$work/build/consumer_static"
libdir=$(dirname "$(find "$work/prefix" -name charter.pc)")
export PKG_CONFIG_PATH=$libdir
cc -std=c99 -Wall -Wextra -Werror -pedantic "$here/main.c" -o "$work/pc_consumer" \
  $(pkg-config --cflags --libs charter) -Wl,-rpath,"$(pkg-config --variable=libdir charter)"
"$work/pc_consumer"
echo "ok - pkg-config $(pkg-config --modversion charter)"
