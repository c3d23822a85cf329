#!/usr/bin/env bash
# The header's documentation, as a C user reads it:
#   1. Doxygen documents every function, type and macro of charter.h
#      without a single warning (WARN_IF_UNDOCUMENTED): the comments are
#      /** */ blocks and the file carries @file (capi/cbindgen.toml);
#   2. every function that hands the caller something to free (a handle, a
#      string, bytes, a message or a record, through a `T **` parameter)
#      names the function that frees it in its doc comment.
# Usage: header_docs.sh <charter.h>
set -euo pipefail
header=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v doxygen >/dev/null || { echo "doxygen is not installed (make deps installs it)" >&2; exit 1; }
cat > "$work/Doxyfile" <<DOXY
INPUT = $header
OUTPUT_DIRECTORY = $work/out
GENERATE_HTML = NO
GENERATE_LATEX = NO
GENERATE_XML = YES
WARN_IF_UNDOCUMENTED = YES
WARN_IF_DOC_ERROR = YES
QUIET = YES
DOXY
warnings=$(doxygen "$work/Doxyfile" 2>&1)
if [ -n "$warnings" ]; then
  echo "not ok - doxygen warns about charter.h:"; echo "$warnings"; exit 1
fi
members=$(cat "$work"/out/xml/*_8h.xml | grep -c "<memberdef")
echo "ok - doxygen documents charter.h ($members members) without a warning"

python3 - "$header" <<'PY'
import re, sys

# Names whose comment may not yet name its free function; each leaves this
# set once it does, and a name here that already complies fails the check.
PENDING = set()

text = open(sys.argv[1], encoding="utf-8").read()
decls = re.findall(r"/\*\*((?:(?!\*/).)*)\*/\s*\n([^;{#/]*?\b(charter_\w+)\s*\(([^;]*?)\);)", text, re.S)
missing, fixed, checked = [], [], 0
for doc, _, name, params in decls:
    if name.endswith("_free"):
        continue
    if not re.search(r"\b(?:charter_\w+_t|char|uint8_t)\s*\*\*", params):
        continue
    checked += 1
    names_free = re.search(r"\bcharter_\w+_free\b", doc) is not None
    if name in PENDING:
        if names_free:
            fixed.append(name)
    elif not names_free:
        missing.append(name)
if missing:
    sys.exit("not ok - these doc comments name no free function: " + ", ".join(missing))
if fixed:
    sys.exit("not ok - now name their free function, remove them from PENDING: " + ", ".join(fixed))
print(f"ok - {checked - len(PENDING)} of {checked} functions that return something to free name its free "
      f"function ({len(PENDING)} pending)")
PY
