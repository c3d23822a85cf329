package charter_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"charter.dev/charter"
)

// A batch publishes each payload in order; RecvMany takes what is queued,
// up to its limit, and the accounting adds up exactly.
func TestBatchAccountingIsExact(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "b.*", charter.WithCapacity(200))
	other := subscribe(t, bus, "b.x")
	payloads := make([][]byte, 100)
	for i := range payloads {
		payloads[i] = []byte{byte(i), byte(i)}
	}
	payloads[7] = nil
	n, report, err := bus.PublishBatch("b.x", payloads, charter.Header{Name: "k", Value: "v"})
	if err != nil || n != 100 || report != (charter.PublishReport{Matched: 200, Delivered: 200}) {
		t.Fatalf("PublishBatch = %d, %+v, %v", n, report, err)
	}
	ctx := context.Background()
	var got []*charter.Message
	for len(got) < 100 {
		msgs, err := sub.RecvMany(ctx, 64)
		if err != nil || len(msgs) == 0 || len(msgs) > 64 {
			t.Fatalf("RecvMany: %d messages, %v", len(msgs), err)
		}
		got = append(got, msgs...)
	}
	for i, m := range got {
		want := payloads[i]
		if string(m.Payload) != string(want) || m.Topic != "b.x" || len(m.Headers) != 1 || m.Headers[0].Value != "v" ||
			(i > 0 && m.Seq <= got[i-1].Seq) {
			t.Fatalf("message %d = %+v", i, m)
		}
	}
	stats, err := sub.Stats()
	if err != nil || stats.Received != 100 || stats.Delivered != 100 || stats.Queued != 0 {
		t.Fatalf("stats %+v, %v", stats, err)
	}
	if stats, _ := other.Stats(); stats.Queued != 100 {
		t.Fatalf("the other subscription has %d queued", stats.Queued)
	}
	// An empty batch publishes nothing and succeeds.
	if n, report, err := bus.PublishBatch("b.x", nil); err != nil || n != 0 || report != (charter.PublishReport{}) {
		t.Fatalf("empty batch = %d, %+v, %v", n, report, err)
	}
}

// A batch's payloads share one allocation, yet each is a slice of its own:
// writing or appending to one never touches another, and an empty payload
// is nil.
func TestRecvManyPayloadsAreIndependent(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "p")
	if _, _, err := bus.PublishBatch("p", [][]byte{[]byte("abc"), nil, []byte("de"), []byte("f")}); err != nil {
		t.Fatal(err)
	}
	msgs, err := sub.RecvMany(context.Background(), 4)
	if err != nil || len(msgs) != 4 {
		t.Fatalf("RecvMany: %d messages, %v", len(msgs), err)
	}
	if msgs[1].Payload != nil {
		t.Fatalf("empty payload = %#v, want nil", msgs[1].Payload)
	}
	msgs[0].Payload[2] = 'X'
	msgs[0].Payload = append(msgs[0].Payload, "YYYY"...)
	msgs[2].Payload = append(msgs[2].Payload, 'Z')
	got := []string{string(msgs[0].Payload), string(msgs[2].Payload), string(msgs[3].Payload)}
	if got[0] != "abXYYYY" || got[1] != "deZ" || got[2] != "f" {
		t.Fatalf("payloads after writes and appends = %q", got)
	}
}

// The first message that fails stops the batch: n counts those before it
// and the report adds up theirs.
func TestPublishBatchStopsAtTheFirstFailure(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "full", charter.WithCapacity(3), charter.WithOverflow(charter.ErrorOnFull))
	n, report, err := bus.PublishBatch("full", [][]byte{{1}, {2}, {3}, {4}, {5}})
	if !errors.Is(err, charter.ErrLimitExceeded) || n != 3 || report != (charter.PublishReport{Matched: 3, Delivered: 3}) {
		t.Fatalf("PublishBatch = %d, %+v, %v", n, report, err)
	}
	msgs, err := sub.RecvMany(context.Background(), 10)
	if err != nil || len(msgs) != 3 || msgs[2].Payload[0] != 3 {
		t.Fatalf("RecvMany = %v, %v", msgs, err)
	}
}

