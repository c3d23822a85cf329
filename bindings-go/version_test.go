package charter_test

import (
	"testing"

	"charter.dev/charter"
)

// The library found through pkg-config is the one this module belongs to.
func TestVersionIsTheModuleVersion(t *testing.T) {
	if got := charter.Version(); got != charter.ModuleVersion {
		t.Fatalf("linked library %q, module %q", got, charter.ModuleVersion)
	}
}
