package charter

// #include "shim.h"
import "C"

// PublishReport is the outcome of one publish: Matched == Delivered +
// Dropped.
type PublishReport struct {
	// Matched counts the subscriptions whose pattern matched the topic.
	Matched uint64
	// Delivered counts those that accepted the message (queued it, or ran
	// their inline callback).
	Delivered uint64
	// Dropped counts those that dropped it (see [Drops]).
	Dropped uint64
}

// Drops counts dropped messages by reason.
type Drops struct {
	// Overflow: dropped by DropOldest or DropNewest on a full queue.
	Overflow uint64
	// Expired: past their time-to-live ([WithTTL]) when received.
	Expired uint64
	// Timeout: a Block publisher ran out of time, or would have deadlocked.
	Timeout uint64
	// Rejected: refused by an ErrorOnFull queue, or too large for the queue.
	Rejected uint64
	// Closed: still queued, or arriving, when the subscription ended.
	Closed uint64
	// SessionEnded: still queued, or arriving, when the session the
	// subscription was made with ended (expiry, revocation, distrust).
	SessionEnded uint64
}

// Total returns the sum of every reason.
func (d Drops) Total() uint64 {
	return d.Overflow + d.Expired + d.Timeout + d.Rejected + d.Closed + d.SessionEnded
}

// SubscriptionStats is one subscription's accounting. It is exact at every
// instant: Received == Delivered + Dropped.Total() + Queued.
type SubscriptionStats struct {
	// Received counts the messages offered by publishes that matched.
	Received uint64
	// Delivered counts the messages handed to the receiver or callback.
	Delivered uint64
	// Queued counts the messages waiting in the queue.
	Queued uint64
	// Dropped counts the messages dropped, by reason.
	Dropped Drops
	// HandlerFailures counts callback calls that returned an error or
	// panicked (each also counts as delivered).
	HandlerFailures uint64
	// SlowEpisodes counts the times the queue became full after having
	// room.
	SlowEpisodes uint64
}

// BusStats is a bus's accounting over its whole life.
type BusStats struct {
	// Published counts successful publishes.
	Published uint64
	// Subscriptions totals every subscription, ended ones included.
	Subscriptions SubscriptionStats
	// LiveSubscriptions counts the subscriptions now, reply inboxes of
	// requests in progress included.
	LiveSubscriptions uint64
	// Denied counts the calls refused by authorization, on a bus made with
	// [NewBusWithAuthority].
	Denied uint64
	// DepthExceeded counts the publishes refused for nesting more than 16
	// levels deep inside inline callbacks (a callback publishing again).
	DepthExceeded uint64
}

func goPublishReport(r C.charter_publish_report_t) PublishReport {
	return PublishReport{Matched: uint64(r.matched), Delivered: uint64(r.delivered), Dropped: uint64(r.dropped)}
}

func goSubscriptionStats(s C.charter_subscription_stats_t) SubscriptionStats {
	return SubscriptionStats{
		Received:  uint64(s.received),
		Delivered: uint64(s.delivered),
		Queued:    uint64(s.queued),
		Dropped: Drops{
			Overflow:     uint64(s.dropped.overflow),
			Expired:      uint64(s.dropped.expired),
			Timeout:      uint64(s.dropped.timeout),
			Rejected:     uint64(s.dropped.rejected),
			Closed:       uint64(s.dropped.closed),
			SessionEnded: uint64(s.dropped.session_ended),
		},
		HandlerFailures: uint64(s.handler_failures),
		SlowEpisodes:    uint64(s.slow_episodes),
	}
}
