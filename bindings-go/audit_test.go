package charter_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"charter.dev/charter"
)

const testOrigin = "example.com/audit-test"

func memoryAudit(t testing.TB, opts ...charter.AuditOption) *charter.AuditLog {
	t.Helper()
	l, err := charter.OpenAuditInMemory(opts...)
	if err != nil {
		t.Fatalf("OpenAuditInMemory: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func openAudit(t testing.TB, path string, opts ...charter.AuditOption) *charter.AuditLog {
	t.Helper()
	l, err := charter.OpenAudit(path, opts...)
	if err != nil {
		t.Fatalf("OpenAudit: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func appendRecord(t testing.TB, l *charter.AuditLog, r charter.Record) uint64 {
	t.Helper()
	i, err := l.Append(r)
	if err != nil {
		t.Fatalf("Append(%+v): %v", r, err)
	}
	return i
}

func record(ms int64, actor, resource string, d charter.Decision) charter.Record {
	return charter.Record{
		Time: time.UnixMilli(ms), Actor: actor, Action: "publish", Resource: resource, Decision: d,
	}
}

func TestAuditAppendGetLen(t *testing.T) {
	alice := principal(t, newKey(t))
	l := memoryAudit(t)
	want := charter.Record{
		Time: time.UnixMilli(1_700_000_000_123), Actor: alice, Action: "publish", Resource: "orders.eu",
		Decision: charter.DecisionDeny, Reason: charter.StatusDenied, Detail: "no grant covers it",
	}
	if i := appendRecord(t, l, want); i != 0 {
		t.Fatalf("first index = %d", i)
	}
	if i := appendRecord(t, l, record(5, "", "orders.us", charter.DecisionAllow)); i != 1 {
		t.Fatalf("second index = %d", i)
	}
	if n := l.Len(); n != 2 {
		t.Fatalf("Len = %d", n)
	}
	got, err := l.Get(0)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time.Equal(want.Time) {
		t.Fatalf("time %v, want %v", got.Time, want.Time)
	}
	got.Time = want.Time
	if got != want {
		t.Fatalf("Get(0) = %+v, want %+v", got, want)
	}
	if got.Decision.String() != "deny" {
		t.Fatalf("decision %q", got.Decision)
	}
	if _, err := l.Get(2); !errors.Is(err, charter.ErrNotFound) {
		t.Fatalf("Get(2): %v", err)
	}

	before := time.Now().Add(-time.Second)
	appendRecord(t, l, charter.Record{Action: "now", Decision: charter.DecisionError})
	if r, err := l.Get(2); err != nil || r.Time.Before(before) || r.Decision != charter.DecisionError {
		t.Fatalf("zero Time: %+v, %v", r, err)
	}
}

func TestAuditAppendFailures(t *testing.T) {
	l := memoryAudit(t)
	for _, c := range []struct {
		r    charter.Record
		want error
	}{
		{charter.Record{Action: "", Decision: charter.DecisionAllow}, charter.ErrInvalidArgument},
		{charter.Record{Action: strings.Repeat("a", 65), Decision: charter.DecisionAllow}, charter.ErrLimitExceeded},
		{charter.Record{Action: "x", Resource: strings.Repeat("r", 1025), Decision: charter.DecisionAllow},
			charter.ErrLimitExceeded},
		{charter.Record{Action: "x"}, charter.ErrInvalidArgument},
		{charter.Record{Action: "x", Decision: 9}, charter.ErrInvalidArgument},
		{charter.Record{Action: "x", Decision: charter.DecisionAllow, Actor: "charter-id1:nope"},
			charter.ErrMalformed},
		{charter.Record{Action: "x\x00", Decision: charter.DecisionAllow}, charter.ErrInvalidArgument},
		{charter.Record{Action: "x", Decision: charter.DecisionAllow, Time: time.Unix(-5, 0)},
			charter.ErrInvalidArgument},
	} {
		if _, err := l.Append(c.r); !errors.Is(err, c.want) {
			t.Errorf("Append(%.40q...): %v, want %v", c.r.Action, err, c.want)
		}
	}
	// A resource at its limit goes through the long-string path.
	long := strings.Repeat("r", 1024)
	appendRecord(t, l, charter.Record{Action: "x", Resource: long, Detail: long, Decision: charter.DecisionAllow})
	if r, err := l.Get(0); err != nil || r.Resource != long || r.Detail != long {
		t.Fatalf("long record: %v", err)
	}
	if n := l.Len(); n != 1 {
		t.Fatalf("Len = %d after failed appends", n)
	}
}

func TestAuditOptions(t *testing.T) {
	if _, err := charter.OpenAuditInMemory(charter.WithOrigin("has space")); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("origin with a space: %v", err)
	}
	if _, err := charter.OpenAuditInMemory(charter.WithFsync(charter.FsyncEvery(0))); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("zero interval: %v", err)
	}
	closed := newKey(t)
	closed.Close()
	if _, err := charter.OpenAuditInMemory(charter.WithSigner(closed)); !errors.Is(err, charter.ErrClosed) {
		t.Fatalf("closed signer: %v", err)
	}
	if _, err := charter.OpenAudit(filepath.Join(t.TempDir(), "missing", "log")); !errors.Is(err, charter.ErrIO) {
		t.Fatalf("missing directory: %v", err)
	}
	if _, err := charter.OpenAuditInMemory(charter.WithCheckpointInterval(-time.Second)); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("negative checkpoint interval: %v", err)
	}
	l := memoryAudit(t)
	if _, err := l.Checkpoint(); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("Checkpoint without a signer: %v", err)
	}
	if _, err := l.VerifierKey(); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("VerifierKey without a signer: %v", err)
	}
}

