package charter_test

// Independent oracles: Go's golang.org/x/mod/sumdb packages, which the Go
// checksum database runs on, recompute Charter's tree hashes, check its
// inclusion and consistency proofs and verify its signed checkpoints.

import (
	"crypto/rand"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"charter.dev/charter"
)

// hashStore is a tlog.HashReader over the stored hashes of a tree built
// from Charter's leaf hashes.
type hashStore []tlog.Hash

func (s hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s)) {
			return nil, fmt.Errorf("no stored hash %d of %d", x, len(s))
		}
		out[i] = s[x]
	}
	return out, nil
}

func tlogProof(proof []charter.Hash) []tlog.Hash {
	out := make([]tlog.Hash, len(proof))
	for i, h := range proof {
		out[i] = tlog.Hash(h)
	}
	return out
}

func TestTlogRecomputesTreeHashesAndChecksProofs(t *testing.T) {
	const max = 64
	l := memoryAudit(t)
	var store hashStore
	for n := int64(1); n <= max; n++ {
		i := appendRecord(t, l, record(n, "", fmt.Sprintf("orders.%d", n), charter.DecisionAllow))
		leaf, err := l.RecordHash(i)
		if err != nil {
			t.Fatal(err)
		}
		added, err := tlog.StoredHashesForRecordHash(n-1, tlog.Hash(leaf), store)
		if err != nil {
			t.Fatal(err)
		}
		store = append(store, added...)
		want, err := tlog.TreeHash(n, store)
		if err != nil {
			t.Fatal(err)
		}
		root, err := l.Root()
		if err != nil {
			t.Fatal(err)
		}
		if tlog.Hash(root) != want {
			t.Fatalf("n=%d: root %v, tlog.TreeHash %v", n, root, want)
		}
	}
	roots := make([]tlog.Hash, max+1)
	for n := int64(1); n <= max; n++ {
		r, err := l.RootAt(uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		roots[n] = tlog.Hash(r)
	}
	for n := int64(1); n <= max; n++ {
		for i := int64(0); i < n; i++ {
			leaf, _ := l.RecordHash(uint64(i))
			proof, err := l.ProveInclusion(uint64(i), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckRecord(tlogProof(proof), n, roots[n], i, tlog.Hash(leaf)); err != nil {
				t.Fatalf("tlog.CheckRecord(%d in %d): %v", i, n, err)
			}
		}
		for m := int64(1); m <= n; m++ {
			proof, err := l.ProveConsistency(uint64(m), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckTree(tlogProof(proof), n, roots[n], m, roots[m]); err != nil {
				t.Fatalf("tlog.CheckTree(%d..%d): %v", m, n, err)
			}
		}
	}
	// And the other way: tlog's own proofs pass Charter's verifiers.
	for _, c := range [][2]int64{{0, 1}, {5, 13}, {31, 64}, {63, 64}} {
		p, err := tlog.ProveRecord(c[1], c[0], store)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := l.RecordHash(uint64(c[0]))
		proof := make([]charter.Hash, len(p))
		for i, h := range p {
			proof[i] = charter.Hash(h)
		}
		if err := charter.VerifyInclusion(leaf, uint64(c[0]), uint64(c[1]), proof, charter.Hash(roots[c[1]])); err != nil {
			t.Fatalf("tlog's proof of %d in %d: %v", c[0], c[1], err)
		}
	}
}

func TestTlogRecordHashIsLeafHash(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("a"), []byte("an audit record, as bytes")} {
		if got, want := charter.LeafHash(data), tlog.RecordHash(data); tlog.Hash(got) != want {
			t.Fatalf("LeafHash(%q) = %v, tlog.RecordHash %v", data, got, want)
		}
	}
}

func TestNoteVerifiesCheckpoints(t *testing.T) {
	key := newKey(t)
	l := memoryAudit(t, charter.WithSigner(key), charter.WithOrigin(testOrigin))
	for i := 0; i < 7; i++ {
		appendRecord(t, l, record(int64(i), "", "r", charter.DecisionAllow))
	}
	text, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := l.VerifierKey()
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatalf("note.NewVerifier(%q): %v", vkey, err)
	}
	if verifier.Name() != testOrigin {
		t.Fatalf("verifier name %q", verifier.Name())
	}
	n, err := note.Open([]byte(text), note.VerifierList(verifier))
	if err != nil {
		t.Fatalf("note.Open: %v", err)
	}
	if len(n.Sigs) != 1 || n.Sigs[0].Name != testOrigin {
		t.Fatalf("signatures %+v", n.Sigs)
	}
	// A C2SP checkpoint body is the origin line, then what tlog.ParseTree
	// reads after its fixed first line.
	tree, err := tlog.ParseTree([]byte("go.sum database tree\n" + n.Text[len(testOrigin)+1:]))
	if err != nil {
		t.Fatalf("tlog.ParseTree: %v", err)
	}
	root, _ := l.Root()
	if tree.N != 7 || tree.Hash != tlog.Hash(root) {
		t.Fatalf("tree %+v, root %v", tree, root)
	}

	// A note signed by Go's note package verifies with Charter.
	skey, gvkey, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: n.Text}, signer)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := charter.VerifyCheckpoint(string(signed), gvkey)
	if err != nil || cp.Size != 7 || cp.Root != root || cp.Origin != testOrigin {
		t.Fatalf("VerifyCheckpoint of a Go-signed note = %+v, %v", cp, err)
	}
}
