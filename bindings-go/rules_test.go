package charter_test

import (
	"errors"
	"testing"
	"time"

	"charter.dev/charter"
)

// The rules vectors: every subscription the core refuses and respond to a
// message that is not a request, with the core's status and message,
// written by the core itself (make vectors).
type refusalVectors struct {
	Schema      int    `json:"schema"`
	Description string `json:"description"`
	Subscribe   []struct {
		Name    string `json:"name"`
		Handler bool   `json:"handler"`
		Options struct {
			Capacity  *int    `json:"capacity"`
			MaxBytes  *int    `json:"max_bytes"`
			TTLMs     *int64  `json:"ttl_ms"`
			IdleTTLMs *int64  `json:"idle_ttl_ms"`
			Dispatch  *string `json:"dispatch"`
		} `json:"options"`
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"subscribe"`
	Bus []struct {
		Name    string         `json:"name"`
		Limits  map[string]int `json:"limits"`
		Status  string         `json:"status"`
		Message string         `json:"message"`
	} `json:"bus"`
	Respond []struct {
		Name    string `json:"name"`
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"respond"`
}

func loadRefusals(t *testing.T) refusalVectors {
	t.Helper()
	var v refusalVectors
	decodeVectors(t, readVectors(t, "rules", "refusals.json"), &v)
	if v.Schema != 1 || len(v.Subscribe) < 9 || len(v.Bus) < 7 || len(v.Respond) == 0 {
		t.Fatalf("schema %d, %d subscribe, %d bus and %d respond cases", v.Schema, len(v.Subscribe), len(v.Bus), len(v.Respond))
	}
	return v
}

// wantCoreErr fails unless err is Charter's error with status and message.
func wantCoreErr(t *testing.T, what string, err error, status, message string) {
	t.Helper()
	var e *charter.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %v, want %s", what, err, status)
	}
	if e.Code.String() != status || e.Message != message {
		t.Errorf("%s: %s %q, want the core's %s %q", what, e.Code, e.Message, status, message)
	}
}

// Every rule is the core's: each subscription it refuses fails here with
// its status and its words, from the bus and from a session's client, so a
// check added or re-worded in the binding fails this test.
func TestSubscribeRefusalsAreTheCores(t *testing.T) {
	v := loadRefusals(t)
	bus := newBus(t)
	e := newEnforcing(t)
	client, _ := e.client(t, "subscribe rules")
	type subscriber interface {
		Subscribe(pattern string, opts ...charter.SubscribeOption) (*charter.Subscription, error)
		SubscribeFunc(pattern string, fn charter.MessageFunc, opts ...charter.SubscribeOption) (*charter.Subscription, error)
	}
	for _, c := range v.Subscribe {
		var opts []charter.SubscribeOption
		o := c.Options
		// The C ABI takes a zero duration as "none", so Go cannot pass
		// one on: a zero TTL is refused by the Go option itself, before
		// Charter sees it (only the status is the core's then).
		zeroDuration := (o.TTLMs != nil && *o.TTLMs == 0) || (o.IdleTTLMs != nil && *o.IdleTTLMs == 0)
		if o.Capacity != nil {
			opts = append(opts, charter.WithCapacity(*o.Capacity))
		}
		if o.MaxBytes != nil {
			opts = append(opts, charter.WithMaxBytes(*o.MaxBytes))
		}
		if o.TTLMs != nil {
			opts = append(opts, charter.WithTTL(time.Duration(*o.TTLMs)*time.Millisecond))
		}
		if o.IdleTTLMs != nil {
			opts = append(opts, charter.WithIdleTTL(time.Duration(*o.IdleTTLMs)*time.Millisecond))
		}
		if o.Dispatch != nil {
			if *o.Dispatch != "thread" {
				t.Fatalf("%s: dispatch %q", c.Name, *o.Dispatch)
			}
			opts = append(opts, charter.WithDispatchThread())
		}
		for _, caller := range []struct {
			name string
			s    subscriber
		}{{"bus", bus}, {"client", client}} {
			var err error
			if c.Handler {
				_, err = caller.s.SubscribeFunc("rules", func(*charter.Message) error { return nil }, opts...)
			} else {
				_, err = caller.s.Subscribe("rules", opts...)
			}
			what := c.Name + " (" + caller.name + ")"
			if zeroDuration {
				wantErr(t, what, err, charter.ErrInvalidArgument)
				continue
			}
			wantCoreErr(t, what, err, c.Status, c.Message)
		}
	}
	if s := busStats(t, bus); s.LiveSubscriptions != 0 {
		t.Errorf("%d subscriptions after refused subscribes", s.LiveSubscriptions)
	}
}

// Every bus limit the core refuses fails NewBus with its status and words.
// A zero field of BusLimits keeps the default, so Go cannot ask for a zero
// limit: those cases are not expressible here and are skipped.
func TestBusLimitRefusalsAreTheCores(t *testing.T) {
	v := loadRefusals(t)
	fields := map[string]func(*charter.BusLimits) *int{
		"max_subscriptions":  func(l *charter.BusLimits) *int { return &l.MaxSubscriptions },
		"max_queue_messages": func(l *charter.BusLimits) *int { return &l.MaxQueueMessages },
		"max_queue_bytes":    func(l *charter.BusLimits) *int { return &l.MaxQueueBytes },
		"max_payload":        func(l *charter.BusLimits) *int { return &l.MaxPayload },
		"max_topic_len":      func(l *charter.BusLimits) *int { return &l.MaxTopicLen },
		"max_topic_tokens":   func(l *charter.BusLimits) *int { return &l.MaxTopicTokens },
		"max_headers":        func(l *charter.BusLimits) *int { return &l.MaxHeaders },
		"max_header_bytes":   func(l *charter.BusLimits) *int { return &l.MaxHeaderBytes },
	}
	ran := 0
	for _, c := range v.Bus {
		var limits charter.BusLimits
		zero := false
		for name, value := range c.Limits {
			field, ok := fields[name]
			if !ok {
				t.Fatalf("%s: a limit this runner does not know: %s", c.Name, name)
			}
			*field(&limits) = value
			zero = zero || value == 0
		}
		if zero {
			continue
		}
		bus, err := charter.NewBus(charter.WithLimits(limits))
		if err == nil {
			bus.Close()
		}
		wantCoreErr(t, c.Name, err, c.Status, c.Message)
		ran++
	}
	if ran == 0 {
		t.Fatal("no bus limit case Go can express")
	}
}

// Respond to a message with no reply inbox: the core's refusal, passed
// through the C ABI unchanged.
func TestRespondRefusalsAreTheCores(t *testing.T) {
	v := loadRefusals(t)
	bus := newBus(t)
	sub := subscribe(t, bus, "plain")
	publish(t, bus, "plain", "")
	m := recv(t, sub)
	for _, c := range v.Respond {
		_, err := bus.Respond(m, nil)
		wantCoreErr(t, c.Name, err, c.Status, c.Message)
		_, err = bus.Respond(&charter.Message{}, nil)
		wantCoreErr(t, c.Name+" (a zero Message)", err, c.Status, c.Message)
	}
}
