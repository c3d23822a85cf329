package charter_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"charter.dev/charter"
)

func TestForeignAndGuessedIDsMatchNothing(t *testing.T) {
	a, b := newRegistry(t), newRegistry(t)
	theirs := register(t, a, func([]byte) error { return nil })
	mine := register(t, b, func([]byte) error { return nil })
	if theirs == mine {
		t.Fatalf("two registries issued the same first id %d", mine)
	}
	if removed, err := b.Unregister(theirs); err != nil || removed {
		t.Fatalf("Unregister(other registry's id) = %v, %v; want false, nil", removed, err)
	}
	if removed, err := b.UnregisterAndWait(theirs); err != nil || removed {
		t.Fatalf("UnregisterAndWait(other registry's id) = %v, %v; want false, nil", removed, err)
	}
	for guess := charter.HandlerID(0); guess < 2000; guess++ {
		if ok := b.Contains(guess); ok && guess != mine {
			t.Fatalf("guessed id %d matched", guess)
		}
	}
	if ok := b.Contains(mine); !ok {
		t.Fatal("B lost its own handler")
	}
}

func TestRegisterOnceRunsOnceAcrossGoroutinesEvenIfItPanics(t *testing.T) {
	reg := newRegistry(t)
	var calls atomic.Int64
	id, err := reg.RegisterOnce(func([]byte) error {
		calls.Add(1)
		panic("once")
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var panicked atomic.Uint64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				report, err := reg.Notify(nil)
				if err != nil {
					t.Error(err)
					return
				}
				panicked.Add(report.Panicked)
			}
		}()
	}
	wg.Wait()
	if calls.Load() != 1 || panicked.Load() != 1 {
		t.Fatalf("calls = %d, panicked = %d; want 1, 1", calls.Load(), panicked.Load())
	}
	if ok := reg.Contains(id); ok {
		t.Fatal("the run-once handler is still registered")
	}
	if _, err := reg.RegisterOnce(nil); !errors.Is(err, charter.ErrNullArgument) {
		t.Fatalf("RegisterOnce(nil) = %v", err)
	}
}

func TestUnregisterAndWaitWaitsForARunningHandler(t *testing.T) {
	for _, clear := range []bool{false, true} {
		reg := newRegistry(t)
		entered, release := make(chan struct{}), make(chan struct{})
		var running atomic.Int32
		id := register(t, reg, func([]byte) error {
			running.Add(1)
			defer running.Add(-1)
			close(entered)
			<-release
			return nil
		})
		go func() { _, _ = reg.Notify(nil) }()
		<-entered
		done := make(chan error, 1)
		go func() {
			var err error
			if clear {
				err = reg.ClearAndWait()
			} else {
				var removed bool
				removed, err = reg.UnregisterAndWait(id)
				if err == nil && !removed {
					err = errors.New("not removed")
				}
			}
			if err == nil && running.Load() != 0 {
				err = errors.New("returned while the handler ran")
			}
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("clear=%v: returned while the handler ran: %v", clear, err)
		case <-time.After(30 * time.Millisecond):
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatalf("clear=%v: %v", clear, err)
		}
	}
}

func TestWaitingRemovalInsideAHandlerDoesNotDeadlock(t *testing.T) {
	reg := newRegistry(t)
	var self charter.HandlerID
	var inner error
	later := register(t, reg, func([]byte) error { return errors.New("should be skipped") }, charter.WithPriority(-1))
	self = register(t, reg, func([]byte) error {
		if removed, err := reg.UnregisterAndWait(self); err != nil || !removed {
			inner = errors.Join(err, errors.New("self not removed"))
		}
		if _, err := reg.UnregisterAndWait(later); err != nil {
			inner = err
		}
		if err := reg.ClearAndWait(); err != nil {
			inner = err
		}
		return nil
	})
	report := notify(t, reg, "x")
	if inner != nil || report.Delivered != 1 || report.Failed != 0 {
		t.Fatalf("report %+v, inner %v", report, inner)
	}
	if n := reg.Len(); n != 0 {
		t.Fatalf("Len = %d", n)
	}
}
