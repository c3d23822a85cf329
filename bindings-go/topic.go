package charter

// #include "shim.h"
import "C"

import "runtime"

// ValidateTopic checks topic as a topic to publish on, under the default
// limits every bus accepts (at most 256 bytes and 16 tokens). A topic
// that breaks a rule (empty, too long, too many tokens, an empty token, a
// wildcard, whitespace, a control character or a NUL byte) fails with an
// [*Error] matching [ErrInvalidArgument] that names the rule.
func ValidateTopic(topic string) error {
	t, n, err := cString("topic", topic)
	if err != nil {
		return err
	}
	res := C.chgo_topic_validate(t, n)
	runtime.KeepAlive(topic)
	return statusErr(res)
}

// ValidatePattern checks pattern as a pattern to subscribe with or to
// grant: a topic whose tokens may also be the wildcards "*" (one token)
// and ">" (one or more, last only). It fails as [ValidateTopic] does.
func ValidatePattern(pattern string) error {
	p, n, err := cString("pattern", pattern)
	if err != nil {
		return err
	}
	res := C.chgo_pattern_validate(p, n)
	runtime.KeepAlive(pattern)
	return statusErr(res)
}

// TopicMatches reports whether pattern matches topic, as a bus delivers: a
// pattern starting with a wildcard never matches a reserved topic (one
// whose first token is "_charter"). It fails with [ErrInvalidArgument]
// when pattern is not a valid pattern or topic not a valid topic.
func TopicMatches(pattern, topic string) (bool, error) {
	p, pn, err := cString("pattern", pattern)
	if err != nil {
		return false, err
	}
	t, tn, err := cString("topic", topic)
	if err != nil {
		return false, err
	}
	res := C.chgo_topic_matches(p, pn, t, tn)
	runtime.KeepAlive(pattern)
	runtime.KeepAlive(topic)
	return goFlag(res)
}

// PatternContains reports whether the pattern inner is contained in the
// pattern outer: every topic inner matches, outer matches too. That is the
// rule a delegated grant must follow. It fails with [ErrInvalidArgument]
// when either is not a valid pattern.
func PatternContains(inner, outer string) (bool, error) {
	i, in, err := cString("inner", inner)
	if err != nil {
		return false, err
	}
	o, on, err := cString("outer", outer)
	if err != nil {
		return false, err
	}
	res := C.chgo_pattern_contains(i, in, o, on)
	runtime.KeepAlive(inner)
	runtime.KeepAlive(outer)
	return goFlag(res)
}
