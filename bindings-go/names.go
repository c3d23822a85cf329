package charter

// #include "shim.h"
import "C"

import (
	"encoding/hex"
	"strconv"
)

// String names o as Go code writes it: "DropOldest", "DropNewest",
// "ErrorOnFull" or "Block(1s)".
func (o Overflow) String() string {
	switch o.policy {
	case C.CHARTER_OVERFLOW_DROP_OLDEST:
		return "DropOldest"
	case C.CHARTER_OVERFLOW_DROP_NEWEST:
		return "DropNewest"
	case C.CHARTER_OVERFLOW_ERROR:
		return "ErrorOnFull"
	case C.CHARTER_OVERFLOW_BLOCK:
		return "Block(" + o.timeout.String() + ")"
	}
	return "Overflow(" + strconv.Itoa(int(o.policy)) + ")"
}

// String names f as Go code writes it: "FsyncAlways", "FsyncNever" or
// "FsyncEvery(10ms)".
func (f Fsync) String() string {
	switch f.policy {
	case C.CHARTER_AUDIT_FSYNC_ALWAYS:
		return "FsyncAlways"
	case C.CHARTER_AUDIT_FSYNC_NEVER:
		return "FsyncNever"
	case C.CHARTER_AUDIT_FSYNC_INTERVAL:
		return "FsyncEvery(" + f.interval.String() + ")"
	}
	return "Fsync(" + strconv.Itoa(int(f.policy)) + ")"
}

// ParseHash reads the hex form [Hash.String] writes (64 hex digits, either
// case); anything else is [ErrMalformed].
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*HashLen {
		return h, &Error{Code: StatusMalformed, Message: "a hash is " + strconv.Itoa(2*HashLen) +
			" hex digits, got " + strconv.Itoa(len(s)) + " characters"}
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, &Error{Code: StatusMalformed, Message: "a hash is hex digits only: " + err.Error()}
	}
	return h, nil
}

// MarshalText writes h in hex, so a Hash is a string in JSON and the like.
func (h Hash) MarshalText() ([]byte, error) {
	return []byte(h.String()), nil
}

// UnmarshalText reads what MarshalText writes, as [ParseHash] does.
func (h *Hash) UnmarshalText(text []byte) error {
	parsed, err := ParseHash(string(text))
	if err != nil {
		return err
	}
	*h = parsed
	return nil
}
