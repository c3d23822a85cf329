package charter

import kotlin.time.Duration

/** What one publish did: matching subscriptions, those that took it, those that dropped. */
typealias PublishReport = charter.ffi.PublishReport
/** A subscription's accounting: `received == delivered + dropped.total + queued`. */
typealias SubscriptionStats = charter.ffi.SubscriptionStats
/** Dropped messages, by cause. */
typealias Drops = charter.ffi.Drops
/** A bus's accounting over its life. */
typealias BusStats = charter.ffi.BusStats
/** A bus's limits; every `null` keeps the core's default. */
typealias BusLimits = charter.ffi.Limits

/** What a full subscription queue does with one more message. */
sealed class Overflow {
    /** Drop the oldest queued message (the default). */
    data object DropOldest : Overflow()
    /** Drop the new message. */
    data object DropNewest : Overflow()
    /** Drop the new message and make `publish` throw [LimitExceededException]. */
    data object Error : Overflow()
    /**
     * Make the publisher wait up to [timeout] for room, then drop and throw
     * [TimeoutException] (inside a handler of the same bus: [WouldBlockException] at once).
     */
    data class Block(val timeout: Duration) : Overflow()

    internal fun toFfi(): charter.ffi.OverflowPolicy = when (this) {
        DropOldest -> charter.ffi.OverflowPolicy.DropOldest
        DropNewest -> charter.ffi.OverflowPolicy.DropNewest
        Error -> charter.ffi.OverflowPolicy.Error
        is Block -> charter.ffi.OverflowPolicy.Block(timeout.nanos())
    }
}

/** Where a handler runs. */
enum class Dispatch {
    /** On the publishing thread, inside `publish`. */
    INLINE,
    /** On a thread of the subscription's own, so a slow handler never slows the publisher. */
    THREAD,
}

internal fun settings(
    capacity: Int?,
    maxBytes: Long?,
    overflow: Overflow?,
    ttl: Duration?,
    idleTtl: Duration?,
    dispatch: Dispatch,
) = charter.ffi.SubscribeSettings(
    capacity?.toLong(),
    maxBytes,
    overflow?.toFfi(),
    ttl?.limitNanos(),
    idleTtl?.limitNanos(),
    dispatch == Dispatch.THREAD,
)