// Bad input fails before anything is published or taken, with Charter's
// status.
func TestBatchBadInput(t *testing.T) {
	bus := newBus(t, charter.WithLimits(charter.BusLimits{MaxPayload: 4}))
	sub := subscribe(t, bus, ">")
	ctx := context.Background()
	for name, c := range map[string]struct {
		topic    string
		payloads [][]byte
		headers  []charter.Header
		want     error
	}{
		"bad topic":             {"a..b", [][]byte{{1}}, nil, charter.ErrInvalidArgument},
		"wildcard topic":        {"a.*", [][]byte{{1}}, nil, charter.ErrInvalidArgument},
		"NUL in topic":          {"a\x00", [][]byte{{1}}, nil, charter.ErrInvalidArgument},
		"payload too big, last": {"a", [][]byte{{1}, {2}, {1, 2, 3, 4, 5}}, nil, charter.ErrLimitExceeded},
		"bad header":            {"a", [][]byte{{1}}, []charter.Header{{Name: "", Value: "v"}}, charter.ErrInvalidArgument},
		"too many":              {"a", make([][]byte, charter.BatchMax+1), nil, charter.ErrLimitExceeded},
	} {
		n, report, err := bus.PublishBatch(c.topic, c.payloads, c.headers...)
		if !errors.Is(err, c.want) || n != 0 || report != (charter.PublishReport{}) {
			t.Errorf("%s: %d, %+v, %v; want %v", name, n, report, err, c.want)
		}
	}
	if stats, _ := sub.Stats(); stats.Received != 0 {
		t.Fatalf("a refused batch published %d", stats.Received)
	}
	if _, _, err := bus.PublishBatch("a", [][]byte{{1}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		limit int
		want  error
	}{{0, charter.ErrInvalidArgument}, {-1, charter.ErrInvalidArgument}, {charter.BatchMax + 1, charter.ErrLimitExceeded},
		{1 << 40, charter.ErrLimitExceeded}} {
		if msgs, err := sub.RecvMany(ctx, c.limit); !errors.Is(err, c.want) || msgs != nil {
			t.Errorf("RecvMany(%d) = %v, %v; want %v", c.limit, msgs, err, c.want)
		}
	}
	if msgs, err := sub.RecvMany(ctx, charter.BatchMax); err != nil || len(msgs) != 1 {
		t.Fatalf("the refused RecvMany calls took something: %v, %v", msgs, err)
	}
	//lint:ignore SA1012 passing nil is what is tested
	if _, err := sub.RecvMany(nil, 1); !errors.Is(err, charter.ErrNullArgument) {
		t.Errorf("nil ctx: %v", err)
	}
}

// RecvMany waits as Recv does: a publish wakes it, a done ctx ends it
// taking nothing, and Close ends it with ErrClosed.
func TestRecvManyWaits(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "w")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if msgs, err := sub.RecvMany(ctx, 8); !errors.Is(err, context.DeadlineExceeded) || msgs != nil {
		t.Fatalf("RecvMany on an empty queue = %v, %v", msgs, err)
	}
	done := make(chan []*charter.Message)
	go func() {
		msgs, err := sub.RecvMany(context.Background(), 8)
		if err != nil {
			t.Error(err)
		}
		done <- msgs
	}()
	if _, _, err := bus.PublishBatch("w", [][]byte{{1}, {2}}); err != nil {
		t.Fatal(err)
	}
	msgs := <-done
	if len(msgs) == 0 || msgs[0].Payload[0] != 1 {
		t.Fatalf("woken RecvMany = %v", msgs)
	}
	if len(msgs) == 1 {
		if rest, err := sub.RecvMany(context.Background(), 8); err != nil || len(rest) != 1 || rest[0].Payload[0] != 2 {
			t.Fatalf("second RecvMany = %v, %v", rest, err)
		}
	}
	go func() {
		_, err := sub.RecvMany(context.Background(), 8)
		done <- nil
		if !errors.Is(err, charter.ErrClosed) {
			t.Errorf("RecvMany across Close: %v", err)
		}
	}()
	sub.Close()
	<-done
	if _, err := sub.RecvMany(context.Background(), 8); !errors.Is(err, charter.ErrClosed) {
		t.Fatalf("RecvMany after Close: %v", err)
	}
}

