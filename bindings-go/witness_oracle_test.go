package charter_test

// An independent oracle for witnessed checkpoints: transparency-dev's
// formats module (github.com/transparency-dev/formats, note and witness
// packages, from the module proxy) with golang.org/x/mod/sumdb/note.
// Charter's witness cosignatures verify with their cosignature/v1 verifier
// and their k-of-n witness policy, and cosignatures their signer produces
// verify with Charter's k-of-n verifier.

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	flog "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	fwitness "github.com/transparency-dev/formats/witness"
	"golang.org/x/mod/sumdb/note"

	"charter.dev/charter"
)

func TestOracleVerifiesCharterCosignatures(t *testing.T) {
	dir := t.TempDir()
	l, vkey := signedLog(t)
	logVerifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	ws := []*charter.Witness{
		openWitness(t, dir, "w0.example", vkey), openWitness(t, dir, "w1.example", vkey),
		openWitness(t, dir, "w2.example", vkey),
	}
	var theirs []fwitness.Witness
	var verifiers []note.Verifier
	for _, w := range ws {
		v, err := fnote.NewVerifierForCosignatureV1(witnessKey(t, w))
		if err != nil {
			t.Fatalf("their verifier refuses our cosigner key: %v", err)
		}
		verifiers = append(verifiers, v)
		fw, err := fwitness.New(witnessKey(t, w), &url.URL{Scheme: "https", Host: "witness.example"})
		if err != nil {
			t.Fatal(err)
		}
		theirs = append(theirs, fw)
	}
	group := func(n int) fwitness.Group {
		return fwitness.NewGroup(n, theirs[0], theirs[1], theirs[2])
	}

	checkpoint := grow(t, l, 5)
	first, err := ws[0].AddCheckpointAt(0, nil, checkpoint, cosignTime)
	if err != nil {
		t.Fatal(err)
	}
	second, err := ws[2].AddCheckpoint(0, nil, checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	cosigned := checkpoint + first + second

	// Their parser: the log's signature, the checkpoint, and our witnesses.
	cp, _, n, err := flog.ParseCheckpoint([]byte(cosigned), testOrigin, logVerifier, verifiers...)
	if err != nil {
		t.Fatalf("their ParseCheckpoint: %v", err)
	}
	root, _ := l.Root()
	if cp.Size != 5 || string(cp.Hash) != string(root[:]) {
		t.Fatalf("their checkpoint: size %d", cp.Size)
	}
	names := map[string]bool{}
	for _, sig := range n.Sigs {
		names[sig.Name] = true
		if sig.Name == "w0.example" {
			ts, err := fnote.CoSigV1Timestamp(sig)
			if err != nil || !ts.Equal(cosignTime) {
				t.Fatalf("their timestamp of our cosignature: %v, %v", ts, err)
			}
		}
	}
	if len(n.Sigs) != 3 || !names["w0.example"] || !names["w2.example"] || names["w1.example"] {
		t.Fatalf("their verified signatures: %v", names)
	}
	// Key ids agree: theirs computed from our vkey equals the one we print.
	for i, v := range verifiers {
		if id := strings.Split(witnessKey(t, ws[i]), "+")[1]; id != fmt.Sprintf("%08x", v.KeyHash()) {
			t.Fatalf("key id %s, theirs %08x", id, v.KeyHash())
		}
	}

	// Their k-of-n policy over our cosignatures.
	if !group(2).Satisfied([]byte(cosigned)) {
		t.Fatal("their 2-of-3 refuses two of our cosignatures")
	}
	if group(3).Satisfied([]byte(cosigned)) {
		t.Fatal("their 3-of-3 accepts two")
	}
	if group(2).Satisfied([]byte(checkpoint + first + first)) {
		t.Fatal("their 2-of-3 counts one witness twice")
	}

	// A cosignature moved onto another checkpoint fails their verifier.
	later := grow(t, l, 1)
	if _, err := note.Open([]byte(later+first), note.VerifierList(append(verifiers, logVerifier)...)); err == nil {
		t.Fatal("their verifier accepts our cosignature on another checkpoint")
	}
	var bad *note.InvalidSignatureError
	if _, err := note.Open([]byte(later+first), note.VerifierList(append(verifiers, logVerifier)...)); !errors.As(err, &bad) {
		t.Fatalf("their error: %v", err)
	}
}

func TestCharterVerifiesOracleCosignatures(t *testing.T) {
	_, path, key, vkey := signedLogFiles(t)
	checkpoint := writeLog(t, path, key, 4, true)
	logVerifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}

	var signers []note.Signer
	var wkeys []string
	for _, name := range []string{"a.witness.example", "b.witness.example", "c.witness.example"} {
		skey, plain, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := fnote.NewSignerForCosignatureV1(skey)
		if err != nil {
			t.Fatal(err)
		}
		wkey, err := fnote.VKeyToCosignatureV1(plain)
		if err != nil {
			t.Fatal(err)
		}
		signers, wkeys = append(signers, s), append(wkeys, wkey)
	}
	cosign := func(by ...note.Signer) string {
		n, err := note.Open([]byte(checkpoint), note.VerifierList(logVerifier))
		if err != nil {
			t.Fatal(err)
		}
		out, err := note.Sign(n, by...)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}

	two := cosign(signers[0], signers[2])
	got, err := charter.VerifyCosigned(two, vkey, wkeys, 2)
	if err != nil || got.Size != 4 || got.Witnesses != 2 {
		t.Fatalf("their two cosignatures, quorum 2: %+v, %v", got, err)
	}
	if _, err := charter.VerifyCosigned(two, vkey, wkeys, 3); !errors.Is(err, charter.ErrBadSignature) {
		t.Fatalf("quorum 3 with two: %v", err)
	}
	one := cosign(signers[1])
	line := one[strings.LastIndex(strings.TrimSuffix(one, "\n"), "\n")+1:]
	if _, err := charter.VerifyCosigned(one+line, vkey, wkeys, 2); !errors.Is(err, charter.ErrBadSignature) {
		t.Fatalf("one of their witnesses twice counted twice: %v", err)
	}
	if got, err := charter.VerifyCosigned(one+line, vkey, wkeys, 1); err != nil || got.Witnesses != 1 {
		t.Fatalf("their one witness, quorum 1: %+v, %v", got, err)
	}

	// The same through the read-only file verifier.
	if err := os.WriteFile(path+".checkpoint", []byte(two), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := verifyFile(t, path, charter.WithLogKey(vkey), charter.WithWitnesses(2, wkeys...)); !r.OK() || r.WitnessCount != 2 {
		t.Fatalf("their cosignatures in the checkpoint file, 2 of 3: %+v", r)
	}
	if r := verifyFile(t, path, charter.WithLogKey(vkey), charter.WithWitnesses(3, wkeys...)); r.OK() {
		t.Fatalf("2 of 3 passed a quorum of 3: %+v", r)
	}
}
