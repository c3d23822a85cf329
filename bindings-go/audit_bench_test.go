package charter_test

// Benchmarks of the auditor's path and of a witness, through cgo:
//
//	go test -run '^$' -bench 'VerifyAuditFile|WitnessAddCheckpoint' -benchtime 3x

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"charter.dev/charter"
)

// BenchmarkVerifyAuditFile verifies a signed log of 100,000 records from
// its file, read-only, with the log key: one full streaming pass per op.
func BenchmarkVerifyAuditFile(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "audit.log")
	key := newKey(b)
	l, err := charter.OpenAudit(path, charter.WithSigner(key), charter.WithOrigin(testOrigin),
		charter.WithFsync(charter.FsyncNever))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := l.Append(record(int64(i), "", fmt.Sprintf("orders.%d", i), charter.DecisionDeny)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := l.Checkpoint(); err != nil {
		b.Fatal(err)
	}
	vkey, _ := l.VerifierKey()
	l.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := charter.VerifyAuditFile(path, charter.WithLogKey(vkey))
		if err != nil || !r.OK() || r.Records != n {
			b.Fatalf("%+v, %v", r, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/record")
}

// BenchmarkWitnessAddCheckpoint cosigns a checkpoint 16 records further
// on each op: one log signature check, one consistency proof, one
// Ed25519 signature and one durable state file replacement.
func BenchmarkWitnessAddCheckpoint(b *testing.B) {
	key := newKey(b)
	l, err := charter.OpenAuditInMemory(charter.WithSigner(key), charter.WithOrigin(testOrigin))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	vkey, _ := l.VerifierKey()
	w, err := charter.OpenWitness(filepath.Join(b.TempDir(), "state"), "witness.example", newKey(b), vkey)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	notes := make([]string, b.N)
	proofs := make([][]charter.Hash, b.N)
	var size uint64
	for i := range notes {
		for j := 0; j < 16; j++ {
			if _, err := l.Append(record(int64(j), "", "orders", charter.DecisionDeny)); err != nil {
				b.Fatal(err)
			}
		}
		notes[i], _ = l.Checkpoint()
		if size > 0 {
			proofs[i], _ = l.ProveConsistency(size, size+16)
		}
		size += 16
	}
	at := time.Unix(1_750_000_000, 0)
	b.ResetTimer()
	for i := range notes {
		if _, err := w.AddCheckpointAt(uint64(i)*16, proofs[i], notes[i], at); err != nil {
			b.Fatal(err)
		}
	}
}