// A Client's batch needs the grant, as each publish would.
func TestClientPublishBatchNeedsTheGrant(t *testing.T) {
	root, holder := newKey(t), newKey(t)
	a := newAuthority(t, root)
	tok := mint(t, root, holder, "publish orders.>")
	bus, err := charter.NewBusWithAuthority(a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	client := bus.Client(openSession(t, a, tok, holder))
	if n, _, err := client.PublishBatch("orders.eu", [][]byte{{1}, {2}}); err != nil || n != 2 {
		t.Fatalf("granted batch: %d, %v", n, err)
	}
	if n, _, err := client.PublishBatch("payments.eu", [][]byte{{1}}); !errors.Is(err, charter.ErrDenied) || n != 0 {
		t.Fatalf("denied batch: %d, %v", n, err)
	}
}

// After the bus's Close, both batch calls fail with ErrClosed, and a
// RecvMany waiting across the Close wakes with it.
func TestBatchAfterBusClose(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "a")
	woke := make(chan error, 1)
	go func() {
		_, err := sub.RecvMany(context.Background(), 4)
		woke <- err
	}()
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-woke; !errors.Is(err, charter.ErrClosed) {
		t.Fatalf("RecvMany across the bus's Close: %v", err)
	}
	if _, _, err := bus.PublishBatch("a", [][]byte{{1}}); !errors.Is(err, charter.ErrClosed) {
		t.Fatalf("PublishBatch after Close: %v", err)
	}
	if _, err := sub.RecvMany(context.Background(), 4); !errors.Is(err, charter.ErrClosed) {
		t.Fatalf("RecvMany after Close: %v", err)
	}
}

// RecvMany copies each batch through a buffer of its own: whatever the
// sizes, topics, headers and reply inboxes, every message it returns
// equals what Recv returns of the same message on a twin subscription.
// The batch holds payloads larger than the binding's 64 KiB buffer and
// runs that fill it part way, so every way through is taken.
func TestRecvManyEqualsRecvWhateverTheSizes(t *testing.T) {
	bus := newBus(t, charter.WithLimits(charter.BusLimits{MaxPayload: 200 << 10}))
	sub := subscribe(t, bus, "sz.>", charter.WithCapacity(100))
	twin := subscribe(t, bus, "sz.>", charter.WithCapacity(100))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	requested := make(chan error, 1)
	go func() {
		_, err := bus.Request(ctx, "sz.req", []byte("question"), charter.Header{Name: "h", Value: ""})
		requested <- err
	}()
	for _, size := range []int{0, 1, 40 << 10, 40 << 10, 100 << 10, 3, 70 << 10, 64 << 10, 10} {
		topic := "sz.a"
		if size%2 == 1 {
			topic = "sz.odd"
		}
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		if _, err := bus.Publish(topic, payload, charter.Header{Name: "size", Value: string(rune('a' + size%26))}); err != nil {
			t.Fatal(err)
		}
	}
	want := make([]*charter.Message, 0, 10)
	for len(want) < 10 {
		m, err := twin.Recv(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m)
	}
	var got []*charter.Message
	for len(got) < 10 {
		msgs, err := sub.RecvMany(context.Background(), 64)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, msgs...)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("message %d: RecvMany gave seq %d topic %q %d bytes %v reply %q; Recv gave seq %d topic %q %d bytes %v reply %q",
				i, got[i].Seq, got[i].Topic, len(got[i].Payload), got[i].Headers, got[i].ReplyTo,
				want[i].Seq, want[i].Topic, len(want[i].Payload), want[i].Headers, want[i].ReplyTo)
		}
	}
	if stats, err := sub.Stats(); err != nil || stats.Delivered != 10 || stats.Queued != 0 {
		t.Fatalf("stats %+v, %v", stats, err)
	}
	cancel()
	if err := <-requested; !errors.Is(err, charter.ErrCancelled) {
		t.Fatalf("the request ended with %v", err)
	}
}

// One slice repeated is laid out once for Charter; a shorter slice of the
// same array, or another start in it, is not that slice: each message
// still carries exactly its own payload.
func TestPublishBatchRepeatedSlices(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "rep")
	text := []byte("repeated")
	payloads := [][]byte{text, text, text[:3], text[1:4], text, nil, nil, text}
	if n, _, err := bus.PublishBatch("rep", payloads); err != nil || n != len(payloads) {
		t.Fatalf("PublishBatch = %d, %v", n, err)
	}
	msgs, err := sub.RecvMany(context.Background(), 16)
	if err != nil || len(msgs) != len(payloads) {
		t.Fatalf("RecvMany: %d messages, %v", len(msgs), err)
	}
	for i, m := range msgs {
		if string(m.Payload) != string(payloads[i]) {
			t.Fatalf("message %d = %q, want %q", i, m.Payload, payloads[i])
		}
	}
}

