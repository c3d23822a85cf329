package charter_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"charter.dev/charter"
)

// A log records decisions, signs a checkpoint and proves to an auditor, who
// holds only the checkpoint and the log's verifier key, that a record is
// in it.
func ExampleAuditLog() {
	dir, err := os.MkdirTemp("", "audit")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	key, err := charter.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	defer key.Close()

	audit, err := charter.OpenAudit(filepath.Join(dir, "audit.log"),
		charter.WithSigner(key), charter.WithOrigin("example.com/orders-audit"))
	if err != nil {
		log.Fatal(err)
	}
	defer audit.Close()
	for _, topic := range []string{"orders.eu.created", "orders.us.created", "payments.refund"} {
		decision := charter.DecisionAllow
		if topic == "payments.refund" {
			decision = charter.DecisionDeny
		}
		if _, err := audit.Append(charter.Record{Action: "publish", Resource: topic, Decision: decision}); err != nil {
			log.Fatal(err)
		}
	}
	for r, err := range audit.Records(context.Background(), charter.AuditQuery{Decision: charter.DecisionDeny}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("record %d: %s %s %s\n", r.Index, r.Decision, r.Action, r.Resource)
	}

	note, _ := audit.Checkpoint()
	vkey, _ := audit.VerifierKey()

	// The auditor's side: no log, just the note, the key and a proof.
	cp, err := charter.VerifyCheckpoint(note, vkey)
	if err != nil {
		log.Fatal(err)
	}
	leaf, _ := audit.RecordHash(2)
	proof, _ := audit.ProveInclusion(2, cp.Size)
	fmt.Println("checkpoint of", cp.Origin, "size", cp.Size)
	fmt.Println("record 2 included:", charter.VerifyInclusion(leaf, 2, cp.Size, proof, cp.Root) == nil)

	report, _ := audit.Verify()
	fmt.Println("verified:", report.OK(), report.Records, "records")
	// Output:
	// record 2: deny publish payments.refund
	// checkpoint of example.com/orders-audit size 3
	// record 2 included: true
	// verified: true 3 records
}

// A witness cosigns each checkpoint that extends the last one it saw; an
// auditor verifies the log file read-only, requiring the witness's
// cosignature and remembering what it trusted.
func ExampleWitness() {
	dir, err := os.MkdirTemp("", "witness")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	logKey, _ := charter.GenerateKey()
	defer logKey.Close()
	witnessKey, _ := charter.GenerateKey()
	defer witnessKey.Close()

	path := filepath.Join(dir, "audit.log")
	audit, err := charter.OpenAudit(path, charter.WithSigner(logKey), charter.WithOrigin("example.com/orders-audit"))
	if err != nil {
		log.Fatal(err)
	}
	defer audit.Close()
	vkey, _ := audit.VerifierKey()
	witness, err := charter.OpenWitness(filepath.Join(dir, "witness.state"), "witness.example", witnessKey, vkey)
	if err != nil {
		log.Fatal(err)
	}
	defer witness.Close()

	audit.Append(charter.Record{Action: "refund", Resource: "order/17", Decision: charter.DecisionAllow})
	first, _ := audit.Checkpoint()
	if _, err := witness.AddCheckpoint(0, nil, first); err != nil { // first sight: nothing to extend
		log.Fatal(err)
	}
	audit.Append(charter.Record{Action: "refund", Resource: "order/18", Decision: charter.DecisionDeny})
	second, _ := audit.Checkpoint()
	proof, _ := audit.ProveConsistency(1, 2)
	cosignature, err := witness.AddCheckpoint(1, proof, second)
	if err != nil {
		log.Fatal(err)
	}
	os.WriteFile(path+".checkpoint", []byte(second+cosignature), 0o600) // publish the cosigned note

	wkey, _ := witness.VerifierKey()
	report, err := charter.VerifyAuditFile(path, charter.WithLogKey(vkey), charter.WithWitnesses(1, wkey),
		charter.WithTrustState(filepath.Join(dir, "trusted")))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verified:", report.OK(), report.Records, "records,", report.WitnessCount, "witness")
	cosigned, err := charter.VerifyCosigned(second+cosignature, vkey, []string{wkey}, 1)
	fmt.Println("cosigned size:", cosigned.Size, err)
	// Output:
	// verified: true 2 records, 1 witness
	// cosigned size: 2 <nil>
}

// A bus given a recorder appends a record for each refusal.
func ExampleNewBusWithRecorder() {
	audit, err := charter.OpenAuditInMemory()
	if err != nil {
		log.Fatal(err)
	}
	defer audit.Close()
	auth, err := charter.NewAuthority(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	bus, err := charter.NewBusWithRecorder(auth, charter.Recorder{Log: audit, Scope: charter.RecordDenials})
	if err != nil {
		log.Fatal(err)
	}
	defer bus.Close()

	_, err = bus.Publish("orders.eu.created", nil) // no session: refused
	fmt.Println("publish:", err != nil)
	r, _ := audit.Get(0)
	fmt.Println(r.Decision, r.Action, r.Resource, r.Reason)
	// Output:
	// publish: true
	// deny publish orders.eu.created CHARTER_E_DENIED
}
