#!/usr/bin/env bash
# Turns every ```kotlin block of a README into a function of one generated
# Kotlin file, which ReadmeTest runs: the examples are compiled and run by
# `mvn verify`. Lines starting with `import ` go to the top of the file.
# A block that names the NATS server "nats://127.0.0.1:4222" gets the URL
# of a server the test starts instead (its function takes it as `nats`).
set -euo pipefail
readme=$1
out=$2
mkdir -p "$(dirname "$out")"
awk '
  BEGIN { n = 0; inblock = 0 }
  /^```kotlin[[:space:]]*$/ { inblock = 1; n++; body[n] = ""; nats[n] = 0; next }
  /^```[[:space:]]*$/ && inblock { inblock = 0; next }
  inblock {
    if ($0 ~ /^import /) { imports[$0] = 1; next }
    if (gsub(/"nats:\/\/127\.0\.0\.1:4222"/, "nats")) nats[n] = 1
    body[n] = body[n] "    " $0 "\n"
  }
  END {
    print "// Generated from the README by scripts/readme-examples.sh; do not edit."
    print "package charter.readme"
    print ""
    for (i in imports) print i
    print ""
    print "/** The README examples, in order: name, whether it needs a NATS server, body (given its URL). */"
    printf "val examples: List<Triple<String, Boolean, (String) -> Unit>> = listOf(\n"
    for (i = 1; i <= n; i++) {
      if (nats[i]) printf "    Triple(\"example %d\", true, ::example%d),\n", i, i
      else printf "    Triple(\"example %d\", false) { _: String -> example%d() },\n", i, i
    }
    print ")"
    for (i = 1; i <= n; i++) printf "\nfun example%d(%s) {\n%s}\n", i, (nats[i] ? "nats: String" : ""), body[i]
  }
' "$readme" > "$out"
