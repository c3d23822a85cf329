package charter_test

// The auditor's path (VerifyAuditFile, ProveFile*) and the writer's
// append-only rules. The tests run as root, which file permissions do not
// stop, so "read-only" is shown the other way round: the log and its
// directory are made 0444 and 0555, and the test asserts that the auditor
// left every file's bytes, size and mtime as they were and created none (no
// lock file, no temporary file).

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"charter.dev/charter"
)

// signedLogFiles returns a fresh directory, the path of a log in it (not
// yet written), a key to sign the log with and that key's verifier key.
func signedLogFiles(t *testing.T) (dir, path string, key *charter.KeyPair, vkey string) {
	t.Helper()
	dir = t.TempDir()
	key = newKey(t)
	return dir, filepath.Join(dir, "audit.log"), key, verifierKey(t, key)
}

// writeLog writes n records to a new log at path signed by key, and
// returns the checkpoint note ("" unless checkpoint).
func writeLog(t *testing.T, path string, key *charter.KeyPair, n int, checkpoint bool) string {
	t.Helper()
	l, err := charter.OpenAudit(path, charter.WithSigner(key), charter.WithOrigin(testOrigin),
		charter.WithFsync(charter.FsyncNever))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 0; i < n; i++ {
		appendRecord(t, l, record(int64(1_700_000_000_000+i), "", fmt.Sprintf("orders.%03d", i), charter.DecisionDeny))
	}
	if !checkpoint {
		return ""
	}
	note, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	return note
}

type fileState struct {
	data  []byte
	size  int64
	mtime time.Time
	mode  os.FileMode
}

func snapshotDir(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]fileState{}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		info, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(p)
		out[e.Name()] = fileState{data, info.Size(), info.ModTime(), info.Mode()}
	}
	return out
}

func verifyFile(t *testing.T, path string, opts ...charter.VerifyOption) charter.VerifyReport {
	t.Helper()
	report, err := charter.VerifyAuditFile(path, opts...)
	if err != nil {
		t.Fatalf("VerifyAuditFile: %v", err)
	}
	return report
}

func TestVerifyAuditFileNeverWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	path := filepath.Join(dir, "audit.log")
	key := newKey(t)
	vkey := verifierKey(t, key)
	writeLog(t, path, key, 6, true)
	// A torn frame at the end: a writer mid-append. Never cut by an auditor.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte{7}, 30))
	f.Close()
	for _, name := range []string{"audit.log", "audit.log.checkpoint"} {
		if err := os.Chmod(filepath.Join(dir, name), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	before := snapshotDir(t, dir)
	time.Sleep(10 * time.Millisecond)

	report := verifyFile(t, path, charter.WithLogKey(vkey))
	if !report.OK() || report.Records != 6 || report.CheckpointSize != 6 {
		t.Fatalf("report %+v", report)
	}
	proof, root, err := charter.ProveFileInclusion(path, 2, 6)
	if err != nil || root != report.Root {
		t.Fatalf("ProveFileInclusion: %v (root %v, report %v)", err, root, report.Root)
	}
	l := memoryAudit(t)
	for i := 0; i < 6; i++ {
		appendRecord(t, l, record(int64(1_700_000_000_000+i), "", fmt.Sprintf("orders.%03d", i), charter.DecisionDeny))
	}
	leaf, _ := l.RecordHash(2)
	if err := charter.VerifyInclusion(leaf, 2, 6, proof, root); err != nil {
		t.Fatal(err)
	}
	consistency, err := charter.ProveFileConsistency(path, 3, 6)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := l.RootAt(3)
	if err := charter.VerifyConsistency(3, 6, old, root, consistency); err != nil {
		t.Fatal(err)
	}

	after := snapshotDir(t, dir)
	if len(after) != len(before) {
		t.Fatalf("files before %d, after %d", len(before), len(after))
	}
	for name, b := range before {
		a := after[name]
		if !bytes.Equal(a.data, b.data) || a.size != b.size || !a.mtime.Equal(b.mtime) || a.mode != b.mode {
			t.Fatalf("%s changed", name)
		}
	}
}

func TestVerifyAuditFileBesideALiveWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	key := newKey(t)
	vkey := verifierKey(t, key)
	writeLog(t, path, key, 1, true)
	l := openAudit(t, path, charter.WithSigner(key), charter.WithOrigin(testOrigin),
		charter.WithFsync(charter.FsyncNever), charter.WithCheckpointEvery(5))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := l.Append(record(int64(i), "", strings.Repeat("x", i%300), charter.DecisionAllow)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	// At least 30 verifications, and on until the writer has visibly moved
	// on (a goroutine may start late, under the race detector especially).
	var seen uint64
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < 30 || (seen < 50 && time.Now().Before(deadline)); i++ {
		report := verifyFile(t, path, charter.WithLogKey(vkey))
		if !report.OK() || report.Records < seen || !report.HasCheckpoint || report.CheckpointSize > report.Records {
			close(stop)
			wg.Wait()
			t.Fatalf("report %d beside a writer: %+v", i, report)
		}
		seen = report.Records
	}
	close(stop)
	wg.Wait()
	if seen <= 1 {
		t.Fatalf("the writer wrote nothing the verifier saw (%d)", seen)
	}
}

func TestVerifyAuditFileCatchesTamperRollbackAndSplitView(t *testing.T) {
	dir, path, key, vkey := signedLogFiles(t)
	opts := []charter.AuditOption{charter.WithSigner(key), charter.WithOrigin(testOrigin)}
	earlier := writeLog(t, path, key, 8, true)
	data, _ := os.ReadFile(path)
	checkpoint, _ := os.ReadFile(path + ".checkpoint")

	// Tamper: one record rewritten in place.
	at := bytes.Index(data, []byte("orders.003"))
	tampered := bytes.Clone(data)
	tampered[at+9] = '9'
	os.WriteFile(path, tampered, 0o600)
	report := verifyFile(t, path, charter.WithLogKey(vkey))
	if report.OK() || !report.HasFirstBad || report.FirstBad != 3 || report.ProblemStatus != charter.StatusCorrupt {
		t.Fatalf("tampered: %+v", report)
	}

	// Rollback: cut to 5 records (the same records written alone give the
	// frame boundary); the writer refuses, the auditor reports.
	five := filepath.Join(dir, "five.log")
	writeLog(t, five, key, 5, false)
	prefix, _ := os.ReadFile(five)
	if !bytes.HasPrefix(data, prefix) {
		t.Fatal("a log of the same records differs")
	}
	os.WriteFile(path, prefix, 0o600)
	if _, err := charter.OpenAudit(path, opts...); !errors.Is(err, charter.ErrCorrupt) || !strings.Contains(err.Error(), "record 5") {
		t.Fatalf("open after a rollback: %v", err)
	}
	report = verifyFile(t, path, charter.WithLogKey(vkey))
	if report.OK() || !report.HasFirstBad || report.FirstBad != 5 || report.Records != 5 {
		t.Fatalf("rolled back: %+v", report)
	}
	// The host drops the checkpoint too and re-appends: only a note kept
	// elsewhere catches it.
	os.Remove(path + ".checkpoint")
	writer, err := charter.OpenAudit(path, opts...)
	if err != nil {
		t.Fatalf("open without a checkpoint: %v", err)
	}
	for i := 0; i < 4; i++ {
		appendRecord(t, writer, record(int64(i), "", "other", charter.DecisionAllow))
	}
	if _, err := writer.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	writer.Close()
	if !verifyFile(t, path, charter.WithLogKey(vkey)).OK() {
		t.Fatal("the rewritten log does not verify by itself")
	}
	if report := verifyFile(t, path, charter.WithLogKey(vkey), charter.WithAgainst(earlier)); report.OK() {
		t.Fatalf("a rollback passed against the earlier note: %+v", report)
	}

	// Split view: a history of the same size with other records under the
	// old checkpoint. The writer will not open it (so never signs it).
	split := bytes.Clone(data)
	split[bytes.Index(split, []byte("orders.006"))+9] = '8'
	os.WriteFile(path, split, 0o600)
	os.WriteFile(path+".checkpoint", checkpoint, 0o600)
	if _, err := charter.OpenAudit(path, opts...); !errors.Is(err, charter.ErrCorrupt) {
		t.Fatalf("open of a split view: %v", err)
	}
	if after, _ := os.ReadFile(path + ".checkpoint"); !bytes.Equal(after, checkpoint) {
		t.Fatal("the checkpoint was replaced")
	}
}

func TestVerifyAuditFileTrustStateCatchesDeletion(t *testing.T) {
	dir := t.TempDir()
	path, state := filepath.Join(dir, "audit.log"), filepath.Join(dir, "trusted")
	key := newKey(t)
	vkey := verifierKey(t, key)
	writeLog(t, path, key, 10, true)
	if r := verifyFile(t, path, charter.WithLogKey(vkey), charter.WithTrustState(state)); !r.OK() {
		t.Fatalf("first verify: %+v", r)
	}
	if info, err := os.Stat(state); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", info, err)
	}
	os.Remove(path)
	os.Remove(path + ".checkpoint")
	writeLog(t, path, key, 3, true)
	if !verifyFile(t, path, charter.WithLogKey(vkey)).OK() {
		t.Fatal("the new log alone should verify")
	}
	if r := verifyFile(t, path, charter.WithLogKey(vkey), charter.WithTrustState(state)); r.OK() {
		t.Fatalf("a deleted and restarted log passed the state file: %+v", r)
	}
	if _, err := charter.VerifyAuditFile(path, charter.WithTrustState(state)); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("a state without a log key: %v", err)
	}
}

