package charter_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"charter.dev/charter"
)

// Each failure's message must belong to the failing call although Charter
// keeps it per OS thread and goroutines move between threads: 64 goroutines
// fail at once, each with a message of its own. Reading the message in a
// second cgo call instead fails this test: 5 to 43 wrong messages per run
// when tried.
func TestConcurrentErrorsKeepTheirOwnMessages(t *testing.T) {
	const goroutines, rounds = 64, 2000
	var wrong atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			depth := 1000 + g
			want := fmt.Sprintf("got %d", depth)
			for round := range rounds {
				_, err := charter.NewRegistry(charter.WithMaxDepth(depth))
				if !errors.Is(err, charter.ErrInvalidArgument) || !strings.HasSuffix(err.Error(), want) {
					if wrong.Add(1) <= 5 {
						t.Errorf("goroutine %d round %d: error %v, want one ending %q", g, round, err, want)
					}
				}
				if round%4 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	wg.Wait()
	if n := wrong.Load(); n > 0 {
		t.Errorf("%d of %d errors had the wrong message", n, goroutines*rounds)
	}
}

// 8 goroutines notify while 2 others register and unregister.
func TestNotifyWhileRegistering(t *testing.T) {
	const notifiers, churners, rounds = 8, 2, 400
	reg := newRegistry(t)
	var permanent atomic.Int64
	register(t, reg, func(event []byte) error {
		if string(event) != "tick" {
			return errors.New("wrong event")
		}
		permanent.Add(1)
		return nil
	}, charter.WithPriority(100))

	// The notifiers keep going until the churners have done some work, so
	// the two overlap however the goroutines are scheduled.
	var done atomic.Bool
	var notified, churned, churnersStopped atomic.Int64
	var notifying, churning sync.WaitGroup
	for range notifiers {
		notifying.Go(func() {
			event := []byte("tick")
			for i := 0; i < rounds || churned.Load() < 100 && churnersStopped.Load() == 0; i++ {
				report, err := reg.Notify(event)
				if err != nil || report.Delivered < 1 || report.Failed != 0 || report.Panicked != 0 {
					t.Errorf("Notify = %+v, %v", report, err)
					return
				}
				notified.Add(1)
			}
		})
	}
	for c := range churners {
		churning.Go(func() {
			defer churnersStopped.Add(1)
			for !done.Load() {
				id, err := reg.Register(func(event []byte) error {
					if string(event) != "tick" {
						return errors.New("wrong event")
					}
					return nil
				}, charter.WithPriority(int32(c)))
				if err != nil {
					t.Errorf("Register: %v", err)
					return
				}
				if removed, err := reg.Unregister(id); !removed || err != nil {
					t.Errorf("Unregister = %v, %v", removed, err)
					return
				}
				if reg.Contains(id) {
					t.Error("Contains after Unregister")
					return
				}
				churned.Add(1)
			}
		})
	}
	notifying.Wait()
	done.Store(true)
	churning.Wait()

	if got, want := permanent.Load(), notified.Load(); got != want {
		t.Errorf("permanent handler called %d times in %d notifies", got, want)
	}
	if n := length(t, reg); n != 1 {
		t.Errorf("Len = %d after churn, want 1", n)
	}
}

// Closing while other goroutines use the registry: every call either works
// or reports ErrClosed, and every handler is released in the end, whether
// its Register succeeded (dropped by the free) or lost the race (deleted by
// the binding).
func TestCloseRacingWithUse(t *testing.T) {
	var created, released, calls atomic.Int64
	for range 20 {
		reg, err := charter.NewRegistry()
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					created.Add(1)
					_, errRegister := reg.Register(tracked(&released, &calls))
					_, errNotify := reg.Notify([]byte("x"))
					_ = reg.Len()
					closed := 0
					for _, err := range []error{errRegister, errNotify} {
						switch {
						case errors.Is(err, charter.ErrClosed):
							closed++
						case err != nil:
							t.Errorf("racing Close: %v", err)
							return
						}
					}
					if closed == 2 {
						return
					}
				}
			})
		}
		runtime.Gosched()
		if err := reg.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
	}
	waitReleased(t, &released, created.Load())
}
