package charter_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"charter.dev/charter"
)

func TestTryRecv(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "a")
	if m, ok, err := sub.TryRecv(); m != nil || ok || err != nil {
		t.Fatalf("TryRecv on an empty queue = %v, %v, %v", m, ok, err)
	}
	publish(t, bus, "a", "one")
	if m, ok, err := sub.TryRecv(); !ok || err != nil || string(m.Payload) != "one" {
		t.Fatalf("TryRecv = %v, %v, %v", m, ok, err)
	}
	if s := subStats(t, sub); s.Received != 1 || s.Delivered != 1 || s.Queued != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestRecvWaitsForAPublish(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "a")
	// Without a deadline Recv waits in one call; with one, in slices.
	for _, ctx := range []context.Context{context.Background(), t.Context()} {
		time.AfterFunc(20*time.Millisecond, func() { bus.Publish("a", []byte("late")) })
		start := time.Now()
		m, err := sub.Recv(ctx)
		if err != nil || string(m.Payload) != "late" {
			t.Fatalf("Recv = %+v, %v", m, err)
		}
		if waited := time.Since(start); waited < 15*time.Millisecond {
			t.Errorf("Recv returned after %v, before the publish", waited)
		}
	}
}

// closeBusOrSub closes the bus when which is "bus", else the subscription:
// the two ways a subscription ends by Close.
func closeBusOrSub(t *testing.T, which string, bus *charter.Bus, sub *charter.Subscription) {
	t.Helper()
	var err error
	if which == "bus" {
		err = bus.Close()
	} else {
		err = sub.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestCancelledRecvConsumesNothing(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "a")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := sub.Recv(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv past its deadline: %v", err)
	}
	if waited := time.Since(start); waited < 60*time.Millisecond || waited > 2*time.Second {
		t.Errorf("Recv returned after %v, want about 60ms", waited)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	start = time.Now()
	if _, err := sub.Recv(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Recv: %v", err)
	}
	// Noticed within a slice of the wait.
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("cancellation noticed after %v", waited)
	}

	publish(t, bus, "a", "kept")
	// A done context fails at once, even with a message queued.
	if _, err := sub.Recv(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv with a cancelled context: %v", err)
	}
	if s := subStats(t, sub); s.Queued != 1 || s.Delivered != 0 {
		t.Fatalf("after cancelled waits: %+v, want the message still queued", s)
	}
	if m := recv(t, sub); string(m.Payload) != "kept" {
		t.Errorf("Recv = %+v", m)
	}
}

func TestCloseWakesABlockedRecv(t *testing.T) {
	for _, closer := range []string{"subscription", "bus"} {
		for _, cancellable := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/cancellable=%v", closer, cancellable), func(t *testing.T) {
				bus := newBus(t)
				defer bus.Close()
				sub := subscribe(t, bus, "a")
				ctx := context.Background()
				if cancellable {
					ctx = t.Context()
				}
				done := make(chan error)
				go func() {
					_, err := sub.Recv(ctx)
					done <- err
				}()
				// Give Recv time to block in Charter (a Close before that
				// must fail it too, so the test cannot pass wrongly).
				time.Sleep(30 * time.Millisecond)
				closeBusOrSub(t, closer, bus, sub)
				select {
				case err := <-done:
					wantErr(t, "blocked Recv", err, charter.ErrClosed)
				case <-time.After(5 * time.Second):
					t.Fatal("Close did not wake Recv")
				}
			})
		}
	}
}

func TestChannelAdapter(t *testing.T) {
	before := runtime.NumGoroutine()
	bus := newBus(t)
	sub := subscribe(t, bus, "a")
	ch := sub.C()
	if sub.C() != ch {
		t.Error("C returned another channel")
	}
	for i := range 3 {
		publish(t, bus, "a", fmt.Sprint(i))
	}
	for i := range 3 {
		select {
		case m := <-ch:
			if string(m.Payload) != fmt.Sprint(i) {
				t.Errorf("message %d: %q", i, m.Payload)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no message on the channel")
		}
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ch)
	waitGoroutines(t, before)
}

func TestChannelAdapterEndsWithTheBus(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, held := range []bool{false, true} {
		bus := newBus(t)
		sub := subscribe(t, bus, "a")
		ch := sub.C()
		if held {
			// The adapter takes this message and waits for a reader.
			publish(t, bus, "a", "held")
			waitFor(t, func() bool { return subStats(t, sub).Delivered == 1 })
		}
		if err := bus.Close(); err != nil {
			t.Fatal(err)
		}
		if held {
			// The bus's Close does not lose the message the adapter took.
			select {
			case m := <-ch:
				if m == nil || string(m.Payload) != "held" {
					t.Fatalf("after Close the channel gave %+v", m)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the held message was not delivered")
			}
		}
		waitClosed(t, ch)
		runtime.KeepAlive(sub)
	}
	waitGoroutines(t, before)
}

func TestChannelOfACallbackSubscriptionIsClosed(t *testing.T) {
	bus := newBus(t)
	sub, err := bus.SubscribeFunc("a", func(*charter.Message) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitClosed(t, sub.C())
	_, err = sub.Recv(context.Background())
	wantErr(t, "Recv on a callback subscription", err, charter.ErrInvalidArgument)
}

// waitClosed drains ch until it is closed, failing after 5 s.
func waitClosed(t *testing.T, ch <-chan *charter.Message) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, open := <-ch:
			if !open {
				return
			}
		case <-timeout:
			t.Fatal("the channel was not closed")
		}
	}
}