func TestVerifyAuditFileMissingCheckpoint(t *testing.T) {
	dir, path, key, vkey := signedLogFiles(t)
	writeLog(t, path, key, 3, false)
	if r := verifyFile(t, path, charter.WithLogKey(vkey)); r.OK() || !strings.Contains(r.Problem, "checkpoint") ||
		r.ProblemStatus != charter.StatusBadSignature {
		t.Fatalf("missing checkpoint with a log key: %+v", r)
	}
	if r := verifyFile(t, path, charter.WithLogKey(vkey), charter.AllowMissingCheckpoint()); !r.OK() {
		t.Fatalf("allowed: %+v", r)
	}
	if r := verifyFile(t, path); !r.OK() || r.Records != 3 {
		t.Fatalf("nothing trusted: %+v", r)
	}
	if _, err := charter.VerifyAuditFile(filepath.Join(dir, "missing")); !errors.Is(err, charter.ErrNotFound) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := charter.VerifyAuditFile(dir); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("a directory: %v", err)
	}
	if _, err := charter.VerifyAuditFile(path, charter.WithWitnesses(-1)); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("a negative quorum: %v", err)
	}
}

func TestCheckpointTmpSymlinkIsNotFollowed(t *testing.T) {
	dir := t.TempDir()
	path, victim := filepath.Join(dir, "audit.log"), filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	key := newKey(t)
	writeLog(t, path, key, 2, false)
	if err := os.Symlink(victim, path+".checkpoint.tmp"); err != nil {
		t.Fatal(err)
	}
	l := openAudit(t, path, charter.WithSigner(key), charter.WithOrigin(testOrigin))
	note, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(victim); string(got) != "precious" {
		t.Fatalf("the symlink's target was written: %q", got)
	}
	info, err := os.Lstat(path + ".checkpoint")
	if err != nil || info.Mode()&os.ModeSymlink != 0 || info.Mode().Perm() != 0o600 {
		t.Fatalf("checkpoint file: %v %v", info, err)
	}
	if got, _ := os.ReadFile(path + ".checkpoint"); string(got) != note {
		t.Fatal("the checkpoint file does not hold the note")
	}
}

