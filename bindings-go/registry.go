package charter

// #include "shim.h"
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// Registry is a set of handlers that are notified together.
//
// Handlers fire in priority order (higher first, equal priorities in
// registration order). A handler that fails or panics is counted and never
// stops its siblings. Create a Registry with [NewRegistry] and release it
// with Close; the zero Registry is closed.
type Registry struct {
	h handle[*C.charter_registry_t]
}

// HandlerID identifies a registration within its Registry. Ids are never
// reused within a registry and include a random per-registry key, so an id
// of another registry, or a guessed number, matches no registration.
type HandlerID uint64

// NotifyReport tells how the handlers of one Notify fared. Every handler
// that was called counts in exactly one field.
type NotifyReport struct {
	// Delivered counts handlers that returned nil.
	Delivered uint64
	// Failed counts handlers that returned an error.
	Failed uint64
	// Panicked counts handlers that panicked: the binding recovers the Go
	// panic and reports it to Charter as CHARTER_E_PANIC.
	Panicked uint64
}

// RegistryOption configures [NewRegistry].
type RegistryOption func(*registryConfig)

type registryConfig struct {
	maxDepth    int
	hasMaxDepth bool
}

// WithMaxDepth bounds how deeply Notify may nest on one goroutine, through
// handlers that notify the same registry, to n levels (1 to 64; the default
// is 8). Beyond it Notify fails with [ErrLimitExceeded].
func WithMaxDepth(n int) RegistryOption {
	return func(c *registryConfig) {
		c.maxDepth = n
		c.hasMaxDepth = true
	}
}

// RegisterOption configures [Registry.Register].
type RegisterOption func(*registerConfig)

type registerConfig struct {
	priority int32
}

// WithPriority sets the handler's priority (default 0); higher fires first.
func WithPriority(p int32) RegisterOption {
	return func(c *registerConfig) { c.priority = p }
}

// NewRegistry creates an empty registry.
func NewRegistry(opts ...RegistryOption) (*Registry, error) {
	var cfg registryConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	var res C.chgo_registry
	switch {
	case !cfg.hasMaxDepth:
		res = C.chgo_registry_new()
	case cfg.maxDepth < 0 || cfg.maxDepth > math.MaxUint32:
		// The C ABI takes a uint32_t; Charter checks the rest of the range.
		return nil, &Error{
			Code:    StatusInvalidArgument,
			Message: fmt.Sprintf("max_depth must be between 1 and 64, got %d", cfg.maxDepth),
		}
	default:
		res = C.chgo_registry_new_with_max_depth(C.uint32_t(cfg.maxDepth))
	}
	r := &Registry{}
	return adopt(r, &r.h, "registry", res.registry, freeRegistry, res.status, res.message)
}

func freeRegistry(p *C.charter_registry_t) error {
	return statusErr(C.chgo_registry_free(p))
}

// Register adds fn to the registry and returns its id.
//
// fn may run on any goroutine that calls Notify, concurrently with itself.
// The registry holds fn until the registration ends (Unregister, Clear or
// Close), so anything fn refers to stays alive until then; a handler that
// refers to its own Registry keeps it from being collected unclosed.
func (r *Registry) Register(fn HandlerFunc, opts ...RegisterOption) (HandlerID, error) {
	return r.register(fn, false, opts)
}

// RegisterOnce adds fn to run once: the first Notify that reaches it calls
// it and ends the registration, even when Notify runs on several goroutines
// at once and even if fn panics. fn is released right after its call, or
// when the registration ends without one. It returns the id.
func (r *Registry) RegisterOnce(fn HandlerFunc, opts ...RegisterOption) (HandlerID, error) {
	return r.register(fn, true, opts)
}

func (r *Registry) register(fn HandlerFunc, once bool, opts []RegisterOption) (HandlerID, error) {
	if fn == nil {
		return 0, &Error{Code: StatusNullArgument, Message: "fn is nil"}
	}
	var cfg registerConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	p, err := r.ref().load()
	if err != nil {
		return 0, err
	}
	// Charter hands the handle back to the trampolines in callback.go and
	// deletes it through charterGoDrop when the registration ends.
	h := cgo.NewHandle(fn)
	var res C.chgo_value
	if once {
		res = C.chgo_registry_register_once(p, C.int32_t(cfg.priority), C.uintptr_t(h))
	} else {
		res = C.chgo_registry_register(p, C.int32_t(cfg.priority), C.uintptr_t(h))
	}
	runtime.KeepAlive(r)
	if res.status != C.CHARTER_OK {
		// The registration never began, so Charter will not drop it.
		h.Delete()
		return 0, r.h.check(cError(res.status, res.message))
	}
	return HandlerID(res.value), nil
}

