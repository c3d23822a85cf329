package charter_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"charter.dev/charter"
)

// enforcing is an authority at t0 trusting root, and a bus enforcing it.
type enforcing struct {
	root *charter.KeyPair
	auth *charter.Authority
	bus  *charter.Bus
}

func newEnforcing(t *testing.T) enforcing {
	t.Helper()
	root := newKey(t)
	auth := newAuthority(t, root)
	bus, err := charter.NewBusWithAuthority(auth)
	if err != nil {
		t.Fatalf("NewBusWithAuthority: %v", err)
	}
	t.Cleanup(func() { bus.Close() })
	return enforcing{root: root, auth: auth, bus: bus}
}

// client opens a session for a new holder with grants and returns its
// Client and token.
func (e enforcing) client(t *testing.T, grants ...string) (*charter.Client, *charter.Token) {
	t.Helper()
	holder := newKey(t)
	tok := mint(t, e.root, holder, grants...)
	return e.bus.Client(openSession(t, e.auth, tok, holder)), tok
}

func TestEnforcingBusRequiresASession(t *testing.T) {
	e := newEnforcing(t)
	writer, _ := e.client(t, "publish orders.*.created")
	reader, _ := e.client(t, "subscribe orders.>")

	_, err := e.bus.Publish("orders.eu.created", []byte("o-1"))
	wantErr(t, "Publish without a session", err, charter.ErrDenied)
	_, err = e.bus.Subscribe("orders.>")
	wantErr(t, "Subscribe without a session", err, charter.ErrDenied)
	_, err = e.bus.SubscribeFunc("orders.>", func(*charter.Message) error { return nil })
	wantErr(t, "SubscribeFunc without a session", err, charter.ErrDenied)
	_, err = e.bus.Request(context.Background(), "orders.eu.created", nil)
	wantErr(t, "Request without a session", err, charter.ErrDenied)

	sub, err := reader.Subscribe("orders.>")
	if err != nil {
		t.Fatalf("Subscribe with a session: %v", err)
	}
	defer sub.Close()
	report, err := writer.Publish("orders.eu.created", []byte("o-2"))
	if err != nil || report.Delivered != 1 {
		t.Fatalf("Publish with a session = %+v, %v; want delivered to 1", report, err)
	}
	if m := recv(t, sub); string(m.Payload) != "o-2" || m.Topic != "orders.eu.created" {
		t.Errorf("received %q on %q", m.Payload, m.Topic)
	}

	_, err = writer.Publish("orders.eu.deleted", nil)
	wantErr(t, "Publish outside the grants", err, charter.ErrDenied)
	_, err = writer.Subscribe("orders.>")
	wantErr(t, "Subscribe without a subscribe grant", err, charter.ErrDenied)
	_, err = reader.Subscribe(">")
	wantErr(t, "Subscribe to a wider pattern than granted", err, charter.ErrDenied)

	if s := busStats(t, e.bus); s.Denied != 7 || s.Published != 1 {
		t.Errorf("Stats: denied %d, published %d; want 7 and 1", s.Denied, s.Published)
	}
}

func TestClientSubscribeFuncAndRequest(t *testing.T) {
	e := newEnforcing(t)
	server, _ := e.client(t, "subscribe rpc.>")
	caller, _ := e.client(t, "request rpc.time")

	var got []string
	var mu sync.Mutex
	sub, err := server.SubscribeFunc("rpc.>", func(m *charter.Message) error {
		mu.Lock()
		got = append(got, m.Topic)
		mu.Unlock()
		_, err := server.Respond(m, []byte("noon"))
		return err
	})
	if err != nil {
		t.Fatalf("SubscribeFunc: %v", err)
	}
	defer sub.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reply, err := caller.Request(ctx, "rpc.time", nil)
	if err != nil || string(reply.Payload) != "noon" {
		t.Fatalf("Request = %v, %v; want the reply noon", reply, err)
	}
	_, err = caller.Request(ctx, "rpc.date", nil)
	wantErr(t, "Request outside the grants", err, charter.ErrDenied)
	_, err = server.Request(ctx, "rpc.time", nil)
	wantErr(t, "Request without a request grant", err, charter.ErrDenied)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "rpc.time" {
		t.Errorf("the responder saw %q, want one request on rpc.time", got)
	}
}

