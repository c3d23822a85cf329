package charter

// #include "shim.h"
import "C"

import (
	"context"
	"strings"
	"time"
	"unsafe"
)

// checker is a handle that can tell whether a C failure on it means that
// it was closed (see handle.check).
type checker interface {
	check(err *Error) error
}

// failure builds the error of a failed C call on the handles hs: the
// closed error of one of them when the call raced with its Close, else
// Charter's error.
func failure(status C.charter_status_t, message *C.char, hs ...checker) error {
	err := cError(status, message)
	for _, h := range hs {
		if e := h.check(err); e != error(err) {
			return e
		}
	}
	return err
}

// goString copies and frees the string result of a call on hs, or returns
// its error.
func goString(res C.chgo_string, hs ...checker) (string, error) {
	if res.status != C.CHARTER_OK {
		return "", failure(res.status, res.message, hs...)
	}
	s := C.GoString(res.value)
	C.charter_string_free(res.value)
	return s, nil
}

// goBytes copies and frees the byte result of a call on hs, or returns its
// error.
func goBytes(res C.chgo_bytes, hs ...checker) ([]byte, error) {
	if res.status != C.CHARTER_OK {
		return nil, failure(res.status, res.message, hs...)
	}
	b := C.GoBytes(unsafe.Pointer(res.data), C.int(res.len))
	C.charter_bytes_free(res.data, res.len)
	return b, nil
}

// cStrings packs ss as the chgo_* wrappers take string arrays,
// "a\0b\0...", for the same reason as cHeaders. It is nil when ss is
// empty; what names the argument in errors.
func cStrings(what string, ss []string) (*C.char, C.size_t, error) {
	if len(ss) == 0 {
		return nil, 0, nil
	}
	n := 0
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, 0, invalidArgument("%s %q contains a NUL byte", what, s)
		}
		n += len(s) + 1
	}
	packed := make([]byte, 0, n)
	for _, s := range ss {
		packed = append(packed, s...)
		packed = append(packed, 0)
	}
	return (*C.char)(unsafe.Pointer(&packed[0])), C.size_t(len(ss)), nil
}

// unixSeconds converts t to the whole seconds since the Unix epoch that
// Charter takes, dropping any fraction. Charter's times are unsigned, so t
// must not be before the epoch (the zero time.Time is).
func unixSeconds(what string, t time.Time) (C.uint64_t, error) {
	s := t.Unix()
	if s < 0 {
		return 0, invalidArgument("%s must not be before the Unix epoch, got %v", what, t)
	}
	return C.uint64_t(s), nil
}

// nilArgument is the error of a nil pointer argument named what.
// needContext refuses a nil ctx with ErrNullArgument: the context
// package's own rule ("do not pass a nil Context") as an error, not the
// panic of its first use.
func needContext(ctx context.Context) error {
	if ctx == nil {
		return nilArgument("context")
	}
	return nil
}

func nilArgument(what string) *Error {
	return &Error{Code: StatusNullArgument, Message: what + " is nil"}
}

// goStatus is the outcome of a call on hs with no result.
func goStatus(res C.chgo_status, hs ...checker) (struct{}, error) {
	if res.status != C.CHARTER_OK {
		return struct{}{}, failure(res.status, res.message, hs...)
	}
	return struct{}{}, nil
}

// goValue is the integer result of a call on hs (an id, a count, a bool as
// 0 or 1), or its error.
func goValue(res C.chgo_value, hs ...checker) (uint64, error) {
	if res.status != C.CHARTER_OK {
		return 0, failure(res.status, res.message, hs...)
	}
	return uint64(res.value), nil
}

// goFlag is the boolean result of a call on hs, or its error.
func goFlag(res C.chgo_value, hs ...checker) (bool, error) {
	if res.status != C.CHARTER_OK {
		return false, failure(res.status, res.message, hs...)
	}
	return res.value != 0, nil
}
