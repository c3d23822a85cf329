//go:build cgo && !charter_shared

package charter

// The binding finds an installed Charter (the C package that
// `cmake --install` lays out) through pkg-config, the convention for cgo
// wrappers of system libraries: the header comes from its include
// directory and the library from its lib directory, so the module needs
// nothing outside itself and `go mod vendor` works. Set PKG_CONFIG_PATH to
// <prefix>/lib/pkgconfig (or the multiarch lib/<triple>/pkgconfig) when the
// prefix is not a system one.
//
// By default it links libcharter.a through charter-static.pc, which names
// the archive by its path (-lcharter would pick libcharter.so): a Go program
// that uses Charter is one binary that needs no rpath or LD_LIBRARY_PATH and
// cannot load a libcharter.so of another ABI version. The tag charter_shared
// links the shared library instead (link_shared.go).

// #cgo pkg-config: charter-static
import "C"
