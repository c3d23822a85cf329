#!/usr/bin/env bash
# `make dist-check` (part of `make test`): installs every artifact that
# `make dist` put into dist/ outside the repository, the way a user would,
# and runs its quickstart from README.md. Each check fails when its artifact
# regresses: a wrong platform tag, an unstripped or too-new-glibc binary, a
# missing licence, a file that should not ship, a broken install, an sdist
# that cannot build, a Rust-less build that does not stop at once.
#
# usage: scripts/dist-check.sh [DIST_DIR]   (default: dist)
set -euo pipefail
shopt -s extglob
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dist="$(cd "${1:-$root/dist}" && pwd)"
readme="$root/README.md"
tools="$(bash "$root/scripts/dist-tools.sh")"
work="$(mktemp -d /tmp/charter-dist-check.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
passed=0 failed=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "not ok - $*"; }
# check NAME COMMAND...: runs one check, its output kept only on failure.
check() {
  local name=$1 log
  shift
  log="$work/log.$((passed + failed))"
  if (cd "$work" && "$@") >"$log" 2>&1; then ok "$name"; else fail "$name"; sed 's/^/    /' "$log"; fi
}
# The first ```LANG block after HEADING in FILE.
block() { awk -v h="$3" -v f="^\`\`\`$2\$" 'index($0,h)==1{s=1} s&&$0~f{c=1;next} c&&/^```$/{exit} c{print}' "$1"; }
only() { local f=("$dist"/$1); [ ${#f[@]} -eq 1 ] && [ -e "${f[0]}" ] || { echo "expected one $1 in $dist" >&2; return 1; }; echo "${f[0]}"; }
# An ELF file has no DWARF sections nor symbol table, and needs glibc <= 2.17.
stripped_old_glibc() {
  if readelf -S --wide "$1" | grep -E '\.(debug_|symtab)'; then echo "$1 is not stripped"; return 1; fi
  local newest
  newest=$(objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
  echo "$1 needs glibc $newest"
  [ "$(printf '%s\n' "$newest" 2.17 | sort -V | tail -1)" = 2.17 ]
}
# No markdown link that a package index cannot resolve (relative ones).
absolute_links() {
  if grep -nE '\]\((\.|/|[a-zA-Z0-9_-]+(/|\.md))' "$1"; then echo "relative links above"; return 1; fi
}

# The TypeScript check compiles with the binding's pinned tsc and @types/node.
[ -d "$root/bindings-node/node_modules/typescript" ] || (cd "$root/bindings-node" && npm ci --silent)

wheel=$(only 'charter-*-cp39-abi3-manylinux2014_x86_64*.whl')
tag="$(python3 -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
native_wheel=$(only "charter-*-$tag-$tag-manylinux2014_x86_64*.whl")
sdist=$(only 'charter-+([0-9.]).tar.gz')
npm_tarball=$(only 'charter-node-*.tgz')
c_tarball=$(only 'charter-*-linux-x86_64.tar.gz')

# --- checksums and SBOMs ---------------------------------------------------
check "SHA256SUMS covers every artifact and matches" bash -c "
  cd '$dist' && sha256sum --quiet -c SHA256SUMS &&
  for f in *.whl *.tar.gz *.tgz; do grep -q \"  \$f\$\" SHA256SUMS && [ -s \"\$f.cdx.json\" ] || { echo \"\$f: no checksum or SBOM\"; exit 1; }; done"
check "each SBOM is valid CycloneDX 1.6 and names its artifact's hash and the core" \
  "$tools/python" - "$dist" <<'EOF'
import hashlib, json, pathlib, sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
dist = pathlib.Path(sys.argv[1])
for sbom in sorted(dist.glob("*.cdx.json")):
    text = sbom.read_text()
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, f"{sbom.name}: {error}"
    doc = json.loads(text)
    artifact = dist / sbom.name.removesuffix(".cdx.json")
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert doc["metadata"]["component"]["hashes"][0]["content"] == digest, f"{sbom.name}: stale hash"
    names = {c["name"] for c in doc["components"]}
    assert {"charter-core", "ring", "subtle"} <= names, f"{sbom.name}: {sorted(names)}"
    print(sbom.name, len(names), "components")
EOF

# --- Python ----------------------------------------------------------------
check "the wheel is manylinux_2_17 for auditwheel" bash -c \
  "'$tools/auditwheel' show '$wheel' | tr '\n' ' ' | grep 'consistent with the following platform tag: \"manylinux_2_17_x86_64\"'"
check "the wheel ships licences, project URLs, a standalone README and a stripped extension" bash -c "
  set -e; mkdir w && cd w && python3 -m zipfile -e '$wheel' .
  ls charter-*.dist-info/licenses/LICENSE-MIT charter-*.dist-info/licenses/LICENSE-APACHE
  grep -q '^License-Expression: MIT OR Apache-2.0' charter-*.dist-info/METADATA
  grep '^Project-URL: Repository, https://' charter-*.dist-info/METADATA
  $(declare -f absolute_links stripped_old_glibc); absolute_links charter-*.dist-info/METADATA
  stripped_old_glibc charter/_native.abi3.so"
python_quickstart() {
  block "$readme" python '## Quickstart: Python' >quickstart.py
  [ -s quickstart.py ] || { echo "no Python quickstart in $readme"; return 1; }
  "$1" quickstart.py >out.txt 2>err.txt || { cat out.txt err.txt; return 1; }
  cat out.txt err.txt
  [ ! -s err.txt ] && grep -qx 'reloading /etc/app.toml' out.txt &&
    grep -qx 'NotifyReport(delivered=1, failed=1, panicked=0)' out.txt &&
    grep -qx 'CHARTER_E_CLOSED -19' out.txt && grep -qx "orders.eu.created b'order 17' abc" out.txt
}
check "the wheel installs into a fresh venv and runs the README quickstart" bash -c "
  set -e; $(declare -f block python_quickstart); readme='$readme'
  python3 -m venv wheel-venv && wheel-venv/bin/pip install --quiet --no-index '$wheel'
  wheel-venv/bin/python -c 'import charter, sys; assert \"site-packages\" in charter.__file__, charter.__file__'
  python_quickstart wheel-venv/bin/python"
check "the version-specific wheel is manylinux_2_17, stripped, and pip picks it for this CPython" bash -c "
  set -e; $(declare -f block python_quickstart stripped_old_glibc); readme='$readme'
  '$tools/auditwheel' show '$native_wheel' | tr '\n' ' ' | grep 'consistent with the following platform tag: \"manylinux_2_17_x86_64\"'
  mkdir nw && (cd nw && python3 -m zipfile -e '$native_wheel' . && stripped_old_glibc charter/_native.cpython-*.so)
  python3 -m venv native-venv && native-venv/bin/pip install --quiet --no-index --find-links '$dist' charter
  native-venv/bin/python -c 'import charter._native as n; assert \".abi3.\" not in n.__file__, n.__file__'
  python_quickstart native-venv/bin/python"
check "the sdist carries the core crate, the lockfile, the licences and the build backend" bash -c "
  tar tzf '$sdist' > list && for f in core/src/lib.rs core/Cargo.toml Cargo.lock Cargo.toml LICENSE-MIT LICENSE-APACHE \
    pyproject.toml build_backend/charter_build_backend.py bindings-python/src/lib.rs python/charter/__init__.py; do
    grep -q \"^charter-[0-9.]*/\$f\$\" list || { echo \"sdist lacks \$f\"; exit 1; }; done"
# Without cargo the build must stop before any download, with the message.
nocargo_path="$work/nocargo-venv/bin:/usr/local/bin:/usr/bin:/bin"
check "without Rust, building the sdist stops at once with a clear message" bash -c "
  python3 -m venv nocargo-venv
  if PATH='$nocargo_path' command -v cargo; then echo 'cargo is on the stripped PATH'; exit 1; fi
  start=\$(date +%s)
  if PATH='$nocargo_path' CARGO_HOME=/nonexistent RUSTUP_HOME=/nonexistent \
      nocargo-venv/bin/pip wheel --no-deps -w nocargo-out '$sdist' > out.txt 2>&1; then cat out.txt; exit 1; fi
  cat out.txt
  grep -q 'charter: building from source needs Rust 1.89 or newer' out.txt
  ! grep -qi 'puccinialin\|installing into a temporary directory' out.txt
  [ \$((\$(date +%s) - start)) -lt 120 ]"
# In the repository's target directory and in the release profile, so that
# the registry crates, built with that profile by `make python`, are reused
# rather than compiled a second time; the sdist must still carry the wheel
# profile its pyproject.toml names, or a build from it without this override
# would fail at once. A workspace crate at the same relative path could pass as
# fresh there, since the sdist's files carry a fixed old date: the sdist is
# unpacked and its files touched, so its own crates (core, bridge, the
# binding) are compiled from it, never taken from the repository's build.
check "the sdist builds a working wheel in a clean venv" bash -c "
  set -e; $(declare -f block python_quickstart); readme='$readme'
  python3 -m venv sdist-venv
  mkdir sdist-src && tar xzf '$sdist' -C sdist-src && find sdist-src -exec touch {} +
  grep -qx 'profile = \"wheel\"' sdist-src/charter-*/pyproject.toml
  grep -qx '\[profile.wheel\]' sdist-src/charter-*/Cargo.toml
  CARGO_TARGET_DIR='$root/target' MATURIN_PEP517_ARGS='--profile release' sdist-venv/bin/pip wheel --quiet --no-deps -w sdist-out sdist-src/charter-*/
  sdist-venv/bin/pip install --quiet --no-index sdist-out/charter-*.whl
  python_quickstart sdist-venv/bin/python"

# --- Node ------------------------------------------------------------------
check "the npm tarball ships only runtime files, types, licences, the addon and a standalone README" bash -c "
  tar tzf '$npm_tarball' | grep -v '/$' | sort > list; cat list
  grep -vxE 'package/(package\.json|README\.md|LICENSE-MIT|LICENSE-APACHE|index\.(js|mjs|d\.ts)|lib/[a-z-]+\.(js|d\.ts)|prebuilds/linux-x64-gnu/charter\.node)' list && exit 1
  for f in LICENSE-MIT LICENSE-APACHE index.d.ts lib/native.js prebuilds/linux-x64-gnu/charter.node; do
    grep -qx \"package/\$f\" list || { echo \"missing \$f\"; exit 1; }; done
  ! grep -q '\"private\"' <(tar xzOf '$npm_tarball' package/package.json)
  $(declare -f absolute_links); tar xzOf '$npm_tarball' package/README.md > npm-readme.md && absolute_links npm-readme.md"
check "the prebuilt addon is stripped and needs glibc 2.17 at most" bash -c "
  $(declare -f stripped_old_glibc); tar xzf '$npm_tarball' package/prebuilds && stripped_old_glibc package/prebuilds/linux-x64-gnu/charter.node"
check "the npm tarball installs into a fresh project without a warning" bash -c "
  mkdir app && cd app && printf '{\"name\":\"app\",\"version\":\"1.0.0\",\"private\":true}\n' > package.json
  npm install --no-audit --no-fund --loglevel=warn '$npm_tarball' > ../npm.txt 2>&1; status=\$?; cat ../npm.txt
  [ \$status -eq 0 ] && ! grep -qi 'warn\|EBADENGINE' ../npm.txt"
node_expected=$'audit { user: \'ada\' }\nhandler id failed: disk full\n{ delivered: 1, failed: 1, panicked: 0 }\norders.eu order 17 abc'
node_run() { out=$(node "$1" 2>&1) && echo "$out" && [ "$out" = "$node_expected" ]; }
check "the installed package runs the README quickstart from CommonJS" bash -c "
  $(declare -f block node_run); node_expected=\"\$1\"
  block '$readme' js '## Quickstart: Node' > app/quickstart.cjs && node_run app/quickstart.cjs" _ "$node_expected"
check "the installed package runs the README quickstart from ESM" bash -c "
  $(declare -f block node_run); node_expected=\"\$1\"
  block '$readme' js '## Quickstart: Node' |
    sed \"s|^const { Registry, Bus } = require('charter');.*|import { Registry, Bus } from 'charter';|\" > app/quickstart.mjs
  grep -q '^import { Registry, Bus } from' app/quickstart.mjs && node_run app/quickstart.mjs" _ "$node_expected"
check "the installed package type-checks and runs from TypeScript" bash -c "
  set -e; $(declare -f node_run); node_expected=\"\$1\"; cd app
  cat > quickstart.ts <<'TS'
import { Bus, Registry, type Message, type NotifyReport } from 'charter';

const registry = new Registry({
  onError: (handlerId: number, error: unknown) =>
    console.log(\`handler \${handlerId === id ? 'id' : '?'} failed: \${(error as Error).message}\`),
});
registry.register((event: unknown) => console.log('audit', event), { priority: 10 });
const id: number = registry.register(() => {
  throw new Error('disk full');
});
const report: NotifyReport = registry.notify({ user: 'ada' });
console.log(report);
registry.unregister(id);
registry.close();

const bus = new Bus();
const orders = bus.subscribe('orders.*');
bus.publish('orders.eu', 'order 17', { trace: 'abc' });
const message: Message | null = orders.tryRecv();
console.log(message?.topic, message?.payload.toString(), message?.header('trace'));
bus.close();

// Never called: the declarations ship, so a wrong argument type is an error.
export function typeCheckOnly(b: Bus): void {
  // @ts-expect-error: a topic is a string
  b.publish(17, 'order 18');
}
TS
  cat > tsconfig.json <<'JSON'
{ \"compilerOptions\": { \"strict\": true, \"module\": \"nodenext\", \"moduleResolution\": \"nodenext\",
  \"target\": \"es2022\", \"outDir\": \"out\", \"types\": [\"node\"], \"typeRoots\": [\"$root/bindings-node/node_modules/@types\"] },
  \"files\": [\"quickstart.ts\"] }
JSON
  node '$root/bindings-node/node_modules/typescript/bin/tsc' -p .
  node_run out/quickstart.js" _ "$node_expected"
check "without a fitting addon, require names the platform and the way to build" bash -c "
  cp -r app/node_modules/charter bare && rm -rf bare/prebuilds
  if out=\$(node -e \"require('./bare')\" 2>&1); then echo 'loaded without an addon'; exit 1; fi
  echo \"\$out\" | grep 'charter: no native addon for linux-x64-gnu' && echo \"\$out\" | grep -q 'INSTALL.md#node'"

check "a broken prebuilt addon fails to load with the reason and the glibc floor" bash -c "
  cp -r app/node_modules/charter broken && echo 'not an ELF file' > broken/prebuilds/linux-x64-gnu/charter.node
  if out=\$(node -e \"require('./broken')\" 2>&1); then echo 'loaded a broken addon'; exit 1; fi
  echo \"\$out\" | grep 'charter: the prebuilt addon for linux-x64-gnu could not be loaded (it needs glibc 2.17 or newer)'"

# --- C ---------------------------------------------------------------------
check "the C tarball carries the header, libraries, CMake and pkg-config files and licences" bash -c "
  tar tzf '$c_tarball' > list; cat list
  for f in include/charter.h 'lib[^/]*/libcharter\.so' 'lib[^/]*/libcharter\.a' 'lib[^/]*/pkgconfig/charter\.pc' \
    'lib[^/]*/cmake/Charter/CharterConfig\.cmake' 'LICENSE-MIT' 'LICENSE-APACHE'; do
    grep -qE \"^charter-[^/]*/(.*/)?\$f\$\" list || { echo \"missing \$f\"; exit 1; }; done"
check "the C tarball, unpacked anywhere, builds the README quickstart through pkg-config" bash -c "
  set -e; $(declare -f block); mkdir c && tar xzf '$c_tarball' -C c
  export PKG_CONFIG_PATH=\$(dirname \$(find \"\$PWD/c\" -name charter.pc))
  block '$readme' c '## Quickstart: C' > quickstart.c
  cc -std=c99 -Wall -Wextra -Werror -pedantic quickstart.c -o quickstart \$(pkg-config --cflags --libs charter) \
    -Wl,-rpath,\"\$(pkg-config --variable=libdir charter)\"
  out=\$(./quickstart); echo \"\$out\"
  [ \"\$out\" = \$'logger got ready\ndelivered 1, failed 0' ]"

echo "dist-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
