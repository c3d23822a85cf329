package charter_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"charter.dev/charter"
)

// The cross-language bridge test: the same exchange between each pair of
// Go, Python, Node and C processes through one nats-server. Each process
// runs a small service of its own language (testdata/bridge_service/;
// service.c says what each does), on a bus of its own carried onto NATS
// by a sealed and verifying bridge: both sides publish an event the other
// receives, and both ask the other a request answered with a signed reply;
// each checks that what it got is the peer's, proven by its bridge, and
// that its bridge refused nothing. The Go service is this test binary,
// run again (TestBridgeLangService).
//
// A language whose runtime or build is missing is skipped with the reason:
// Python needs the binding installed for $PYTHON (default python3), Node
// the addon built (bindings-node/charter.node), C a compiler and
// pkg-config finding charter-static (scripts/test.sh sets
// PKG_CONFIG_PATH). `make go` runs with all four.

const serviceEnv = "CHARTER_BRIDGE_SERVICE"

// langService is one language's service: how to start it with args, or
// why it cannot run here.
type langService struct {
	name    string
	command func(args ...string) *exec.Cmd
	skip    string
}

func TestBridgeAcrossLanguages(t *testing.T) {
	if os.Getenv(serviceEnv) != "" {
		t.Skip("running as a service")
	}
	if raceEnabled {
		t.Skip("processes, not memory: run once, without the race detector")
	}
	url := natsServer(t)
	dir := t.TempDir()
	langs := []langService{goService(t), pythonService(), nodeService(), cService(t, dir)}
	mintServiceCredentials(t, dir, langs)
	pair := 0
	for i, a := range langs {
		for _, b := range langs[i+1:] {
			pair++
			prefix := fmt.Sprintf("xl%d", pair)
			t.Run(a.name+"-"+b.name, func(t *testing.T) {
				for _, l := range []langService{a, b} {
					if l.skip != "" {
						t.Skipf("%s: %s", l.name, l.skip)
					}
				}
				exchange(t, url, dir, prefix, a, b)
			})
		}
	}
}

// mintServiceCredentials writes root.pub, and for each language its
// token, key and principal. A service may publish only its own events,
// answer only its own requests, and request any service.
func mintServiceCredentials(t *testing.T, dir string, langs []langService) {
	t.Helper()
	root, err := charter.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	rootKey := root.PublicKey()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("root.pub", string(rootKey))
	now := time.Now()
	for _, l := range langs {
		key, err := charter.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		pub, principal := key.PublicKey(), key.Principal()
		grants := []string{"publish *." + l.name + ".event", "request *.*.svc", "subscribe *." + l.name + ".svc"}
		token, err := charter.Mint(root, pub, grants, now.Add(-time.Minute), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		write(l.name+".token", token.Text())
		write(l.name+".principal", principal)
		if err := key.WriteFile(filepath.Join(dir, l.name+".key"), true); err != nil {
			t.Fatal(err)
		}
	}
}

// running is a started service: its stdin, its stdout lines, its stderr.
type running struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *bytes.Buffer
}

