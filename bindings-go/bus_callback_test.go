package charter_test

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"charter.dev/charter"
)

// Callbacks on a dispatch thread run on a thread Charter started; the
// synchronisation between it and the test is inside Charter, where the
// race detector cannot see it. Everything these tests share with a
// callback therefore goes through atomics or channels.

// trackedFunc is tracked (callback_test.go) for the bus: the returned
// MessageFunc's closure adds one to released once the binding lets go of
// it and the collector runs.
func trackedFunc(released *atomic.Int64, calls *atomic.Int64) charter.MessageFunc {
	handler := tracked(released, calls)
	return func(*charter.Message) error { return handler(nil) }
}

func subscribeFunc(t testing.TB, bus *charter.Bus, pattern string, fn charter.MessageFunc, opts ...charter.SubscribeOption) *charter.Subscription {
	t.Helper()
	sub, err := bus.SubscribeFunc(pattern, fn, opts...)
	if err != nil {
		t.Fatalf("SubscribeFunc(%q): %v", pattern, err)
	}
	return sub
}

// dispatches runs f once with inline callbacks and once with a dispatch
// thread.
func dispatches(t *testing.T, f func(t *testing.T, opts ...charter.SubscribeOption)) {
	t.Run("inline", func(t *testing.T) { f(t) })
	t.Run("thread", func(t *testing.T) { f(t, charter.WithDispatchThread()) })
}

func TestInlineCallbacksRunInsidePublish(t *testing.T) {
	bus := newBus(t)
	var got []*charter.Message
	sub := subscribeFunc(t, bus, "orders.>", func(m *charter.Message) error {
		got = append(got, m)
		return nil
	})
	publish(t, bus, "orders.eu", "a", charter.Header{Name: "k", Value: "v"})
	publish(t, bus, "orders.us", "")
	// Plain reads: the callbacks ran on this goroutine.
	if len(got) != 2 || got[0].Topic != "orders.eu" || string(got[0].Payload) != "a" ||
		!slices.Equal(got[0].Headers, []charter.Header{{Name: "k", Value: "v"}}) || got[1].Payload != nil {
		t.Errorf("callback got %+v", got)
	}
	if s := subStats(t, sub); s.Delivered != 2 || s.Received != 2 || s.HandlerFailures != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestCallbackFailuresAndPanicsAreCounted(t *testing.T) {
	dispatches(t, func(t *testing.T, opts ...charter.SubscribeOption) {
		bus := newBus(t)
		var calls atomic.Int64
		failing := subscribeFunc(t, bus, "x", func(*charter.Message) error {
			calls.Add(1)
			return errors.New("no")
		}, opts...)
		panicking := subscribeFunc(t, bus, "x", func(*charter.Message) error {
			calls.Add(1)
			panic("callback panic")
		}, opts...)
		pull := subscribe(t, bus, "x")
		for range 2 {
			if r := publish(t, bus, "x", "m"); r != (charter.PublishReport{Matched: 3, Delivered: 3}) {
				t.Errorf("report %+v", r)
			}
		}
		waitFor(t, func() bool { return calls.Load() == 4 })
		for _, sub := range []*charter.Subscription{failing, panicking} {
			waitFor(t, func() bool { return subStats(t, sub).HandlerFailures == 2 })
			if s := subStats(t, sub); s.Delivered != 2 {
				t.Errorf("stats %+v", s)
			}
		}
		if got := drain(t, pull); len(got) != 2 {
			t.Errorf("the pull subscription received %q", got)
		}
	})
}

func TestDispatchThreadDecouplesThePublisher(t *testing.T) {
	bus := newBus(t)
	entered := make(chan string, 3)
	release := make(chan struct{})
	sub := subscribeFunc(t, bus, "slow", func(m *charter.Message) error {
		entered <- string(m.Payload)
		<-release
		return nil
	}, charter.WithDispatchThread())

	start := time.Now()
	for _, p := range []string{"1", "2", "3"} {
		publish(t, bus, "slow", p)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("publishing took %v behind a blocked callback", elapsed)
	}
	if first := <-entered; first != "1" {
		t.Fatalf("first call got %q", first)
	}
	// Close waits for the running call, which waits for release.
	closed := make(chan error)
	go func() { closed <- sub.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while the callback was running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if s := busStats(t, bus).Subscriptions; s.Delivered+s.Dropped.Closed != 3 {
		t.Errorf("stats %+v: the 3 messages are delivered or dropped as closed", s)
	}
}

func TestCallbacksReenterTheBus(t *testing.T) {
	dispatches(t, func(t *testing.T, opts ...charter.SubscribeOption) {
		bus := newBus(t)
		out := subscribe(t, bus, "out")
		var self, added atomic.Pointer[charter.Subscription]
		var calls atomic.Int64
		sub := subscribeFunc(t, bus, "in", func(m *charter.Message) error {
			switch calls.Add(1) {
			case 1:
				s, err := bus.Subscribe("late")
				if err != nil {
					return err
				}
				added.Store(s)
			case 2:
				// Ends its own subscription, after answering.
				defer self.Load().Close()
			}
			_, err := bus.Publish("out", m.Payload)
			return err
		}, opts...)
		self.Store(sub)

		publish(t, bus, "in", "1")
		if m := recv(t, out); string(m.Payload) != "1" || added.Load() == nil {
			t.Fatalf("first call: %+v, subscribed %v", m, added.Load())
		}
		publish(t, bus, "in", "2")
		recv(t, out)
		// out, late; the callback's own subscription has ended.
		waitFor(t, func() bool { return busStats(t, bus).LiveSubscriptions == 2 })
		if r := publish(t, bus, "in", "3"); r.Matched != 0 {
			t.Errorf("publish after the callback closed itself: %+v", r)
		}
		if r := publish(t, bus, "late", "x"); r.Delivered != 1 {
			t.Errorf("the subscription made in the callback: %+v", r)
		}
		if n := calls.Load(); n != 2 {
			t.Errorf("%d calls, want 2", n)
		}
		if s := subStats(t, out); s.Delivered != 2 || s.Queued != 0 {
			t.Errorf("out: %+v", s)
		}
	})
}

func TestCallbackMayCloseTheBus(t *testing.T) {
	dispatches(t, func(t *testing.T, opts ...charter.SubscribeOption) {
		var released, calls atomic.Int64
		bus, err := charter.NewBus()
		if err != nil {
			t.Fatal(err)
		}
		closed := make(chan error, 1)
		subscribeFunc(t, bus, "stop", func(*charter.Message) error {
			closed <- bus.Close()
			return nil
		}, opts...)
		// Another thread-dispatched subscription that Close must end (and
		// join) without deadlocking.
		subscribeFunc(t, bus, "other", trackedFunc(&released, &calls), charter.WithDispatchThread())
		if _, err := bus.Publish("stop", nil); err != nil {
			t.Fatalf("the publish whose callback closes the bus: %v", err)
		}
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("Close inside a callback: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the callback's Close did not return")
		}
		_, err = bus.Publish("stop", nil)
		wantErr(t, "Publish after Close", err, charter.ErrClosed)
		waitReleased(t, &released, 1)
	})
}

func TestCallbackMayNotWaitForItsOwnBus(t *testing.T) {
	bus := newBus(t)
	full := subscribe(t, bus, "full", charter.WithCapacity(1), charter.WithOverflow(charter.Block(10*time.Second)))
	publish(t, bus, "full", "1")
	var inner error
	subscribeFunc(t, bus, "trigger", func(*charter.Message) error {
		_, inner = bus.Publish("full", []byte("2"))
		return nil
	})
	start := time.Now()
	publish(t, bus, "trigger", "")
	wantErr(t, "Block publish inside a callback", inner, charter.ErrWouldBlock)
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("the callback waited %v", elapsed)
	}
	if s := subStats(t, full); s.Dropped.Timeout != 1 || s.Queued != 1 {
		t.Errorf("stats %+v", s)
	}
}