func TestRevocationEndsTheSessionsSubscriptions(t *testing.T) {
	e := newEnforcing(t)
	reader, tok := e.client(t, "subscribe news.>")
	writer, _ := e.client(t, "publish news.>")
	sub, err := reader.Subscribe("news.>")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := writer.Publish("news.a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	recv(t, sub)
	if _, err := writer.Publish("news.a", []byte("queued")); err != nil {
		t.Fatal(err)
	}

	// A receive already waiting wakes as soon as the session is revoked.
	waiting, err := reader.Subscribe("news.waiting")
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()
	woke := make(chan error, 1)
	go func() {
		_, err := waiting.Recv(context.Background())
		woke <- err
	}()
	time.Sleep(50 * time.Millisecond)

	id, _ := tok.LinkID(0)
	revoked := time.Now()
	if _, err := e.auth.Revoke(id); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-woke:
		wantErr(t, "the waiting Recv", err, charter.ErrRevoked)
		if late := time.Since(revoked); late > time.Second {
			t.Errorf("the waiting Recv woke %v after the revocation", late)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting Recv did not wake on revocation")
	}
	stats, err := e.bus.Stats()
	if err != nil || stats.Subscriptions.Dropped.SessionEnded != 1 {
		t.Errorf("bus stats = %+v, %v; want the queued message counted as SessionEnded", stats, err)
	}
	report, err := writer.Publish("news.a", []byte("2"))
	if err != nil || report.Matched != 0 {
		t.Errorf("Publish after the reader's revocation = %+v, %v; want no subscription left", report, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = sub.Recv(ctx)
	wantErr(t, "Recv on the revoked session's subscription", err, charter.ErrRevoked)
	_, err = reader.Subscribe("news.>")
	wantErr(t, "Subscribe with a revoked session", err, charter.ErrRevoked)

	if err := e.auth.SetTime(t0.Add(time.Hour + skew)); err != nil {
		t.Fatal(err)
	}
	_, err = writer.Publish("news.a", nil)
	wantErr(t, "Publish with an expired session", err, charter.ErrExpired)
}

func TestClientMisuse(t *testing.T) {
	e := newEnforcing(t)
	other := newEnforcing(t)
	foreign, _ := other.client(t, "publish >")
	_, err := e.bus.Client(foreign.Session()).Publish("a", nil)
	wantErr(t, "Publish with another authority's session", err, charter.ErrDenied)

	_, err = e.bus.Client(nil).Publish("a", nil)
	wantErr(t, "Publish with a nil session", err, charter.ErrNullArgument)
	_, err = e.bus.Client(nil).Subscribe("a")
	wantErr(t, "Subscribe with a nil session", err, charter.ErrNullArgument)

	_, err = charter.NewBusWithAuthority(nil)
	wantErr(t, "NewBusWithAuthority(nil)", err, charter.ErrNullArgument)

	// Closing the session handle refuses the Client's calls but does not
	// end what the session opened.
	reader, _ := e.client(t, "subscribe a")
	writer, _ := e.client(t, "publish a")
	sub, err := reader.Subscribe("a")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := reader.Session().Close(); err != nil {
		t.Fatal(err)
	}
	_, err = reader.Subscribe("a")
	wantErr(t, "Subscribe after the session's Close", err, charter.ErrClosed)
	_, err = reader.SubscribeFunc("a", func(*charter.Message) error { return nil })
	wantErr(t, "SubscribeFunc after the session's Close", err, charter.ErrClosed)
	_, err = reader.Request(context.Background(), "a", nil)
	wantErr(t, "Request after the session's Close", err, charter.ErrClosed)
	if _, err := writer.Publish("a", []byte("still")); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, sub); string(m.Payload) != "still" {
		t.Errorf("received %q, want the message published after the session's Close", m.Payload)
	}

	if err := e.bus.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = writer.Publish("a", nil)
	wantErr(t, "Publish after the bus's Close", err, charter.ErrClosed)
}

func TestClientsConcurrently(t *testing.T) {
	e := newEnforcing(t)
	reader, _ := e.client(t, "subscribe load.>")
	const writers, each = 8, 50
	sub, err := reader.Subscribe("load.>", charter.WithCapacity(writers*each))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var wg sync.WaitGroup
	for range writers {
		w, _ := e.client(t, "publish load.ok")
		wg.Go(func() {
			for range each {
				if _, err := w.Publish("load.ok", nil); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
				if _, err := w.Publish("load.denied", nil); err == nil {
					t.Error("Publish outside the grants succeeded")
					return
				}
			}
		})
	}
	wg.Wait()
	s := busStats(t, e.bus)
	if s.Published != writers*each || s.Denied != writers*each {
		t.Errorf("Stats: published %d, denied %d; want %d each", s.Published, s.Denied, writers*each)
	}
	if st, _ := sub.Stats(); st.Queued != writers*each {
		t.Errorf("queued %d, want %d", st.Queued, writers*each)
	}
}

// A plain bus takes calls with or without a session, but a Client's are
// still held to its grants.
func TestClientOnAPlainBus(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	auth := newAuthority(t, root)
	bus := newBus(t)
	client := bus.Client(openSession(t, auth, mint(t, root, holder, "publish a"), holder))
	if _, err := client.Publish("a", nil); err != nil {
		t.Errorf("Publish within the grants: %v", err)
	}
	_, err := client.Publish("b", nil)
	wantErr(t, "Publish outside the grants", err, charter.ErrDenied)
	if _, err := bus.Publish("b", nil); err != nil {
		t.Errorf("the bus's own Publish: %v", err)
	}
	if s := busStats(t, bus); s.Denied != 1 {
		t.Errorf("Denied = %d, want 1", s.Denied)
	}
}
