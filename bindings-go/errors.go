package charter

// #include "shim.h"
import "C"

import (
	"strconv"
	"strings"
	"syscall"
)

// Status is a Charter status code: [StatusOK] or one of the negative
// CHARTER_E_* values of charter.h. The values are stable forever.
type Status int32

// The status codes, equal to the CHARTER_* constants of charter.h
// (constants_check.go makes the build fail if one differs).
const (
	StatusOK              Status = 0   // success
	StatusNullArgument    Status = -1  // a required argument was nil
	StatusInvalidArgument Status = -2  // an argument was not acceptable
	StatusInvalidUTF8     Status = -3  // a string was not valid UTF-8
	StatusInvalidHandle   Status = -4  // not a Charter handle
	StatusWrongHandleType Status = -5  // a handle of another type
	StatusHandleFreed     Status = -6  // a handle that has been freed
	StatusAlreadyFreed    Status = -7  // a second free of a handle
	StatusLimitExceeded   Status = -8  // a limit was reached
	StatusNotFound        Status = -9  // the thing asked for does not exist
	StatusDenied          Status = -10 // authorization refused
	StatusExpired         Status = -11 // past its validity window
	StatusNotYetValid     Status = -12 // before its validity window
	StatusRevoked         Status = -13 // revoked
	StatusBadSignature    Status = -14 // a signature did not verify
	StatusMalformed       Status = -15 // bytes that do not decode
	StatusUntrustedRoot   Status = -16 // a root key that is not trusted
	StatusWouldBlock      Status = -17 // would have to wait
	StatusTimeout         Status = -18 // a wait ran out of time
	StatusClosed          Status = -19 // the object was closed
	StatusIO              Status = -20 // an operating-system I/O error
	StatusCorrupt         Status = -21 // stored data failed a check
	StatusPanic           Status = -22 // a panic was caught
	StatusInternal        Status = -23 // a bug in Charter itself
	StatusCancelled       Status = -24 // a wait cancelled before anything happened
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
	// cause is the error behind the failure, or nil: the operating
	// system's for an I/O failure, the context's for a cancelled wait.
	cause error
}

// Unwrap returns the error behind the failure, or nil: for an I/O failure
// the operating system's (a [syscall.Errno]), so that errors.Is(err,
// fs.ErrNotExist) and errors.As(err, &errno) work on an [ErrIO] such as
// opening an audit log in a missing directory; for a wait its context
// ended, the context's error, so errors.Is(err, context.Canceled) works on
// an [ErrCancelled].
func (e *Error) Unwrap() error {
	return e.cause
}

// cancelled is the error of a wait that its context ended before it took
// anything, ctxErr being the context's error.
func cancelled(ctxErr error) error {
	return &Error{Code: StatusCancelled, Message: "the wait ended with its context: " + ctxErr.Error(), cause: ctxErr}
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

// Sentinels for use with [errors.Is], one per status a Go caller can
// receive; each matches every [*Error] with the same Code. The statuses
// the binding never lets through have none (see [Status] for their
// codes): StatusInvalidHandle, StatusWrongHandleType, StatusHandleFreed
// and StatusAlreadyFreed, since Go's types and Close's rules never pass a
// stale or foreign handle (a call racing with Close reports [ErrClosed]);
// StatusPanic and StatusInternal, which only a bug in Charter would
// return (an *Error still carries such a Code).
var (
	ErrNullArgument    error = &Error{Code: StatusNullArgument}
	ErrInvalidArgument error = &Error{Code: StatusInvalidArgument}
	ErrInvalidUTF8     error = &Error{Code: StatusInvalidUTF8}
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
	ErrClosed error = &Error{Code: StatusClosed}
	// ErrIO reports an operating-system I/O failure; the error unwraps to
	// the OS error, so errors.Is(err, fs.ErrNotExist) works too.
	ErrIO      error = &Error{Code: StatusIO}
	ErrCorrupt error = &Error{Code: StatusCorrupt}
	// ErrCancelled reports a wait that its context ended before it took
	// anything (Recv, RecvMany, All, Request). The error also matches the
	// context's own, context.Canceled or context.DeadlineExceeded.
	ErrCancelled error = &Error{Code: StatusCancelled}
)

// cError builds the error of a failed C call from its status and its
// caller-owned message, which it frees. The message comes as
// "CHARTER_E_<NAME>: <text>"; the name is dropped since Code carries it.
func cError(status C.charter_status_t, message *C.char) *Error {
	text := C.GoString(message)
	C.charter_string_free(message)
	code := Status(status)
	return &Error{Code: code, Message: strings.TrimPrefix(text, code.String()+": "), cause: osError(code, text)}
}

// statusErr is the error of a call with no result (one on no handle, or a
// free), or nil.
func statusErr(res C.chgo_status) error {
	if res.status != C.CHARTER_OK {
		return cError(res.status, res.message)
	}
	return nil
}

// osError finds the errno that Rust's std::io::Error prints, "... (os
// error 2)", which the core quotes in its I/O failures; nil when there is
// none. Only an ErrIO, or an ErrNotFound that ends with it (a missing key
// file), is read: other messages may quote a caller's text.
func osError(code Status, message string) error {
	if code != StatusIO && code != StatusNotFound {
		return nil
	}
	const mark = "(os error "
	at := strings.LastIndex(message, mark)
	if at < 0 {
		return nil
	}
	digits, rest, found := strings.Cut(message[at+len(mark):], ")")
	if !found || (code == StatusNotFound && rest != "") {
		return nil
	}
	n, err := strconv.ParseUint(digits, 10, 31)
	if err != nil {
		return nil
	}
	return syscall.Errno(n)
}
