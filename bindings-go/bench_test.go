package charter_test

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"charter.dev/charter"
)

// direct is called through a variable so the compiler cannot inline it,
// as Charter cannot inline a handler either.
var direct charter.HandlerFunc = func(event []byte) error {
	if len(event) == 0 {
		return errNoEvent
	}
	return nil
}

var errNoEvent = &charter.Error{Code: charter.StatusInvalidArgument, Message: "no event"}

// BenchmarkDispatch compares, in one run, delivering an event to one Go
// handler through Notify with a direct call and with a buffered channel
// send and receive.
func BenchmarkDispatch(b *testing.B) {
	event := []byte("config reloaded")

	b.Run("notify-one-go-handler", func(b *testing.B) {
		reg := newRegistry(b)
		register(b, reg, direct)
		b.ReportAllocs()
		for b.Loop() {
			if report, err := reg.Notify(event); err != nil || report.Delivered != 1 {
				b.Fatalf("Notify = %+v, %v", report, err)
			}
		}
	})
	b.Run("notify-no-handler", func(b *testing.B) {
		// The cost of the cgo call alone: Charter returns at once.
		reg := newRegistry(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := reg.Notify(event); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct-call", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := direct(event); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("buffered-channel", func(b *testing.B) {
		ch := make(chan []byte, 1)
		b.ReportAllocs()
		for b.Loop() {
			ch <- event
			if err := direct(<-ch); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBus compares, in one run, passing a message through the bus
// (Publish, then Recv on one pull subscription to the exact topic) with a
// buffered channel send and receive: of a message made beforehand (the
// channel round trip alone), and of a fresh copy of one (as the bus gives
// each receiver a message of its own).
func BenchmarkBus(b *testing.B) {
	const topic = "orders.eu.created"
	payload := []byte("order 17 created")
	ctx := context.Background()

	b.Run("publish-recv", func(b *testing.B) {
		bus := newBus(b)
		sub := subscribe(b, bus, topic)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bus.Publish(topic, payload); err != nil {
				b.Fatal(err)
			}
			if m, err := sub.Recv(ctx); err != nil || len(m.Payload) != len(payload) {
				b.Fatalf("Recv = %v, %v", m, err)
			}
		}
	})
	b.Run("buffered-channel", func(b *testing.B) {
		ch := make(chan *charter.Message, 1)
		msg := &charter.Message{Topic: topic, Payload: payload}
		b.ReportAllocs()
		for b.Loop() {
			ch <- msg
			if m := <-ch; len(m.Payload) != len(payload) {
				b.Fatal("wrong message")
			}
		}
	})
	b.Run("buffered-channel-copy", func(b *testing.B) {
		ch := make(chan *charter.Message, 1)
		b.ReportAllocs()
		for b.Loop() {
			ch <- &charter.Message{Topic: topic, Payload: bytes.Clone(payload)}
			if m := <-ch; len(m.Payload) != len(payload) {
				b.Fatal("wrong message")
			}
		}
	})
}

// batch is the batch size of BenchmarkBatch.
const batch = 64

// BenchmarkBatch compares, in one run, the per-message cost of passing
// messages through the bus in batches of 64 (one PublishBatch, then
// RecvMany until all 64 are back) with a buffered channel: one message
// sent and received (the round trip the goal compares with), and 64 sent
// then 64 received. Each reports ns/msg, and on Linux cpu-ns/msg: the
// benchmark's thread's CPU time per message (see threadCPU).
func BenchmarkBatch(b *testing.B) {
	const topic = "orders.eu.created"
	payload := []byte("order 17 created")
	payloads := make([][]byte, batch)
	for i := range payloads {
		payloads[i] = payload
	}
	ctx := context.Background()

	// The same payload 64 times (what the goal's row measures), and 64
	// payloads of their own, which share no copy.
	distinct := make([][]byte, batch)
	for i := range distinct {
		distinct[i] = append([]byte(nil), payload...)
	}
	for name, payloads := range map[string][][]byte{"": payloads, "-distinct": distinct} {
		b.Run("publish-batch-recv-many-64"+name, func(b *testing.B) {
			bus := newBus(b)
			sub := subscribe(b, bus, topic, charter.WithCapacity(batch))
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				if n, _, err := bus.PublishBatch(topic, payloads); err != nil || n != batch {
					b.Fatalf("PublishBatch = %d, %v", n, err)
				}
				for got := 0; got < batch; {
					msgs, err := sub.RecvMany(ctx, batch)
					if err != nil {
						b.Fatal(err)
					}
					got += len(msgs)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/msg")
			cpu.report(b, b.N*batch)
		})
	}
	b.Run("buffered-channel-1", func(b *testing.B) {
		ch := make(chan *charter.Message, 1)
		msg := &charter.Message{Topic: topic, Payload: payload}
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			ch <- msg
			if m := <-ch; len(m.Payload) != len(payload) {
				b.Fatal("wrong message")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/msg")
		cpu.report(b, b.N)
	})
	b.Run("buffered-channel-64", func(b *testing.B) {
		ch := make(chan *charter.Message, batch)
		msg := &charter.Message{Topic: topic, Payload: payload}
		b.ReportAllocs()
		for b.Loop() {
			for range batch {
				ch <- msg
			}
			for range batch {
				if m := <-ch; len(m.Payload) != len(payload) {
					b.Fatal("wrong message")
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/msg")
	})
}

// cpuClock measures a benchmark's thread CPU time (threadCPU); the
// goroutine stays on its thread meanwhile.
type cpuClock struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuClock {
	runtime.LockOSThread()
	start, ok := threadCPU()
	return cpuClock{start, ok}
}

// report adds cpu-ns/msg for n messages, when the thread's clock can be read.
func (c cpuClock) report(b *testing.B, n int) {
	end, ok := threadCPU()
	runtime.UnlockOSThread()
	if c.ok && ok {
		b.ReportMetric(float64((end-c.start).Nanoseconds())/float64(n), "cpu-ns/msg")
	}
}
