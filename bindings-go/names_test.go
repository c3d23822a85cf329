package charter_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	charter "charter.dev/charter"
)

func TestOverflowAndFsyncNameThemselves(t *testing.T) {
	for _, c := range []struct {
		v    fmt.Stringer
		want string
	}{
		{charter.DropOldest, "DropOldest"},
		{charter.Overflow{}, "DropOldest"},
		{charter.DropNewest, "DropNewest"},
		{charter.ErrorOnFull, "ErrorOnFull"},
		{charter.Block(time.Second), "Block(1s)"},
		{charter.FsyncAlways, "FsyncAlways"},
		{charter.Fsync{}, "FsyncAlways"},
		{charter.FsyncNever, "FsyncNever"},
		{charter.FsyncEvery(10 * time.Millisecond), "FsyncEvery(10ms)"},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}

func TestHashRoundTripsAsText(t *testing.T) {
	h := charter.LeafHash([]byte("record"))
	parsed, err := charter.ParseHash(h.String())
	if err != nil || parsed != h {
		t.Fatalf("ParseHash(%s) = %s, %v", h, parsed, err)
	}
	out, err := json.Marshal(map[string]charter.Hash{"root": h})
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]charter.Hash
	if err := json.Unmarshal(out, &back); err != nil || back["root"] != h {
		t.Fatalf("JSON %s read back as %v, %v", out, back, err)
	}
	for _, bad := range []string{"", "ab", h.String()[:63] + "g", h.String() + "00"} {
		if _, err := charter.ParseHash(bad); !errors.Is(err, charter.ErrMalformed) {
			t.Errorf("ParseHash(%q): %v", bad, err)
		}
	}
}
