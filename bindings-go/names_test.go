package charter_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	charter "charter.dev/charter"
)

func TestOverflowAndFsyncNameThemselves(t *testing.T) {
	for _, c := range []struct {
		v    fmt.Stringer
		want string
	}{
		{charter.DropOldest, "DropOldest"},
		{charter.Overflow{}, "DropOldest"},
		{charter.DropNewest, "DropNewest"},
		{charter.ErrorOnFull, "ErrorOnFull"},
		{charter.Block(time.Second), "Block(1s)"},
		{charter.FsyncAlways, "FsyncAlways"},
		{charter.Fsync{}, "FsyncAlways"},
		{charter.FsyncNever, "FsyncNever"},
		{charter.FsyncEvery(10 * time.Millisecond), "FsyncEvery(10ms)"},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}

func TestHashRoundTripsAsText(t *testing.T) {
	h := charter.LeafHash([]byte("record"))
	parsed, err := charter.ParseHash(h.String())
	if err != nil || parsed != h {
		t.Fatalf("ParseHash(%s) = %s, %v", h, parsed, err)
	}
	out, err := json.Marshal(map[string]charter.Hash{"root": h})
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]charter.Hash
	if err := json.Unmarshal(out, &back); err != nil || back["root"] != h {
		t.Fatalf("JSON %s read back as %v, %v", out, back, err)
	}
	for _, bad := range []string{"", "ab", h.String()[:63] + "g", h.String() + "00"} {
		if _, err := charter.ParseHash(bad); !errors.Is(err, charter.ErrMalformed) {
			t.Errorf("ParseHash(%q): %v", bad, err)
		}
	}
}

// One NewBus takes every option, and options compose: two WithLimits each
// set only their non-zero fields.
func TestNewBusOptionsCompose(t *testing.T) {
	bus, err := charter.NewBus(
		charter.WithLimits(charter.BusLimits{MaxPayload: 4}),
		charter.WithLimits(charter.BusLimits{MaxTopicTokens: 2}),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	if _, err := bus.Publish("a.b", []byte("12345")); !errors.Is(err, charter.ErrLimitExceeded) {
		t.Fatalf("the first WithLimits was lost: %v", err)
	}
	if _, err := bus.Publish("a.b.c", nil); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("the second WithLimits was lost: %v", err)
	}

	root, err := charter.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	rootKey := root.PublicKey()
	auth, err := charter.NewAuthority([]charter.PublicKey{rootKey})
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	log, err := charter.OpenAuditInMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	enforcing, err := charter.NewBus(charter.WithAuthority(auth),
		charter.WithRecorder(charter.Recorder{Log: log, Scope: charter.RecordDenials}))
	if err != nil {
		t.Fatal(err)
	}
	defer enforcing.Close()
	if _, err := enforcing.Publish("t", nil); !errors.Is(err, charter.ErrDenied) {
		t.Fatalf("WithAuthority: a publish without a session gave %v", err)
	}
	if n := log.Len(); n != 1 {
		t.Fatalf("WithRecorder: %d records", n)
	}
}
