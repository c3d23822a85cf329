// Package nats_test measures Charter's bus next to its peer, nats.go
// against a local nats-server, in one run. It is a module of its own so
// that the charter module does not depend on nats.go.
package nats_test

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"charter.dev/charter"
	"github.com/nats-io/nats.go"
)

const topic = "orders.eu.created"

var payload = []byte("order 17 created")

// startServer starts nats-server on a free loopback port for the
// benchmark and returns its URL; the benchmark is skipped when
// nats-server is not on PATH (make deps installs it).
func startServer(b *testing.B) string {
	b.Helper()
	path, err := exec.LookPath("nats-server")
	if err != nil {
		b.Skip("nats-server is not on PATH")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(path, "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return "nats://127.0.0.1:" + strconv.Itoa(port)
}

// connect connects to url, retrying while the server starts.
func connect(b *testing.B, url string) *nats.Conn {
	b.Helper()
	nc, err := nats.Connect(url, nats.RetryOnFailedConnect(true), nats.MaxReconnects(50),
		nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	deadline := time.Now().Add(5 * time.Second)
	for !nc.IsConnected() {
		if time.Now().After(deadline) {
			b.Fatal("nats-server did not accept a connection within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nc
}

// BenchmarkPeer passes one 16-byte message at a time three ways in the
// same run: nats.go Publish then Subscription.NextMsg through a local
// nats-server; Charter's Publish then Recv on one pull subscription; a
// buffered channel send and receive.
func BenchmarkPeer(b *testing.B) {
	b.Run("nats-publish-nextmsg", func(b *testing.B) {
		nc := connect(b, startServer(b))
		sub, err := nc.SubscribeSync(topic)
		if err != nil {
			b.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := nc.Publish(topic, payload); err != nil {
				b.Fatal(err)
			}
			if m, err := sub.NextMsg(time.Second); err != nil || len(m.Data) != len(payload) {
				b.Fatalf("NextMsg = %v, %v", m, err)
			}
		}
	})
	b.Run("charter-publish-recv", func(b *testing.B) {
		bus, err := charter.NewBus()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { bus.Close() })
		sub, err := bus.Subscribe(topic)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
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
		ch := make(chan []byte, 1)
		b.ReportAllocs()
		for b.Loop() {
			ch <- payload
			if m := <-ch; len(m) != len(payload) {
				b.Fatal("wrong message")
			}
		}
	})
}
