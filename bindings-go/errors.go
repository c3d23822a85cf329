package charter

// #include "shim.h"
import "C"

import "strings"

// Status is a Charter status code: [StatusOK] or one of the negative
// CHARTER_E_* values of charter.h. The values are stable forever.
type Status int32

// The status codes, equal to the CHARTER_* constants of charter.h.
const (
	StatusOK              Status = C.CHARTER_OK                  // success
	StatusNullArgument    Status = C.CHARTER_E_NULL_ARGUMENT     // a required argument was nil
	StatusInvalidArgument Status = C.CHARTER_E_INVALID_ARGUMENT  // an argument was not acceptable
	StatusInvalidUTF8     Status = C.CHARTER_E_INVALID_UTF8      // a string was not valid UTF-8
	StatusInvalidHandle   Status = C.CHARTER_E_INVALID_HANDLE    // not a Charter handle
	StatusWrongHandleType Status = C.CHARTER_E_WRONG_HANDLE_TYPE // a handle of another type
	StatusHandleFreed     Status = C.CHARTER_E_HANDLE_FREED      // a handle that has been freed
	StatusAlreadyFreed    Status = C.CHARTER_E_ALREADY_FREED     // a second free of a handle
	StatusLimitExceeded   Status = C.CHARTER_E_LIMIT_EXCEEDED    // a limit was reached
	StatusNotFound        Status = C.CHARTER_E_NOT_FOUND         // the thing asked for does not exist
	StatusDenied          Status = C.CHARTER_E_DENIED            // authorization refused
	StatusExpired         Status = C.CHARTER_E_EXPIRED           // past its validity window
	StatusNotYetValid     Status = C.CHARTER_E_NOT_YET_VALID     // before its validity window
	StatusRevoked         Status = C.CHARTER_E_REVOKED           // revoked
	StatusBadSignature    Status = C.CHARTER_E_BAD_SIGNATURE     // a signature did not verify
	StatusMalformed       Status = C.CHARTER_E_MALFORMED         // bytes that do not decode
	StatusUntrustedRoot   Status = C.CHARTER_E_UNTRUSTED_ROOT    // a root key that is not trusted
	StatusWouldBlock      Status = C.CHARTER_E_WOULD_BLOCK       // would have to wait
	StatusTimeout         Status = C.CHARTER_E_TIMEOUT           // a wait ran out of time
	StatusClosed          Status = C.CHARTER_E_CLOSED            // the object was closed
	StatusIO              Status = C.CHARTER_E_IO                // an operating-system I/O error
	StatusCorrupt         Status = C.CHARTER_E_CORRUPT           // stored data failed a check
	StatusPanic           Status = C.CHARTER_E_PANIC             // a panic was caught
	StatusInternal        Status = C.CHARTER_E_INTERNAL          // a bug in Charter itself
	StatusCancelled       Status = C.CHARTER_E_CANCELLED         // a wait was cancelled
)

// String returns the C name of s, such as "CHARTER_E_DENIED", as given by
// charter_status_name, or "CHARTER_E_UNKNOWN" for a value that is not a
// status.
func (s Status) String() string {
	// The name is static in the library: copied, never freed.
	return C.GoString(C.charter_status_name(C.charter_status_t(s)))
}

// Error is an error reported by Charter.
type Error struct {
	// Code is the status of the failure; Code.String() is its C name.
	Code Status
	// Message explains this particular failure, naming the argument or
	// limit involved. It is empty in the sentinels such as [ErrDenied].
	Message string
}

// Error formats e as "charter: CHARTER_E_<NAME>: <message>".
func (e *Error) Error() string {
	if e.Message == "" {
		return "charter: " + e.Code.String()
	}
	return "charter: " + e.Code.String() + ": " + e.Message
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, ErrDenied) matches every denial whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels, one per status, for use with [errors.Is]. Each matches every
// [*Error] with the same Code.
var (
	ErrNullArgument    error = &Error{Code: StatusNullArgument}
	ErrInvalidArgument error = &Error{Code: StatusInvalidArgument}
	ErrInvalidUTF8     error = &Error{Code: StatusInvalidUTF8}
	ErrInvalidHandle   error = &Error{Code: StatusInvalidHandle}
	ErrWrongHandleType error = &Error{Code: StatusWrongHandleType}
	ErrHandleFreed     error = &Error{Code: StatusHandleFreed}
	ErrAlreadyFreed    error = &Error{Code: StatusAlreadyFreed}
	ErrLimitExceeded   error = &Error{Code: StatusLimitExceeded}
	ErrNotFound        error = &Error{Code: StatusNotFound}
	ErrDenied          error = &Error{Code: StatusDenied}
	ErrExpired         error = &Error{Code: StatusExpired}
	ErrNotYetValid     error = &Error{Code: StatusNotYetValid}
	ErrRevoked         error = &Error{Code: StatusRevoked}
	ErrBadSignature    error = &Error{Code: StatusBadSignature}
	ErrMalformed       error = &Error{Code: StatusMalformed}
	ErrUntrustedRoot   error = &Error{Code: StatusUntrustedRoot}
	ErrWouldBlock      error = &Error{Code: StatusWouldBlock}
	ErrTimeout         error = &Error{Code: StatusTimeout}
	// ErrClosed also matches every use of an object after its Close.
	ErrClosed   error = &Error{Code: StatusClosed}
	ErrIO       error = &Error{Code: StatusIO}
	ErrCorrupt  error = &Error{Code: StatusCorrupt}
	ErrPanic    error = &Error{Code: StatusPanic}
	ErrInternal error = &Error{Code: StatusInternal}
	// ErrCancelled is a wait that was cancelled before it received
	// anything; nothing was consumed.
	ErrCancelled error = &Error{Code: StatusCancelled}
)

// cError builds the error of a failed C call from its status and its
// caller-owned message, which it frees. The message comes as
// "CHARTER_E_<NAME>: <text>"; the name is dropped since Code carries it.
func cError(status C.charter_status_t, message *C.char) *Error {
	text := C.GoString(message)
	C.charter_string_free(message)
	code := Status(status)
	return &Error{Code: code, Message: strings.TrimPrefix(text, code.String()+": ")}
}
