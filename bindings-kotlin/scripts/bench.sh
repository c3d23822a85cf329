#!/usr/bin/env bash
# The Kotlin binding's timed benchmark (src/test/kotlin/charter/Benchmark.kt)
# against a release build of the native library: Registry.notify with one
# Kotlin handler, and Bus.publish + Subscription.recv, each beside a JDK
# baseline measured in the same run. Figures go to docs/BENCHMARKS.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root/bindings-kotlin"
mvn -B -Dcargo.profile=release -Dnative.dir="$root/target/release" \
    -Dcharter.bench=true -Dtest=Benchmark -Dsurefire.failIfNoSpecifiedTests=false test "$@" \
    | grep -E '^BENCH|ERROR|FAIL' || true
