package charter

/*
#include <stdlib.h>
#include "shim_result.h"

// The bridge's calls, each taking its error message in the same cgo call
// (see shim.h). Kept here, beside their only caller.
static chgo_status chgo_bridge_start(charter_bus_t *bus, const charter_bridge_options_t *o,
                                     charter_bridge_t **out) {
    return chgo_status_of(charter_bridge_start(bus, o, out));
}

static chgo_status chgo_bridge_options_default(charter_bridge_options_t *o) {
    return chgo_status_of(charter_bridge_options_default(o));
}

static chgo_status chgo_bridge_durable_options_default(charter_bridge_durable_options_t *o) {
    return chgo_status_of(charter_bridge_durable_options_default(o));
}

static chgo_status chgo_bridge_flush(charter_bridge_t *bridge, uint32_t timeout_ms) {
    return chgo_status_of(charter_bridge_flush(bridge, timeout_ms));
}

typedef struct {
    charter_status_t status;
    char *message;
    charter_bridge_stats_t stats;
} chgo_bridge_stats;

static chgo_bridge_stats chgo_bridge_stats_of(charter_bridge_t *bridge) {
    RETURN_RESULT(chgo_bridge_stats, charter_bridge_stats(bridge, &r.stats));
}

static chgo_string chgo_bridge_origin(charter_bridge_t *bridge) {
    RETURN_RESULT(chgo_string, charter_bridge_origin(bridge, &r.value));
}

static chgo_value chgo_bridge_is_connected(charter_bridge_t *bridge) {
    bool connected = false;
    charter_status_t status = charter_bridge_is_connected(bridge, &connected);
    return chgo_value_of(status, connected);
}

static chgo_status chgo_bridge_free(charter_bridge_t *bridge) {
    return chgo_status_of(charter_bridge_free(bridge));
}
*/
import "C"

import (
	"context"
	"runtime"
	"strings"
	"time"
	"unsafe"
)

// BridgeImport is one import of a [Bridge]: NATS subjects matching Pattern
// are published on the local bus (and NATS requests asked there).
type BridgeImport struct {
	// Pattern is the NATS subject pattern (Charter's topic grammar is
	// NATS's).
	Pattern string
	// QueueGroup, when not empty, joins a NATS queue group: each message
	// goes to one member of the group.
	QueueGroup string
	// Relay lets another bridge on the same bus carry what this import
	// delivers (a relaying sidecar; docs/bridge.md).
	Relay bool
}

// BridgeDurableImport is one durable import of a [Bridge] through
// JetStream (docs/bridge.md, "Durable import"): the subjects matching
// Pattern kept in Stream, read through the durable consumer Durable, each
// acknowledged after the local publish. That is at least once; with the
// position the application committed with its results (HandledThrough
// and Handled), exactly once for the application.
type BridgeDurableImport struct {
	// Pattern is the subject pattern the stream captures and the
	// consumer filters; Stream and Durable are created when missing.
	Pattern, Stream, Durable string
	// AckWait is how long the server waits for an acknowledgement before
	// it delivers a message again (zero: 30 s).
	AckWait time.Duration
	// MaxAckPending is the most messages delivered and not yet
	// acknowledged (zero: 1,024).
	MaxAckPending int
	// Relay lets another bridge on the same bus carry what it delivers.
	Relay bool
	// HandledThrough: no stream sequence at or below it is delivered (the
	// largest Charter-Stream-Floor the application handled).
	HandledThrough uint64
	// Handled are the stream sequences (Charter-Stream-Seq) above
	// HandledThrough the application handled: never delivered again.
	Handled []uint64
	// SealedThrough, with verification: nothing sealed before it (ms) is
	// delivered (the largest Charter-Seal-Floor the application handled).
	SealedThrough uint64
	// Sealed, with verification: the seal ids (Charter-Seal-Id) of what the
	// application handled sealed at or after SealedThrough; a stored copy
	// of one is refused.
	Sealed []uint64
}

