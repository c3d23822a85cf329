package charter_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"charter.dev/charter"
)

// newBus creates a bus that is closed when the test ends.
func newBus(t testing.TB, opts ...charter.BusOption) *charter.Bus {
	t.Helper()
	bus, err := charter.NewBus(opts...)
	if err != nil {
		t.Fatalf("NewBus: %v", err)
	}
	closeAtEnd(t, bus)
	return bus
}

// subscribe makes a pull subscription that is closed when the test ends.
func subscribe(t testing.TB, bus *charter.Bus, pattern string, opts ...charter.SubscribeOption) *charter.Subscription {
	t.Helper()
	sub, err := bus.Subscribe(pattern, opts...)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", pattern, err)
	}
	t.Cleanup(func() { sub.Close() })
	return sub
}

func publish(t testing.TB, bus *charter.Bus, topic, payload string, headers ...charter.Header) charter.PublishReport {
	t.Helper()
	report, err := bus.Publish(topic, []byte(payload), headers...)
	if err != nil {
		t.Fatalf("Publish(%q): %v", topic, err)
	}
	return report
}

// recv receives one message, failing the test if none comes within 5 s.
func recv(t testing.TB, sub *charter.Subscription) *charter.Message {
	t.Helper()
	return recvWithin(t, sub, 5*time.Second)
}

// recvWithin receives from sub, failing the test after d.
func recvWithin(t testing.TB, sub *charter.Subscription, d time.Duration) *charter.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := sub.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return m
}

// drain returns the payloads of every queued message.
func drain(t testing.TB, sub *charter.Subscription) []string {
	t.Helper()
	var got []string
	for {
		m, ok, err := sub.TryRecv()
		if err != nil {
			t.Fatalf("TryRecv: %v", err)
		}
		if !ok {
			return got
		}
		got = append(got, string(m.Payload))
	}
}

func subStats(t testing.TB, sub *charter.Subscription) charter.SubscriptionStats {
	t.Helper()
	s, err := sub.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return s
}

func busStats(t testing.TB, bus *charter.Bus) charter.BusStats {
	t.Helper()
	s, err := bus.Stats()
	if err != nil {
		t.Fatalf("Bus.Stats: %v", err)
	}
	return s
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want one matching %v", what, err, want)
	}
}

// closeAtEnd closes c when the test ends, failing it if Close does.
func closeAtEnd(t testing.TB, c interface{ Close() error }) {
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// closeTwice closes c twice: the first Close must succeed, and the second,
// since Close is idempotent, must return nil.
func closeTwice(t testing.TB, c interface{ Close() error }) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestWildcardsMatchTokens(t *testing.T) {
	bus := newBus(t)
	patterns := []string{"orders.eu.created", "orders.*.created", "orders.>", "*.eu.*", ">", "orders.*", "invoices.>"}
	subs := make(map[string]*charter.Subscription)
	for _, p := range patterns {
		subs[p] = subscribe(t, bus, p)
	}
	topics := []string{"orders.eu.created", "orders.us", "orders", "invoices.eu.paid", "orders.eu.created.late"}
	for _, topic := range topics {
		publish(t, bus, topic, topic)
	}
	want := map[string][]string{
		"orders.eu.created": {"orders.eu.created"},
		"orders.*.created":  {"orders.eu.created"},
		"orders.>":          {"orders.eu.created", "orders.us", "orders.eu.created.late"},
		"*.eu.*":            {"orders.eu.created", "invoices.eu.paid"},
		">":                 topics,
		"orders.*":          {"orders.us"},
		"invoices.>":        {"invoices.eu.paid"},
	}
	for _, p := range patterns {
		if got := drain(t, subs[p]); !slices.Equal(got, want[p]) {
			t.Errorf("%q received %q, want %q", p, got, want[p])
		}
	}
	if r := publish(t, bus, "orders.eu.created", ""); r != (charter.PublishReport{Matched: 5, Delivered: 5}) {
		t.Errorf("report %+v, want 5 matched and delivered", r)
	}
}

func TestMessageIsAnIndependentCopy(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "a.>")
	payload := []byte("payload")
	headers := []charter.Header{{"trace", "abc"}, {"empty", ""}, {"trace", "second"}, {"tab", "x\ty"}}
	if _, err := bus.Publish("a.b", payload, headers...); err != nil {
		t.Fatal(err)
	}
	payload[0] = 'P'
	publish(t, bus, "a.c", "")

	m := recv(t, sub)
	if m.Topic != "a.b" || string(m.Payload) != "payload" || m.ReplyTo != "" {
		t.Errorf("message %+v", m)
	}
	if !slices.Equal(m.Headers, headers) {
		t.Errorf("headers %q, want %q", m.Headers, headers)
	}
	if v, ok := m.Header("trace"); v != "abc" || !ok {
		t.Errorf("Header(trace) = %q, %v; want the first one", v, ok)
	}
	if _, ok := m.Header("missing"); ok {
		t.Error("Header(missing) found something")
	}
	second := recv(t, sub)
	if second.Payload != nil || second.Headers != nil || second.Seq <= m.Seq {
		t.Errorf("second message %+v after seq %d", second, m.Seq)
	}
}

