package charter_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"charter.dev/charter"
)

// The simple properties answer without an error while the object is open,
// and with the zero value once it is closed or for a nil receiver.
func TestPropertiesNeedNoErrorAndAreZeroWhenClosed(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish orders.>")
	a := newAuthority(t, root)
	s := openSession(t, a, tok, holder)
	reg, err := charter.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	id, err := reg.Register(func([]byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	log, err := charter.OpenAuditInMemory()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := log.Append(charter.Record{Action: "publish", Resource: "a", Decision: charter.DecisionAllow}); err != nil {
		t.Fatal(err)
	}

	if tok.Subject() != holder.PublicKey() || tok.RootKey() != root.PublicKey() || tok.RootKey() == tok.Subject() {
		t.Errorf("Subject %s RootKey %s, want holder %s root %s", tok.Subject(), tok.RootKey(), holder.PublicKey(),
			root.PublicKey())
	}
	if tok.LinkCount() != 1 || tok.Text() == "" || s.Principal() != holder.Principal() || !s.Active() ||
		!s.ExpiresAt().Equal(t0.Add(time.Hour)) || reg.Len() != 1 || !reg.Contains(id) || log.Len() != 1 {
		t.Errorf("open: links %d text %q principal %q active %v expires %v len %d contains %v log %d",
			tok.LinkCount(), tok.Text(), s.Principal(), s.Active(), s.ExpiresAt(), reg.Len(), reg.Contains(id),
			log.Len())
	}

	for _, c := range []interface{ Close() error }{tok, s, reg, log, holder} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if tok.Subject() != "" || tok.RootKey() != "" || tok.LinkCount() != 0 || tok.Text() != "" ||
		s.Principal() != "" || s.Active() || !s.ExpiresAt().IsZero() || reg.Len() != 0 || reg.Contains(id) ||
		log.Len() != 0 || holder.PublicKey() != "" || holder.Principal() != "" {
		t.Error("a closed object reported a property that is not the zero value")
	}
	var (
		nilToken   *charter.Token
		nilSession *charter.Session
		nilReg     *charter.Registry
		nilLog     *charter.AuditLog
		nilKey     *charter.KeyPair
	)
	if nilToken.Subject() != "" || nilToken.LinkCount() != 0 || nilToken.Text() != "" || nilSession.Active() ||
		nilSession.Principal() != "" || nilReg.Len() != 0 || nilReg.Contains(1) || nilLog.Len() != 0 ||
		nilKey.PublicKey() != "" || nilKey.Principal() != "" {
		t.Error("a nil receiver reported a property that is not the zero value")
	}
}

// A Token and a PublicKey are JSON strings (encoding.TextMarshaler and
// TextUnmarshaler), read back through Charter's own parsers.
func TestTokenAndPublicKeyAreText(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish orders.>")
	type doc struct {
		Token  *charter.Token      `json:"token"`
		Holder charter.PublicKey   `json:"holder"`
		Roots  []charter.PublicKey `json:"roots"`
	}
	out, err := json.Marshal(doc{Token: tok, Holder: holder.PublicKey(), Roots: []charter.PublicKey{root.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	var back doc
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("Unmarshal(%s): %v", out, err)
	}
	t.Cleanup(func() { back.Token.Close() })
	if back.Token.Text() != tok.Text() || back.Token.Subject() != holder.PublicKey() ||
		back.Holder != holder.PublicKey() || back.Roots[0] != root.PublicKey() {
		t.Fatalf("read back %+v from %s", back, out)
	}

	var pk charter.PublicKey
	for _, bad := range []string{`"charter-pk1:AAAA"`, `"charter-tok1:x"`, `""`, `"` + holder.Principal() + `"`} {
		if err := json.Unmarshal([]byte(bad), &pk); !errors.Is(err, charter.ErrMalformed) || pk != "" {
			t.Errorf("PublicKey from %s: %v, %q", bad, err, pk)
		}
		var tk charter.Token
		if err := json.Unmarshal([]byte(bad), &tk); !errors.Is(err, charter.ErrMalformed) || tk.Text() != "" {
			t.Errorf("Token from %s: %v", bad, err)
		}
	}
	if parsed, err := charter.ParsePublicKey(string(root.PublicKey())); err != nil || parsed != root.PublicKey() {
		t.Errorf("ParsePublicKey: %q, %v", parsed, err)
	}
	// A Token that holds a token is not overwritten.
	if err := tok.UnmarshalText([]byte(back.Token.Text())); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Errorf("UnmarshalText into a live Token: %v", err)
	}
	closed := mint(t, root, holder, "publish orders.>")
	closed.Close()
	if _, err := closed.MarshalText(); !errors.Is(err, charter.ErrClosed) {
		t.Errorf("MarshalText of a closed Token: %v", err)
	}
}

// An I/O failure wraps the operating system's error: errors.Is works with
// both ErrIO and fs.ErrNotExist, and errors.As finds the errno.
func TestIOErrorsWrapTheOSError(t *testing.T) {
	_, err := charter.OpenAudit(filepath.Join(t.TempDir(), "missing", "log"))
	if !errors.Is(err, charter.ErrIO) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing directory: %v (ErrIO %v, fs.ErrNotExist %v)", err, errors.Is(err, charter.ErrIO),
			errors.Is(err, fs.ErrNotExist))
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) || errno != syscall.ENOENT {
		t.Errorf("errors.As errno = %v", errno)
	}
	// A failure that is not the operating system's wraps nothing.
	_, err = charter.NewRegistry(charter.WithMaxDepth(0))
	if errors.Unwrap(err) != nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a non-I/O error wraps %v", errors.Unwrap(err))
	}
}