// BridgeOptions configures a [Bridge]. Zero fields keep the bridge's
// defaults (docs/bridge.md); Servers must name at least one server.
type BridgeOptions struct {
	// Servers are NATS URLs ("nats://127.0.0.1:4222").
	Servers []string
	// Name is the connection's name as the server shows it.
	Name string
	// Exports are local topic patterns whose publishes and requests go to
	// NATS.
	Exports []string
	// Imports are NATS subject patterns published and requested locally.
	Imports []BridgeImport
	// DurableImports are JetStream streams published locally at least
	// once.
	DurableImports []BridgeDurableImport
	// Token and Key, set together, seal everything the bridge sends: Key
	// must be the token's subject.
	Token *Token
	Key   *KeyPair
	// Authority, when set, makes the bridge verify everything it receives
	// (chain, proof, grant, freshness and replay, revocation) and refuse
	// what fails, counting each refusal by reason.
	Authority *Authority
	// Recorder, with Authority, records each refusal in an audit log.
	Recorder *Recorder
	// MaxSkew is how far a received message's time may be from this
	// clock (default 30 s).
	MaxSkew time.Duration
	// Session is the local session the bridge acts as on a bus that
	// enforces an authority.
	Session *Session
	// RequestTimeout is how long a request carried across waits for its
	// reply (default 5 s).
	RequestTimeout time.Duration
	// ExportCapacity and ExportMaxBytes bound each export's local queue;
	// ImportCapacity each import's queue; MaxRequestsInFlight the requests
	// waiting across the bridge; WorkerThreads the bridge's runtime.
	ExportCapacity      int
	ExportMaxBytes      int
	ImportCapacity      int
	MaxRequestsInFlight int
	WorkerThreads       int
	// BareExports, off by default, sends exported publishes with their
	// application headers only (none at all without any): no message id,
	// no origin. A relay loop through two bridges is then no longer
	// stopped by origin, and a JetStream stream capturing the subject gets
	// no dedup id (docs/bridge.md, "Bare exports"); requests and replies
	// keep their headers. With Token and Key it fails with
	// [ErrInvalidArgument].
	BareExports bool
}

// BridgeStats is what a bridge carried and dropped, each drop and each
// refusal by its reason (docs/bridge.md).
type BridgeStats struct {
	Exported, Imported, RequestsOut, RequestsIn                 uint64
	NotReexported, OwnOrigin, MaxPayload, SendFailed, BadHeader uint64
	SealFailed, LocalRefused, RequestsBusy, NoResponders        uint64
	ReplyTimeout, SlowConsumer, ExportQueueDropped              uint64
	// Durable imports: handed back by a full local queue; acknowledged
	// and not published (published before, or covered by the committed
	// position); terminated (refused for good); failed binds; failed
	// acknowledgements.
	RedeliveryRequested, DuplicateSuppressed, DurableTerminated uint64
	DurableBindFailed, AckFailed                                uint64
	// Refused counts inbound messages refused by the verifier, by reason:
	// "unsigned", "malformed", "chain", "bad_proof", "not_granted",
	// "stale", "replayed", "revoked", "misdirected", "audit_failed".
	Refused map[string]uint64
}

// Bridge carries a [Bus] onto NATS and back (docs/bridge.md). Start one
// with [StartBridge] and stop it with Close.
type Bridge struct {
	h handle[*C.charter_bridge_t]
}

// StartBridge starts a bridge for bus. A server that does not answer yet
// is not an error: the bridge connects in the background (use
// [Bridge.Flush] to wait for it). Bad options fail with
// [ErrInvalidArgument] (a bad pattern, a key that is not the token's
// subject, Token without Key).
func StartBridge(bus *Bus, opts BridgeOptions) (*Bridge, error) {
	if bus == nil {
		return nil, nilArgument("bus")
	}
	b, err := bus.h.load()
	if err != nil {
		return nil, err
	}
	var c C.charter_bridge_options_t
	if res := C.chgo_bridge_options_default(&c); res.status != C.CHARTER_OK {
		return nil, cError(res.status, res.message)
	}
	mem := &cMemory{}
	defer mem.free()
	hs := []checker{&bus.h}
	if err := opts.fill(&c, mem, &hs); err != nil {
		return nil, err
	}
	if mem.err != nil {
		return nil, mem.err
	}
	var out *C.charter_bridge_t
	res := C.chgo_bridge_start(b, &c, &out)
	runtime.KeepAlive(bus)
	runtime.KeepAlive(&opts)
	bridge := &Bridge{}
	return adopt(bridge, &bridge.h, "bridge", out, freeBridge, res.status, res.message, hs...)
}

