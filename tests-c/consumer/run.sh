#!/usr/bin/env bash
# The installed package, as a user outside the tree sees it:
#   1. installs the build in $1 into a fresh prefix, checks the installed
#      files (library names against the soname, stripped libraries with a
#      separable debug file, licences, header version = package version),
#      then builds and runs the consumer project with find_package(Charter)
#      (shared and static, C and C++) and with pkg-config (charter and
#      charter-static);
#   2. configures the source in $3 again with a multiarch libdir
#      (lib/x86_64-linux-gnu), installs it, moves the prefix elsewhere and
#      builds the consumer with pkg-config from there, so the .pc files'
#      relative prefix is checked at a depth other than lib/.
# Usage: run.sh <build dir> <cmake> <source dir> <cargo target dir>
set -euo pipefail
build=$1
cmake=${2:-cmake}
source_dir=$3
target_dir=$4
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "not ok - $*" >&2; exit 1; }

# pc_consumer <pkg-config dir> <name>: builds main.c through pkg-config
# (charter: shared, run through an rpath; charter-static: no libcharter.so
# needed at run time) and runs it.
pc_consumer() {
  local pcdir=$1 name=$2 exe="$work/pc_$2"
  PKG_CONFIG_PATH=$pcdir pkg-config --exists "$name" || fail "pkg-config finds no $name in $pcdir"
  local libdir
  libdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir "$name")
  [ -e "$libdir/libcharter.a" ] || fail "$name.pc: libdir $libdir holds no libcharter.a"
  # shellcheck disable=SC2046
  cc -std=c99 -Wall -Wextra -Werror -pedantic "$here/main.c" -o "$exe" \
    $(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs "$name") -Wl,-rpath,"$libdir"
  if [ "$name" = charter-static ] && readelf -d "$exe" | grep -q 'NEEDED.*libcharter'; then
    fail "charter-static linked the shared library"
  fi
  "$exe"
  echo "ok - pkg-config $name $(PKG_CONFIG_PATH=$pcdir pkg-config --modversion "$name") from $pcdir"
}

# check_layout <prefix> <libdir>: the installed library files and licences.
check_layout() {
  local prefix=$1 libdir=$1/$2 soname real
  soname=$(readelf -d "$libdir/libcharter.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
  [ -n "$soname" ] || fail "libcharter.so has no soname"
  [ "$(readlink "$libdir/libcharter.so")" = "$soname" ] || fail "libcharter.so does not link to the soname $soname"
  real=$(readlink "$libdir/$soname")
  case $real in
    "$soname".[0-9]*.[0-9]*) ;;
    *) fail "$soname links to $real, not to $soname.<minor>.<patch>" ;;
  esac
  [ -f "$libdir/$real" ] && [ ! -L "$libdir/$real" ] || fail "$real is not a regular file"
  for lib in "$libdir/$real" "$libdir/libcharter.a"; do
    if readelf -S -W "$lib" | grep -q '\.debug_'; then
      fail "$(basename "$lib") keeps debug sections"
    fi
  done
  readelf --string-dump=.gnu_debuglink "$libdir/$real" | grep -qF "$real.debug" \
    || fail "$real names no $real.debug in .gnu_debuglink"
  [ ! -e "$libdir/.debug" ] || fail "the debug file is installed without --component debug"
  for licence in LICENSE-MIT LICENSE-APACHE; do
    find "$prefix/share" -name "$licence" | grep -q . || fail "$licence is not installed under share/"
  done
  local header_version pc_version
  header_version=$(sed -n 's/^#define CHARTER_VERSION "\(.*\)"$/\1/p' "$prefix/include/charter.h")
  pc_version=$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --modversion charter)
  [ "$header_version" = "$pc_version" ] || fail "header version $header_version, pkg-config $pc_version"
  case $real in
    "$soname.${pc_version#*.}") ;;
    *) fail "$real does not end in the minor and patch of $pc_version" ;;
  esac
  echo "ok - $real (soname $soname) and libcharter.a stripped, debug link set, licences installed"
}

# 1. The build as configured (libdir lib/ unless the build says otherwise).
"$cmake" --install "$build" --prefix "$work/prefix" >/dev/null
pcfile=$(find "$work/prefix" -name charter.pc)
libdir_rel=${pcfile#"$work/prefix/"}
libdir_rel=${libdir_rel%/pkgconfig/charter.pc}
check_layout "$work/prefix" "$libdir_rel"

"$cmake" --install "$build" --prefix "$work/debug" --component debug >/dev/null
debugfile=$(find "$work/debug" -path '*/.debug/libcharter.so.*.debug')
[ -n "$debugfile" ] || fail "--component debug installs no .debug/libcharter.so.*.debug"
readelf -S -W "$debugfile" | grep -q '\.debug_line' || fail "$debugfile holds no line tables"
echo "ok - --component debug installs $(basename "$debugfile") with its line tables"

"$cmake" -S "$here" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
"$cmake" --build "$work/build" >/dev/null
"$work/build/consumer_c"
"$work/build/consumer_cxx"
"$work/build/consumer_static"
pc_consumer "$(dirname "$pcfile")" charter
pc_consumer "$(dirname "$pcfile")" charter-static

# 2. A multiarch libdir, three levels below the prefix, and a prefix that
# moved after installation.
multiarch=lib/x86_64-linux-gnu
"$cmake" -S "$source_dir" -B "$work/ma-build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DCHARTER_BUILD_EXAMPLES=OFF -DCHARTER_TARGET_DIR="$target_dir" -DCMAKE_INSTALL_LIBDIR=$multiarch >/dev/null
"$cmake" --build "$work/ma-build" >/dev/null
"$cmake" --install "$work/ma-build" --prefix "$work/ma-prefix" >/dev/null
mv "$work/ma-prefix" "$work/moved"
check_layout "$work/moved" "$multiarch"
pc_consumer "$work/moved/$multiarch/pkgconfig" charter
pc_consumer "$work/moved/$multiarch/pkgconfig" charter-static
"$cmake" -S "$here" -B "$work/ma-consumer" -DCMAKE_PREFIX_PATH="$work/moved" >/dev/null
"$cmake" --build "$work/ma-consumer" --target consumer_static >/dev/null
"$work/ma-consumer/consumer_static"
