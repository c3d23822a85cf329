// Command demo is Charter's end-to-end scenario (the one `make demo` runs in
// C) in Go: an operator grants the billing service the right to publish
// order events, billing hands a narrower right to a worker, an enforcing
// bus checks every call against sessions opened with proof of possession,
// the operator revokes the worker, and every decision lands in a signed
// audit log that an auditor then verifies from the files alone.
//
//	go run ./examples/demo [DIR]
//
// It writes DIR/audit.log, its checkpoint DIR/audit.log.checkpoint and the
// verifier key DIR/audit.vkey; without DIR it uses a temporary directory
// and removes it afterwards.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"charter.dev/charter"
)

const origin = "demo.charter.local/audit"

func main() {
	if err := demo(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func demo(args []string) error {
	switch len(args) {
	case 0:
		dir, err := os.MkdirTemp("", "charter-demo")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		_, err = run(os.Stdout, dir)
		return err
	case 1:
		_, err := run(os.Stdout, args[0])
		return err
	default:
		return errors.New("usage: demo [DIR]")
	}
}

// Summary is what the auditor found in the log.
type Summary struct {
	Records, Allowed, Denied int
}

// party is a principal of the scenario: its key, its token and, once it
// has proven the key, its view of the bus.
type party struct {
	name      string
	key       *charter.KeyPair
	publicKey charter.PublicKey
	principal string
	token     *charter.Token
	client    *charter.Client
}

func newParty(name string) (*party, error) {
	key, err := charter.GenerateKey()
	if err != nil {
		return nil, err
	}
	return &party{name: name, key: key, publicKey: key.PublicKey(), principal: key.Principal()}, nil
}

// close releases what p holds; the operator holds no token, and a party
// may have no session.
func (p *party) close() {
	if p.client != nil {
		p.client.Session().Close()
	}
	if p.token != nil {
		p.token.Close()
	}
	p.key.Close()
}

// scenario carries the output and reports each authorization outcome.
type scenario struct {
	w io.Writer
}

func (s scenario) printf(format string, args ...any) {
	fmt.Fprintf(s.w, format, args...)
}

// verdict prints one outcome. A refusal is an expected result here, so it
// is shown with its status and message rather than returned; only an
// error that is not an authorization verdict stops the demo.
func (s scenario) verdict(who, action, resource string, err error) error {
	if err == nil {
		s.printf("   allowed  %-8s %-10s %s\n", who, action, resource)
		return nil
	}
	var e *charter.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case charter.StatusDenied, charter.StatusRevoked, charter.StatusExpired:
	default:
		return err
	}
	s.printf("   denied   %-8s %-10s %s\n", who, action, resource)
	s.printf("            %s: %s\n", e.Code, e.Message)
	return nil
}

func (s scenario) publish(p *party, topic, order string) error {
	_, err := p.client.Publish(topic, []byte(order))
	return s.verdict(p.name, "publish", topic, err)
}

// openSession proves possession: the holder signs a fresh challenge from
// the authority with its key, so a token copied off the wire opens nothing.
func (s scenario) openSession(auth *charter.Authority, bus *charter.Bus, p *party) error {
	challenge, err := auth.Challenge()
	if err != nil {
		return err
	}
	proof, err := p.token.Prove(p.key, challenge)
	if err != nil {
		return err
	}
	session, err := auth.OpenSession(p.token, challenge, proof)
	if err == nil {
		p.client = bus.Client(session)
	}
	return s.verdict(p.name, "open", "session (key proven)", err)
}

// run plays the scenario into dir, then audits the files it left there.
func run(w io.Writer, dir string) (Summary, error) {
	s := scenario{w}
	logPath := filepath.Join(dir, "audit.log")
	vkeyPath := filepath.Join(dir, "audit.vkey")
	if err := play(s, logPath, vkeyPath); err != nil {
		return Summary{}, err
	}
	return audit(s, logPath, vkeyPath)
}

func play(s scenario, logPath, vkeyPath string) error {
	s.printf("Charter end-to-end demo (Go)\n\n")

	s.printf("1. The operator creates a root key and opens the audit log\n")
	operator, err := newParty("operator")
	if err != nil {
		return err
	}
	defer operator.close()
	s.printf("   root     %s\n", operator.publicKey)

	// The log signs its checkpoints with a key of its own: auditors then
	// trust the log's key without being able to mint tokens.
	logKey, err := charter.GenerateKey()
	if err != nil {
		return err
	}
	defer logKey.Close()
	// A fresh log: one that exists was signed with another run's key, and
	// the log refuses to mix histories (a new key is a new history).
	if _, err := os.Stat(logPath); err == nil {
		return fmt.Errorf("%s already exists; give an empty directory", logPath)
	}
	log, err := charter.OpenAudit(logPath, charter.WithSigner(logKey), charter.WithOrigin(origin))
	if err != nil {
		return err
	}
	defer log.Close()
	// RecordAll: allowed calls are evidence too, not only refusals. The
	// authority records session openings, the bus every publish and
	// subscribe.
	recorder := charter.Recorder{Log: log, Scope: charter.RecordAll}
	auth, err := charter.NewAuthority([]charter.PublicKey{operator.publicKey}, charter.WithAuditRecorder(recorder))
	if err != nil {
		return err
	}
	defer auth.Close()
	bus, err := charter.NewBusWithRecorder(auth, recorder)
	if err != nil {
		return err
	}
	defer bus.Close()
	s.printf("   log      %s: the authority's and the bus's every decision\n", logPath)

	now := time.Now()
	s.printf("\n2. The operator issues billing a token for one hour\n")
	billing, err := newParty("billing")
	if err != nil {
		return err
	}
	defer billing.close()
	billingGrants := []string{"publish orders.*.created", "subscribe payments.>"}
	if billing.token, err = charter.Mint(operator.key, billing.publicKey, billingGrants, now, now.Add(time.Hour)); err != nil {
		return err
	}
	s.printf("   billing  %s\n", billing.principal)
	s.printf("   grants   %s\n", strings.Join(billingGrants, ", "))

	s.printf("\n3. billing delegates a narrower token to a worker for 15 minutes\n")
	worker, err := newParty("worker")
	if err != nil {
		return err
	}
	defer worker.close()
	workerGrants := []string{"publish orders.eu.created"}
	if worker.token, err = billing.token.Delegate(billing.key, worker.publicKey, workerGrants, now, now.Add(15*time.Minute)); err != nil {
		return err
	}
	s.printf("   worker   %s\n", worker.principal)
	s.printf("   grants   %s (a delegation can only narrow)\n", strings.Join(workerGrants, ", "))

	s.printf("\n4. Both prove their keys, open sessions and use the enforcing bus\n")
	if err := s.openSession(auth, bus, billing); err != nil {
		return err
	}
	if err := s.openSession(auth, bus, worker); err != nil {
		return err
	}
	if billing.client == nil || worker.client == nil {
		return errors.New("a session was refused")
	}
	for _, p := range []*party{billing, worker} {
		sub, err := p.client.Subscribe("payments.>")
		if err == nil {
			defer sub.Close()
		}
		if err := s.verdict(p.name, "subscribe", "payments.>", err); err != nil {
			return err
		}
	}
	attempts := []struct {
		by           *party
		topic, order string
	}{
		{billing, "orders.eu.created", "order 1001"},
		{billing, "orders.us.created", "order 1002"},
		{billing, "orders.eu.deleted", "order 1001"},
		{billing, "payments.eu.settled", "order 1001"},
		{worker, "orders.eu.created", "order 1003"},
		{worker, "orders.us.created", "order 1004"},
	}
	for _, a := range attempts {
		if err := s.publish(a.by, a.topic, a.order); err != nil {
			return err
		}
	}

	// Link 0 is the operator's grant to billing, link 1 billing's grant to
	// the worker: revoking link 1 cuts off the worker and no one else.
	s.printf("\n5. The operator revokes the worker's delegation\n")
	link, err := worker.token.LinkID(1)
	if err != nil {
		return err
	}
	if _, err := auth.Revoke(link); err != nil {
		return err
	}
	// The revocation is the operator's act, not a bus or authority
	// decision, so it is appended to the log by hand.
	if _, err := log.Append(charter.Record{Actor: operator.principal, Action: "revoke", Resource: link,
		Decision: charter.DecisionAllow, Detail: "the worker's delegation"}); err != nil {
		return err
	}
	s.printf("   revoked  link %.16s...\n", link)
	s.printf("   worker's session active: %s\n", yesNo(worker.client.Session().Active()))
	if err := s.publish(worker, "orders.eu.created", "order 1005"); err != nil {
		return err
	}
	if err := s.openSession(auth, bus, worker); err != nil {
		return err
	}
	s.printf("   billing's own token is untouched:\n")
	if err := s.publish(billing, "orders.eu.created", "order 1006"); err != nil {
		return err
	}

	s.printf("\n6. The log signs a checkpoint; auditors get it and the verifier key\n")
	if _, err := log.Checkpoint(); err != nil {
		return err
	}
	vkey, err := log.VerifierKey()
	if err != nil {
		return err
	}
	if err := os.WriteFile(vkeyPath, []byte(vkey+"\n"), 0o644); err != nil {
		return err
	}
	s.printf("   checkpoint    %s.checkpoint\n", logPath)
	s.printf("   verifier key  %s\n", vkeyPath)
	return nil
}

// audit is the auditor's side: it trusts only the verifier key and reads
// the log and its checkpoint from the files, once the writer has let go.
func audit(s scenario, logPath, vkeyPath string) (Summary, error) {
	s.printf("\n7. An auditor checks the files\n")
	vkey, err := os.ReadFile(vkeyPath)
	if err != nil {
		return Summary{}, err
	}
	note, err := os.ReadFile(logPath + ".checkpoint")
	if err != nil {
		return Summary{}, err
	}
	cp, err := charter.VerifyCheckpoint(string(note), strings.TrimSpace(string(vkey)))
	if err != nil {
		return Summary{}, fmt.Errorf("checkpoint: %w", err)
	}
	if cp.Origin != origin {
		return Summary{}, fmt.Errorf("checkpoint of %q, expected %q", cp.Origin, origin)
	}
	s.printf("   checkpoint  signature valid, size %d of %s\n", cp.Size, cp.Origin)

	log, err := charter.OpenAudit(logPath)
	if err != nil {
		return Summary{}, err
	}
	defer log.Close()
	report, err := log.Verify()
	if err != nil {
		return Summary{}, err
	}
	if !report.OK() {
		return Summary{}, fmt.Errorf("%s: %s", logPath, report.Problem)
	}
	root, err := log.RootAt(cp.Size)
	if err != nil {
		return Summary{}, err
	}
	if root != cp.Root {
		return Summary{}, fmt.Errorf("%s: the first %d records do not match the checkpoint", logPath, cp.Size)
	}
	s.printf("   log         %d records intact, the first %d match the checkpoint\n", report.Records, cp.Size)

	sum := Summary{Records: int(report.Records)}
	for r, err := range log.Records(context.Background(), charter.AuditQuery{}) {
		if err != nil {
			return Summary{}, err
		}
		switch r.Decision {
		case charter.DecisionAllow:
			sum.Allowed++
		case charter.DecisionDeny:
			sum.Denied++
		}
	}
	s.printf("\nSummary: %d records (%d allowed, %d denied), verified against the signed checkpoint.\n",
		sum.Records, sum.Allowed, sum.Denied)
	return sum, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