func freeBridge(p *C.charter_bridge_t) error {
	return statusErr(C.chgo_bridge_free(p))
}

// fill writes o into c; strings and arrays go to C memory held by mem.
func (o *BridgeOptions) fill(c *C.charter_bridge_options_t, mem *cMemory, hs *[]checker) error {
	c.servers, c.server_count = mem.strings(o.Servers)
	if o.Name != "" {
		c.name = mem.string(o.Name)
	}
	c.exports, c.export_count = mem.strings(o.Exports)
	c.bare_exports = C.bool(o.BareExports)
	if len(o.Imports) > 0 {
		size := C.size_t(unsafe.Sizeof(C.charter_bridge_import_t{}))
		imports := (*C.charter_bridge_import_t)(mem.alloc(size * C.size_t(len(o.Imports))))
		list := unsafe.Slice(imports, len(o.Imports))
		for i, im := range o.Imports {
			list[i].pattern = mem.string(im.Pattern)
			if im.QueueGroup != "" {
				list[i].queue_group = mem.string(im.QueueGroup)
			}
			list[i].relay = C.bool(im.Relay)
		}
		c.imports, c.import_count = imports, C.size_t(len(o.Imports))
	}
	if err := o.fillDurable(c, mem); err != nil {
		return err
	}
	if o.Token != nil {
		p, err := o.Token.h.load()
		if err != nil {
			return err
		}
		c.token, *hs = p, append(*hs, &o.Token.h)
	}
	if o.Key != nil {
		p, err := o.Key.h.load()
		if err != nil {
			return err
		}
		c.key, *hs = p, append(*hs, &o.Key.h)
	}
	if o.Authority != nil {
		p, err := o.Authority.ref().load()
		if err != nil {
			return err
		}
		c.authority, *hs = p, append(*hs, &o.Authority.h)
	}
	if o.Recorder != nil {
		log, err := o.Recorder.Log.ref().load()
		if err != nil {
			return err
		}
		rec := (*C.charter_audit_recorder_t)(mem.alloc(C.size_t(unsafe.Sizeof(C.charter_audit_recorder_t{}))))
		rec.log, rec.scope = log, C.int32_t(o.Recorder.Scope)
		c.recorder, *hs = rec, append(*hs, &o.Recorder.Log.h)
	}
	if o.Session != nil {
		p, err := o.Session.ref().load()
		if err != nil {
			return err
		}
		c.local_session, *hs = p, append(*hs, &o.Session.h)
	}
	millis := func(name string, d time.Duration, into *C.uint32_t) error {
		if d == 0 {
			return nil
		}
		ms, err := timeoutMillis(name, d)
		if err != nil {
			return err
		}
		*into = ms
		return nil
	}
	if err := millis("MaxSkew", o.MaxSkew, &c.max_skew_ms); err != nil {
		return err
	}
	if err := millis("RequestTimeout", o.RequestTimeout, &c.request_timeout_ms); err != nil {
		return err
	}
	return setSizes("", []sizeField{
		{"ExportCapacity", o.ExportCapacity, &c.export_capacity},
		{"ExportMaxBytes", o.ExportMaxBytes, &c.export_max_bytes},
		{"ImportCapacity", o.ImportCapacity, &c.import_capacity},
		{"MaxRequestsInFlight", o.MaxRequestsInFlight, &c.max_requests_in_flight},
		{"WorkerThreads", o.WorkerThreads, &c.worker_threads},
	})
}

