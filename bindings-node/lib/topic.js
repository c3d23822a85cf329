'use strict';

// The core's topic and pattern rules, as every bus applies them under the
// default limits: validity, matching and containment.

const native = require('./native.js');
const { attempt } = require('./errors.js');
const { string } = require('./options.js');

/** Returns if `topic` is a valid topic; `InvalidArgumentError` naming the broken rule otherwise. */
function validateTopic(topic) {
  string(topic, 'topic', validateTopic);
  attempt(() => native.validateTopic(topic), validateTopic);
}

/** Returns if `pattern` is a valid pattern; `InvalidArgumentError` naming the broken rule otherwise. */
function validatePattern(pattern) {
  string(pattern, 'pattern', validatePattern);
  attempt(() => native.validatePattern(pattern), validatePattern);
}

/** Whether `pattern` matches `topic`; `InvalidArgumentError` when either is invalid. */
function topicMatches(pattern, topic) {
  string(pattern, 'pattern', topicMatches);
  string(topic, 'topic', topicMatches);
  return attempt(() => native.topicMatches(pattern, topic), topicMatches);
}

/**
 * Whether every topic `inner` matches, `outer` matches too (as a delegated
 * grant must be within its parent's); `InvalidArgumentError` when either
 * pattern is invalid.
 */
function patternContains(inner, outer) {
  string(inner, 'inner', patternContains);
  string(outer, 'outer', patternContains);
  return attempt(() => native.patternContains(inner, outer), patternContains);
}

module.exports = { patternContains, topicMatches, validatePattern, validateTopic };
