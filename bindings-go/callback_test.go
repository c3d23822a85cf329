package charter_test

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"charter.dev/charter"
)

// tracked returns a handler whose closure, once the binding lets go of it
// and the collector runs, adds one to released. The binding holds each
// handler in a runtime/cgo.Handle that only the drop trampoline deletes, so
// a release proves the drop ran; a second drop would panic in
// cgo.Handle.Delete and crash the test binary.
func tracked(released *atomic.Int64, calls *atomic.Int64) charter.HandlerFunc {
	// Bigger than the tiny allocator's blocks, so it is freed on its own.
	token := new([64]byte)
	runtime.AddCleanup(token, func(r *atomic.Int64) { r.Add(1) }, released)
	return func([]byte) error {
		calls.Add(1)
		runtime.KeepAlive(token)
		return nil
	}
}

// waitReleased collects garbage until released reaches want, failing the
// test if it does not within a few seconds or if it goes past want.
func waitReleased(t *testing.T, released *atomic.Int64, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for released.Load() < want && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
	// Give a wrongly released handler a chance to show up too.
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	if got := released.Load(); got != want {
		t.Fatalf("%d handlers released, want %d", got, want)
	}
}

func TestEveryRegistrationEndingReleasesItsHandler(t *testing.T) {
	var released, calls atomic.Int64
	reg, err := charter.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]charter.HandlerID, 6)
	for i := range ids {
		ids[i] = register(t, reg, tracked(&released, &calls))
	}
	notify(t, reg, "x")
	waitReleased(t, &released, 0)

	if removed, err := reg.Unregister(ids[0]); !removed || err != nil {
		t.Fatalf("Unregister = %v, %v", removed, err)
	}
	waitReleased(t, &released, 1)
	if removed, _ := reg.Unregister(ids[0]); removed {
		t.Fatal("second Unregister removed something")
	}
	if err := reg.Clear(); err != nil {
		t.Fatal(err)
	}
	waitReleased(t, &released, 6)

	for range 3 {
		register(t, reg, tracked(&released, &calls))
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	waitReleased(t, &released, 9)
	if got := calls.Load(); got != 6 {
		t.Errorf("handlers called %d times, want 6", got)
	}
}

func TestCollectedRegistryIsFreed(t *testing.T) {
	var released, calls atomic.Int64
	func() {
		reg, err := charter.NewRegistry()
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			register(t, reg, tracked(&released, &calls))
		}
		// reg becomes unreachable without Close: only the cleanup backstop
		// can free the C registry and so release its handlers.
	}()
	waitReleased(t, &released, 4)
}

func TestFailedRegisterKeepsNothing(t *testing.T) {
	var released, calls atomic.Int64
	reg, err := charter.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Register(tracked(&released, &calls)); !errors.Is(err, charter.ErrClosed) {
		t.Fatalf("Register after Close: %v", err)
	}
	waitReleased(t, &released, 1)
}

func TestHandlersMayReenterTheRegistry(t *testing.T) {
	reg := newRegistry(t)
	var log []string
	var self, added charter.HandlerID
	self = register(t, reg, func(event []byte) error {
		log = append(log, "self:"+string(event))
		// Registered during a round: first called in the next one.
		added = register(t, reg, func(event []byte) error {
			log = append(log, "added:"+string(event))
			return nil
		})
		if removed, err := reg.Unregister(self); !removed || err != nil {
			t.Errorf("Unregister(self) inside the handler = %v, %v", removed, err)
		}
		if n := length(t, reg); n != 2 {
			t.Errorf("Len inside the handler = %d, want 2", n)
		}
		return nil
	}, charter.WithPriority(1))
	register(t, reg, func(event []byte) error {
		log = append(log, "other:"+string(event))
		if string(event) == "first" {
			notify(t, reg, "nested")
		}
		return nil
	})

	if report := notify(t, reg, "first"); report.Delivered != 2 {
		t.Errorf("first round delivered %d, want 2", report.Delivered)
	}
	if report := notify(t, reg, "second"); report.Delivered != 2 {
		t.Errorf("second round delivered %d, want 2", report.Delivered)
	}
	// added has the default priority and came after other, so fires after it.
	want := []string{"self:first", "other:first", "other:nested", "added:nested", "other:second", "added:second"}
	if len(log) != len(want) {
		t.Fatalf("calls = %q, want %q", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Fatalf("calls = %q, want %q", log, want)
		}
	}
	if contains(t, reg, self) || !contains(t, reg, added) {
		t.Error("Contains disagrees with the handler's own Register/Unregister")
	}
}

func TestHandlerMayCloseItsRegistry(t *testing.T) {
	var released, calls atomic.Int64
	reg, err := charter.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	var closeErr error
	register(t, reg, func([]byte) error {
		closeErr = reg.Close()
		return nil
	}, charter.WithPriority(1))
	register(t, reg, tracked(&released, &calls))

	// The round that was running when Close happened completes; the
	// registrations end once it has.
	report, err := reg.Notify([]byte("x"))
	if err != nil || report.Delivered < 1 {
		t.Fatalf("Notify = %+v, %v", report, err)
	}
	if closeErr != nil {
		t.Fatalf("Close inside a handler: %v", closeErr)
	}
	if _, err := reg.Notify([]byte("x")); !errors.Is(err, charter.ErrClosed) {
		t.Errorf("Notify after Close = %v, want ErrClosed", err)
	}
	// The closing handler refers to reg, so only the drop of both
	// registrations lets go of the tracked one.
	waitReleased(t, &released, 1)
}
