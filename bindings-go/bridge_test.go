package charter_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"charter.dev/charter"
)

// natsServer starts a nats-server on a free loopback port for the test and
// returns its URL; the test is skipped when none is installed
// (scripts/install-deps.sh installs it).
func natsServer(t *testing.T, options ...string) string {
	t.Helper()
	binary, err := exec.LookPath("nats-server")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nats-server", "/usr/local/bin/nats-server"} {
			if _, e := os.Stat(p); e == nil {
				binary, err = p, nil
				break
			}
		}
	}
	if err != nil {
		t.Skip("nats-server is not installed (scripts/install-deps.sh installs it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(binary, append([]string{"-a", "127.0.0.1", "-p", fmt.Sprint(port)}, options...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan struct{})
	go func() {
		lines := bufio.NewScanner(stderr)
		signalled := false
		for lines.Scan() {
			if !signalled && strings.Contains(lines.Text(), "Server is ready") {
				close(ready)
				signalled = true
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("nats-server did not become ready")
	}
	return fmt.Sprintf("nats://127.0.0.1:%d", port)
}

func startBridge(t *testing.T, bus *charter.Bus, opts charter.BridgeOptions) *charter.Bridge {
	t.Helper()
	b, err := charter.StartBridge(bus, opts)
	if err != nil {
		t.Fatalf("StartBridge: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	return b
}

// awaitStats reads b's counters until ok holds: the bridge counts on its
// own threads, just after handing a message on.
func awaitStats(t *testing.T, b *charter.Bridge, ok func(charter.BridgeStats) bool) charter.BridgeStats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := b.Stats()
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		if ok(s) || time.Now().After(deadline) {
			if !ok(s) {
				t.Fatalf("the bridge's counters never matched: %+v", s)
			}
			return s
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBridgeOptionsAreChecked(t *testing.T) {
	bus := newBus(t)
	if _, err := charter.StartBridge(bus, charter.BridgeOptions{}); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Errorf("no servers: %v", err)
	}
	if _, err := charter.StartBridge(nil, charter.BridgeOptions{}); !errors.Is(err, charter.ErrNullArgument) {
		t.Errorf("nil bus: %v", err)
	}
	opts := charter.BridgeOptions{Servers: []string{"nats://127.0.0.1:1"}, Exports: []string{"a..b"}}
	if _, err := charter.StartBridge(bus, opts); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Errorf("bad pattern: %v", err)
	}
	opts.Exports = []string{"a.>\x00b"}
	if _, err := charter.StartBridge(bus, opts); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Errorf("NUL in a pattern: %v", err)
	}
	opts.Exports = nil
	opts.ImportCapacity = -1
	if _, err := charter.StartBridge(bus, opts); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Errorf("negative capacity: %v", err)
	}
	key, err := charter.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := charter.Mint(key, key.PublicKey(), []string{"publish a"}, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	opts = charter.BridgeOptions{Servers: []string{"nats://127.0.0.1:1"}, Token: tok, Key: key, BareExports: true}
	if _, err := charter.StartBridge(bus, opts); !errors.Is(err, charter.ErrInvalidArgument) ||
		!strings.Contains(err.Error(), "bare exports carry no seal") {
		t.Errorf("bare exports with credentials: %v", err)
	}
	var nilBridge *charter.Bridge
	if err := nilBridge.Close(); err != nil {
		t.Errorf("nil Close: %v", err)
	}
}

func TestBridgeCarriesMessagesAndRequests(t *testing.T) {
	url := natsServer(t)
	a, b := newBus(t), newBus(t)
	ba := startBridge(t, a, charter.BridgeOptions{Servers: []string{url}, Exports: []string{"orders.>", "svc.>"}})
	bb := startBridge(t, b, charter.BridgeOptions{
		Servers: []string{url},
		Imports: []charter.BridgeImport{{Pattern: "orders.>", QueueGroup: "workers"}, {Pattern: "svc.>"}},
	})
	sub, err := b.Subscribe("orders.>")
	if err != nil {
		t.Fatal(err)
	}
	subscribeFunc(t, b, "svc.upper", func(m *charter.Message) error {
		_, err := b.Respond(m, []byte(strings.ToUpper(string(m.Payload))))
		return err
	})
	if _, err := a.Publish("orders.eu", []byte("hello"), charter.Header{Name: "kind", Value: "created"}); err != nil {
		t.Fatal(err)
	}
	m := recvWithin(t, sub, 10*time.Second)
	origin, err := ba.Origin()
	if err != nil || len(origin) != 32 {
		t.Fatalf("Origin: %q %v", origin, err)
	}
	if got, _ := m.Header("Charter-Origin"); string(m.Payload) != "hello" || got != origin {
		t.Errorf("received %q from %q", m.Payload, got)
	}
	if kind, _ := m.Header("kind"); kind != "created" {
		t.Errorf("kind header: %q", kind)
	}
	reply := request(t, a, "svc.upper", "ping")
	if string(reply.Payload) != "PING" {
		t.Errorf("reply %q", reply.Payload)
	}
	awaitStats(t, ba, func(s charter.BridgeStats) bool { return s.Exported == 1 && s.RequestsOut == 1 })
	awaitStats(t, bb, func(s charter.BridgeStats) bool { return s.Imported == 1 && s.RequestsIn == 1 })
	if ok, err := ba.Connected(); !ok || err != nil {
		t.Errorf("Connected: %v %v", ok, err)
	}
	if err := ba.Flush(context.Background()); err != nil {
		t.Errorf("Flush without a deadline (the bridge's default): %v", err)
	}
	closeTwice(t, bb)
	if _, err := bb.Stats(); !errors.Is(err, charter.ErrClosed) {
		t.Errorf("Stats after Close: %v", err)
	}
}

// A bare export sends no header of its own: the importing bridge takes its
// publish for a plain NATS client's.
func TestBridgeBareExportIsImportedAsAPlainClients(t *testing.T) {
	url := natsServer(t)
	a, b := newBus(t), newBus(t)
	startBridge(t, b, charter.BridgeOptions{Servers: []string{url}, Imports: []charter.BridgeImport{{Pattern: "bare.>"}}})
	startBridge(t, a, charter.BridgeOptions{Servers: []string{url}, Exports: []string{"bare.>"}, BareExports: true})
	sub, err := b.Subscribe("bare.>")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Publish("bare.one", []byte("1")); err != nil {
		t.Fatal(err)
	}
	m := recvWithin(t, sub, 10*time.Second)
	if origin, _ := m.Header("Charter-Origin"); m.Topic != "bare.one" || origin != "nats" {
		t.Errorf("received %q with origin %q", m.Topic, origin)
	}
}

// A request carried across a bridge that nothing answers, on NATS
// (void.x) or on the far bus (svc.nobody), fails at once, long before its
// context's deadline, with the core's ErrNotFound and the bridge's words:
// the bridge fails the reply inbox, and the core keeps that error
// reachable by the inbox's id, which is how Request waits on it.
func TestBridgeRequestNothingAnswersIsNotFound(t *testing.T) {
	url := natsServer(t)
	a, b := newBus(t), newBus(t)
	ba := startBridge(t, a, charter.BridgeOptions{Servers: []string{url}, Exports: []string{"void.>", "svc.>"}})
	startBridge(t, b, charter.BridgeOptions{Servers: []string{url}, Imports: []charter.BridgeImport{{Pattern: "svc.>"}}})
	const timeout = 10 * time.Second
	for _, topic := range []string{"void.x", "svc.nobody"} {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		began := time.Now()
		_, err := a.Request(ctx, topic, []byte("?"))
		took := time.Since(began)
		cancel()
		if took >= timeout/2 {
			t.Errorf("%s: settled after %v", topic, took)
		}
		var e *charter.Error
		if !errors.As(err, &e) || !errors.Is(err, charter.ErrNotFound) || e.Message != "no responder on NATS for the request" {
			t.Fatalf("%s: %v; want ErrNotFound with the bridge's words", topic, err)
		}
	}
	awaitStats(t, ba, func(s charter.BridgeStats) bool { return s.RequestsOut == 1 && s.NoResponders == 1 })
}

// A handler a bridge runs inline is on the bridge's own thread: starting
// or flushing a bridge there would block it, and the bridge crate refuses
// both with ErrWouldBlock and its own words.
func TestBridgeStartAndFlushOnTheBridgesThreadAreWouldBlock(t *testing.T) {
	url := natsServer(t)
	a, b := newBus(t), newBus(t)
	importer := startBridge(t, b, charter.BridgeOptions{Servers: []string{url}, Imports: []charter.BridgeImport{{Pattern: "stop.>"}}})
	refused := make(chan [2]error, 1)
	subscribeFunc(t, b, "stop.>", func(*charter.Message) error {
		started, err := charter.StartBridge(b, charter.BridgeOptions{Servers: []string{url}})
		if err == nil {
			_ = started.Close()
		}
		refused <- [2]error{err, importer.Flush(context.Background())}
		return nil
	})
	startBridge(t, a, charter.BridgeOptions{Servers: []string{url}, Exports: []string{"stop.>"}})
	if _, err := a.Publish("stop.now", []byte("stop")); err != nil {
		t.Fatal(err)
	}
	var errs [2]error
	select {
	case errs = <-refused:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never ran")
	}
	for i, action := range []string{"started", "flushed"} {
		want := "a bridge cannot be " + action + " inside an async runtime (a handler a bridge runs is in one): " +
			"it would block the runtime's thread; call it from a plain thread"
		var e *charter.Error
		if !errors.Is(errs[i], charter.ErrWouldBlock) || !errors.As(errs[i], &e) || e.Message != want {
			t.Errorf("%s: %v", action, errs[i])
		}
	}
}

func TestBridgeRefusesAndAuditsUnsignedMessages(t *testing.T) {
	url := natsServer(t)
	root, err := charter.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	holder, err := charter.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	rootPK := root.PublicKey()
	holderPK := holder.PublicKey()
	tok, err := charter.Mint(root, holderPK, []string{"publish alerts.>"}, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := charter.NewAuthority([]charter.PublicKey{rootPK})
	if err != nil {
		t.Fatal(err)
	}
	log, err := charter.OpenAudit(filepath.Join(t.TempDir(), "refusals.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()

	sealedBus, plainBus, receiver := newBus(t), newBus(t), newBus(t)
	startBridge(t, sealedBus, charter.BridgeOptions{Servers: []string{url}, Exports: []string{"alerts.>"}, Token: tok, Key: holder})
	startBridge(t, plainBus, charter.BridgeOptions{Servers: []string{url}, Exports: []string{"alerts.>"}})
	verifier := startBridge(t, receiver, charter.BridgeOptions{
		Servers:   []string{url},
		Imports:   []charter.BridgeImport{{Pattern: "alerts.>"}},
		Authority: auth,
		Recorder:  &charter.Recorder{Log: log, Scope: charter.RecordDenials},
	})
	sub, err := receiver.Subscribe("alerts.>")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sealedBus.Publish("alerts.fire", []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	m := recvWithin(t, sub, 10*time.Second)
	principal, _ := m.Header("Charter-Principal")
	if string(m.Payload) != "sealed" || principal == "" {
		t.Errorf("received %q from principal %q", m.Payload, principal)
	}
	if _, err := plainBus.Publish("alerts.fire", []byte("forged")); err != nil {
		t.Fatal(err)
	}
	s := awaitStats(t, verifier, func(s charter.BridgeStats) bool { return s.Refused["unsigned"] == 1 })
	if s.Imported != 1 {
		t.Errorf("imported %d", s.Imported)
	}
	if n := log.Len(); n != 1 {
		t.Errorf("audit records: %d", n)
	}
}

// Everything through stream sequence 2, and 4, was handled before: the
// bridge acknowledges those and never delivers them. It creates the stream
// when it binds, so the exporter publishes until sequence 5 is in.
func TestBridgeDurableImportSkipsWhatTheCommittedPositionCovers(t *testing.T) {
	url := natsServer(t, "-js", "-sd", t.TempDir())
	a, b := newBus(t), newBus(t)
	jobs, err := b.Subscribe("jobs.>")
	if err != nil {
		t.Fatal(err)
	}
	durable := charter.BridgeDurableImport{Pattern: "jobs.>", Stream: "JOBS", Durable: "go-importer"}
	tooMany := durable
	tooMany.Handled = make([]uint64, 1<<20+1)
	_, err = charter.StartBridge(b, charter.BridgeOptions{Servers: []string{url}, DurableImports: []charter.BridgeDurableImport{tooMany}})
	if !errors.Is(err, charter.ErrLimitExceeded) {
		t.Fatalf("too many handled: %v", err)
	}
	tooMany = durable
	tooMany.Sealed = make([]uint64, 1<<20+1)
	_, err = charter.StartBridge(b, charter.BridgeOptions{Servers: []string{url}, DurableImports: []charter.BridgeDurableImport{tooMany}})
	if !errors.Is(err, charter.ErrLimitExceeded) {
		t.Fatalf("too many sealed: %v", err)
	}
	durable.HandledThrough, durable.Handled = 2, []uint64{4}
	durable.SealedThrough, durable.Sealed = 9, []uint64{1<<64 - 1}
	importer := startBridge(t, b, charter.BridgeOptions{Servers: []string{url}, DurableImports: []charter.BridgeDurableImport{durable}})
	startBridge(t, a, charter.BridgeOptions{Servers: []string{url}, Exports: []string{"jobs.>"}})
	seen := map[uint64]uint64{}
	deadline := time.Now().Add(10 * time.Second)
	for seen[5] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("only %v delivered", seen)
		}
		if _, err := a.Publish("jobs.one", []byte("x")); err != nil {
			t.Fatal(err)
		}
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			m, err := jobs.Recv(ctx)
			cancel()
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, charter.ErrTimeout) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			seqText, _ := m.Header("Charter-Stream-Seq")
			floorText, _ := m.Header("Charter-Stream-Floor")
			seq, _ := strconv.ParseUint(seqText, 10, 64)
			floor, err := strconv.ParseUint(floorText, 10, 64)
			if err != nil {
				t.Fatalf("floor %q: %v", floorText, err)
			}
			if _, twice := seen[seq]; twice {
				t.Fatalf("%d delivered twice", seq)
			}
			if floor < 2 || floor >= seq {
				t.Fatalf("%d at floor %d", seq, floor)
			}
			seen[seq] = floor + 1
		}
	}
	for _, skipped := range []uint64{1, 2, 4} {
		if _, ok := seen[skipped]; ok {
			t.Fatalf("%d was handled before, and delivered: %v", skipped, seen)
		}
	}
	if _, ok := seen[3]; !ok {
		t.Fatalf("3 never delivered: %v", seen)
	}
	awaitStats(t, importer, func(s charter.BridgeStats) bool { return s.DuplicateSuppressed == 3 })
}
