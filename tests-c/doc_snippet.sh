# Sourced by the docs tests (readme_quickstart.sh, c_api_*_snippet.sh): the
# first ```c block under a heading of a Markdown file, compiled strictly
# against the built library and run, so the documentation cannot drift
# from the API.
#
# check_doc_snippet DOC HEADING INCLUDE LIBDIR PATTERN... prints the
# program's output and fails when the block is missing, does not compile
# warning-free, exits non-zero, or prints no line matching one of the
# PATTERNs (grep regular expressions). Extra compiler flags go in
# $snippet_cflags.
check_doc_snippet() {
  local doc=$1 heading=$2 include=$3 libdir=$4 work out pattern
  shift 4
  work=$(mktemp -d)
  trap "rm -rf '$work'" EXIT
  awk -v h="$heading" 'index($0, h) == 1 {s=1} s&&/^```c$/{c=1;next} c&&/^```$/{exit} c{print}' "$doc" > "$work/snippet.c"
  [ -s "$work/snippet.c" ] || { echo "no C block under \"$heading\" in $doc"; return 1; }
  # shellcheck disable=SC2086 # $snippet_cflags is a list of flags
  cc -std=c99 ${snippet_cflags:-} -Wall -Wextra -Werror -pedantic -I"$include" "$work/snippet.c" \
    -o "$work/snippet" -L"$libdir" -lcharter -Wl,-rpath,"$libdir" || return
  out=$("$work/snippet") || return
  echo "$out"
  for pattern in "$@"; do
    grep -q -- "$pattern" <<<"$out" || { echo "no line matches \"$pattern\""; return 1; }
  done
}