func TestAuditProofsWithStandaloneVerifiers(t *testing.T) {
	l := memoryAudit(t)
	roots := []charter.Hash{}
	empty, err := l.Root()
	if err != nil {
		t.Fatal(err)
	}
	roots = append(roots, empty)
	for n := uint64(1); n <= 20; n++ {
		appendRecord(t, l, record(int64(n), "", "orders", charter.DecisionAllow))
		root, err := l.Root()
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root)
	}
	for n := uint64(1); n <= 20; n++ {
		if at, err := l.RootAt(n); err != nil || at != roots[n] {
			t.Fatalf("RootAt(%d) = %v, %v", n, at, err)
		}
		for i := uint64(0); i < n; i++ {
			leaf, err := l.RecordHash(i)
			if err != nil {
				t.Fatal(err)
			}
			proof, err := l.ProveInclusion(i, n)
			if err != nil {
				t.Fatal(err)
			}
			if err := charter.VerifyInclusion(leaf, i, n, proof, roots[n]); err != nil {
				t.Fatalf("inclusion %d in %d: %v", i, n, err)
			}
			if err := charter.VerifyInclusion(leaf, i, n, proof, roots[n-1]); !errors.Is(err, charter.ErrBadSignature) {
				t.Fatalf("wrong root: %v", err)
			}
			if len(proof) > 0 {
				if err := charter.VerifyInclusion(leaf, i, n, proof[1:], roots[n]); !errors.Is(err, charter.ErrMalformed) {
					t.Fatalf("short proof: %v", err)
				}
			}
		}
		for m := uint64(0); m <= n; m++ {
			proof, err := l.ProveConsistency(m, n)
			if err != nil {
				t.Fatal(err)
			}
			if err := charter.VerifyConsistency(m, n, roots[m], roots[n], proof); err != nil {
				t.Fatalf("consistency %d..%d: %v", m, n, err)
			}
		}
	}
	if _, err := l.ProveInclusion(20, 20); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("index past size: %v", err)
	}
	if err := charter.VerifyConsistency(3, 2, roots[3], roots[2], nil); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("old > new: %v", err)
	}
}

