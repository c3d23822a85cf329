# Charter's entry points. The README names two: `make demo` and `make test`.
#
#   make test     install what is missing, then run every suite:
#                 the version and supply-chain checks, cargo test, the C
#                 harness (plain, ASan+UBSan, valgrind, install/consumers),
#                 Python, Node and Go (with a module outside the
#                 repository), Kotlin (Maven), every fuzz target for 30 s, and make dist-check;
#                 prints each suite's time at the end
#   make dist     build every release artifact into dist/: the C tarball,
#                 the Python wheel (manylinux2014, abi3) and sdist, the npm
#                 package, a CycloneDX SBOM each and SHA256SUMS
#   make dist-check  make dist, then install each artifact outside the
#                 repository and run its quickstart (scripts/dist-check.sh)
#   make demo     build the library and the CLI, run the end-to-end C demo
#                 (capabilities, enforcing bus, audit log) and verify its log,
#                 then a Python and a Go service across a local nats-server
#                 (examples/bridge/run.sh)
#   make bench    run the benchmarks (numbers go to docs/BENCHMARKS.md)
#   make budgets  instruction counts of the hot paths under callgrind
#                 against benches/budgets.toml (fails past budget + 10%)
#   make header   regenerate include/charter.h after changing capi/
#   make vectors  regenerate vectors/*.json after an intended change
#   make fuzz     run every fuzz target for FUZZ_SECONDS (default 1800) each
#   make sanitize the whole C harness under ASan+UBSan, valgrind and TSan
#                 (part of make c, hence of make test)
#   make soak     2 publishers, 8 subscribers, SOAK_SECONDS (default 60) per
#                 overflow policy, with exact accounting and RSS (not in CI)
#
#   make deny     cargo deny check licenses bans sources (deny.toml)
#   make version-check  every copy of the version agrees with Cargo.toml
#   make sync-version   write Cargo.toml's version into those copies
#
# Single suites: make rust | c | python | node | go | kotlin

BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Debug

.PHONY: test demo deps deny budgets version-check sync-version rust c c-configure c-build c-unsanitized sanitize soak python node go kotlin fuzz fuzz-ci bench header vectors dist dist-check clean

FUZZ_SECONDS ?= 1800

# What make test compiles, in order; "new" counts the rustc units a cold
# clone compiles at that step (cargo's unit graph: scripts/rust-units.py).
# Cargo reuses a unit only in the same target directory with the same
# profile settings, features and dependencies, so every line that names a
# directory, profile or feature set of its own rebuilds the tree below it.
#
#   step       build                                              dir             new
#   rust       cargo test (dev profile, the default members)      target/debug    235
#   budgets    cargo build --release -p charter-benches           target/release  138
#   c          cargo build --release -p charter-capi (CMake)      target/release    0
#              cargo build -p charter-capi --features=test-hooks
#                (dev profile, CMake; the harness links it)       target/debug      2
#              cargo build --release -p charter-cli (the demo)    target/release   14
#              the C harness: plain, ASan+UBSan and TSan executables
#                (gcc); valgrind runs the plain ones; no Rust is
#                instrumented
#   python     pip install ./bindings-python: maturin, in the
#                release profile (not the wheels' fat LTO)        target/release   11
#   node       napi build --release -p charter-node               target/release   26
#   go         libcharter release (CMake, as in c)                target/release    0
#              go vet/test, go test -race, outside.sh: Go's cache
#   kotlin     cargo build -p charter-kotlin --features bindgen
#                (dev profile, Maven)                             target/debug     53
#   fuzz-ci    cargo +nightly fuzz build: every target at once,
#                ASan and coverage                                fuzz/target     own
#   dist       maturin --zig wheel (the wheel profile: fat LTO,
#                one codegen unit; glibc 2.17)                    target/dist     141
#              cargo zigbuild of the npm addon (the wheel
#                profile, glibc 2.17; stripped after the link)    target/dist      26
#              libcharter release (CMake, build-dist/)            target/release    0
#   dist-check the sdist's wheel: its own crates from the sdist,
#                the registry crates reused from `make python`
#                (release profile)                                target/release    3
#                                                                 total           654
#
# The sanitizer, zig and fuzz builds are different configurations by nature;
# the Python and Node test builds stay apart from the release artifacts
# because those are built for glibc 2.17 with zig.
TEST_SUITES = version-check deny rust budgets c python node go kotlin fuzz-ci dist-check

