#!/usr/bin/env bash
# Runs the end-to-end demo (`make demo`): the C program plays steps 1 to 6
# and writes its audit log into DIR, then the `charter` CLI, which shares
# nothing with the program but the files, verifies the log against its
# signed checkpoint and reads the decisions back.
#
# Usage: run_demo.sh DEMO_EXE CHARTER_CLI DIR   (DIR is emptied first)
set -euo pipefail
demo=$1 cli=$2 dir=$3

# A fresh log every run: the counts below describe this run only.
rm -rf "$dir"
mkdir -p "$dir"
"$demo" "$dir"

log=$dir/audit.log
echo
echo "7. An auditor checks the files with the charter CLI"
echo "   \$ charter audit verify $log --vkey \"\$(cat $dir/audit.vkey)\""
verify=$("$cli" audit verify "$log" --vkey "$(cat "$dir/audit.vkey")")
sed 's/^/   /' <<<"$verify"
echo "   \$ charter audit tail $log -n 5"
"$cli" audit tail "$log" -n 5 | sed 's/^/   /'

# The counts come from the log as the CLI reads it back, independently of
# the program that wrote it.
records=$(awk '$1 == "records" { print $2 }' <<<"$verify")
read -r allowed denied < <("$cli" audit tail "$log" -n "$records" |
  awk '$3 == "allow" { a++ } $3 == "deny" { d++ } END { print a + 0, d + 0 }')
echo
echo "Summary: $records records ($allowed allowed, $denied denied)," \
  "verified against the signed checkpoint by the CLI."
echo "Files: $dir"
