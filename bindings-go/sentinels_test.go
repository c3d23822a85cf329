package charter_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"charter.dev/charter"
)

// Every exported sentinel is an error a Go caller can receive: each case
// reaches its status through the public API. A sentinel added without a
// way to reach it fails the count below.
func TestEverySentinelIsReachable(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "publish orders.>")
	dir := t.TempDir()
	ctx := context.Background()
	cases := map[error]func() error{
		charter.ErrNullArgument: func() error {
			var r *charter.Registry
			_, err := r.Notify(nil)
			return err
		},
		charter.ErrInvalidArgument: func() error {
			_, err := charter.NewRegistry(charter.WithMaxDepth(0))
			return err
		},
		charter.ErrInvalidUTF8: func() error { return charter.ValidateTopic("orders.\xff") },
		charter.ErrLimitExceeded: func() error {
			bus := newBus(t)
			subscribe(t, bus, "full", charter.WithCapacity(1), charter.WithOverflow(charter.ErrorOnFull))
			_, _, err := bus.PublishBatch("full", [][]byte{{1}, {2}})
			return err
		},
		charter.ErrNotFound: func() error {
			_, err := newBus(t).Request(ctx, "nobody.listens", nil)
			return err
		},
		charter.ErrDenied: func() error {
			a := newAuthority(t, root)
			bus, err := charter.NewBusWithAuthority(a)
			if err != nil {
				return err
			}
			defer bus.Close()
			_, err = bus.Client(openSession(t, a, tok, holder)).Publish("payments.eu", nil)
			return err
		},
		charter.ErrExpired: func() error {
			a := newAuthority(t, root)
			if err := a.SetTime(t0.Add(2 * time.Hour)); err != nil {
				return err
			}
			_, err := a.Verify(tok)
			return err
		},
		charter.ErrNotYetValid: func() error {
			a := newAuthority(t, root)
			if err := a.SetTime(t0.Add(-time.Hour)); err != nil {
				return err
			}
			_, err := a.Verify(tok)
			return err
		},
		charter.ErrRevoked: func() error {
			a := newAuthority(t, root)
			id, _ := tok.LinkID(0)
			if _, err := a.Revoke(id); err != nil {
				return err
			}
			_, err := a.Verify(tok)
			return err
		},
		charter.ErrBadSignature: func() error {
			a := newAuthority(t, root)
			challenge, err := a.Challenge()
			if err != nil {
				return err
			}
			_, err = a.OpenSession(tok, challenge, make([]byte, charter.ProofLen))
			return err
		},
		charter.ErrMalformed: func() error {
			_, err := charter.ParseToken("not a token")
			return err
		},
		charter.ErrUntrustedRoot: func() error {
			_, err := newAuthority(t).Verify(tok)
			return err
		},
		charter.ErrWouldBlock: func() error {
			path := filepath.Join(dir, "locked.log")
			l, err := charter.OpenAudit(path)
			if err != nil {
				return err
			}
			defer l.Close()
			_, err = charter.OpenAudit(path)
			return err
		},
		charter.ErrTimeout: func() error {
			bus := newBus(t)
			subscribe(t, bus, "slow", charter.WithCapacity(1), charter.WithOverflow(charter.Block(time.Millisecond)))
			_, _, err := bus.PublishBatch("slow", [][]byte{{1}, {2}})
			return err
		},
		charter.ErrClosed: func() error {
			bus, err := charter.NewBus()
			if err != nil {
				return err
			}
			bus.Close()
			_, err = bus.Publish("a", nil)
			return err
		},
		charter.ErrIO: func() error {
			_, err := charter.OpenAudit(filepath.Join(dir, "missing", "log"))
			return err
		},
		charter.ErrCorrupt: func() error {
			path := filepath.Join(dir, "tampered.log")
			l, err := charter.OpenAudit(path)
			if err != nil {
				return err
			}
			if _, err := l.Append(charter.Record{Action: "publish", Resource: "resource-0", Decision: charter.DecisionAllow}); err != nil {
				return err
			}
			l.Close()
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			data[len(data)-3] ^= 1
			if err := os.WriteFile(path, data, 0o600); err != nil {
				return err
			}
			_, err = charter.VerifyAuditFile(path)
			if err == nil {
				_, err = charter.OpenAudit(path)
			}
			return err
		},
		charter.ErrCancelled: func() error {
			done, cancel := context.WithCancel(ctx)
			cancel()
			_, err := subscribe(t, newBus(t), "a").Recv(done)
			return err
		},
	}
	if len(cases) != 18 {
		t.Fatalf("%d cases for the 18 exported sentinels", len(cases))
	}
	for sentinel, reach := range cases {
		if err := reach(); !errors.Is(err, sentinel) {
			t.Errorf("reaching %v gave %v", sentinel, err)
		}
	}
}
