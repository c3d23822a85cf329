package charter

/** Throws [InvalidArgumentException] naming the rule [topic] breaks (default limits). */
fun validateTopic(topic: String) = ffi { charter.ffi.validateTopic(topic) }

/** Throws [InvalidArgumentException] naming the rule [pattern] breaks (default limits). */
fun validatePattern(pattern: String) = ffi { charter.ffi.validatePattern(pattern) }

/** Whether [pattern] matches [topic] (`*` one token, `>` one or more trailing tokens). */
fun topicMatches(pattern: String, topic: String): Boolean = charter.ffi.topicMatches(pattern, topic)

/** Whether every topic [inner] matches is matched by [outer]: the rule a delegated grant follows. */
fun patternContains(inner: String, outer: String): Boolean = charter.ffi.patternContains(inner, outer)
