package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The demo runs end to end, the auditor's counts are exact, and the lines a
// reader relies on are there.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	dir := t.TempDir()
	sum, err := run(&out, dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if want := (Summary{Records: 14, Allowed: 8, Denied: 6}); sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	text := out.String()
	if n := strings.Count(text, "\n   allowed  "); n != 7 {
		t.Errorf("%d allowed lines, want 7", n)
	}
	if n := strings.Count(text, "\n   denied   "); n != 6 {
		t.Errorf("%d denied lines, want 6", n)
	}
	for _, line := range []string{
		"   allowed  worker   publish    orders.eu.created",
		"   denied   worker   publish    orders.us.created",
		"   denied   billing  publish    orders.eu.deleted",
		"   worker's session active: no",
		"            CHARTER_E_REVOKED: the session's token was revoked",
		"   checkpoint  signature valid, size 14 of demo.charter.local/audit",
		"Summary: 14 records (8 allowed, 6 denied), verified against the signed checkpoint.",
	} {
		if !strings.Contains(text, "\n"+line+"\n") {
			t.Errorf("missing line %q in:\n%s", line, text)
		}
	}
	for _, name := range []string{"audit.log", "audit.log.checkpoint", "audit.vkey"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}

	// A second run into the same directory would mix two scenarios' counts.
	if _, err := run(&bytes.Buffer{}, dir); err == nil || !strings.Contains(err.Error(), "audit.log already exists") {
		t.Errorf("second run into %s: %v", dir, err)
	}
}
