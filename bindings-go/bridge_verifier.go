package charter

/*
#include <stdlib.h>
#include <string.h>
#include "shim_result.h"

// The verifier's calls, each taking its error message in the same cgo
// call (see shim.h). Kept here, beside their only caller.
static chgo_status chgo_bridge_verifier_new(const charter_bridge_verifier_options_t *o,
                                            charter_bridge_verifier_t **out) {
    return chgo_status_of(charter_bridge_verifier_new(o, out));
}

static chgo_status chgo_bridge_verifier_options_default(charter_bridge_verifier_options_t *o) {
    return chgo_status_of(charter_bridge_verifier_options_default(o));
}

static chgo_status chgo_bridge_verifier_free(charter_bridge_verifier_t *v) {
    return chgo_status_of(charter_bridge_verifier_free(v));
}

typedef struct {
    charter_status_t status;
    char *message;
    int32_t reason;
    char *principal;
} chgo_bridge_check;

// headers is "name\0value\0..." with count pairs (cHeaders), unpacked here
// because a Go buffer handed to C may hold no pointers.
static chgo_bridge_check chgo_bridge_verifier_check(charter_bridge_verifier_t *v, const char *subject,
                                                    const char *reply, const char *headers, size_t count,
                                                    const uint8_t *payload, size_t payload_len,
                                                    const charter_bridge_expect_t *expect) {
    chgo_bridge_check r = {0};
    charter_header_t *list = NULL;
    size_t i;
    if (count > CHARTER_BRIDGE_MAX_ENTRIES) {
        count = CHARTER_BRIDGE_MAX_ENTRIES + 1;
        headers = NULL;
    }
    if (headers != NULL && count > 0) {
        list = calloc(count, sizeof *list);
        if (list == NULL) {
            r.status = CHGO_OUT_OF_MEMORY;
            return r;
        }
        for (i = 0; i < count; i++) {
            list[i].name = headers;
            headers += strlen(headers) + 1;
            list[i].value = headers;
            headers += strlen(headers) + 1;
        }
    }
    RESULT(r, charter_bridge_verifier_check(v, subject, reply, list, count, payload, payload_len, expect,
                                            &r.reason, &r.principal));
    free(list);
    return r;
}
*/
import "C"

import (
	"runtime"
	"time"
	"unsafe"
)

// BridgeExpectKind says what a checked message must be.
type BridgeExpectKind int32

const (
	// ExpectPublish: a publish, which needs a publish grant on its subject.
	ExpectPublish BridgeExpectKind = 0
	// ExpectRequest: a request, which needs a request grant on its subject.
	ExpectRequest BridgeExpectKind = 1
	// ExpectReply: the reply to a request this program sent, which
	// BridgeExpect's other fields describe.
	ExpectReply BridgeExpectKind = 2
)

// BridgeExpect is what a checked message must be: a publish, a request,
// or the reply to the request sent on Subject with reply subject Inbox
// and nonce Nonce, sealed at Sent.
type BridgeExpect struct {
	Kind                  BridgeExpectKind
	Subject, Inbox, Nonce string
	Sent                  time.Time
}

// BridgeInbound is a message as it arrived from NATS: every header, the
// envelope's included.
type BridgeInbound struct {
	Subject string
	// Reply is the reply subject of a request, "" for none.
	Reply   string
	Headers []Header
	Payload []byte
}

// BridgeRefusal is the error of a message a [BridgeVerifier] refused: the
// refusal's own error (errors.Is works with it, e.g. [ErrBadSignature]),
// and Reason, the check that refused it ("unsigned", "malformed",
// "chain", "bad_proof", "not_granted", "stale", "replayed", "revoked",
// "misdirected", "audit_failed").
type BridgeRefusal struct {
	Reason string
	Err    error
}

func (r *BridgeRefusal) Error() string { return r.Err.Error() }

// Unwrap returns the refusal's own error.
func (r *BridgeRefusal) Unwrap() error { return r.Err }

// BridgeVerifierOptions configures a [BridgeVerifier]; zero fields keep
// the defaults.
type BridgeVerifierOptions struct {
	// Recorder records each refusal (or, with RecordAll, each check).
	Recorder *Recorder
	// MaxSkew is how far a message's time may be from this clock
	// (default 30 s).
	MaxSkew time.Duration
	// FixedTime, when not zero, is the time messages' times are judged
	// against instead of the system clock (tests and vectors).
	FixedTime time.Time
}

// BridgeVerifier makes the checks a receiving [Bridge] makes on every
// sealed message, on their own (docs/formats.md, "NATS bridge message
// authentication"): for a message that reached a program from NATS some
// other way, and for the shared vectors. It keeps a replay window, as a
// bridge does. Close it when done; it is safe for concurrent use.
type BridgeVerifier struct {
	h handle[*C.charter_bridge_verifier_t]
}