func startService(t *testing.T, l langService, args ...string) *running {
	t.Helper()
	cmd := l.command(args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &running{name: l.name, cmd: cmd, stdin: stdin, lines: make(chan string, 16), stderr: &bytes.Buffer{}}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(r.lines)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			r.lines <- lines.Text()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return r
}

// expect waits for a line starting with want, and returns it.
func (r *running) expect(t *testing.T, ctx context.Context, want string) string {
	t.Helper()
	for {
		select {
		case line, ok := <-r.lines:
			if !ok {
				t.Fatalf("the %s service ended before %q: %s", r.name, want, r.stderr.String())
			}
			if strings.HasPrefix(line, want) {
				t.Logf("%s: %s", r.name, line)
				return line
			}
		case <-ctx.Done():
			t.Fatalf("the %s service did not say %q in time: %s", r.name, want, r.stderr.String())
		}
	}
}

func exchange(t *testing.T, url, dir, prefix string, a, b langService) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	services := []*running{
		startService(t, a, url, dir, prefix, a.name, b.name),
		startService(t, b, url, dir, prefix, b.name, a.name),
	}
	for _, s := range services {
		s.expect(t, ctx, "ready")
	}
	for _, s := range services {
		if _, err := io.WriteString(s.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range services {
		s.expect(t, ctx, "done")
	}
	for _, s := range services {
		_ = s.stdin.Close()
	}
	for _, s := range services {
		if line := s.expect(t, ctx, "refused "); line != "refused 0" {
			t.Errorf("the %s service's bridge %s", s.name, line)
		}
		if err := s.cmd.Wait(); err != nil {
			t.Errorf("the %s service: %v: %s", s.name, err, s.stderr.String())
		}
	}
}

func repoPath(parts ...string) string {
	return filepath.Join(append([]string{".."}, parts...)...)
}

func goService(t *testing.T) langService {
	self, err := os.Executable()
	if err != nil {
		return langService{name: "go", skip: err.Error()}
	}
	return langService{name: "go", command: func(args ...string) *exec.Cmd {
		cmd := exec.Command(self, "-test.run=^TestBridgeLangService$", "-test.count=1")
		cmd.Env = append(os.Environ(), serviceEnv+"="+strings.Join(args, "\n"))
		return cmd
	}}
}

func pythonService() langService {
	python := os.Getenv("PYTHON")
	if python == "" {
		python = "python3"
	}
	l := langService{name: "python", command: func(args ...string) *exec.Cmd {
		return exec.Command(python, append([]string{repoPath("bindings-go", "testdata", "bridge_service", "service.py")}, args...)...)
	}}
	if err := exec.Command(python, "-c", "import charter; charter.Bridge").Run(); err != nil {
		l.skip = "the Python binding is not installed for " + python + " (make python installs it)"
	}
	return l
}

func nodeService() langService {
	l := langService{name: "node", command: func(args ...string) *exec.Cmd {
		return exec.Command("node", append([]string{repoPath("bindings-go", "testdata", "bridge_service", "service.js")}, args...)...)
	}}
	if _, err := exec.LookPath("node"); err != nil {
		l.skip = "node is not installed"
	} else if _, err := os.Stat(repoPath("bindings-node", "charter.node")); err != nil {
		l.skip = "the Node addon is not built (make node builds it)"
	}
	return l
}

// cService compiles service.c against the installed C library.
func cService(t *testing.T, dir string) langService {
	l := langService{name: "c"}
	flags, err := exec.Command("pkg-config", "--cflags", "--libs", "--static", "charter-static").Output()
	if err != nil {
		l.skip = "pkg-config does not find charter-static (scripts/test.sh installs it)"
		return l
	}
	binary := filepath.Join(dir, "c_service")
	args := append([]string{"-std=c99", "-D_POSIX_C_SOURCE=200809L", "-o", binary,
		repoPath("bindings-go", "testdata", "bridge_service", "service.c")}, strings.Fields(string(flags))...)
	if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
		var missing *exec.Error
		if errors.As(err, &missing) {
			l.skip = "no C compiler"
			return l
		}
		t.Fatalf("cc service.c: %v\n%s", err, out)
	}
	l.command = func(args ...string) *exec.Cmd { return exec.Command(binary, args...) }
	return l
}

// TestBridgeLangService is the Go service of TestBridgeAcrossLanguages, run
// in a process of its own; service.c says what every service does.
func TestBridgeLangService(t *testing.T) {
	env := os.Getenv(serviceEnv)
	if env == "" {
		t.Skip("only run by TestBridgeAcrossLanguages")
	}
	args := strings.Split(env, "\n")
	url, dir, prefix, self, peer := args[0], args[1], args[2], args[3], args[4]
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	peerPrincipal := read(peer + ".principal")
	token, err := charter.ParseToken(read(self + ".token"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := charter.ReadKeyFile(filepath.Join(dir, self+".key"), true)
	if err != nil {
		t.Fatal(err)
	}
	rootKey, err := charter.ParsePublicKey(read("root.pub"))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := charter.NewAuthority([]charter.PublicKey{rootKey})
	if err != nil {
		t.Fatal(err)
	}
	proven := func(m *charter.Message, payload string) bool {
		who, _ := m.Header("Charter-Principal")
		_, status := m.Header("Charter-Status")
		return who == peerPrincipal && !status && string(m.Payload) == payload
	}
	bus := newBus(t)
	ownSvc, ownEvent := prefix+"."+self+".svc", prefix+"."+self+".event"
	peerSvc, peerEvent := prefix+"."+peer+".svc", prefix+"."+peer+".event"
	if _, err := bus.SubscribeFunc(ownSvc, func(m *charter.Message) error {
		if who, _ := m.Header("Charter-Principal"); who != peerPrincipal {
			_, err := bus.Respond(m, []byte(self+" refuses an unproven request"))
			return err
		}
		_, err := bus.Respond(m, append([]byte(self+" answers "), m.Payload...))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	events, err := bus.Subscribe(peerEvent)
	if err != nil {
		t.Fatal(err)
	}
	bridge, err := charter.StartBridge(bus, charter.BridgeOptions{
		Servers:   []string{url},
		Exports:   []string{ownEvent, peerSvc},
		Imports:   []charter.BridgeImport{{Pattern: peerEvent}, {Pattern: ownSvc}},
		Token:     token,
		Key:       key,
		Authority: auth,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer bridge.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := bridge.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	stdin := bufio.NewReader(os.Stdin)
	if line, _ := stdin.ReadString('\n'); strings.TrimSpace(line) != "go" {
		t.Fatalf("no go: %q", line)
	}
	if _, err := bus.Publish(ownEvent, []byte("event from "+self)); err != nil {
		t.Fatal(err)
	}
	reply, err := bus.Request(ctx, peerSvc, []byte("ping from "+self))
	if err != nil {
		t.Fatal(err)
	}
	if !proven(reply, peer+" answers ping from "+self) {
		t.Fatalf("the reply is %q", reply.Payload)
	}
	event, err := events.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !proven(event, "event from "+peer) {
		t.Fatalf("the event is %q", event.Payload)
	}
	fmt.Println("done")
	_, _ = io.Copy(io.Discard, stdin)
	stats, err := bridge.Stats()
	if err != nil {
		t.Fatal(err)
	}
	var refused uint64
	for _, n := range stats.Refused {
		refused += n
	}
	fmt.Printf("refused %d\n", refused)
}
