package charter_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	charter "charter.dev/charter"
)

// An empty path or note is an error, never read as "not given": "" once
// reached C as NULL, so OpenAudit("") returned an in-memory log (records
// lost) and VerifyAgainst("") skipped its check and reported OK.
func TestEmptyStringsAreErrorsNotDefaults(t *testing.T) {
	log, err := charter.OpenAudit("")
	if !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf(`OpenAudit(""): %v, %v; want ErrInvalidArgument`, log, err)
	}
	key, err := charter.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	defer key.Close()
	if _, err := charter.StartOverAudit("", "why", charter.WithSigner(key), charter.WithOrigin("a.example/b")); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf(`StartOverAudit(""): %v`, err)
	}
	if _, err := charter.VerifyAuditFile(""); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf(`VerifyAuditFile(""): %v`, err)
	}
	if _, err := charter.OpenAuditInMemory(charter.WithSigner(key), charter.WithOrigin("")); err == nil {
		t.Fatal(`WithOrigin("") was read as the default origin`)
	}

	path := filepath.Join(t.TempDir(), "audit.log")
	log, err = charter.OpenAudit(path, charter.WithSigner(key))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if _, err := log.Append(charter.Record{Action: "a", Resource: "r", Decision: charter.DecisionAllow, Detail: "d"}); err != nil {
		t.Fatal(err)
	}
	if _, err := log.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if report, err := log.VerifyAgainst(""); err == nil {
		t.Fatalf(`VerifyAgainst("") passed: %+v`, report)
	}
	vkey, err := log.VerifierKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]charter.VerifyOption{
		"WithAgainst":    charter.WithAgainst(""),
		"WithTrustState": charter.WithTrustState(""),
	} {
		if report, err := charter.VerifyAuditFile(path, charter.WithLogKey(vkey), opt); err == nil && report.OK() {
			t.Errorf(`%s("") was read as not given: %+v`, name, report)
		}
	}
	if report, err := charter.VerifyAuditFile(path, charter.WithLogKey("")); err == nil && report.OK() {
		t.Errorf(`WithLogKey("") was read as not given: %+v`, report)
	}
}

// A nil context is an error matching ErrNullArgument, not a panic.
func TestANilContextIsAnError(t *testing.T) {
	bus := newBus(t)
	defer bus.Close()
	sub := subscribe(t, bus, "t")
	//lint:ignore SA1012 passing nil is what is tested
	if _, err := sub.Recv(nil); !errors.Is(err, charter.ErrNullArgument) {
		t.Fatalf("Recv(nil): %v", err)
	}
	//lint:ignore SA1012 passing nil is what is tested
	if _, err := bus.Request(nil, "t", nil); !errors.Is(err, charter.ErrNullArgument) {
		t.Fatalf("Request(nil): %v", err)
	}
	log, err := charter.OpenAuditInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	//lint:ignore SA1012 passing nil is what is tested
	for _, err := range log.Records(nil, charter.AuditQuery{}) {
		if !errors.Is(err, charter.ErrNullArgument) {
			t.Fatalf("Records(nil): %v", err)
		}
	}
}

// A record without a decision is refused in Go's names: the zero Decision
// is none, and the C value Charter would quote was never written.
func TestAZeroDecisionIsNamedAsWritten(t *testing.T) {
	log, err := charter.OpenAuditInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	_, err = log.Append(charter.Record{Action: "a", Resource: "r", Detail: "d"})
	if !errors.Is(err, charter.ErrInvalidArgument) || !strings.Contains(err.Error(), "DecisionAllow") ||
		strings.Contains(err.Error(), "2147483647") {
		t.Fatalf("Append without a decision: %v", err)
	}
}

// Closing a recording bus and its log frees the file lock at once: nothing
// waits for the garbage collector (the closed objects are still in use
// here).
func TestClosingTheBusAndTheLogFreesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	log, err := charter.OpenAudit(path)
	if err != nil {
		t.Fatal(err)
	}
	bus, err := charter.NewBusWithRecorder(nil, charter.Recorder{Log: log, Scope: charter.RecordAll})
	if err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, bus, "t")
	if _, err := charter.OpenAudit(path); !errors.Is(err, charter.ErrWouldBlock) {
		t.Fatalf("a second open of a log in use: %v", err)
	}
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := charter.OpenAudit(path)
	if err != nil {
		t.Fatalf("reopening after Close: %v", err)
	}
	defer again.Close()
	if n := again.Len(); n != 1 {
		t.Fatalf("Len = %d; want the subscribe recorded", n)
	}
	_ = sub.ID()
}
