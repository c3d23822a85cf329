package charter_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"charter.dev/charter"
)

// newRegistry creates a registry that is closed when the test ends.
func newRegistry(t testing.TB, opts ...charter.RegistryOption) *charter.Registry {
	t.Helper()
	reg, err := charter.NewRegistry(opts...)
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	closeAtEnd(t, reg)
	return reg
}

func register(t testing.TB, reg *charter.Registry, fn charter.HandlerFunc, opts ...charter.RegisterOption) charter.HandlerID {
	t.Helper()
	id, err := reg.Register(fn, opts...)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	return id
}

func notify(t testing.TB, reg *charter.Registry, event string) charter.NotifyReport {
	t.Helper()
	report, err := reg.Notify([]byte(event))
	if err != nil {
		t.Fatalf("Notify(%q): %v", event, err)
	}
	return report
}

func length(t testing.TB, reg *charter.Registry) int {
	t.Helper()
	return reg.Len()
}

func contains(t testing.TB, reg *charter.Registry, id charter.HandlerID) bool {
	t.Helper()
	return reg.Contains(id)
}

func TestNotifyFollowsPriorityThenRegistrationOrder(t *testing.T) {
	reg := newRegistry(t)
	var order []string
	record := func(name string) charter.HandlerFunc {
		return func(event []byte) error {
			order = append(order, name+":"+string(event))
			return nil
		}
	}
	register(t, reg, record("low"), charter.WithPriority(-5))
	register(t, reg, record("default-1"))
	register(t, reg, record("high"), charter.WithPriority(7))
	register(t, reg, record("default-2"))

	report := notify(t, reg, "ev")
	if want := (charter.NotifyReport{Delivered: 4}); report != want {
		t.Errorf("report = %+v, want %+v", report, want)
	}
	want := "high:ev default-1:ev default-2:ev low:ev"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order = %q, want %q", got, want)
	}
}

func TestFailingAndPanickingHandlersDoNotStopSiblings(t *testing.T) {
	reg := newRegistry(t)
	var calls []string
	register(t, reg, func([]byte) error { calls = append(calls, "a"); return nil }, charter.WithPriority(4))
	register(t, reg, func([]byte) error { calls = append(calls, "b"); return errors.New("b failed") }, charter.WithPriority(3))
	register(t, reg, func([]byte) error { calls = append(calls, "c"); panic("c panicked") }, charter.WithPriority(2))
	register(t, reg, func([]byte) error { calls = append(calls, "d"); panic(nil) }, charter.WithPriority(1))
	register(t, reg, func([]byte) error { calls = append(calls, "e"); return nil })

	for round := range 2 {
		calls = calls[:0]
		report := notify(t, reg, "x")
		if want := (charter.NotifyReport{Delivered: 2, Failed: 1, Panicked: 2}); report != want {
			t.Errorf("round %d: report = %+v, want %+v", round, report, want)
		}
		if got := strings.Join(calls, ""); got != "abcde" {
			t.Errorf("round %d: calls = %q, want abcde", round, got)
		}
	}
}

func TestHandlersSeeTheEventBytes(t *testing.T) {
	reg := newRegistry(t)
	var got [][]byte
	register(t, reg, func(event []byte) error {
		got = append(got, bytes.Clone(event))
		if event != nil && len(event) == 0 {
			return errors.New("an empty event should be nil")
		}
		return nil
	})
	events := [][]byte{[]byte("hello"), {0, 1, 255, 0}, nil, {}}
	for _, ev := range events {
		report, err := reg.Notify(ev)
		if err != nil || report.Delivered != 1 {
			t.Fatalf("Notify(%v) = %+v, %v", ev, report, err)
		}
	}
	for i, ev := range events {
		if !bytes.Equal(got[i], ev) {
			t.Errorf("handler saw %v, want %v", got[i], ev)
		}
	}
}

func TestRegisterUnregisterContainsLen(t *testing.T) {
	reg := newRegistry(t)
	if n := length(t, reg); n != 0 {
		t.Fatalf("Len of a new registry = %d", n)
	}
	ok := func([]byte) error { return nil }
	a := register(t, reg, ok)
	b := register(t, reg, ok)
	if a == b {
		t.Fatalf("two registrations share id %d", a)
	}
	if n := length(t, reg); n != 2 {
		t.Errorf("Len = %d, want 2", n)
	}
	if !contains(t, reg, a) || !contains(t, reg, b) {
		t.Error("Contains is false for a registered id")
	}

	removed, err := reg.Unregister(a)
	if err != nil || !removed {
		t.Fatalf("Unregister(a) = %v, %v; want true, nil", removed, err)
	}
	removed, err = reg.Unregister(a)
	if err != nil || removed {
		t.Errorf("second Unregister(a) = %v, %v; want false, nil", removed, err)
	}
	if contains(t, reg, a) || !contains(t, reg, b) {
		t.Error("Contains disagrees with Unregister")
	}
	if contains(t, reg, 0) || contains(t, reg, math.MaxUint64) {
		t.Error("Contains is true for an id never handed out")
	}
	if n := length(t, reg); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
	if report := notify(t, reg, "x"); report.Delivered != 1 {
		t.Errorf("Delivered = %d after unregistering one of two", report.Delivered)
	}
	// Ids are never reused.
	if c := register(t, reg, ok); c == a || c == b {
		t.Errorf("id %d was reused", c)
	}
}

