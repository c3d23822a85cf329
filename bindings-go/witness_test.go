package charter_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"charter.dev/charter"
)

// cosignTime is the timestamp the tests cosign at.
var cosignTime = time.Unix(1_750_000_000, 0)

// signedLog is a memory log signed by a new key under testOrigin, and its
// verifier key.
func signedLog(t *testing.T) (*charter.AuditLog, string) {
	t.Helper()
	l := memoryAudit(t, charter.WithSigner(newKey(t)), charter.WithOrigin(testOrigin))
	vkey, err := l.VerifierKey()
	if err != nil {
		t.Fatal(err)
	}
	return l, vkey
}

// grow appends n records to l and signs a checkpoint.
func grow(t *testing.T, l *charter.AuditLog, n int) string {
	t.Helper()
	for i := 0; i < n; i++ {
		appendRecord(t, l, record(int64(i), "", "orders", charter.DecisionDeny))
	}
	note, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	return note
}

func openWitness(t *testing.T, dir, name string, logKeys ...string) *charter.Witness {
	t.Helper()
	w, err := charter.OpenWitness(filepath.Join(dir, name+".state"), name, newKey(t), logKeys...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func witnessKey(t *testing.T, w *charter.Witness) string {
	t.Helper()
	k, err := w.VerifierKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestCosignerKeyIsC2SP(t *testing.T) {
	key := newKey(t)
	text, err := charter.CosignerKey("w.example", key)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(text, "+", 3)
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || parts[0] != "w.example" || len(raw) != 33 || raw[0] != 0x04 {
		t.Fatalf("cosigner key %q", text)
	}
	id := sha256.Sum256(append([]byte("w.example\n"), raw...))
	if parts[1] != hex.EncodeToString(id[:4]) {
		t.Fatalf("key id %s, want %x", parts[1], id[:4])
	}
	if _, err := charter.CosignerKey("has space", key); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("bad name: %v", err)
	}
	if _, err := charter.CosignerKey("w", nil); !errors.Is(err, charter.ErrNullArgument) {
		t.Fatalf("nil key: %v", err)
	}
}

func TestCosignAndVerifyKOfN(t *testing.T) {
	l, vkey := signedLog(t)
	note := grow(t, l, 3)
	keys := []*charter.KeyPair{newKey(t), newKey(t), newKey(t)}
	var wkeys, lines []string
	for i, k := range keys {
		name := fmt.Sprintf("w%d", i)
		wk, err := charter.CosignerKey(name, k)
		if err != nil {
			t.Fatal(err)
		}
		line, err := charter.Cosign(note, name, k, cosignTime.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		wkeys, lines = append(wkeys, wk), append(lines, line)
	}
	two := note + lines[0] + lines[2]
	got, err := charter.VerifyCosigned(two, vkey, wkeys, 2)
	root, _ := l.Root()
	if err != nil || got.Size != 3 || got.Root != root || got.Witnesses != 2 {
		t.Fatalf("quorum 2 of 3: %+v, %v", got, err)
	}
	if fmt.Sprint(got.Names) != "[w0 w2]" || len(got.Timestamps) != 2 ||
		!got.Timestamps[0].Equal(cosignTime) || !got.Timestamps[1].Equal(cosignTime.Add(2*time.Second)) {
		t.Fatalf("names and times: %v %v", got.Names, got.Timestamps)
	}
	if none, err := charter.VerifyCosigned(two, vkey, nil, 0); err != nil || len(none.Names) != 0 || len(none.Timestamps) != 0 {
		t.Fatalf("no witnesses: %+v, %v", none, err)
	}
	if _, err := charter.VerifyCosigned(two, vkey, wkeys, 3); !errors.Is(err, charter.ErrBadSignature) {
		t.Fatalf("quorum not met: %v", err)
	}
	twice := note + lines[1] + lines[1]
	if _, err := charter.VerifyCosigned(twice, vkey, wkeys, 2); !errors.Is(err, charter.ErrBadSignature) {
		t.Fatalf("one witness counted twice: %v", err)
	}
	if got, err := charter.VerifyCosigned(twice, vkey, wkeys, 1); err != nil || got.Witnesses != 1 {
		t.Fatalf("duplicate line, quorum 1: %+v, %v", got, err)
	}
	if _, err := charter.VerifyCosigned(note+lines[1], vkey, []string{wkeys[1], wkeys[1]}, 2); !errors.Is(err, charter.ErrBadSignature) {
		t.Fatalf("one key listed twice counted twice: %v", err)
	}
	if _, err := charter.VerifyCosigned(two, vkey, wkeys, 4); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("impossible quorum: %v", err)
	}
	if _, err := charter.VerifyCosigned(two, vkey, wkeys, -1); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("negative quorum: %v", err)
	}
	if _, err := charter.Cosign(note, "w0", keys[0], time.Time{}); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("the zero time: %v", err)
	}
}

