// The Go service of the cross-process bridge demo (examples/bridge/run.sh):
// "billing", on a bus of its own, carried onto NATS by a sealed and
// verifying bridge. It answers billing.quote requests, publishes an invoice
// for every order it receives, and asks orders.lookup of the Python
// service; its bridge's refusals go to its own audit log.
//
// Usage: go_service NATS_URL DIR   (DIR holds root.pub, go.key, go.token)
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"charter.dev/charter"
)

func main() {
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "go service:", err)
		os.Exit(1)
	}
}

func run(url, dir string) error {
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		return strings.TrimSpace(string(b)), err
	}
	rootText, err := read("root.pub")
	if err != nil {
		return err
	}
	root, err := charter.ParsePublicKey(rootText)
	if err != nil {
		return err
	}
	text, err := read("go.token")
	if err != nil {
		return err
	}
	token, err := charter.ParseToken(text)
	if err != nil {
		return err
	}
	key, err := charter.ReadKeyFile(filepath.Join(dir, "go.key"), false)
	if err != nil {
		return err
	}
	auth, err := charter.NewAuthority([]charter.PublicKey{root})
	if err != nil {
		return err
	}
	signer, err := charter.GenerateKey()
	if err != nil {
		return err
	}
	log, err := charter.OpenAudit(filepath.Join(dir, "go-audit.log"), charter.WithSigner(signer), charter.WithOrigin("demo.local/go"))
	if err != nil {
		return err
	}
	defer log.Close()
	vkey, err := log.VerifierKey()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go-audit.vkey"), []byte(vkey+"\n"), 0o644); err != nil {
		return err
	}

	bus, err := charter.NewBus()
	if err != nil {
		return err
	}
	defer bus.Close()
	orders, err := bus.Subscribe("orders.created")
	if err != nil {
		return err
	}
	quotes, err := bus.SubscribeFunc("billing.quote", func(m *charter.Message) error {
		who, _ := m.Header("Charter-Principal")
		fmt.Printf("   go:     quote request %q from %s... (proven)\n", m.Payload, who[:24])
		_, err := bus.Respond(m, []byte("quote: 42 EUR"))
		return err
	})
	if err != nil {
		return err
	}
	defer quotes.Close()
	bridge, err := charter.StartBridge(bus, charter.BridgeOptions{
		Servers:   []string{url},
		Exports:   []string{"billing.invoice", "orders.lookup"},
		Imports:   []charter.BridgeImport{{Pattern: "orders.created"}, {Pattern: "billing.quote"}},
		Token:     token,
		Key:       key,
		Authority: auth,
		Recorder:  &charter.Recorder{Log: log, Scope: charter.RecordAll},
	})
	if err != nil {
		return err
	}
	defer bridge.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := bridge.Flush(ctx); err != nil {
		return err
	}
	fmt.Println("ready")

	m, err := orders.Recv(ctx)
	if err != nil {
		return err
	}
	who, _ := m.Header("Charter-Principal")
	fmt.Printf("   go:     received %s %q from %s... (proven)\n", m.Topic, m.Payload, who[:24])
	if _, err := bus.Publish("billing.invoice", []byte("invoice for "+string(m.Payload))); err != nil {
		return err
	}
	reply, err := bus.Request(ctx, "orders.lookup", []byte("order 17"))
	if err != nil {
		return err
	}
	signer2, _ := reply.Header("Charter-Principal")
	fmt.Printf("   go:     signed reply %q from %s... (verified)\n", reply.Payload, signer2[:24])
	// Waits for the orchestrator to say the demo is over.
	buf := make([]byte, 1)
	_, _ = os.Stdin.Read(buf)
	stats, err := bridge.Stats()
	if err != nil {
		return err
	}
	fmt.Printf("   go:     bridge exported %d, imported %d, refused %d\n", stats.Exported, stats.Imported, total(stats.Refused))
	if _, err := log.Checkpoint(); err != nil {
		return err
	}
	return nil
}

func total(refused map[string]uint64) uint64 {
	var n uint64
	for _, c := range refused {
		n += c
	}
	return n
}