func TestManyHeadersRoundTrip(t *testing.T) {
	// More headers than the C shim unpacks on its stack.
	bus := newBus(t)
	sub := subscribe(t, bus, "h")
	var headers []charter.Header
	for i := range 40 {
		headers = append(headers, charter.Header{Name: fmt.Sprintf("h%d", i), Value: strings.Repeat("v", i)})
	}
	publish(t, bus, "h", "x", headers...)
	if got := recv(t, sub).Headers; !slices.Equal(got, headers) {
		t.Errorf("headers %q, want %q", got, headers)
	}
}

func TestInvalidTopicsPatternsAndHeaders(t *testing.T) {
	bus := newBus(t)
	subscribe(t, bus, ">")
	long := strings.Repeat("x", 300)
	for _, topic := range []string{"", "a..b", "a.*", "a.>", ".a", "a b", "_charter.x", "a\x00b", long} {
		_, err := bus.Publish(topic, nil)
		wantErr(t, fmt.Sprintf("Publish(%.20q)", topic), err, charter.ErrInvalidArgument)
	}
	for _, pattern := range []string{"", "a.>.b", "a.b*", "_charter.>", "a\x00"} {
		_, err := bus.Subscribe(pattern)
		wantErr(t, fmt.Sprintf("Subscribe(%q)", pattern), err, charter.ErrInvalidArgument)
	}
	// Strings too long for the shim's stack copy still reach Charter,
	// whose message names the limit.
	if _, err := bus.Subscribe(long); !errors.Is(err, charter.ErrInvalidArgument) || !strings.Contains(err.Error(), "256") {
		t.Errorf("Subscribe(300 bytes) = %v", err)
	}
	for _, h := range []charter.Header{{"", "v"}, {"a b", "v"}, {"a:b", "v"}, {"n", "line\nbreak"}, {"n\x00", "v"}, {"n", "v\x00"}} {
		_, err := bus.Publish("a", nil, h)
		wantErr(t, fmt.Sprintf("Publish with header %q", h), err, charter.ErrInvalidArgument)
	}
	if s := busStats(t, bus); s.Published != 0 || s.Subscriptions.Received != 0 {
		t.Errorf("a refused publish was counted: %+v", s)
	}
}

func TestBusLimits(t *testing.T) {
	bus := newBus(t, charter.WithLimits(charter.BusLimits{
		MaxSubscriptions: 2, MaxQueueMessages: 4, MaxPayload: 8, MaxHeaders: 1, MaxHeaderBytes: 6, MaxTopicTokens: 2,
	}))
	subscribe(t, bus, "a", charter.WithCapacity(1))
	_, err := bus.Subscribe("b", charter.WithCapacity(5))
	wantErr(t, "capacity over MaxQueueMessages", err, charter.ErrLimitExceeded)
	subscribe(t, bus, "b", charter.WithCapacity(4))
	_, err = bus.Subscribe("c", charter.WithCapacity(1))
	wantErr(t, "third subscription", err, charter.ErrLimitExceeded)

	_, err = bus.Publish("a", []byte("123456789"))
	wantErr(t, "9-byte payload", err, charter.ErrLimitExceeded)
	_, err = bus.Publish("a", nil, charter.Header{"x", "1"}, charter.Header{"y", "2"})
	wantErr(t, "2 headers", err, charter.ErrLimitExceeded)
	_, err = bus.Publish("a", nil, charter.Header{"name", "val"})
	wantErr(t, "7 header bytes", err, charter.ErrLimitExceeded)
	_, err = bus.Publish("a.b.c", nil)
	wantErr(t, "3 tokens", err, charter.ErrInvalidArgument)
	if r := publish(t, bus, "a", "12345678", charter.Header{"x", "1"}); r.Delivered != 1 {
		t.Errorf("publish within the limits: %+v", r)
	}

	for _, limits := range []charter.BusLimits{{MaxPayload: -1}, {MaxTopicLen: 257}, {MaxTopicTokens: 17}} {
		_, err := charter.NewBus(charter.WithLimits(limits))
		wantErr(t, fmt.Sprintf("NewBus(%+v)", limits), err, charter.ErrInvalidArgument)
	}
}

func TestSubscribeOptionErrors(t *testing.T) {
	bus := newBus(t)
	cases := map[string]charter.SubscribeOption{
		"negative capacity":    charter.WithCapacity(-1),
		"zero capacity":        charter.WithCapacity(0),
		"negative max bytes":   charter.WithMaxBytes(-1),
		"zero max bytes":       charter.WithMaxBytes(0),
		"zero ttl":             charter.WithTTL(0),
		"negative idle ttl":    charter.WithIdleTTL(-time.Second),
		"ttl beyond uint32 ms": charter.WithTTL(50 * 24 * time.Hour),
		"negative block":       charter.WithOverflow(charter.Block(-time.Millisecond)),
	}
	for name, opt := range cases {
		_, err := bus.Subscribe("a", opt)
		wantErr(t, name, err, charter.ErrInvalidArgument)
		_, err = bus.SubscribeFunc("a", func(*charter.Message) error { return nil }, opt)
		wantErr(t, name+" (SubscribeFunc)", err, charter.ErrInvalidArgument)
	}
	_, err := bus.SubscribeFunc("a", nil)
	wantErr(t, "SubscribeFunc(nil)", err, charter.ErrNullArgument)
	if s := busStats(t, bus); s.LiveSubscriptions != 0 {
		t.Errorf("%d subscriptions after failed subscribes", s.LiveSubscriptions)
	}
}