// NewBridgeVerifier returns a verifier trusting auth's roots (and its
// revocations and clock for tokens).
func NewBridgeVerifier(auth *Authority, opts BridgeVerifierOptions) (*BridgeVerifier, error) {
	p, err := auth.ref().load()
	if err != nil {
		return nil, err
	}
	var c C.charter_bridge_verifier_options_t
	if res := C.chgo_bridge_verifier_options_default(&c); res.status != C.CHARTER_OK {
		return nil, cError(res.status, res.message)
	}
	c.authority = p
	hs := []checker{&auth.h}
	mem := &cMemory{}
	defer mem.free()
	if opts.Recorder != nil {
		log, err := opts.Recorder.Log.ref().load()
		if err != nil {
			return nil, err
		}
		rec := (*C.charter_audit_recorder_t)(mem.alloc(C.size_t(unsafe.Sizeof(C.charter_audit_recorder_t{}))))
		rec.log, rec.scope = log, C.int32_t(opts.Recorder.Scope)
		c.recorder, hs = rec, append(hs, &opts.Recorder.Log.h)
	}
	if opts.MaxSkew != 0 {
		ms, err := timeoutMillis("MaxSkew", opts.MaxSkew)
		if err != nil {
			return nil, err
		}
		c.max_skew_ms = ms
	}
	if !opts.FixedTime.IsZero() {
		ms := opts.FixedTime.UnixMilli()
		if ms <= 0 {
			return nil, invalidArgument("FixedTime must be after the Unix epoch, got %v", opts.FixedTime)
		}
		c.fixed_time_ms = C.uint64_t(ms)
	}
	var out *C.charter_bridge_verifier_t
	res := C.chgo_bridge_verifier_new(&c, &out)
	runtime.KeepAlive(auth)
	runtime.KeepAlive(&opts)
	v := &BridgeVerifier{}
	return adopt(v, &v.h, "bridge verifier", out, freeBridgeVerifier, res.status, res.message, hs...)
}

func freeBridgeVerifier(p *C.charter_bridge_verifier_t) error {
	return statusErr(C.chgo_bridge_verifier_free(p))
}

// Close frees the verifier; a second Close, or Close on nil, does nothing.
func (v *BridgeVerifier) Close() error {
	return v.ref().close(freeBridgeVerifier)
}

func (v *BridgeVerifier) ref() *handle[*C.charter_bridge_verifier_t] {
	return refOf(v, "verifier", func() *handle[*C.charter_bridge_verifier_t] { return &v.h })
}

// Check checks m as expect says it must be. It returns the proven
// sender's principal id, or a *[BridgeRefusal] for a refused message
// (counted and recorded as a bridge's refusal would be), or another
// error for bad arguments.
func (v *BridgeVerifier) Check(m BridgeInbound, expect BridgeExpect) (string, error) {
	p, err := v.ref().load()
	if err != nil {
		return "", err
	}
	mem := &cMemory{}
	defer mem.free()
	subject := mem.string(m.Subject)
	var reply *C.char
	if m.Reply != "" {
		reply = mem.string(m.Reply)
	}
	e := (*C.charter_bridge_expect_t)(mem.alloc(C.size_t(unsafe.Sizeof(C.charter_bridge_expect_t{}))))
	e.kind = C.int32_t(expect.Kind)
	if expect.Kind == ExpectReply {
		e.subject, e.inbox, e.nonce = mem.string(expect.Subject), mem.string(expect.Inbox), mem.string(expect.Nonce)
		if !expect.Sent.IsZero() {
			e.sent_ms = C.uint64_t(max(expect.Sent.UnixMilli(), 0))
		}
	}
	if mem.err != nil {
		return "", mem.err
	}
	headers, count, err := cHeaders(m.Headers)
	if err != nil {
		return "", err
	}
	payload, payloadLen := cPayload(m.Payload)
	res := C.chgo_bridge_verifier_check(p, subject, reply, headers, count, payload, payloadLen, e)
	runtime.KeepAlive(v)
	runtime.KeepAlive(m.Payload)
	runtime.KeepAlive(headers)
	if res.status == C.CHARTER_OK {
		principal := C.GoString(res.principal)
		C.charter_string_free(res.principal)
		return principal, nil
	}
	err = failure(res.status, res.message, &v.h)
	if res.reason == C.CHARTER_BRIDGE_ACCEPTED {
		return "", err
	}
	return "", &BridgeRefusal{Reason: C.GoString(C.charter_bridge_reason_name(res.reason)), Err: err}
}
