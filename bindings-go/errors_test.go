package charter_test

import (
	"errors"
	"strings"
	"testing"

	"charter.dev/charter"
)

// The status values are stable forever: this pins each one, with its C
// name, and checks that its sentinel, where it has one, matches it and
// nothing else.
func TestStatusValuesAndNamesArePinned(t *testing.T) {
	cases := []struct {
		status   charter.Status
		value    int32
		name     string
		sentinel error
	}{
		{charter.StatusNullArgument, -1, "NULL_ARGUMENT", charter.ErrNullArgument},
		{charter.StatusInvalidArgument, -2, "INVALID_ARGUMENT", charter.ErrInvalidArgument},
		{charter.StatusInvalidUTF8, -3, "INVALID_UTF8", charter.ErrInvalidUTF8},
		{charter.StatusInvalidHandle, -4, "INVALID_HANDLE", nil},
		{charter.StatusWrongHandleType, -5, "WRONG_HANDLE_TYPE", nil},
		{charter.StatusHandleFreed, -6, "HANDLE_FREED", nil},
		{charter.StatusAlreadyFreed, -7, "ALREADY_FREED", nil},
		{charter.StatusLimitExceeded, -8, "LIMIT_EXCEEDED", charter.ErrLimitExceeded},
		{charter.StatusNotFound, -9, "NOT_FOUND", charter.ErrNotFound},
		{charter.StatusDenied, -10, "DENIED", charter.ErrDenied},
		{charter.StatusExpired, -11, "EXPIRED", charter.ErrExpired},
		{charter.StatusNotYetValid, -12, "NOT_YET_VALID", charter.ErrNotYetValid},
		{charter.StatusRevoked, -13, "REVOKED", charter.ErrRevoked},
		{charter.StatusBadSignature, -14, "BAD_SIGNATURE", charter.ErrBadSignature},
		{charter.StatusMalformed, -15, "MALFORMED", charter.ErrMalformed},
		{charter.StatusUntrustedRoot, -16, "UNTRUSTED_ROOT", charter.ErrUntrustedRoot},
		{charter.StatusWouldBlock, -17, "WOULD_BLOCK", charter.ErrWouldBlock},
		{charter.StatusTimeout, -18, "TIMEOUT", charter.ErrTimeout},
		{charter.StatusClosed, -19, "CLOSED", charter.ErrClosed},
		{charter.StatusIO, -20, "IO", charter.ErrIO},
		{charter.StatusCorrupt, -21, "CORRUPT", charter.ErrCorrupt},
		{charter.StatusPanic, -22, "PANIC", nil},
		{charter.StatusInternal, -23, "INTERNAL", nil},
		{charter.StatusCancelled, -24, "CANCELLED", charter.ErrCancelled},
	}
	for i, c := range cases {
		if int32(c.status) != c.value {
			t.Errorf("%s = %d, want %d", c.name, c.status, c.value)
		}
		if got, want := c.status.String(), "CHARTER_E_"+c.name; got != want {
			t.Errorf("Status(%d).String() = %q, want %q", c.value, got, want)
		}
		err := &charter.Error{Code: c.status, Message: "detail"}
		for j, other := range cases {
			if other.sentinel == nil {
				continue
			}
			if got := errors.Is(err, other.sentinel); got != (i == j) {
				t.Errorf("errors.Is(%v, %v) = %v", err, other.sentinel, got)
			}
		}
	}
	if got := charter.StatusOK.String(); got != "CHARTER_OK" || charter.StatusOK != 0 {
		t.Errorf("StatusOK = %d %q", charter.StatusOK, got)
	}
	// A status added to the C ABI without a Go constant shows up here.
	if got := charter.Status(-25).String(); got != "CHARTER_E_UNKNOWN" {
		t.Errorf("Status(-25).String() = %q: the C ABI has a status the binding lacks", got)
	}
}

func TestErrorFormatsNameAndMessage(t *testing.T) {
	err := &charter.Error{Code: charter.StatusDenied, Message: "no capability"}
	if got, want := err.Error(), "charter: CHARTER_E_DENIED: no capability"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := charter.ErrTimeout.Error(), "charter: CHARTER_E_TIMEOUT"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestLibraryErrorsCarryCodeAndMessage(t *testing.T) {
	_, err := charter.NewRegistry(charter.WithMaxDepth(0))
	var cerr *charter.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("NewRegistry(WithMaxDepth(0)) error = %#v, want *charter.Error", err)
	}
	if cerr.Code != charter.StatusInvalidArgument {
		t.Errorf("Code = %v, want CHARTER_E_INVALID_ARGUMENT", cerr.Code)
	}
	// The C message starts with the status name; the binding keeps that in
	// Code only.
	if !strings.Contains(cerr.Message, "max_depth") || strings.HasPrefix(cerr.Message, "CHARTER_E_") {
		t.Errorf("Message = %q, want the detail without the status name", cerr.Message)
	}
	wrapped := errors.Join(errors.New("loading"), err)
	if !errors.Is(wrapped, charter.ErrInvalidArgument) || errors.Is(wrapped, charter.ErrDenied) {
		t.Errorf("errors.Is through a wrapper matched the wrong sentinel: %v", wrapped)
	}
}
