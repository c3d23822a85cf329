package charter

// #include <charter.h>
import "C"

import "fmt"

// ModuleVersion is the version of Charter this module belongs to. The
// workspace's Cargo.toml sets it for every package; scripts/check-version.sh
// fails when this copy differs.
const ModuleVersion = "0.1.0"

// ABIVersion is the version of the C ABI this module is written against:
// CHARTER_ABI_VERSION of the charter.h it was built with (constants_check.go
// fails the build otherwise). The shared library's soname carries the same
// number.
const ABIVersion = 1

// Version returns the version of the linked Charter library
// (charter_version), such as "0.1.0". It equals [ModuleVersion] when the
// installed library is the one this module belongs to.
func Version() string {
	return C.GoString(C.charter_version())
}

// The package refuses to start with a library of another ABI: every call
// would pass structures of the wrong layout. With the default static link
// the two cannot differ; with the charter_shared tag the libcharter.so
// found at run time can, and the program then panics at initialisation
// with the error of checkABI rather than failing later in a way that
// names nothing.
func init() {
	if err := checkABI(ABIVersion, uint32(C.charter_abi_version())); err != nil {
		panic(err)
	}
}

// checkABI returns nil when the library's ABI version is the header's, and
// otherwise an error that names both and what to do.
func checkABI(header, library uint32) error {
	if header == library {
		return nil
	}
	return fmt.Errorf("charter: the linked library has C ABI version %d but this module was built for %d: "+
		"install the libcharter that matches charter.h (check PKG_CONFIG_PATH and LD_LIBRARY_PATH)", library, header)
}
