package charter

// #include <charter.h>
import "C"

// Version is the version of Charter this module belongs to. The workspace's
// Cargo.toml sets it for every package; scripts/check-version.sh fails when
// this copy differs.
const Version = "0.1.0"

// LibraryVersion is the version of the linked Charter library
// (charter_version). It equals [Version] when the installed library is the
// one this module belongs to.
func LibraryVersion() string {
	return C.GoString(C.charter_version())
}
