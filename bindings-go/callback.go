package charter

// #include "shim.h"
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// HandlerFunc handles one event. Returning a non-nil error counts the call
// in [NotifyReport.Failed]. A panic is recovered, so that it never reaches
// Charter's C frames or the handler's siblings, and counted in
// [NotifyReport.Panicked].
//
// event is the very slice given to Notify, not a copy: it is valid only
// during the call and must not be modified. Copy it (bytes.Clone) to keep
// it. An empty event is a nil slice.
//
// A handler must not call runtime.Goexit (nor t.FailNow and the like):
// Go cannot exit a goroutine from inside a call that came from C.
type HandlerFunc func(event []byte) error

// charterGoHandler is the C handler behind every Go registration; handle
// is the runtime/cgo.Handle of its HandlerFunc.
//
//export charterGoHandler
func charterGoHandler(handle C.uintptr_t, event *C.uint8_t, n C.size_t) (status C.charter_status_t) {
	defer func() {
		if recover() != nil {
			status = C.CHARTER_E_PANIC
		}
	}()
	fn := cgo.Handle(handle).Value().(HandlerFunc)
	var data []byte
	if n > 0 {
		// No copy: Charter passes back the bytes Notify was given, and they
		// outlive this call.
		data = unsafe.Slice((*byte)(unsafe.Pointer(event)), int(n))
	}
	if fn(data) != nil {
		// Charter only tells CHARTER_OK from the rest, which it counts as
		// failed; the particular status is never seen.
		return C.CHARTER_E_INTERNAL
	}
	return C.CHARTER_OK
}

// charterGoMessage is the C message callback behind every
// Bus.SubscribeFunc; handle is the runtime/cgo.Handle of its MessageFunc.
// The C message is valid only during the call, so the MessageFunc gets a
// copy.
//
//export charterGoMessage
func charterGoMessage(handle C.uintptr_t, msg *C.charter_message_t) (status C.charter_status_t) {
	defer func() {
		if recover() != nil {
			status = C.CHARTER_E_PANIC
		}
	}()
	fn := cgo.Handle(handle).Value().(MessageFunc)
	if fn(goMessage(msg)) != nil {
		// Charter counts any status but CHARTER_OK as a handler failure.
		return C.CHARTER_E_INTERNAL
	}
	return C.CHARTER_OK
}

// charterGoDrop is the drop_user_data of every Go registration and
// callback subscription. Charter calls it exactly once, when the
// registration or subscription ends.
//
//export charterGoDrop
func charterGoDrop(handle C.uintptr_t) {
	cgo.Handle(handle).Delete()
}
