package charter

import kotlin.time.Duration

/** A limit as the FFI takes it: nanoseconds, `null` for an infinite one. */
internal fun Duration.limitNanos(): Long? = if (isInfinite() && isPositive()) null else inWholeNanoseconds

/** A duration as the FFI takes it (an infinite one saturates; the core decides). */
internal fun Duration.nanos(): Long = inWholeNanoseconds

/** Whole seconds for the capability API, which counts in seconds. */
internal fun Duration.seconds(): Long = inWholeSeconds
