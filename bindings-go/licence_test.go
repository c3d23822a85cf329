package charter_test

import (
	"bytes"
	"os"
	"testing"
)

// A Go module ships only the files inside its directory, so it carries
// copies of the repository's licences; they must stay identical.
func TestLicencesAreTheRepositorys(t *testing.T) {
	for _, name := range []string{"LICENSE-MIT", "LICENSE-APACHE"} {
		ours, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		root, err := os.ReadFile("../" + name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours, root) {
			t.Errorf("bindings-go/%s differs from ../%s: copy it again", name, name)
		}
	}
}