# Each suite is timed (scripts/timed-suites.sh), in this order.
test: deps
	@MAKE="$(MAKE)" scripts/timed-suites.sh $(TEST_SUITES)

# A run of make test compiles each crate once per configuration: the
# incremental caches cargo writes for the workspace's crates in the dev
# profile would only cost time and disk.
test: export CARGO_INCREMENTAL := 0

deps:
	@scripts/install-deps.sh

# Advisories are not checked: they need the RustSec database, which this
# machine cannot reach (docs/SECURITY.md, "Supply chain").
deny:
	cargo deny check licenses bans sources

version-check:
	@scripts/check-version.sh

sync-version:
	@scripts/sync-version.sh

rust:
	cargo test

# Deterministic: callgrind counts instructions, whatever the load.
budgets:
	cargo build --release -p charter-benches --bin budget_loop
	python3 benches/budgets.py

c-configure:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null

# ctest labels of the sanitizer runs; `make c` runs the other tests, then these.
SANITIZERS = ^(asan|valgrind|tsan)$$

c: c-unsanitized sanitize

c-build: c-configure
	cmake --build $(BUILD) -j$(JOBS)

c-unsanitized: c-build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) -LE '$(SANITIZERS)'

sanitize: c-build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) -L '$(SANITIZERS)'

python:
	bash bindings-python/scripts/test.sh

node:
	bash bindings-node/scripts/test.sh

go:
	bash bindings-go/scripts/test.sh

# Maven builds the uniffi crate, generates the Kotlin glue and runs the
# JUnit 5 tests, the shared vectors and the README examples.
kotlin:
	cd bindings-kotlin && mvn -B -q verify

dist:
	bash scripts/dist.sh

dist-check: dist
	bash scripts/dist-check.sh

# The C program plays the scenario and writes its audit log to
# $(BUILD)/demo; the script then has the CLI verify it (examples/c/).
demo: deps c-configure
	cmake --build $(BUILD) --target charter_demo charter_cli -j$(JOBS)
	@echo
	@examples/c/run_demo.sh $(BUILD)/examples/charter_demo target/release/charter $(BUILD)/demo
	@examples/bridge/run.sh $(BUILD) target/release/charter $(BUILD)/bridge-demo

# Every fuzz target for FUZZ_SECONDS each (the hardening runs use 1800).
fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

# What CI runs: every fuzz target for 30 s from the committed seeds, a
# smoke run sized to keep the whole suite inside its 30-minute budget.
fuzz-ci:
	bash scripts/fuzz.sh 30

SOAK_SECONDS ?= 60

soak:
	SOAK_SECONDS=$(SOAK_SECONDS) cargo run --release -p charter-benches --example soak

# The report comes last: its targets table reads the bindings' results
# (target/bench-results/).
bench:
	cargo bench -p charter-benches
	bash benches/c/readiness_scale.sh
	cargo bench -p charter-bridge --bench nats
	bash bindings-python/scripts/bench.sh
	bash bindings-node/scripts/bench.sh
	bash bindings-go/scripts/bench.sh
	bash bindings-kotlin/scripts/bench.sh
	bash benches/report.sh target/criterion

header:
	CHARTER_BLESS=1 cargo test -p charter-capi --test header

vectors:
	CHARTER_BLESS=1 cargo test -p charter-vectors --test vectors committed_vectors_match_a_fresh_generation

clean:
	rm -rf $(BUILD) build-dist dist
	cargo clean