// fillDurable writes o.DurableImports into c, each with its options.
func (o *BridgeOptions) fillDurable(c *C.charter_bridge_options_t, mem *cMemory) error {
	if len(o.DurableImports) == 0 {
		return nil
	}
	size := C.size_t(unsafe.Sizeof(C.charter_bridge_durable_import_t{}))
	imports := (*C.charter_bridge_durable_import_t)(mem.alloc(size * C.size_t(len(o.DurableImports))))
	list := unsafe.Slice(imports, len(o.DurableImports))
	for i, d := range o.DurableImports {
		opts := (*C.charter_bridge_durable_options_t)(mem.alloc(C.size_t(unsafe.Sizeof(C.charter_bridge_durable_options_t{}))))
		if res := C.chgo_bridge_durable_options_default(opts); res.status != C.CHARTER_OK {
			return cError(res.status, res.message)
		}
		if d.AckWait != 0 {
			ms, err := timeoutMillis("AckWait", d.AckWait)
			if err != nil {
				return err
			}
			opts.ack_wait_ms = ms
		}
		if d.MaxAckPending < 0 {
			return invalidArgument("MaxAckPending must not be negative, got %d", d.MaxAckPending)
		}
		if d.MaxAckPending > 0 {
			opts.max_ack_pending = C.size_t(d.MaxAckPending)
		}
		opts.relay = C.bool(d.Relay)
		opts.handled_through = C.uint64_t(d.HandledThrough)
		opts.handled, opts.handled_count = mem.uint64s(d.Handled)
		opts.sealed_through = C.uint64_t(d.SealedThrough)
		opts.sealed, opts.sealed_count = mem.uint64s(d.Sealed)
		list[i] = C.charter_bridge_durable_import_t{
			pattern: mem.string(d.Pattern),
			stream:  mem.string(d.Stream),
			durable: mem.string(d.Durable),
			options: opts,
		}
	}
	c.durable_imports, c.durable_import_count = imports, C.size_t(len(o.DurableImports))
	return nil
}

// timeoutMillis is d in whole milliseconds for a C uint32_t field.
func timeoutMillis(name string, d time.Duration) (C.uint32_t, error) {
	ms := d.Milliseconds()
	if d < 0 || ms >= int64(C.CHARTER_WAIT_FOREVER) {
		return 0, invalidArgument("%s must be between 0 and %d ms, got %v", name, uint32(C.CHARTER_WAIT_FOREVER)-1, d)
	}
	return C.uint32_t(ms), nil
}

// Close stops the bridge (sending what the client still buffers, for up
// to a second) and releases it. It is idempotent and nil-safe.
func (b *Bridge) Close() error {
	return b.ref().close(freeBridge)
}

func (b *Bridge) ref() *handle[*C.charter_bridge_t] {
	return refOf(b, "bridge", func() *handle[*C.charter_bridge_t] { return &b.h })
}

// Flush waits until the server has seen everything sent so far (the
// imports' subscriptions included), until ctx's deadline (or the bridge's
// default flush timeout without one): [ErrTimeout] while no server answers. Cancelling ctx before the
// call returns its error; the wait itself is bounded by the deadline.
func (b *Bridge) Flush(ctx context.Context) error {
	p, err := b.ref().load()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	wait := time.Duration(C.CHARTER_BRIDGE_FLUSH_TIMEOUT_MS) * time.Millisecond
	if deadline, ok := ctx.Deadline(); ok {
		wait = max(time.Until(deadline), 0)
	}
	ms, err := timeoutMillis("flush timeout", min(wait, time.Duration(C.CHARTER_WAIT_FOREVER-1)*time.Millisecond))
	if err != nil {
		return err
	}
	res := C.chgo_bridge_flush(p, ms)
	runtime.KeepAlive(b)
	if res.status != C.CHARTER_OK {
		return failure(res.status, res.message, &b.h)
	}
	return nil
}

// Origin returns the bridge's origin id (32 hex digits, fresh at each
// start), which every message it sends carries.
func (b *Bridge) Origin() (string, error) {
	return use(b.ref(), func(p *C.charter_bridge_t) C.chgo_string {
		return C.chgo_bridge_origin(p)
	}, goString)
}

// Connected reports whether the bridge is connected to a server now.
func (b *Bridge) Connected() (bool, error) {
	return use(b.ref(), func(p *C.charter_bridge_t) C.chgo_value {
		return C.chgo_bridge_is_connected(p)
	}, goFlag)
}

