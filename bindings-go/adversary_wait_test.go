package charter_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"charter.dev/charter"
)

// Cases of waiting that a user reaches by accident: each must end
// promptly with the documented error, and nothing may be lost or
// received twice.

// Revoking the session ends every receive waiting on its subscriptions,
// whether in Recv or on the channel of C, with ErrRevoked.
func TestRevocationWakesEveryWaiter(t *testing.T) {
	const n = 1_000
	root, holder := newKey(t), newKey(t)
	tok := mint(t, root, holder, "subscribe a.>")
	auth := newAuthority(t, root)
	bus, err := charter.NewBusWithAuthority(auth)
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	as := bus.Client(openSession(t, auth, tok, holder))
	shared, err := as.Subscribe("a.shared")
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 3*n)
	for i := range n {
		own, err := as.Subscribe("a." + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_, err := own.Recv(context.Background())
			ended <- err
		}()
		go func() {
			_, err := shared.Recv(context.Background())
			ended <- err
		}()
		go func() {
			for range own.C() {
			}
			_, err := own.Recv(context.Background())
			ended <- err
		}()
	}
	time.Sleep(100 * time.Millisecond)
	id, _ := tok.LinkID(0)
	if _, err := auth.Revoke(id); err != nil {
		t.Fatal(err)
	}
	awaitEnded(t, ended, 3*n, "revocation", "the revocation", charter.ErrRevoked)
}

// A subscription's own Close wakes the thousand receives waiting on it
// with ErrClosed.
func TestSubscriptionCloseWakesEveryWaiter(t *testing.T) {
	const n = 1_000
	bus := newBus(t)
	sub := subscribe(t, bus, "x")
	ended := make(chan error, n)
	for range n {
		go func() {
			_, err := sub.Recv(context.Background())
			ended <- err
		}()
	}
	time.Sleep(100 * time.Millisecond)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	awaitEnded(t, ended, n, "the subscription's Close", "Close", charter.ErrClosed)
}

// A context cancelled before the call wins over a queued message, which
// stays for the next receive.
func TestRecvWithACancelledContextTakesNothing(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "x")
	if _, err := bus.Publish("x", []byte("kept")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sub.Recv(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv with a cancelled context: %v; want context.Canceled", err)
	}
	m, ok, err := sub.TryRecv()
	if err != nil || !ok || string(m.Payload) != "kept" {
		t.Fatalf("TryRecv after = %v, %v, %v; want the message", m, ok, err)
	}
}

// Recv and the channel of C drain one subscription together: each
// message reaches exactly one of them, and the channel closes at the end.
func TestRecvAndChannelShareOneSubscription(t *testing.T) {
	n := 50_000
	if raceEnabled || testing.Short() {
		n = 5_000
	}
	bus := newBus(t)
	sub := subscribe(t, bus, "s", charter.WithCapacity(4), charter.WithOverflow(charter.Block(time.Minute)))
	seen := make([]atomic.Int32, n)
	var wg sync.WaitGroup
	count := func(m *charter.Message) {
		i, err := strconv.Atoi(string(m.Payload))
		if err != nil || seen[i].Add(1) != 1 {
			t.Errorf("message %q received twice or garbled", m.Payload)
		}
	}
	for range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for {
				m, err := sub.Recv(context.Background())
				if err != nil {
					if !errors.Is(err, charter.ErrClosed) {
						t.Errorf("Recv: %v", err)
					}
					return
				}
				count(m)
			}
		}()
		go func() {
			defer wg.Done()
			for m := range sub.C() {
				count(m)
			}
		}()
	}
	for i := range n {
		if _, err := bus.Publish("s", []byte(strconv.Itoa(i))); err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
	}
	// Wait until everything queued has been taken, then end.
	deadline := time.Now().Add(time.Minute)
	for subStats(t, sub).Delivered != uint64(n) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i := range seen {
		if seen[i].Load() != 1 {
			t.Fatalf("message %d received %d times", i, seen[i].Load())
		}
	}
}

// One subscription past the bus's limit fails with ErrLimitExceeded, and
// the subscriptions within it still wait and receive.
func TestSubscriptionLimitIsAClearError(t *testing.T) {
	const limit = 64
	bus := newBus(t, charter.WithLimits(charter.BusLimits{MaxSubscriptions: limit}))
	subs := make([]*charter.Subscription, limit)
	for i := range subs {
		subs[i] = subscribe(t, bus, "x")
	}
	if _, err := bus.Subscribe("x"); !errors.Is(err, charter.ErrLimitExceeded) {
		t.Fatalf("Subscribe past the limit: %v; want ErrLimitExceeded", err)
	}
	got := make(chan error, limit)
	for _, s := range subs {
		go func() {
			_, err := s.Recv(context.Background())
			got <- err
		}()
	}
	if _, err := bus.Publish("x", nil); err != nil {
		t.Fatal(err)
	}
	for range limit {
		if err := <-got; err != nil {
			t.Errorf("Recv within the limit: %v", err)
		}
	}
}

// Recv after the bus's Close, and after the subscription's, fails with
// ErrClosed at once.
func TestRecvAfterCloseFailsAtOnce(t *testing.T) {
	bus := newBus(t)
	a, b := subscribe(t, bus, "a"), subscribe(t, bus, "b")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := a.Recv(context.Background())
	wantErr(t, "Recv after the subscription's Close", err, charter.ErrClosed)
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = b.Recv(context.Background())
	wantErr(t, "Recv after the bus's Close", err, charter.ErrClosed)
	if _, open := <-b.C(); open {
		t.Error("the channel of a subscription of a closed bus delivered")
	}
}

// awaitEnded takes the errors of n receivers woken by an event from ended,
// each of which must match want, all within a minute; by and after name
// the event in the failures.
func awaitEnded(t *testing.T, ended <-chan error, n int, by, after string, want error) {
	t.Helper()
	timeout := time.After(time.Minute)
	for i := range n {
		select {
		case err := <-ended:
			wantErr(t, "a receiver woken by "+by, err, want)
		case <-timeout:
			t.Fatalf("%d of %d receivers still wait after %s", n-i, n, after)
		}
	}
}