func TestBusStatsIncludeEndedSubscriptions(t *testing.T) {
	bus := newBus(t)
	a := subscribe(t, bus, "x")
	b := subscribe(t, bus, "x")
	for range 3 {
		publish(t, bus, "x", "m")
	}
	recv(t, a)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	s := busStats(t, bus)
	want := charter.BusStats{
		Published:         3,
		LiveSubscriptions: 1,
		Subscriptions: charter.SubscriptionStats{
			Received: 6, Delivered: 1, Queued: 2, Dropped: charter.Drops{Closed: 3},
		},
	}
	if s != want {
		t.Errorf("stats %+v, want %+v", s, want)
	}
}

func TestEveryMethodFailsAfterClose(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "a")
	fn, err := bus.SubscribeFunc("b", func(*charter.Message) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	closeTwice(t, bus)
	checkBusClosed(t, bus)
	checkSubscriptionClosed(t, sub)
	checkSubscriptionClosed(t, fn)

	// A closed subscription of an open bus, and the zero values.
	open := newBus(t)
	closed := subscribe(t, open, "a")
	id := closed.ID()
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	checkSubscriptionClosed(t, closed)
	if closed.ID() != id {
		t.Error("ID changed with Close")
	}
	checkBusClosed(t, &charter.Bus{})
	checkSubscriptionClosed(t, &charter.Subscription{})
}

func checkBusClosed(t *testing.T, bus *charter.Bus) {
	t.Helper()
	_, err := bus.Publish("a", nil)
	wantErr(t, "Publish", err, charter.ErrClosed)
	_, err = bus.Subscribe("a")
	wantErr(t, "Subscribe", err, charter.ErrClosed)
	_, err = bus.SubscribeFunc("a", func(*charter.Message) error { return nil })
	wantErr(t, "SubscribeFunc", err, charter.ErrClosed)
	_, err = bus.Request(context.Background(), "a", nil)
	wantErr(t, "Request", err, charter.ErrClosed)
	_, err = bus.Respond(&charter.Message{ReplyTo: "_charter.inbox.1.1"}, nil)
	wantErr(t, "Respond", err, charter.ErrClosed)
	_, err = bus.Stats()
	wantErr(t, "Stats", err, charter.ErrClosed)
	_, err = bus.EvictIdle()
	wantErr(t, "EvictIdle", err, charter.ErrClosed)
	if err := bus.Close(); err != nil {
		t.Errorf("Close of a closed bus: %v", err)
	}
}

func checkSubscriptionClosed(t *testing.T, sub *charter.Subscription) {
	t.Helper()
	_, err := sub.Recv(context.Background())
	wantErr(t, "Recv", err, charter.ErrClosed)
	_, ok, err := sub.TryRecv()
	wantErr(t, "TryRecv", err, charter.ErrClosed)
	if ok {
		t.Error("TryRecv reported a message")
	}
	_, err = sub.Stats()
	wantErr(t, "Subscription.Stats", err, charter.ErrClosed)
	select {
	case m, open := <-sub.C():
		if open {
			t.Errorf("C delivered %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Error("C's channel is not closed")
	}
	if err := sub.Close(); err != nil {
		t.Errorf("Close of a closed subscription: %v", err)
	}
}

// Close races with every kind of call: each either works or fails with
// ErrClosed, and every goroutine finishes.
func TestCloseWhileInUse(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "load.>", charter.WithCapacity(16))
	subscribeFunc(t, bus, "load.>", func(*charter.Message) error { return nil }, charter.WithDispatchThread())
	var wg sync.WaitGroup
	var calls atomic.Int64
	loop := func(name string, call func() error) {
		wg.Go(func() {
			for {
				calls.Add(1)
				if err := call(); err != nil {
					wantErr(t, name, err, charter.ErrClosed)
					return
				}
			}
		})
	}
	for range 2 {
		loop("Publish", func() error {
			_, err := bus.Publish("load.x", []byte("m"))
			return err
		})
	}
	loop("Recv", func() error {
		_, err := sub.Recv(context.Background())
		return err
	})
	loop("Subscribe and Close", func() error {
		s, err := bus.Subscribe("load.y")
		if err != nil {
			return err
		}
		return s.Close()
	})
	loop("Stats", func() error {
		_, err := bus.Stats()
		return err
	})
	waitFor(t, func() bool { return calls.Load() > 1000 })
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}
