//go:build cgo && charter_shared

package charter

// With the build tag charter_shared the binding links libcharter.so through
// charter.pc (see link.go for the default, static, link). The program then
// needs the library at run time: from a system prefix, or through an rpath
// (CGO_LDFLAGS=-Wl,-rpath,<libdir>) or LD_LIBRARY_PATH.

// #cgo pkg-config: charter
import "C"
