// Command scale measures what waiting receivers cost the Go binding at
// scale (issue 16's targets): for each count of waiters, and for waiting in
// Subscription.Recv and on Subscription.C, it prints a Markdown row with
//
//   - threads: OS threads above the process's baseline (Threads in
//     /proc/self/status) while every receiver waits;
//
//   - RSS: the process's resident memory then (VmRSS);
//
//   - idle CPU: user + system time (getrusage) over an idle period, as a
//     percentage of one core;
//
//   - wake p50/p99: from the start of a Publish to one waiting receiver
//     until that receiver has the message;
//
//   - burst: from the start of one publish to each receiver until the last
//     has its message;
//
//   - cancel p50/p99 (Recv only): from cancelling the context of a waiting
//     Recv until Recv has returned;
//
//   - loss: messages published but not received, plus messages a
//     cancelled Recv took (each must stay queued).
//
//     go run ./scripts/scale [-n 100,1000,10000] [-samples 200] [-idle 3s]
//
// Run from bindings-go with PKG_CONFIG_PATH pointing at an installed
// Charter (scripts/bench.sh arranges both).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"charter.dev/charter"
)

func main() {
	counts := flag.String("n", "100,1000,10000", "comma-separated counts of waiting receivers")
	samples := flag.Int("samples", 200, "wake-ups and cancellations measured per row")
	idle := flag.Duration("idle", 3*time.Second, "idle period over which CPU is measured")
	flag.Parse()
	var ns []int
	for f := range strings.SplitSeq(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			log.Fatalf("scale: bad count %q", f)
		}
		ns = append(ns, n)
	}
	fmt.Printf("Go %s, GOMAXPROCS %d, %d CPUs; %d samples, idle CPU over %v\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), *samples, *idle)
	fmt.Println("| waiters | wait in | threads above baseline | RSS | idle CPU | wake p50 | wake p99 | burst | cancel p50 | cancel p99 | loss |")
	fmt.Println("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range ns {
		for _, mode := range []string{"Recv", "C"} {
			r, err := measure(n, mode, *samples, *idle)
			if err != nil {
				log.Fatalf("scale: %d waiters in %s: %v", n, mode, err)
			}
			fmt.Println(r)
		}
	}
}

type row struct {
	n                    int
	mode                 string
	threads              int
	rssKiB               int
	idleCPU              float64
	wake, cancel         []time.Duration
	burst                time.Duration
	published, received  int
	takenByCancellations int
}

func (r row) String() string {
	cancel50, cancel99 := "-", "-"
	if len(r.cancel) > 0 {
		cancel50, cancel99 = us(pct(r.cancel, 50)), us(pct(r.cancel, 99))
	}
	return fmt.Sprintf("| %d | %s | %d | %.1f MiB | %.2f%% | %s | %s | %.1f ms | %s | %s | %d |",
		r.n, r.mode, r.threads, float64(r.rssKiB)/1024, r.idleCPU,
		us(pct(r.wake, 50)), us(pct(r.wake, 99)), float64(r.burst.Microseconds())/1000,
		cancel50, cancel99, r.published-r.received+r.takenByCancellations)
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d.Nanoseconds())/1000) }

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

// arrival is a receiver's report: which one, and when it had its message.
type arrival struct {
	i  int
	at time.Time
}

func measure(n int, mode string, samples int, idle time.Duration) (row, error) {
	r := row{n: n, mode: mode}
	bus, err := charter.NewBus()
	if err != nil {
		return r, err
	}
	defer bus.Close()
	runtime.GC()
	baseline := status("Threads")

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	arrivals := make(chan arrival, n)
	topics := make([]string, n)
	for i := range n {
		topics[i] = "w." + strconv.Itoa(i)
		sub, err := bus.Subscribe(topics[i])
		if err != nil {
			return r, err
		}
		defer sub.Close()
		if mode == "C" {
			go func() {
				for range sub.C() {
					arrivals <- arrival{i, time.Now()}
				}
			}()
		} else {
			go func() {
				for {
					if _, err := sub.Recv(ctx); err != nil {
						return
					}
					arrivals <- arrival{i, time.Now()}
				}
			}()
		}
	}
	// Let every receiver reach its wait, then measure the idle process.
	time.Sleep(200*time.Millisecond + time.Duration(n)*20*time.Microsecond)
	runtime.GC()
	r.threads = status("Threads") - baseline
	r.rssKiB = status("VmRSS")
	before := cpu()
	start := time.Now()
	time.Sleep(idle)
	r.idleCPU = 100 * float64(cpu()-before) / float64(time.Since(start))

	// One message to one waiting receiver at a time.
	for s := range samples {
		i := s * 7919 % n
		t0 := time.Now()
		if _, err := bus.Publish(topics[i], nil); err != nil {
			return r, err
		}
		r.published++
		a := <-arrivals
		r.received++
		if a.i != i {
			return r, fmt.Errorf("receiver %d woke for receiver %d's message", a.i, i)
		}
		r.wake = append(r.wake, a.at.Sub(t0))
		// Let the receiver wait again.
		time.Sleep(200 * time.Microsecond)
	}

	// A burst: one message to each receiver.
	time.Sleep(20 * time.Millisecond)
	t0 := time.Now()
	for _, topic := range topics {
		if _, err := bus.Publish(topic, nil); err != nil {
			return r, err
		}
	}
	r.published += n
	var last time.Time
	timeout := time.After(time.Minute)
	for range n {
		select {
		case a := <-arrivals:
			r.received++
			last = a.at
		case <-timeout:
			return r, fmt.Errorf("the burst was not delivered within a minute")
		}
	}
	r.burst = last.Sub(t0)

	if mode == "Recv" {
		if err := measureCancel(bus, &r, samples); err != nil {
			return r, err
		}
	}
	return r, nil
}

// measureCancel cancels samples waiting Recvs on a subscription of its
// own, then checks that none of them took the message published after.
func measureCancel(bus *charter.Bus, r *row, samples int) error {
	sub, err := bus.Subscribe("cancel")
	if err != nil {
		return err
	}
	defer sub.Close()
	for range samples {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan time.Time)
		go func() {
			if m, _ := sub.Recv(ctx); m != nil {
				r.takenByCancellations++
			}
			done <- time.Now()
		}()
		time.Sleep(time.Millisecond)
		t0 := time.Now()
		cancel()
		r.cancel = append(r.cancel, (<-done).Sub(t0))
	}
	if _, err := bus.Publish("cancel", nil); err != nil {
		return err
	}
	if _, ok, err := sub.TryRecv(); err != nil || !ok {
		r.takenByCancellations++
	}
	return nil
}

// status returns a number field of /proc/self/status (Threads, or VmRSS in
// KiB), or 0 where there is none.
func status(field string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// cpu returns the process's user + system time so far.
func cpu() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
