package charter_test

import (
	"os"
	"strings"
	"testing"
)

// The Go quickstart in the repository README must be exactly the body of
// Example, which runs (and checks its output) with the other tests.
func TestReadmeQuickstartIsTheExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := between(t, string(readme), "## Quickstart: Go\n", "\n## ")
	snippet := between(t, section, "```go\n", "```\n")

	source, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	body := between(t, string(source), "func Example() {\n", "\t// Output:\n")
	var dedented strings.Builder
	for _, line := range strings.SplitAfter(body, "\n") {
		dedented.WriteString(strings.TrimPrefix(line, "\t"))
	}
	if snippet != dedented.String() {
		t.Errorf("README Go quickstart:\n%s\ndiffers from the body of Example:\n%s", snippet, dedented.String())
	}
}

// between returns the text of s after the first start and before the next
// end, failing the test if either is missing.
func between(t *testing.T, s, start, end string) string {
	t.Helper()
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		t.Fatalf("%q not found", start)
	}
	inner, _, ok := strings.Cut(rest, end)
	if !ok {
		t.Fatalf("%q not found after %q", end, start)
	}
	return inner
}
