package charter

import (
	"strings"
	"testing"
)

// The package initialised, so the linked library passed the check; a
// library of another ABI version is refused with an error naming both
// versions.
func TestCheckABIRefusesAnotherVersion(t *testing.T) {
	if err := checkABI(ABIVersion, ABIVersion); err != nil {
		t.Fatalf("same version refused: %v", err)
	}
	err := checkABI(1, 2)
	if err == nil {
		t.Fatal("ABI 2 accepted by a module built for 1")
	}
	if !strings.Contains(err.Error(), "C ABI version 2") || !strings.Contains(err.Error(), "built for 1") {
		t.Fatalf("error does not name both versions: %v", err)
	}
}