// Stats returns what the bridge carried and dropped so far.
func (b *Bridge) Stats() (BridgeStats, error) {
	return use(b.ref(), func(p *C.charter_bridge_t) C.chgo_bridge_stats { return C.chgo_bridge_stats_of(p) }, goBridgeStats)
}

// goBridgeStats is the result of a stats call on hs, or its error.
func goBridgeStats(res C.chgo_bridge_stats, hs ...checker) (BridgeStats, error) {
	if res.status != C.CHARTER_OK {
		return BridgeStats{}, failure(res.status, res.message, hs...)
	}
	s := res.stats
	return BridgeStats{
		Exported: uint64(s.exported), Imported: uint64(s.imported),
		RequestsOut: uint64(s.requests_out), RequestsIn: uint64(s.requests_in),
		NotReexported: uint64(s.not_reexported), OwnOrigin: uint64(s.own_origin),
		MaxPayload: uint64(s.max_payload), SendFailed: uint64(s.send_failed),
		BadHeader: uint64(s.bad_header), SealFailed: uint64(s.seal_failed),
		LocalRefused: uint64(s.local_refused), RequestsBusy: uint64(s.requests_busy),
		NoResponders: uint64(s.no_responders), ReplyTimeout: uint64(s.reply_timeout),
		SlowConsumer: uint64(s.slow_consumer), ExportQueueDropped: uint64(s.export_queue_dropped),
		RedeliveryRequested: uint64(s.redelivery_requested), DuplicateSuppressed: uint64(s.duplicate_suppressed),
		DurableTerminated: uint64(s.durable_terminated), DurableBindFailed: uint64(s.durable_bind_failed),
		AckFailed: uint64(s.ack_failed),
		Refused: map[string]uint64{
			"unsigned":     uint64(s.refused_unsigned),
			"malformed":    uint64(s.refused_malformed),
			"chain":        uint64(s.refused_chain),
			"bad_proof":    uint64(s.refused_bad_proof),
			"not_granted":  uint64(s.refused_not_granted),
			"stale":        uint64(s.refused_stale),
			"replayed":     uint64(s.refused_replayed),
			"revoked":      uint64(s.refused_revoked),
			"misdirected":  uint64(s.refused_misdirected),
			"audit_failed": uint64(s.refused_audit_failed),
		},
	}, nil
}

// cMemory holds C allocations for the length of one call: a C struct
// handed to Charter may not point into Go memory.
type cMemory struct {
	blocks []unsafe.Pointer
	// err is the first string that C cannot hold (it contains NUL).
	err error
}

func (m *cMemory) alloc(size C.size_t) unsafe.Pointer {
	p := C.calloc(1, max(size, 1))
	if p == nil {
		panic("charter: out of C memory")
	}
	m.blocks = append(m.blocks, p)
	return p
}

// uint64s copies values into C memory: the array and its length, or nil
// and 0 when there are none.
func (m *cMemory) uint64s(values []uint64) (*C.uint64_t, C.size_t) {
	if len(values) == 0 {
		return nil, 0
	}
	array := (*C.uint64_t)(m.alloc(C.size_t(len(values)) * C.size_t(unsafe.Sizeof(C.uint64_t(0)))))
	into := unsafe.Slice(array, len(values))
	for i, v := range values {
		into[i] = C.uint64_t(v)
	}
	return array, C.size_t(len(values))
}

func (m *cMemory) string(s string) *C.char {
	if strings.IndexByte(s, 0) >= 0 && m.err == nil {
		m.err = invalidArgument("a bridge option contains a NUL byte")
	}
	p := C.CString(s)
	m.blocks = append(m.blocks, unsafe.Pointer(p))
	return p
}

func (m *cMemory) strings(list []string) (**C.char, C.size_t) {
	if len(list) == 0 {
		return nil, 0
	}
	array := (**C.char)(m.alloc(C.size_t(len(list)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	items := unsafe.Slice(array, len(list))
	for i, s := range list {
		items[i] = m.string(s)
	}
	return array, C.size_t(len(list))
}

func (m *cMemory) free() {
	for _, p := range m.blocks {
		C.free(p)
	}
}
