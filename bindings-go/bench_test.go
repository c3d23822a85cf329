package charter_test

import (
	"testing"

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