func TestStartOverAndAutomaticCheckpoints(t *testing.T) {
	dir, path, key, vkey := signedLogFiles(t)
	l := openAudit(t, path, charter.WithSigner(key), charter.WithOrigin(testOrigin), charter.WithCheckpointEvery(3))
	for i := 0; i < 7; i++ {
		appendRecord(t, l, record(int64(i), "", "r", charter.DecisionAllow))
	}
	l.Close()
	if r := verifyFile(t, path, charter.WithLogKey(vkey)); !r.OK() || r.CheckpointSize != 6 {
		t.Fatalf("every 3: %+v", r)
	}
	if _, err := charter.OpenAudit(path, charter.WithCheckpointEvery(3)); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("automatic checkpoints without a signer: %v", err)
	}
	// On a file of its own: the interval thread may hold the log (and its
	// lock) for a moment after Close, while it signs.
	timed := filepath.Join(dir, "timed.log")
	tl := openAudit(t, timed, charter.WithSigner(key), charter.WithOrigin(testOrigin),
		charter.WithCheckpointInterval(20*time.Millisecond))
	appendRecord(t, tl, record(7, "", "r", charter.DecisionAllow))
	deadline := time.Now().Add(10 * time.Second)
	for verifyFile(t, timed, charter.WithLogKey(vkey)).CheckpointSize != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if r := verifyFile(t, timed, charter.WithLogKey(vkey)); r.CheckpointSize != 1 {
		t.Fatalf("interval: %+v", r)
	}
	tl.Close()

	if _, err := charter.StartOverAudit(path, "same origin", charter.WithSigner(key), charter.WithOrigin(testOrigin)); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("start over under the old origin: %v", err)
	}
	fresh, err := charter.StartOverAudit(path, "disk restored", charter.WithSigner(key), charter.WithOrigin(testOrigin+"-2"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	first, err := fresh.Get(0)
	if err != nil || first.Action != "start_over" || first.Resource != testOrigin ||
		!strings.Contains(first.Detail, "size 6") || !strings.Contains(first.Detail, "disk restored") {
		t.Fatalf("record 0 = %+v, %v", first, err)
	}
	kept, _ := filepath.Glob(path + "*.replaced-*")
	if len(kept) != 2 {
		t.Fatalf("kept %v", kept)
	}
}

func TestLogViewAnswersManyProofsFromOneRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	key := newKey(t)
	note := writeLog(t, path, key, 6, true)
	v, err := charter.OpenLogView(path)
	if err != nil {
		t.Fatal(err)
	}
	n, root, err := v.Len()
	if err != nil || n != 6 {
		t.Fatalf("Len = %d, %v", n, err)
	}
	proof, proofRoot, err := v.ProveInclusion(2, 6)
	fileProof, fileRoot, ferr := charter.ProveFileInclusion(path, 2, 6)
	if err != nil || ferr != nil || proofRoot != root || fileRoot != root || fmt.Sprint(proof) != fmt.Sprint(fileProof) {
		t.Fatalf("inclusion: %v %v / %v %v", proof, err, fileProof, ferr)
	}
	cons, err := v.ProveConsistency(2, 6)
	fileCons, ferr := charter.ProveFileConsistency(path, 2, 6)
	if err != nil || ferr != nil || fmt.Sprint(cons) != fmt.Sprint(fileCons) {
		t.Fatalf("consistency: %v %v / %v %v", cons, err, fileCons, ferr)
	}
	if _, err := v.ProveConsistency(2, 7); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("beyond the snapshot: %v", err)
	}
	body, err := v.WitnessRequest(2)
	if err != nil {
		t.Fatal(err)
	}
	old, got, gotNote, err := charter.ParseWitnessRequest(body)
	if err != nil || old != 2 || gotNote != note || fmt.Sprint(got) != fmt.Sprint(cons) {
		t.Fatalf("request: %d %v %q %v", old, got, gotNote, err)
	}
	closeTwice(t, v)
	if _, _, err := v.Len(); !errors.Is(err, charter.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	var none *charter.LogView
	if err := none.Close(); err != nil {
		t.Fatalf("nil Close: %v", err)
	}
	if _, _, err := none.Len(); err == nil {
		t.Fatal("nil view answered")
	}
	if _, err := charter.OpenLogView(filepath.Join(t.TempDir(), "missing.log")); !errors.Is(err, charter.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}
