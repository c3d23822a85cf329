package charter_test

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
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

// Every func line of the README's Go blocks (API listings, not programs)
// is a declaration of the package, exactly: a listing that drifts from the
// code fails here.
func TestReadmeSignaturesAreDeclared(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	declared := declaredFuncs(t)
	checked := 0
	for _, block := range strings.Split(string(readme), "```go\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		for _, line := range strings.Split(block, "\n") {
			if !strings.HasPrefix(line, "func ") {
				continue
			}
			sig, _, _ := strings.Cut(line, "//")
			sig = strings.Join(strings.Fields(sig), " ")
			checked++
			if !declared[sig] {
				t.Errorf("README declares %q, which the package does not", sig)
			}
		}
	}
	if checked < 100 {
		t.Fatalf("checked only %d signatures", checked)
	}
}

// declaredFuncs is every exported function and method of the package,
// printed as "func (r *T) Name(params) results".
func declaredFuncs(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || !fn.Name.IsExported() {
				continue
			}
			fn.Body, fn.Doc = nil, nil
			var b strings.Builder
			if err := printer.Fprint(&b, fset, fn); err != nil {
				t.Fatal(err)
			}
			out[strings.Join(strings.Fields(b.String()), " ")] = true
		}
	}
	return out
}