func TestWitnessCosignsOnlyWhatExtends(t *testing.T) {
	dir := t.TempDir()
	l, vkey := signedLog(t)
	w := openWitness(t, dir, "witness.example", vkey)
	wkey := witnessKey(t, w)
	if _, _, found, err := w.Latest(testOrigin); err != nil || found {
		t.Fatalf("Latest before any: %v %v", found, err)
	}
	first := grow(t, l, 4)
	line, err := w.AddCheckpointAt(0, nil, first, cosignTime)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := charter.VerifyCosigned(first+line, vkey, []string{wkey}, 1); err != nil {
		t.Fatal(err)
	}
	root4, _ := l.RootAt(4)
	if size, root, found, err := w.Latest(testOrigin); err != nil || !found || size != 4 || root != root4 {
		t.Fatalf("Latest = %d %v %v %v", size, root, found, err)
	}
	if info, err := os.Stat(filepath.Join(dir, "witness.example.state")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", info, err)
	}

	second := grow(t, l, 3)
	if _, err := w.AddCheckpoint(0, nil, second); !errors.Is(err, charter.ErrDenied) || !strings.Contains(err.Error(), "size 4") {
		t.Fatalf("stale old size: %v", err)
	}
	proof, _ := l.ProveConsistency(4, 7)
	if _, err := w.AddCheckpoint(4, proof, second); err != nil {
		t.Fatal(err)
	}

	// The log's origin signed by another key, and a log it does not know.
	impostor := memoryAudit(t, charter.WithSigner(newKey(t)), charter.WithOrigin(testOrigin))
	if _, err := w.AddCheckpoint(7, nil, grow(t, impostor, 8)); !errors.Is(err, charter.ErrBadSignature) {
		t.Fatalf("another key: %v", err)
	}
	unknown := memoryAudit(t, charter.WithSigner(newKey(t)), charter.WithOrigin("other.example/log"))
	if _, err := w.AddCheckpoint(0, nil, grow(t, unknown, 1)); !errors.Is(err, charter.ErrNotFound) {
		t.Fatalf("unknown log: %v", err)
	}

	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.VerifierKey(); !errors.Is(err, charter.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	var nilWitness *charter.Witness
	if _, err := nilWitness.AddCheckpoint(0, nil, first); !errors.Is(err, charter.ErrNullArgument) {
		t.Fatalf("nil witness: %v", err)
	}
	if err := nilWitness.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := charter.OpenWitness(filepath.Join(dir, "s"), "w", newKey(t), "not a key"); !errors.Is(err, charter.ErrMalformed) {
		t.Fatalf("bad log key: %v", err)
	}
}

func TestWitnessRefusesASplitView(t *testing.T) {
	dir := t.TempDir()
	key := newKey(t)
	honest := memoryAudit(t, charter.WithSigner(key), charter.WithOrigin(testOrigin))
	vkey, _ := honest.VerifierKey()
	w := openWitness(t, dir, "witness.example", vkey)
	if _, err := w.AddCheckpoint(0, nil, grow(t, honest, 4)); err != nil {
		t.Fatal(err)
	}
	// The same key signs a fork that differs from record 2 on.
	fork := memoryAudit(t, charter.WithSigner(key), charter.WithOrigin(testOrigin))
	for i := 0; i < 2; i++ {
		appendRecord(t, fork, record(int64(i), "", "orders", charter.DecisionDeny))
	}
	appendRecord(t, fork, record(99, "", "forged", charter.DecisionAllow))
	forked := grow(t, fork, 3)
	proof, _ := fork.ProveConsistency(4, 6)
	if _, err := w.AddCheckpoint(4, proof, forked); !errors.Is(err, charter.ErrCorrupt) {
		t.Fatalf("split view: %v", err)
	}
	if size, _, _, _ := w.Latest(testOrigin); size != 4 {
		t.Fatalf("the witness moved to the fork: %d", size)
	}
}

func TestVerifyAuditFileRequiresAQuorumOfWitnesses(t *testing.T) {
	dir, path, key, vkey := signedLogFiles(t)
	note := writeLog(t, path, key, 5, true)
	ws := []*charter.Witness{
		openWitness(t, dir, "w0.example", vkey), openWitness(t, dir, "w1.example", vkey),
		openWitness(t, dir, "w2.example", vkey),
	}
	var wkeys, lines []string
	for _, w := range ws {
		wkeys = append(wkeys, witnessKey(t, w))
		line, err := w.AddCheckpointAt(0, nil, note, cosignTime)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	os.WriteFile(path+".checkpoint", []byte(note+lines[0]+lines[1]), 0o600)
	if r := verifyFile(t, path, charter.WithLogKey(vkey), charter.WithWitnesses(2, wkeys...)); !r.OK() || r.WitnessCount != 2 ||
		fmt.Sprint(r.Witnesses) != "[w0.example w1.example]" {
		t.Fatalf("quorum met: %+v", r)
	}
	if r := verifyFile(t, path, charter.WithLogKey(vkey)); !r.OK() || r.Witnesses != nil {
		t.Fatalf("no witnesses asked for: %+v", r)
	}
	if r := verifyFile(t, path, charter.WithLogKey(vkey), charter.WithWitnesses(3, wkeys...)); r.OK() {
		t.Fatalf("quorum not met passed: %+v", r)
	}
	os.WriteFile(path+".checkpoint", []byte(note+lines[2]+lines[2]), 0o600)
	if r := verifyFile(t, path, charter.WithLogKey(vkey), charter.WithWitnesses(2, wkeys...)); r.OK() {
		t.Fatalf("a duplicate cosignature counted twice: %+v", r)
	}
	if r := verifyFile(t, path, charter.WithLogKey(vkey), charter.WithWitnesses(1, wkeys...)); !r.OK() || r.WitnessCount != 1 {
		t.Fatalf("quorum 1: %+v", r)
	}
}

// Two witness handles on one state file (as two processes would be), asked
// at once to cosign from the same old size: the state file's lock lets
// exactly one of them through; the other is told the size moved on.
func TestWitnessesSharingAStateFileAreSerialized(t *testing.T) {
	dir := t.TempDir()
	l, vkey := signedLog(t)
	state := filepath.Join(dir, "shared.state")
	key := newKey(t)
	var ws []*charter.Witness
	for i := 0; i < 8; i++ {
		w, err := charter.OpenWitness(state, "witness.example", key, vkey)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		ws = append(ws, w)
	}
	note := grow(t, l, 3)
	errs := make(chan error, len(ws))
	for _, w := range ws {
		go func() {
			_, err := w.AddCheckpoint(0, nil, note)
			errs <- err
		}()
	}
	var ok, denied int
	for range ws {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, charter.ErrDenied):
			denied++
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	if ok != 1 || denied != len(ws)-1 {
		t.Fatalf("%d cosigned, %d denied", ok, denied)
	}
}

func TestWitnessRequestRoundTrips(t *testing.T) {
	l, _ := signedLog(t)
	grow(t, l, 2)
	note := grow(t, l, 3)
	proof, err := l.ProveConsistency(2, 5)
	if err != nil || len(proof) == 0 {
		t.Fatalf("proof: %v %v", proof, err)
	}
	body, err := charter.WitnessRequest(2, proof, note)
	if err != nil || !strings.HasPrefix(body, "old 2\n") {
		t.Fatalf("request: %q %v", body, err)
	}
	old, got, gotNote, err := charter.ParseWitnessRequest(body)
	if err != nil || old != 2 || gotNote != note || fmt.Sprint(got) != fmt.Sprint(proof) {
		t.Fatalf("parsed: %d %v %q %v", old, got, gotNote, err)
	}
	for _, bad := range []string{"", "old x\n\n" + note, "old 2\n" + note, "old 02\n\n" + note} {
		if _, _, _, err := charter.ParseWitnessRequest(bad); err == nil {
			t.Fatalf("%q parsed", bad)
		}
	}
	if _, _, _, err := charter.ParseWitnessRequest("old 1\n\x00"); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("NUL: %v", err)
	}
}
