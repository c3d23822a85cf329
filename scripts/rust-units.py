#!/usr/bin/env python3
"""Counts the rustc units each step of `make test` compiles on a cold clone,
without building anything: it asks cargo for each step's unit graph
(`cargo +nightly ... -Z unstable-options --unit-graph`) and keeps, per target
directory, the units already built. A unit's key hashes what cargo's
-C metadata hashes: package, target, mode, features, the profile's settings
(not its name), the platform and the keys of its dependencies.

    python3 scripts/rust-units.py [SDIST_DIR]

SDIST_DIR is the unpacked Python sdist (`maturin sdist`); without it the
dist-check step is left out. The steps mirror the Makefile's table: keep
them in step when a build changes. Needs the nightly toolchain.
"""
import hashlib
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Where cargo puts a profile's output.
PROFILE_DIR = {"dev": "debug", "test": "debug", "bench": "release"}
ZIG = ["--target", "x86_64-unknown-linux-gnu"]
CAPI_RELEASE = ["build", "--release", "-p", "charter-capi"]
PYTHON = ["build", "--release", "-p", "charter-python", "--lib"]
WHEEL = ["build", "--profile", "wheel", "-p", "charter-python", "--lib"]
STEPS = [
    ("rust", None, "target", ["test", "--no-run"]),
    ("budgets", None, "target", ["build", "--release", "-p", "charter-benches", "--bin", "budget_loop"]),
    ("c: release", None, "target", CAPI_RELEASE),
    ("c: test-hooks", None, "target", ["build", "-p", "charter-capi", "--features=test-hooks"]),
    ("c: CLI", None, "target", ["build", "--release", "-p", "charter-cli"]),
    ("python", None, "target", PYTHON),
    ("node", None, "target", ["build", "--release", "-p", "charter-node", "--lib"]),
    ("go", None, "target", CAPI_RELEASE),
    ("kotlin", None, "target",
     ["build", "-p", "charter-kotlin", "--features", "bindgen", "--lib", "--bin", "uniffi-bindgen"]),
    ("dist: wheel", None, "target/dist", WHEEL + ZIG),
    ("dist: npm addon", None, "target/dist",
     ["build", "--profile", "wheel", "-p", "charter-node", "--lib"] + ZIG),
    ("dist: C tarball", None, "target", CAPI_RELEASE),
    ("dist-check: sdist", "sdist", "target", PYTHON),
]


def units(cwd, args):
    """The keys of the rustc units `cargo ARGS` would compile, with their output directory."""
    out = subprocess.run(["cargo", "+nightly", *args, "-Z", "unstable-options", "--unit-graph"],
                         cwd=cwd, capture_output=True, text=True, check=True).stdout
    graph = json.loads(out)["units"]
    keys = {}

    def key(i):
        if i not in keys:
            unit = graph[i]
            settings = {k: v for k, v in unit["profile"].items() if k != "name"}
            deps = sorted(key(d["index"]) for d in unit["dependencies"])
            text = json.dumps([unit["pkg_id"], unit["target"]["name"], unit["target"]["kind"],
                               unit["mode"], unit["features"], settings, unit.get("platform"), deps],
                              sort_keys=True)
            keys[i] = hashlib.sha256(text.encode()).hexdigest()
        return keys[i]

    # Running a build script or rustdoc compiles no rustc unit.
    return {(unit.get("platform"), PROFILE_DIR.get(unit["profile"]["name"], unit["profile"]["name"]), key(i))
            for i, unit in enumerate(graph)
            if unit["mode"] not in ("run-custom-build", "doc", "doctest")}


def main():
    sdist = sys.argv[1] if len(sys.argv) > 1 else None
    built = {}
    total = 0
    for name, where, target_dir, args in STEPS:
        if where == "sdist" and sdist is None:
            continue
        step = units(sdist if where == "sdist" else ROOT, args)
        done = built.setdefault(target_dir, set())
        new = step - done
        done |= step
        total += len(new)
        print(f"{name:20s} {target_dir:12s} units {len(step):4d}  new {len(new):4d}")
    print(f"{'total':20s} {'':12s} {'':10s}  new {total:4d}")


if __name__ == "__main__":
    main()