// waitGoroutines waits until at most n goroutines are left.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	waitFor(t, func() bool { return runtime.NumGoroutine() <= n })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestOverflowPolicies(t *testing.T) {
	cases := []struct {
		name     string
		overflow charter.Overflow
		err      error                 // of the third publish
		report   charter.PublishReport // of the third publish, if it succeeds
		left     []string              // what remains to receive
		drops    charter.Drops
	}{
		{"drop-oldest", charter.DropOldest, nil, charter.PublishReport{Matched: 2, Delivered: 2}, []string{"2", "3"}, charter.Drops{Overflow: 1}},
		{"drop-newest", charter.DropNewest, nil, charter.PublishReport{Matched: 2, Delivered: 1, Dropped: 1}, []string{"1", "2"}, charter.Drops{Overflow: 1}},
		{"error-on-full", charter.ErrorOnFull, charter.ErrLimitExceeded, charter.PublishReport{}, []string{"1", "2"}, charter.Drops{Rejected: 1}},
		{"block", charter.Block(30 * time.Millisecond), charter.ErrTimeout, charter.PublishReport{}, []string{"1", "2"}, charter.Drops{Timeout: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bus := newBus(t)
			sub := subscribe(t, bus, "q", charter.WithCapacity(2), charter.WithOverflow(c.overflow))
			other := subscribe(t, bus, "q")
			publish(t, bus, "q", "1")
			publish(t, bus, "q", "2")
			report, err := bus.Publish("q", []byte("3"))
			if c.err != nil {
				wantErr(t, "third publish", err, c.err)
			} else if err != nil || report != c.report {
				t.Errorf("third publish = %+v, %v; want %+v", report, err, c.report)
			}
			if got := drain(t, sub); !slices.Equal(got, c.left) {
				t.Errorf("received %q, want %q", got, c.left)
			}
			// A refusing subscription never keeps the others from the message.
			if got := drain(t, other); !slices.Equal(got, []string{"1", "2", "3"}) {
				t.Errorf("the other subscription received %q", got)
			}
			s := subStats(t, sub)
			want := charter.SubscriptionStats{Received: 3, Delivered: 2, Dropped: c.drops, SlowEpisodes: 1}
			if s != want {
				t.Errorf("stats %+v, want %+v", s, want)
			}
		})
	}
}

func TestBlockWaitsForRoom(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "q", charter.WithCapacity(1), charter.WithOverflow(charter.Block(5*time.Second)))
	publish(t, bus, "q", "1")
	time.AfterFunc(50*time.Millisecond, func() { sub.TryRecv() })
	start := time.Now()
	if r := publish(t, bus, "q", "2"); r.Delivered != 1 {
		t.Errorf("report %+v", r)
	}
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Errorf("the publish returned after %v, before there was room", waited)
	}
	if got := drain(t, sub); !slices.Equal(got, []string{"2"}) {
		t.Errorf("left %q", got)
	}
}

func TestMaxBytesRejectsWhatCanNeverFit(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "q", charter.WithMaxBytes(64))
	big := make([]byte, 100)
	if r, err := bus.Publish("q", big); err != nil || r.Dropped != 1 {
		t.Errorf("oversized publish = %+v, %v", r, err)
	}
	if s := subStats(t, sub); s.Dropped.Rejected != 1 || s.Received != 1 {
		t.Errorf("stats %+v", s)
	}
}