func TestClearEndsEveryRegistration(t *testing.T) {
	reg := newRegistry(t)
	var ids []charter.HandlerID
	for range 3 {
		ids = append(ids, register(t, reg, func([]byte) error { return nil }))
	}
	if err := reg.Clear(); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	if n := length(t, reg); n != 0 {
		t.Errorf("Len after Clear = %d", n)
	}
	for _, id := range ids {
		if contains(t, reg, id) {
			t.Errorf("Contains(%d) after Clear", id)
		}
	}
	if report := notify(t, reg, "x"); report != (charter.NotifyReport{}) {
		t.Errorf("Notify after Clear = %+v", report)
	}
	if err := reg.Clear(); err != nil {
		t.Errorf("Clear of an empty registry: %v", err)
	}
}

func TestRegisterNilHandler(t *testing.T) {
	reg := newRegistry(t)
	if _, err := reg.Register(nil); !errors.Is(err, charter.ErrNullArgument) {
		t.Errorf("Register(nil) error = %v, want ErrNullArgument", err)
	}
	if n := length(t, reg); n != 0 {
		t.Errorf("Len = %d after a failed Register", n)
	}
}

func TestMaxDepthIsValidated(t *testing.T) {
	for _, depth := range []int{0, 65, -1, math.MaxUint32 + 1} {
		_, err := charter.NewRegistry(charter.WithMaxDepth(depth))
		if !errors.Is(err, charter.ErrInvalidArgument) {
			t.Errorf("WithMaxDepth(%d) error = %v, want ErrInvalidArgument", depth, err)
			continue
		}
		if want := fmt.Sprintf("got %d", depth); !strings.Contains(err.Error(), want) {
			t.Errorf("WithMaxDepth(%d) error = %q, want it to say %q", depth, err, want)
		}
	}
}

// nestedDepth registers a handler that notifies reg again from inside
// itself until Notify fails, and returns how deep it got and the error.
func nestedDepth(t *testing.T, reg *charter.Registry) (int, error) {
	depth := 0
	var stop error
	register(t, reg, func([]byte) error {
		depth++
		if _, err := reg.Notify([]byte("again")); err != nil {
			stop = err
		}
		return nil
	})
	notify(t, reg, "start")
	return depth, stop
}

func TestMaxDepthBoundsNestedNotify(t *testing.T) {
	for _, tc := range []struct {
		opts []charter.RegistryOption
		want int
	}{
		{nil, 8},
		{[]charter.RegistryOption{charter.WithMaxDepth(1)}, 1},
		{[]charter.RegistryOption{charter.WithMaxDepth(3)}, 3},
	} {
		depth, err := nestedDepth(t, newRegistry(t, tc.opts...))
		if depth != tc.want {
			t.Errorf("%d options: nested depth %d, want %d", len(tc.opts), depth, tc.want)
		}
		if !errors.Is(err, charter.ErrLimitExceeded) {
			t.Errorf("innermost Notify error = %v, want ErrLimitExceeded", err)
		}
	}
}

func TestCloseIsIdempotentAndLaterUseFailsClosed(t *testing.T) {
	reg, err := charter.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	id := register(t, reg, func([]byte) error { return nil })
	closeTwice(t, reg)
	assertClosed(t, reg, id)
}

func TestZeroRegistryIsClosed(t *testing.T) {
	var reg charter.Registry
	assertClosed(t, &reg, 1)
	if err := reg.Close(); err != nil {
		t.Errorf("Close of a zero Registry = %v", err)
	}
}

func assertClosed(t *testing.T, reg *charter.Registry, id charter.HandlerID) {
	t.Helper()
	_, errRegister := reg.Register(func([]byte) error { return nil })
	_, errUnregister := reg.Unregister(id)
	_, errNotify := reg.Notify([]byte("x"))
	if reg.Contains(id) || reg.Len() != 0 {
		t.Errorf("a closed registry: Contains %v, Len %d; want false, 0", reg.Contains(id), reg.Len())
	}
	for name, err := range map[string]error{
		"Register": errRegister, "Unregister": errUnregister, "Clear": reg.Clear(), "Notify": errNotify,
	} {
		if !errors.Is(err, charter.ErrClosed) {
			t.Errorf("%s on a closed registry: %v, want ErrClosed", name, err)
		} else if !strings.Contains(err.Error(), "is closed") {
			t.Errorf("%s on a closed registry: message %q does not say closed", name, err)
		}
	}
}