// Breaking out of a range over All takes only the messages the loop saw:
// the rest stay queued, in order, for the next receive.
func TestAllBreakLosesNothing(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "a")
	for i := range 10 {
		if _, err := bus.Publish("a", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	var seen []byte
	// Each loop over All takes the first byte of each message until seen
	// holds n; the second loop resumes where the first one broke off.
	for _, n := range []int{3, 10} {
		for m, err := range sub.All(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, m.Payload[0])
			if len(seen) == n {
				break
			}
		}
	}
	for i, b := range seen {
		if int(b) != i {
			t.Fatalf("seen %v", seen)
		}
	}
	stats, err := sub.Stats()
	if err != nil || stats.Delivered != 10 || stats.Queued != 0 {
		t.Fatalf("stats %+v, %v", stats, err)
	}
	// A done ctx ends the loop with ctx's error, taking nothing; a closed
	// subscription ends it with no error.
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := bus.Publish("a", []byte{10}); err != nil {
		t.Fatal(err)
	}
	var errs []error
	for m, err := range sub.All(done) {
		if m != nil {
			t.Fatalf("got %v from a done ctx", m)
		}
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("done ctx: %v", errs)
	}
	n := 0
	for m, err := range sub.All(ctx) {
		if err != nil || m.Payload[0] != 10 {
			t.Fatalf("got %v, %v", m, err)
		}
		n++
		// The loop's next receive finds the subscription closed.
		sub.Close()
	}
	if n != 1 {
		t.Fatalf("%d messages after one publish", n)
	}
}

// Only an I/O failure, or a NOT_FOUND that ends with the OS error, is read
// for an errno: a message quoting a caller's text that looks like one
// wraps nothing.
func TestOnlyOSFailuresUnwrapToAnErrno(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-key.pem")
	_, err := charter.ReadKeyFile(missing, false)
	if !errors.Is(err, charter.ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a missing key file: %v", err)
	}
	err = charter.ValidateTopic("a.(os error 13)")
	if !errors.Is(err, charter.ErrInvalidArgument) || errors.Unwrap(err) != nil || errors.Is(err, fs.ErrPermission) {
		t.Fatalf("an invalid topic quoting an errno: %v wraps %v", err, errors.Unwrap(err))
	}
}
