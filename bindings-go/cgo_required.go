//go:build !cgo

package charter

// Charter for Go calls the Rust library through cgo. Without cgo (CGO_ENABLED=0,
// which is also the default when no C compiler is found or when
// cross-compiling), the name below is undefined, so the build stops with an
// error that says what to do. It is a type declaration in the file that
// sorts first, so the compiler reports it before the undefined names of
// the other files (types are checked first, in file order).
type cgoRequired charter_requires_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler
