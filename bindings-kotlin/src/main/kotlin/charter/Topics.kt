package charter

/** Throws [InvalidArgumentException] naming the rule [topic] breaks (default limits). */
fun validateTopic(topic: String) = ffi { charter.ffi.validateTopic(topic) }

/** Throws [InvalidArgumentException] naming the rule [pattern] breaks (default limits). */
fun validatePattern(pattern: String) = ffi { charter.ffi.validatePattern(pattern) }

/**
 * Whether [pattern] matches [topic] (`*` one token, `>` one or more trailing tokens); throws
 * [InvalidArgumentException] when either is not valid.
 */
fun topicMatches(pattern: String, topic: String): Boolean = ffi { charter.ffi.topicMatches(pattern, topic) }

/**
 * Whether every topic [inner] matches is matched by [outer]: the rule a delegated grant follows;
 * throws [InvalidArgumentException], naming the argument, when either is not a valid pattern.
 */
fun patternContains(inner: String, outer: String): Boolean = ffi { charter.ffi.patternContains(inner, outer) }