// A limit past the binding's 1,024 entries a call still takes everything
// queued, in order, in one RecvMany.
func TestRecvManyTakesALargeBatchWhole(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "big", charter.WithCapacity(5000))
	payloads := make([][]byte, 3000)
	for i := range payloads {
		payloads[i] = []byte{byte(i), byte(i >> 8)}
	}
	if n, _, err := bus.PublishBatch("big", payloads); err != nil || n != len(payloads) {
		t.Fatalf("PublishBatch = %d, %v", n, err)
	}
	msgs, err := sub.RecvMany(context.Background(), charter.BatchMax)
	if err != nil || len(msgs) != len(payloads) {
		t.Fatalf("RecvMany: %d messages, %v", len(msgs), err)
	}
	for i, m := range msgs {
		if string(m.Payload) != string(payloads[i]) {
			t.Fatalf("message %d = %v", i, m.Payload)
		}
	}
	if _, err := sub.RecvMany(context.Background(), charter.BatchMax+1); !errors.Is(err, charter.ErrLimitExceeded) {
		t.Fatalf("RecvMany past BatchMax = %v", err)
	}
}

// Messages whose headers are much longer than their payloads: RecvMany
// copies each payload out on its own rather than the span they lie in,
// and still gives what Recv gives on a twin subscription, each payload
// capped at its own length.
func TestRecvManyPayloadsBetweenLongHeaders(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "lh", charter.WithCapacity(64))
	twin := subscribe(t, bus, "lh", charter.WithCapacity(64))
	long := charter.Header{Name: "pad", Value: strings.Repeat("v", 500)}
	for i := range 20 {
		payload := []byte{byte(i), byte(i + 1), byte(i + 2)}
		if i%5 == 0 {
			payload = nil
		}
		if _, err := bus.Publish("lh", payload, long); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	msgs, err := sub.RecvMany(ctx, 64)
	if err != nil || len(msgs) != 20 {
		t.Fatalf("RecvMany: %d messages, %v", len(msgs), err)
	}
	for i, m := range msgs {
		want, err := twin.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m, want) || cap(m.Payload) != len(m.Payload) {
			t.Fatalf("message %d: RecvMany gave %d bytes %v (cap %d); Recv gave %d bytes %v",
				i, len(m.Payload), m.Payload, cap(m.Payload), len(want.Payload), want.Payload)
		}
	}
}

// A batch with payloads over 1 KiB among short ones, one of them repeated,
// and an empty one: each message carries exactly its own payload.
func TestPublishBatchLongAndShortPayloads(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "ls")
	long := make([]byte, 3000)
	for i := range long {
		long[i] = byte(i * 7)
	}
	payloads := [][]byte{[]byte("a"), long, long, nil, long[:1025], []byte("zz")}
	if n, _, err := bus.PublishBatch("ls", payloads); err != nil || n != len(payloads) {
		t.Fatalf("PublishBatch = %d, %v", n, err)
	}
	msgs, err := sub.RecvMany(context.Background(), 16)
	if err != nil || len(msgs) != len(payloads) {
		t.Fatalf("RecvMany: %d messages, %v", len(msgs), err)
	}
	for i, m := range msgs {
		if !bytes.Equal(m.Payload, payloads[i]) {
			t.Fatalf("message %d: %d bytes, want %d", i, len(m.Payload), len(payloads[i]))
		}
	}
}

// The largest batch goes out in one PublishBatch and comes back in order
// in one RecvMany; an empty batch publishes nothing and succeeds.
func TestBatchOfBatchMax(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "max", charter.WithCapacity(charter.BatchMax))
	payloads := make([][]byte, charter.BatchMax)
	for i := range payloads {
		payloads[i] = []byte{byte(i), byte(i >> 8)}
	}
	if n, report, err := bus.PublishBatch("max", nil); err != nil || n != 0 || report != (charter.PublishReport{}) {
		t.Fatalf("empty PublishBatch = %d, %+v, %v", n, report, err)
	}
	if n, _, err := bus.PublishBatch("max", payloads); err != nil || n != len(payloads) {
		t.Fatalf("PublishBatch = %d, %v", n, err)
	}
	msgs, err := sub.RecvMany(context.Background(), charter.BatchMax)
	if err != nil || len(msgs) != len(payloads) {
		t.Fatalf("RecvMany: %d messages, %v", len(msgs), err)
	}
	for i, m := range msgs {
		if !bytes.Equal(m.Payload, payloads[i]) || (i > 0 && m.Seq <= msgs[i-1].Seq) {
			t.Fatalf("message %d = %v, seq %d", i, m.Payload, m.Seq)
		}
	}
}
