package charter_test

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"

	"charter.dev/charter"
)

// TestBridgeWithAPythonPeer runs the same exchange between this Go process
// and a Python process through one nats-server: a Go request answered in
// Python, and a Python publish received in Go. It needs the Python binding
// installed for $PYTHON (default python3), and is skipped without it.
func TestBridgeWithAPythonPeer(t *testing.T) {
	url := natsServer(t)
	python := os.Getenv("PYTHON")
	if python == "" {
		python = "python3"
	}
	if err := exec.Command(python, "-c", "import charter; charter.Bridge").Run(); err != nil {
		t.Skipf("the Python binding is not installed for %s (make python installs it)", python)
	}
	peer := exec.Command(python, "testdata/bridge_peer.py", url)
	stdin, err := peer.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := peer.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	peer.Stderr = os.Stderr
	if err := peer.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = peer.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("the Python peer did not start: %q %v", line, err)
	}

	bus := newBus(t)
	hello, err := bus.Subscribe("xl.hello")
	if err != nil {
		t.Fatal(err)
	}
	startBridge(t, bus, charter.BridgeOptions{
		Servers: []string{url},
		Exports: []string{"xl.ping", "xl.start"},
		Imports: []charter.BridgeImport{{Pattern: "xl.hello"}},
	})
	if reply := request(t, bus, "xl.ping", "from go"); string(reply.Payload) != "FROM GO" {
		t.Errorf("Python answered %q", reply.Payload)
	}
	request(t, bus, "xl.start", "go")
	m := recvWithin(t, hello)
	if lang, _ := m.Header("lang"); string(m.Payload) != "from python" || lang != "python" {
		t.Errorf("received %q (lang %q)", m.Payload, lang)
	}
}