// Unregister ends the registration id and reports whether it existed. No
// Notify that starts after Unregister returns calls the handler, nor does
// the rest of a Notify in progress on this goroutine. A Notify already
// running on another goroutine may still be calling it, or call it once
// more; use [Registry.UnregisterAndWait] to wait for it. Unregistering from
// inside a handler, the handler itself included, is allowed.
func (r *Registry) Unregister(id HandlerID) (bool, error) {
	return r.unregister(id, false)
}

// UnregisterAndWait ends the registration id like Unregister, then waits
// until no Notify on any goroutine can still be running the handler; when
// it returns, the registry has released fn. Called from inside a handler
// of this registry it does not wait (the caller's own Notify holds the
// handler), as Unregister. Do not call it while holding a lock that a
// handler of this registry takes.
func (r *Registry) UnregisterAndWait(id HandlerID) (bool, error) {
	return r.unregister(id, true)
}

func (r *Registry) unregister(id HandlerID, wait bool) (bool, error) {
	p, err := r.ref().load()
	if err != nil {
		return false, err
	}
	var res C.chgo_value
	if wait {
		res = C.chgo_registry_unregister_and_wait(p, C.uint64_t(id))
	} else {
		res = C.chgo_registry_unregister(p, C.uint64_t(id))
	}
	runtime.KeepAlive(r)
	if res.status != C.CHARTER_OK {
		return false, r.h.check(cError(res.status, res.message))
	}
	return res.value != 0, nil
}

// Contains reports whether id is registered; false on a nil or closed
// Registry.
func (r *Registry) Contains(id HandlerID) bool {
	v, _ := use(r.ref(), func(p *C.charter_registry_t) C.chgo_value {
		return C.chgo_registry_contains(p, C.uint64_t(id))
	}, goValue)
	return v != 0
}

// Len returns the number of registered handlers; 0 for a nil or closed
// Registry.
func (r *Registry) Len() int {
	v, _ := use(r.ref(), func(p *C.charter_registry_t) C.chgo_value {
		return C.chgo_registry_len(p)
	}, goValue)
	return int(v)
}

// Clear ends every registration. A Notify in progress skips the handlers it
// has not reached yet; one running a handler on another goroutine may still
// be in it when Clear returns.
func (r *Registry) Clear() error {
	return r.clear(false)
}

// ClearAndWait ends every registration like Clear, then waits as
// [Registry.UnregisterAndWait] does for every handler it removed.
func (r *Registry) ClearAndWait() error {
	return r.clear(true)
}

func (r *Registry) clear(wait bool) error {
	p, err := r.ref().load()
	if err != nil {
		return err
	}
	var res C.chgo_status
	if wait {
		res = C.chgo_registry_clear_and_wait(p)
	} else {
		res = C.chgo_registry_clear(p)
	}
	runtime.KeepAlive(r)
	if res.status != C.CHARTER_OK {
		return r.h.check(cError(res.status, res.message))
	}
	return nil
}

// Notify calls every handler with event, in priority order, on the calling
// goroutine, and reports how they fared. Handlers see event itself, not a
// copy (see [HandlerFunc]).
//
// Notify fails with [ErrLimitExceeded], calling nothing, when handlers
// have nested it deeper than the registry's max depth.
func (r *Registry) Notify(event []byte) (NotifyReport, error) {
	p, err := r.ref().load()
	if err != nil {
		return NotifyReport{}, err
	}
	var data *C.uint8_t
	if len(event) > 0 {
		data = (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(event)))
	}
	res := C.chgo_registry_notify(p, data, C.size_t(len(event)))
	runtime.KeepAlive(r)
	if res.status != C.CHARTER_OK {
		return NotifyReport{}, r.h.check(cError(res.status, res.message))
	}
	return NotifyReport{
		Delivered: uint64(res.report.delivered),
		Failed:    uint64(res.report.failed),
		Panicked:  uint64(res.report.panicked),
	}, nil
}

// Close frees the registry and ends every registration. A Notify in
// progress on another goroutine finishes first; later calls of any method
// return an error matching [ErrClosed]. Close may be called from inside a
// handler. A second Close returns nil.
func (r *Registry) Close() error {
	return r.ref().close(freeRegistry)
}

// ref returns r's handle; a nil r gets one that fails every use
// with ErrNullArgument.
func (r *Registry) ref() *handle[*C.charter_registry_t] {
	return refOf(r, "registry", func() *handle[*C.charter_registry_t] { return &r.h })
}
