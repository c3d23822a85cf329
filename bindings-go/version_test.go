package charter_test

import (
	"testing"

	"charter.dev/charter"
)

// The library found through pkg-config is the one this module belongs to.
func TestLibraryVersionIsTheModuleVersion(t *testing.T) {
	if got := charter.LibraryVersion(); got != charter.Version {
		t.Fatalf("linked library %q, module %q", got, charter.Version)
	}
}
