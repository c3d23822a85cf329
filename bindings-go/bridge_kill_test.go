package charter_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"charter.dev/charter"
)

// docs/bridge.md's exactly-once promise for a durable import, across
// processes: the importing process (TestBridgeDurableImporter, this test
// binary run again) commits each message with its position, is SIGKILLed
// mid-stream twice and restarted from what it committed; in the end every
// message was handled exactly once.

const importerEnv = "CHARTER_DURABLE_IMPORTER"

// handledLine is one line of the importer's store.
type handledLine struct{ payload, seq, floor uint64 }

// readStore is the store's complete lines (a line torn by a kill is not).
func readStore(t *testing.T, store string) []handledLine {
	t.Helper()
	data, err := os.ReadFile(store)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var lines []handledLine
	for _, line := range strings.Split(string(data[:bytes.LastIndexByte(data, '\n')+1]), "\n") {
		if line == "" {
			continue
		}
		var h handledLine
		if _, err := fmt.Sscanf(line, "%d %d %d", &h.payload, &h.seq, &h.floor); err != nil {
			t.Fatalf("store line %q: %v", line, err)
		}
		lines = append(lines, h)
	}
	return lines
}

// importer is a running TestBridgeDurableImporter process.
type importer struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

func startImporter(t *testing.T, url, store string) *importer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBridgeDurableImporter$", "-test.count=1")
	cmd.Env = append(os.Environ(), importerEnv+"="+url+"\n"+store)
	im := &importer{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = im.stderr, im.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(im.kill)
	return im
}

func (im *importer) kill() {
	if im.cmd.ProcessState == nil {
		_ = im.cmd.Process.Kill() // SIGKILL
		_ = im.cmd.Wait()
	}
}

// until waits for ok, on the store the importer writes.
func (im *importer) until(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			im.kill()
			t.Fatalf("the importer handled nothing more:\n%s", im.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBridgeKilledImporterRestartedFromItsPositionHandlesEachMessageOnce(t *testing.T) {
	if os.Getenv(importerEnv) != "" {
		t.Skip("running as the importer")
	}
	if raceEnabled {
		t.Skip("processes, not memory: run once, without the race detector")
	}
	const messages = 300
	url := natsServer(t, "-js", "-sd", t.TempDir())
	store := filepath.Join(t.TempDir(), "handled")
	bus := newBus(t)
	exporter := startBridge(t, bus, charter.BridgeOptions{Servers: []string{url}, Exports: []string{"kill.>"}})
	publish := func(i int) {
		// Its own message id: the stream stores a resend once.
		id := charter.Header{Name: "Nats-Msg-Id", Value: fmt.Sprintf("order-%d", i)}
		if _, err := bus.Publish("kill.order", []byte(strconv.Itoa(i)), id); err != nil {
			t.Fatal(err)
		}
	}
	run := startImporter(t, url, store)
	// The importer creates the stream when it binds: message 0 is sent
	// again until it comes through, then the others once.
	deadline := time.Now().Add(10 * time.Second)
	for len(readStore(t, store)) == 0 {
		if time.Now().After(deadline) {
			run.kill()
			t.Fatalf("the stream never bound:\n%s", run.stderr)
		}
		publish(0)
		time.Sleep(50 * time.Millisecond)
	}
	for i := 1; i < messages; i++ {
		publish(i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exporter.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, killAt := range []int{messages / 4, messages / 2} {
		run.until(t, func() bool { return len(readStore(t, store)) >= killAt })
		run.kill()
		if n := len(readStore(t, store)); n >= messages {
			t.Fatalf("not killed mid-stream: %d handled", n)
		}
		run = startImporter(t, url, store)
	}
	run.until(t, func() bool {
		seen := map[uint64]bool{}
		for _, h := range readStore(t, store) {
			seen[h.payload] = true
		}
		return len(seen) == messages
	})
	// A redelivery of what a killed run took and did not acknowledge comes
	// after the ack wait (1 s): give one time to show up.
	time.Sleep(1500 * time.Millisecond)
	run.kill()

	handled := readStore(t, store)
	payloads := make([]int, 0, len(handled))
	for _, h := range handled {
		payloads = append(payloads, int(h.payload))
		if h.floor >= h.seq {
			t.Errorf("%d at %d carries floor %d", h.payload, h.seq, h.floor)
		}
	}
	sort.Ints(payloads)
	if len(payloads) != messages {
		t.Fatalf("%d lines for %d messages", len(payloads), messages)
	}
	for i, p := range payloads {
		if p != i {
			t.Fatalf("nothing lost, nothing twice: %v", payloads)
		}
	}
}

// TestBridgeDurableImporter is the importing process of the test above,
// run until it is killed. It is an application that wants each message
// exactly once (docs/bridge.md, "Durable import"): an inline callback,
// which runs before the bridge acknowledges the message, appends one line
// per message to its store, "<payload> <Charter-Stream-Seq>
// <Charter-Stream-Floor>": its result and its position in one write. On
// start it reads its position back from the store (the largest floor, and
// the sequences handled above it) and hands it to the durable import,
// which then never delivers those again.
func TestBridgeDurableImporter(t *testing.T) {
	env := os.Getenv(importerEnv)
	if env == "" {
		t.Skip("only run by TestBridgeKilledImporterRestartedFromItsPositionHandlesEachMessageOnce")
	}
	url, store, _ := strings.Cut(env, "\n")
	durable := charter.BridgeDurableImport{Pattern: "kill.>", Stream: "KILL", Durable: "go-importer",
		AckWait: time.Second, MaxAckPending: 32}
	durable.HandledThrough, durable.Handled = recoverPosition(t, store)
	f, err := os.OpenFile(store, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	bus := newBus(t)
	if _, err := bus.SubscribeFunc("kill.>", func(m *charter.Message) error {
		seq, _ := m.Header("Charter-Stream-Seq")
		floor, _ := m.Header("Charter-Stream-Floor")
		if _, err := fmt.Fprintf(f, "%s %s %s\n", m.Payload, seq, floor); err != nil {
			return err
		}
		// Slow enough that the kill lands mid-stream, and most likely
		// between this commit and the acknowledgement.
		time.Sleep(2 * time.Millisecond)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := charter.StartBridge(bus, charter.BridgeOptions{Servers: []string{url},
		DurableImports: []charter.BridgeDurableImport{durable}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Hour)
}

// recoverPosition is the position committed in store; a line torn by a
// kill is cut off.
func recoverPosition(t *testing.T, store string) (through uint64, handled []uint64) {
	t.Helper()
	lines := readStore(t, store)
	size := 0
	if data, err := os.ReadFile(store); err == nil {
		size = bytes.LastIndexByte(data, '\n') + 1
	}
	if err := os.Truncate(store, int64(size)); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, h := range lines {
		through = max(through, h.floor)
	}
	for _, h := range lines {
		if h.seq > through {
			handled = append(handled, h.seq)
		}
	}
	return through, handled
}
