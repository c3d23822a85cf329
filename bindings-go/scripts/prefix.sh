# Sourced by test.sh and bench.sh: installs the C library, built from this
# checkout, into <dir>/prefix with cmake --install, and points
# PKG_CONFIG_PATH at it, so the binding links what a user's installation
# would hold (see link.go). Cargo builds into $CARGO_TARGET_DIR, or target/
# at the repository root, where it is incremental.
#
# Go's build cache keys a cgo package on its sources and CGO_* flags, not
# on what pkg-config prints nor on the library's contents: a package built
# against an earlier prefix would be reused, linking a path that no longer
# exists or a stale library. CGO_CFLAGS therefore carries an id of this
# prefix and its contents, so each install gets a build of its own.
#
#   charter_install_prefix <repository root> <dir>
charter_install_prefix() {
    local root=$1 dir=$2 pc
    for tool in cargo cmake pkg-config; do
        command -v "$tool" >/dev/null || { echo "bindings-go: $tool is not installed" >&2; return 1; }
    done
    cmake -S "$root" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
        -DCHARTER_BUILD_EXAMPLES=OFF -DCHARTER_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" >/dev/null
    cmake --build "$dir/build" -j"${JOBS:-2}" >/dev/null
    cmake --install "$dir/build" --prefix "$dir/prefix" >/dev/null
    pc=$(find "$dir/prefix" -name charter-static.pc)
    [ -n "$pc" ] || { echo "bindings-go: the install in $dir/prefix has no charter-static.pc" >&2; return 1; }
    export PKG_CONFIG_PATH CGO_CFLAGS
    PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    local id
    id=$( (echo "$dir/prefix"; find "$dir/prefix" -type f -print0 | sort -z | xargs -0 sha256sum) \
        | sha256sum | cut -c1-16)
    CGO_CFLAGS="${CGO_CFLAGS:-$(go env CGO_CFLAGS)} -DCHARTER_INSTALL_ID=$id"
}