func TestAuditCheckpoints(t *testing.T) {
	key, other := newKey(t), newKey(t)
	l := memoryAudit(t, charter.WithSigner(key), charter.WithOrigin(testOrigin))
	stranger := memoryAudit(t, charter.WithSigner(other), charter.WithOrigin(testOrigin))
	if _, ok, err := l.LatestCheckpoint(); ok || err != nil {
		t.Fatalf("LatestCheckpoint before any: %v, %v", ok, err)
	}
	for i := 0; i < 3; i++ {
		appendRecord(t, l, record(int64(i), "", "r", charter.DecisionAllow))
	}
	note, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if latest, ok, err := l.LatestCheckpoint(); !ok || err != nil || latest != note {
		t.Fatalf("LatestCheckpoint = %q, %v, %v", latest, ok, err)
	}
	vkey, err := l.VerifierKey()
	if err != nil {
		t.Fatal(err)
	}
	cp, err := charter.VerifyCheckpoint(note, vkey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := l.Root()
	if cp.Origin != testOrigin || cp.Size != 3 || cp.Root != root {
		t.Fatalf("checkpoint = %+v, root %v", cp, root)
	}
	otherKey, _ := stranger.VerifierKey()
	if _, err := charter.VerifyCheckpoint(note, otherKey); err == nil {
		t.Fatal("a note verified with another log's key")
	}
	altered := strings.Replace(note, "\n3\n", "\n4\n", 1)
	if _, err := charter.VerifyCheckpoint(altered, vkey); !errors.Is(err, charter.ErrBadSignature) {
		t.Fatalf("altered note: %v", err)
	}
	if _, err := charter.VerifyCheckpoint("not a note", vkey); !errors.Is(err, charter.ErrMalformed) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestAuditFileReopenTamperAndTornTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	key := newKey(t)
	opts := []charter.AuditOption{
		charter.WithSigner(key), charter.WithOrigin(testOrigin), charter.WithFsync(charter.FsyncEvery(time.Millisecond)),
	}
	l, err := charter.OpenAudit(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		appendRecord(t, l, record(int64(i), "", "resource-"+string(rune('0'+i)), charter.DecisionAllow))
	}
	note, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	root, _ := l.Root()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = openAudit(t, path, opts...)
	if rec, err := l.Recovery(); err != nil || rec != (charter.Recovery{Records: 5}) {
		t.Fatalf("Recovery = %+v, %v", rec, err)
	}
	if again, _ := l.Root(); again != root {
		t.Fatal("root changed across reopen")
	}
	report, err := l.VerifyAgainst(note)
	if err != nil || !report.OK() || report.Records != 5 || !report.HasCheckpoint || report.CheckpointSize != 5 {
		t.Fatalf("VerifyAgainst = %+v, %v", report, err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, []byte("resource-3"))
	tampered := bytes.Clone(data)
	tampered[at+9] = '7'
	if err := os.WriteFile(path, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	report, err = l.Verify()
	if err != nil || report.OK() || !report.HasFirstBad || report.FirstBad != 3 || report.Records != 3 {
		t.Fatalf("Verify of a tampered file = %+v, %v", report, err)
	}
	if !strings.Contains(report.Problem, "record 3") {
		t.Fatalf("problem %q", report.Problem)
	}
	if _, err := l.Get(3); !errors.Is(err, charter.ErrCorrupt) {
		t.Fatalf("Get(3) of a tampered record: %v", err)
	}
	l.Close()
	if _, err := charter.OpenAudit(path, opts...); !errors.Is(err, charter.ErrCorrupt) || !strings.Contains(err.Error(), "record 3") {
		t.Fatalf("reopening a tampered file: %v", err)
	}

	// Record 4 cut short: the persisted checkpoint vouches for it, so it is
	// not cut off as a torn tail, and the log is not opened for writing.
	cut := data[:bytes.Index(data, []byte("resource-4"))]
	if err := os.WriteFile(path, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := charter.OpenAudit(path, opts...); !errors.Is(err, charter.ErrCorrupt) || !strings.Contains(err.Error(), "not cut") {
		t.Fatalf("reopening a log cut inside a checkpointed record: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, cut) {
		t.Fatal("a record the checkpoint covers was cut")
	}
	report, err = charter.VerifyAuditFile(path, charter.WithLogKey(verifierKey(t, key)))
	if err != nil || report.OK() || report.Records != 4 || !strings.Contains(report.Problem, "truncated") {
		t.Fatalf("VerifyAuditFile after losing a checkpointed record = %+v, %v", report, err)
	}
}

// verifierKey is the note verifier key of key under testOrigin.
func verifierKey(t testing.TB, key *charter.KeyPair) string {
	t.Helper()
	l := memoryAudit(t, charter.WithSigner(key), charter.WithOrigin(testOrigin))
	vkey, err := l.VerifierKey()
	if err != nil {
		t.Fatal(err)
	}
	return vkey
}

func TestAuditRecordsIterator(t *testing.T) {
	a, b := principal(t, newKey(t)), principal(t, newKey(t))
	l := memoryAudit(t)
	decisions := []charter.Decision{charter.DecisionAllow, charter.DecisionDeny, charter.DecisionDeny, charter.DecisionError}
	for i := 0; i < 600; i++ {
		actor := a
		if i%2 == 1 {
			actor = b
		}
		appendRecord(t, l, record(int64(1000+i), actor, "r", decisions[i%4]))
	}
	collect := func(f charter.AuditQuery) []uint64 {
		t.Helper()
		var got []uint64
		for r, err := range l.Records(context.Background(), f) {
			if err != nil {
				t.Fatalf("Records(%+v): %v", f, err)
			}
			got = append(got, r.Index)
		}
		return got
	}
	if got := collect(charter.AuditQuery{}); len(got) != 600 || got[599] != 599 {
		t.Fatalf("all: %d records", len(got))
	}
	got := collect(charter.AuditQuery{Decision: charter.DecisionDeny, Actor: b})
	if len(got) != 150 || got[0] != 1 || got[1] != 5 {
		t.Fatalf("deny by b: %d records, first %v", len(got), got[:2])
	}
	got = collect(charter.AuditQuery{FromIndex: 10, Since: time.UnixMilli(1005), Until: time.UnixMilli(1013)})
	if len(got) != 3 || got[0] != 10 || got[2] != 12 {
		t.Fatalf("time range: %v", got)
	}

	// Breaking out stops the iteration; appending inside the loop is fine
	// and not seen by it.
	n := 0
	for _, err := range l.Records(context.Background(), charter.AuditQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		appendRecord(t, l, record(1, "", "inside", charter.DecisionAllow))
		if n++; n == 3 {
			break
		}
	}
	if total := l.Len(); total != 603 {
		t.Fatalf("Len = %d", total)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, err := range l.Records(ctx, charter.AuditQuery{}) {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled context: %v", err)
		}
	}

	var last error
	for _, err := range l.Records(context.Background(), charter.AuditQuery{Actor: "charter-id1:???"}) {
		last = err
	}
	if !errors.Is(last, charter.ErrMalformed) {
		t.Fatalf("bad actor filter: %v", last)
	}

	// Closing the log inside the loop ends the iteration with ErrClosed at
	// the next batch.
	other := memoryAudit(t)
	for i := 0; i < 300; i++ {
		appendRecord(t, other, record(1, "", "r", charter.DecisionAllow))
	}
	seen := 0
	for _, err := range other.Records(context.Background(), charter.AuditQuery{}) {
		if err != nil {
			last = err
			break
		}
		seen++
		other.Close()
	}
	if seen != 256 || !errors.Is(last, charter.ErrClosed) {
		t.Fatalf("close inside the loop: saw %d, then %v", seen, last)
	}
}

func TestAuditCloseAndConcurrency(t *testing.T) {
	l, err := charter.OpenAuditInMemory()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if _, err := l.Append(record(1, "", "r", charter.DecisionAllow)); err != nil {
					if !errors.Is(err, charter.ErrClosed) {
						t.Errorf("Append: %v", err)
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := l.Len(); n != 1600 {
		t.Fatalf("Len = %d", n)
	}
	var closers sync.WaitGroup
	for g := 0; g < 16; g++ {
		closers.Add(1)
		go func() {
			defer closers.Done()
			if err := l.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
	}
	closers.Wait()
	if n := l.Len(); n != 0 {
		t.Fatalf("Len after Close = %d", n)
	}
	if _, err := l.Verify(); !errors.Is(err, charter.ErrClosed) {
		t.Fatalf("Verify after Close: %v", err)
	}
	var zero charter.AuditLog
	if _, err := zero.Root(); !errors.Is(err, charter.ErrClosed) {
		t.Fatalf("zero AuditLog: %v", err)
	}
	var nilLog *charter.AuditLog
	if _, err := nilLog.Root(); !errors.Is(err, charter.ErrNullArgument) {
		t.Fatalf("nil AuditLog: %v", err)
	}
}

func TestLeafHash(t *testing.T) {
	// SHA-256 of the single byte 0x00.
	if got := charter.LeafHash(nil).String(); got != "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" {
		t.Fatalf("LeafHash(nil) = %s", got)
	}
}

func TestBusWithRecorderRecordsDenials(t *testing.T) {
	root, bob := newKey(t), newKey(t)
	auth := newAuthority(t, root)
	tok := mint(t, root, bob, "publish orders.eu.*")
	s := openSession(t, auth, tok, bob)
	l := memoryAudit(t)
	if _, err := charter.NewBusWithRecorder(auth, charter.Recorder{Log: l, Scope: 7}); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("bad scope: %v", err)
	}
	if _, err := charter.NewBusWithRecorder(auth, charter.Recorder{}); !errors.Is(err, charter.ErrNullArgument) {
		t.Fatalf("nil log: %v", err)
	}
	bus, err := charter.NewBusWithRecorder(auth, charter.Recorder{Log: l, Scope: charter.RecordDenials})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	c := bus.Client(s)
	if _, err := c.Publish("orders.eu.created", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish("orders.us.created", nil); !errors.Is(err, charter.ErrDenied) {
		t.Fatalf("publish outside the grants: %v", err)
	}
	if _, err := bus.Publish("orders.eu.created", nil); !errors.Is(err, charter.ErrDenied) {
		t.Fatalf("publish without a session: %v", err)
	}
	var denials []charter.Record
	for r, err := range l.Records(context.Background(), charter.AuditQuery{Decision: charter.DecisionDeny}) {
		if err != nil {
			t.Fatal(err)
		}
		denials = append(denials, r)
	}
	if len(denials) != 2 {
		t.Fatalf("%d denials recorded, want 2", len(denials))
	}
	d := denials[0]
	if d.Actor != principal(t, bob) || d.Action != "publish" || d.Resource != "orders.us.created" ||
		d.Reason != charter.StatusDenied || !strings.Contains(d.Detail, "orders.us.created") {
		t.Fatalf("denial = %+v", d)
	}
	if denials[1].Actor != "" {
		t.Fatalf("a caller without a session has an actor: %+v", denials[1])
	}
	// The bus keeps the log after the log's Close.
	l.Close()
	if _, err := bus.Publish("orders.eu.created", nil); !errors.Is(err, charter.ErrDenied) {
		t.Fatalf("publish after the log's Close: %v", err)
	}
}

func TestAuthorityWithRecorder(t *testing.T) {
	root, bob := newKey(t), newKey(t)
	l := memoryAudit(t)
	if _, err := charter.NewAuthority(nil, charter.WithAuditRecorder(charter.Recorder{})); !errors.Is(err, charter.ErrNullArgument) {
		t.Fatalf("nil log: %v", err)
	}
	auth, err := charter.NewAuthority([]charter.PublicKey{publicKey(t, root)}, charter.WithFixedTime(t0),
		charter.WithAuditRecorder(charter.Recorder{Log: l, Scope: charter.RecordAll}))
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	tok := mint(t, root, bob, "publish orders.>")
	openSession(t, auth, tok, bob)
	challenge, _ := prove(t, auth, tok, bob)
	if _, err := auth.OpenSession(tok, challenge, make([]byte, charter.ProofLen)); !errors.Is(err, charter.ErrBadSignature) {
		t.Fatalf("bad proof: %v", err)
	}
	allow, err := l.Get(0)
	if err != nil || allow.Decision != charter.DecisionAllow || allow.Action != "open_session" || allow.Actor != principal(t, bob) {
		t.Fatalf("allowed opening = %+v, %v", allow, err)
	}
	if allow.ActorUnproven {
		t.Errorf("an opened session proved its holder, yet the record says unproven")
	}
	deny, err := l.Get(1)
	if err != nil || deny.Decision != charter.DecisionDeny || deny.Reason != charter.StatusBadSignature {
		t.Fatalf("refused opening = %+v, %v", deny, err)
	}
	// The refusal names bob, but nobody proved to be bob.
	if deny.Actor != principal(t, bob) || !deny.ActorUnproven {
		t.Errorf("refused opening = %+v; expected bob's principal, unproven", deny)
	}
	var flags []bool
	for r, err := range l.Records(context.Background(), charter.AuditQuery{Actor: principal(t, bob)}) {
		if err != nil {
			t.Fatal(err)
		}
		flags = append(flags, r.ActorUnproven)
	}
	if len(flags) != 2 || flags[0] || !flags[1] {
		t.Errorf("Records gave the flags %v; expected [false true]", flags)
	}
}

func TestClaimedActorRoundTripsAndNeedsAnActor(t *testing.T) {
	l := memoryAudit(t)
	bob := principal(t, newKey(t))
	claimed := charter.Record{Time: time.UnixMilli(1), Actor: bob, ActorUnproven: true, Action: "open_session",
		Resource: "k", Decision: charter.DecisionDeny}
	if _, err := l.Append(claimed); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Get(0); err != nil || !got.ActorUnproven || got.Actor != bob {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	claimed.Actor = ""
	if _, err := l.Append(claimed); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("unproven without an actor: %v", err)
	}
}