// Each way a callback subscription ends releases the callback exactly once
// (a second release would panic in cgo.Handle.Delete).
func TestEverySubscriptionEndingReleasesItsCallback(t *testing.T) {
	var released, calls atomic.Int64
	bus, err := charter.NewBus()
	if err != nil {
		t.Fatal(err)
	}
	first := subscribeFunc(t, bus, "a", trackedFunc(&released, &calls))
	subscribeFunc(t, bus, "a", trackedFunc(&released, &calls), charter.WithDispatchThread())
	subscribeFunc(t, bus, "a", trackedFunc(&released, &calls))
	publish(t, bus, "a", "x")
	waitFor(t, func() bool { return calls.Load() == 3 })
	waitReleased(t, &released, 0)

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	waitReleased(t, &released, 1)
	if _, err := bus.SubscribeFunc("a..b", trackedFunc(&released, &calls)); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Fatalf("SubscribeFunc with a bad pattern: %v", err)
	}
	waitReleased(t, &released, 2)
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
	waitReleased(t, &released, 4)
	if err := first.Close(); err != nil {
		t.Errorf("Close after the bus's: %v", err)
	}
}

func TestCollectedBusIsFreed(t *testing.T) {
	var released, calls atomic.Int64
	func() {
		bus, err := charter.NewBus()
		if err != nil {
			t.Fatal(err)
		}
		subscribeFunc(t, bus, "a", trackedFunc(&released, &calls))
		subscribeFunc(t, bus, "a", trackedFunc(&released, &calls), charter.WithDispatchThread())
		// bus becomes unreachable without Close: only the cleanup can free
		// the C bus and so release its callbacks.
	}()
	waitReleased(t, &released, 2)
}
