package charter

// #include "shim.h"
import "C"

// feed is the goroutine behind Subscription.C. It refers to the C client
// and the subscription's id, never to the Subscription, so a Subscription
// dropped after C is still collected: its cleanup ends the subscription,
// which signals the feed's waiter, and the feed closes the channel and
// exits.
type feed struct {
	c   *C.charter_client_t
	id  uint64
	out chan *Message
	// gone is closed when the Subscription has been collected: a message
	// the feed still holds then has no reader left.
	gone chan struct{}
}

// run takes the subscription's messages one at a time and hands each over
// on out before it takes the next, so at most one message has left the
// queue without being received from the channel. That message is never
// dropped: should the subscription end meanwhile (Close, the bus's Close,
// the session's end), the feed still offers it and closes the channel
// only once a reader has taken it, or once the Subscription is collected.
// So a reader that drains the channel receives every message the
// subscription counted as delivered.
func (f *feed) run(w *waiter) {
	defer close(f.out)
	defer releaseWaiter(w)
	var timer recheckTimer
	defer timer.stop()
	for {
		m, recheck, err := pollRecv(f.c, f.id, w)
		if err != nil {
			// The subscription has ended (or is a callback subscription,
			// which has no queue): nothing is armed.
			return
		}
		if m != nil {
			select {
			case f.out <- m:
				continue
			case <-f.gone:
				return
			}
		}
		// Armed: nothing else can wake the feed, and the subscription
		// signals its end too, so the feed waits for the waiter alone
		// (and for a session's expiry).
		select {
		case <-w.ready:
		case <-timer.after(recheck):
		}
	}
}
