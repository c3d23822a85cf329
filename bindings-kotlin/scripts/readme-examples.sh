#!/usr/bin/env bash
# Turns every ```kotlin block of a README into a function of one generated
# Kotlin file, which ReadmeTest runs: the examples are compiled and run by
# `mvn verify`. Lines starting with `import ` go to the top of the file.
set -euo pipefail
readme=$1
out=$2
mkdir -p "$(dirname "$out")"
awk '
  BEGIN { n = 0; inblock = 0 }
  /^```kotlin[[:space:]]*$/ { inblock = 1; n++; body[n] = ""; next }
  /^```[[:space:]]*$/ && inblock { inblock = 0; next }
  inblock {
    if ($0 ~ /^import /) { imports[$0] = 1 } else { body[n] = body[n] "    " $0 "\n" }
  }
  END {
    print "// Generated from the README by scripts/readme-examples.sh; do not edit."
    print "package charter.readme"
    print ""
    for (i in imports) print i
    print ""
    print "/** The README examples, in order. */"
    printf "val examples: List<Pair<String, () -> Unit>> = listOf(\n"
    for (i = 1; i <= n; i++) printf "    \"example %d\" to ::example%d,\n", i, i
    print ")"
    for (i = 1; i <= n; i++) { printf "\nfun example%d() {\n%s}\n", i, body[i] }
  }
' "$readme" > "$out"