// Four goroutines publish while one receives; for every policy each
// message is accounted for exactly, and each publisher's messages arrive in
// order.
func TestAccountingWithConcurrentPublishers(t *testing.T) {
	const publishers, perPublisher = 4, 2000
	for _, c := range []struct {
		name     string
		overflow charter.Overflow
		refused  error // the error of a publish the queue refuses
	}{
		{"drop-oldest", charter.DropOldest, nil},
		{"drop-newest", charter.DropNewest, nil},
		{"error-on-full", charter.ErrorOnFull, charter.ErrLimitExceeded},
		{"block", charter.Block(time.Millisecond), charter.ErrTimeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			bus := newBus(t)
			sub := subscribe(t, bus, "acct.*", charter.WithCapacity(8), charter.WithOverflow(c.overflow))
			var mu sync.Mutex
			var reported charter.PublishReport
			refused := 0
			var publishing sync.WaitGroup
			for p := range publishers {
				publishing.Go(func() {
					for i := range perPublisher {
						r, err := bus.Publish(fmt.Sprintf("acct.%d", p), fmt.Appendf(nil, "%d", i))
						mu.Lock()
						switch {
						case err == nil:
							reported.Matched += r.Matched
							reported.Delivered += r.Delivered
							reported.Dropped += r.Dropped
						case c.refused != nil && errors.Is(err, c.refused):
							refused++
						default:
							t.Errorf("Publish: %v", err)
						}
						mu.Unlock()
					}
				})
			}
			// The consumer pauses now and then, so that the queue fills up
			// and the policy acts.
			received := 0
			last := map[string]int{}
			check := func(m *charter.Message) {
				received++
				if received%100 == 0 {
					time.Sleep(time.Millisecond)
				}
				var n int
				fmt.Sscan(string(m.Payload), &n)
				if prev, seen := last[m.Topic]; seen && n <= prev {
					t.Errorf("%s: %d after %d", m.Topic, n, prev)
				}
				last[m.Topic] = n
			}
			done := make(chan struct{})
			go func() { publishing.Wait(); close(done) }()
			for waiting := true; waiting; {
				select {
				case <-done:
					waiting = false
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
				if m, err := sub.Recv(ctx); err == nil {
					check(m)
				}
				cancel()
			}
			s := subStats(t, sub)
			total := uint64(publishers * perPublisher)
			if s.Received != total || s.Received != s.Delivered+s.Dropped.Total()+s.Queued {
				t.Errorf("stats %+v: received must be %d = delivered + dropped + queued", s, total)
			}
			if s.Delivered != uint64(received) {
				t.Errorf("%d delivered, %d received", s.Delivered, received)
			}
			for range s.Queued {
				check(recv(t, sub))
			}
			// What the publishers saw agrees with the subscription's counts.
			switch c.name {
			case "drop-oldest":
				// Every publish was accepted, some by dropping an older one.
				if reported.Delivered != total || reported.Dropped != 0 || s.Dropped.Overflow == 0 {
					t.Errorf("reports %+v, stats %+v", reported, s)
				}
			case "drop-newest":
				if reported.Dropped != s.Dropped.Overflow || reported.Delivered+reported.Dropped != total || reported.Dropped == 0 {
					t.Errorf("reports %+v, stats %+v", reported, s)
				}
			case "error-on-full":
				if uint64(refused) != s.Dropped.Rejected || reported.Delivered+uint64(refused) != total || refused == 0 {
					t.Errorf("%d refused, reports %+v, stats %+v", refused, reported, s)
				}
			case "block":
				if uint64(refused) != s.Dropped.Timeout || reported.Delivered+uint64(refused) != total {
					t.Errorf("%d timed out, reports %+v, stats %+v", refused, reported, s)
				}
			}
			t.Logf("%d received, stats %+v", received, s)
		})
	}
}

func TestTTLDropsExpiredMessages(t *testing.T) {
	bus := newBus(t)
	// Margins are wide so that a loaded machine cannot expire the fresh
	// message too before it is drained.
	sub := subscribe(t, bus, "t", charter.WithTTL(300*time.Millisecond))
	publish(t, bus, "t", "stale")
	time.Sleep(600 * time.Millisecond)
	publish(t, bus, "t", "fresh")
	if got := drain(t, sub); !slices.Equal(got, []string{"fresh"}) {
		t.Errorf("received %q, want only the fresh message", got)
	}
	if s := subStats(t, sub); s.Dropped.Expired != 1 || s.Delivered != 1 || s.Received != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestIdleSubscriptionsAreEvicted(t *testing.T) {
	bus := newBus(t)
	idle := subscribe(t, bus, "i", charter.WithIdleTTL(300*time.Millisecond))
	busy := subscribe(t, bus, "i")
	if n, err := bus.EvictIdle(); n != 0 || err != nil {
		t.Fatalf("EvictIdle at once = %d, %v", n, err)
	}
	time.Sleep(600 * time.Millisecond)
	if n, err := bus.EvictIdle(); n != 1 || err != nil {
		t.Fatalf("EvictIdle = %d, %v; want 1", n, err)
	}
	_, err := idle.Recv(context.Background())
	wantErr(t, "Recv of an evicted subscription", err, charter.ErrClosed)
	// Ended, not closed: its final accounting stays readable until Close.
	if s, err := idle.Stats(); err != nil || s.Queued != 0 {
		t.Errorf("Stats of an evicted subscription = %+v, %v", s, err)
	}
	if err := idle.Close(); err != nil {
		t.Errorf("Close of an evicted subscription: %v", err)
	}
	_, err = idle.Stats()
	wantErr(t, "Stats after Close", err, charter.ErrClosed)
	if r := publish(t, bus, "i", "x"); r.Matched != 1 {
		t.Errorf("report %+v, want only the busy subscription", r)
	}
	recv(t, busy)
}

func TestCollectedSubscriptionIsEnded(t *testing.T) {
	bus := newBus(t)
	func() {
		if _, err := bus.Subscribe("gone"); err != nil {
			t.Fatal(err)
		}
	}()
	waitFor(t, func() bool {
		runtime.GC()
		return busStats(t, bus).LiveSubscriptions == 0
	})
	if r := publish(t, bus, "gone", "x"); r.Matched != 0 {
		t.Errorf("report %+v", r)
	}
}
