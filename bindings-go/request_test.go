package charter_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"charter.dev/charter"
)

// request makes a request that must be answered within 5 s.
func request(t *testing.T, bus *charter.Bus, topic, payload string, headers ...charter.Header) *charter.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := bus.Request(ctx, topic, []byte(payload), headers...)
	if err != nil {
		t.Fatalf("Request(%q): %v", topic, err)
	}
	return reply
}

func TestRequestAndRespond(t *testing.T) {
	dispatches(t, func(t *testing.T, opts ...charter.SubscribeOption) {
		bus := newBus(t)
		inboxes := make(chan string, 1)
		subscribeFunc(t, bus, "svc.upper", func(m *charter.Message) error {
			inboxes <- m.ReplyTo
			id, _ := m.Header("id")
			_, err := bus.Respond(m, bytes.ToUpper(m.Payload), charter.Header{Name: "re", Value: id})
			return err
		}, opts...)

		reply := request(t, bus, "svc.upper", "hello", charter.Header{Name: "id", Value: "7"})
		inbox := <-inboxes
		if !strings.HasPrefix(inbox, "_charter.") {
			t.Errorf("the request's ReplyTo is %q", inbox)
		}
		if string(reply.Payload) != "HELLO" || reply.Topic != inbox || reply.ReplyTo != "" {
			t.Errorf("reply %+v", reply)
		}
		if re, _ := reply.Header("re"); re != "7" {
			t.Errorf("reply headers %q", reply.Headers)
		}
		// The reply inbox ended with the request.
		if s := busStats(t, bus); s.LiveSubscriptions != 1 {
			t.Errorf("%d live subscriptions after the request", s.LiveSubscriptions)
		}
	})
}

func TestRespondFromAPullSubscription(t *testing.T) {
	bus := newBus(t)
	requests := subscribe(t, bus, "svc.>")
	go func() {
		for m := range requests.C() {
			bus.Respond(m, append([]byte("re: "), m.Payload...))
		}
	}()
	for _, p := range []string{"one", "two"} {
		if reply := request(t, bus, "svc.echo", p); string(reply.Payload) != "re: "+p {
			t.Errorf("reply %+v", reply)
		}
	}
}

func TestRequestWithoutResponder(t *testing.T) {
	bus := newBus(t)
	_, err := bus.Request(context.Background(), "nobody.home", nil)
	wantErr(t, "Request with no subscriber", err, charter.ErrNotFound)

	// A subscriber that never answers.
	silent := subscribe(t, bus, "svc.silent")
	// The deadline counts from the context's making, so the clock starts
	// before it: started after, the wait measured can be a hair under 50ms.
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = bus.Request(ctx, "svc.silent", []byte("1"))
	wantErr(t, "Request past its deadline", err, context.DeadlineExceeded)
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("Request gave up after %v", waited)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	_, err = bus.Request(ctx, "svc.silent", []byte("2"))
	wantErr(t, "cancelled Request", err, context.Canceled)
	// A done context publishes nothing.
	_, err = bus.Request(ctx, "svc.silent", []byte("3"))
	wantErr(t, "Request with a done context", err, context.Canceled)

	if s := busStats(t, bus); s.LiveSubscriptions != 1 {
		t.Errorf("%d live subscriptions: a reply inbox outlived its request", s.LiveSubscriptions)
	}
	// The requests are still there; answering one now reaches nobody.
	late := recv(t, silent)
	if r, err := bus.Respond(late, []byte("too late")); err != nil || r.Matched != 0 {
		t.Errorf("late Respond = %+v, %v", r, err)
	}
	if got := drain(t, silent); len(got) != 1 || got[0] != "2" {
		t.Errorf("requests left %q, want only the second", got)
	}
}

func TestRequestEndsWithTheBus(t *testing.T) {
	bus := newBus(t)
	subscribe(t, bus, "svc.silent")
	time.AfterFunc(30*time.Millisecond, func() { bus.Close() })
	_, err := bus.Request(t.Context(), "svc.silent", nil)
	wantErr(t, "Request when the bus closes", err, charter.ErrClosed)
}

func TestRespondNeedsARequest(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "a")
	publish(t, bus, "a", "not a request")
	m := recv(t, sub)
	_, err := bus.Respond(m, nil)
	wantErr(t, "Respond to a plain message", err, charter.ErrInvalidArgument)
	_, err = bus.Respond(&charter.Message{ReplyTo: "a"}, nil)
	wantErr(t, "Respond to a forged inbox", err, charter.ErrInvalidArgument)
	_, err = bus.Respond(nil, nil)
	wantErr(t, "Respond(nil)", err, charter.ErrNullArgument)
	if s := subStats(t, sub); s.Received != 1 {
		t.Errorf("a refused Respond reached a subscriber: %+v", s)
	}
}
