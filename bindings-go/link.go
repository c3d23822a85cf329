package charter

// The binding links the static library built by
// `cargo build --release -p charter-capi` at the repository root, so a Go
// program that uses Charter is a single binary that needs no rpath or
// LD_LIBRARY_PATH. The system libraries are those the Rust standard
// library needs.

// #cgo CFLAGS: -I${SRCDIR}/../include
// #cgo LDFLAGS: ${SRCDIR}/../target/release/libcharter.a -lm -ldl -lpthread
import "C"
