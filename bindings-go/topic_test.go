package charter_test

import (
	"errors"
	"strings"
	"testing"

	"charter.dev/charter"
)

func TestTopicFunctions(t *testing.T) {
	if err := charter.ValidateTopic("orders.eu.created"); err != nil {
		t.Fatal(err)
	}
	if err := charter.ValidatePattern("orders.*.>"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what, message string
		err           error
	}{
		{"a wildcard topic", `topic "orders.*"`, charter.ValidateTopic("orders.*")},
		{"an empty token", `pattern "a..b" has an empty token`, charter.ValidatePattern("a..b")},
		{"a NUL byte", "topic contains a NUL byte", charter.ValidateTopic("a\x00b")},
	} {
		var e *charter.Error
		if !errors.As(c.err, &e) || !errors.Is(c.err, charter.ErrInvalidArgument) ||
			!strings.Contains(e.Message, c.message) {
			t.Errorf("%s: %v, expected INVALID_ARGUMENT mentioning %q", c.what, c.err, c.message)
		}
	}

	if ok, err := charter.TopicMatches("orders.>", "orders.eu"); !ok || err != nil {
		t.Errorf("TopicMatches(orders.>, orders.eu) = %v, %v", ok, err)
	}
	if ok, err := charter.TopicMatches("*", "_charter"); ok || err != nil {
		t.Errorf("a wildcard matched a reserved topic: %v, %v", ok, err)
	}
	if _, err := charter.TopicMatches("orders.>", "orders.*"); !errors.Is(err, charter.ErrInvalidArgument) {
		t.Errorf("TopicMatches with a pattern for a topic: %v", err)
	}
	if ok, err := charter.PatternContains("a.*", "a.>"); !ok || err != nil {
		t.Errorf("PatternContains(a.*, a.>) = %v, %v", ok, err)
	}
	_, err := charter.PatternContains("a.>", ">.a")
	var e *charter.Error
	if !errors.As(err, &e) || e.Code != charter.StatusInvalidArgument || !strings.HasPrefix(e.Message, "outer: ") {
		t.Errorf("PatternContains with an invalid outer: %v", err)
	}
}
