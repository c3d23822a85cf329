package charter

import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong

/** What a [Registry.notify] did: handlers that returned, threw, or panicked in Rust. */
typealias NotifyReport = charter.ffi.Report

/**
 * A handler registry: [notify] calls every handler, highest priority first
 * (equal priorities in registration order), on the calling thread.
 * Handlers may use the registry re-entrantly; nested `notify` is bounded
 * by [maxDepth]. A handler that throws counts as `failed`; its exception
 * goes to [onError] (or the thread's uncaught-exception handler) and the
 * other handlers still run.
 *
 * ```
 * Registry<String>().use { registry ->
 *     registry.register { event -> println(event) }
 *     registry.notify("hello")
 * }
 * ```
 */
class Registry<E>(maxDepth: Int? = null, onError: ((Long, Throwable) -> Unit)? = null) : AutoCloseable {
    private val inner = ffi { charter.ffi.Registry(maxDepth?.let { checkedDepth(it) }) }
    private val hook = ErrorHook(onError)
    // The core carries a token per notify; the event stays here meanwhile.
    private val events = ConcurrentHashMap<Long, Box<E>>()
    private val tokens = AtomicLong()

    private class Box<E>(val event: E)

    /** Receives every exception a handler throws: `(handlerId, exception)`. */
    var onError: ((Long, Throwable) -> Unit)?
        get() = hook.hook
        set(value) { hook.hook = value }

    /** The nesting bound. */
    val maxDepth: Int get() = inner.maxDepth().toInt()

    /** A handler as the core calls it; its id is set once registered. */
    private inner class Adapter(private val handler: (E) -> Unit) : charter.ffi.EventHandler {
        @Volatile var id = 0L

        override fun onEvent(token: Long): Boolean {
            val box = events[token] ?: return true
            return hook.guard(id) { handler(box.event) }
        }
    }

    /** Registers [handler]; returns its id, never reused. */
    fun register(priority: Int = 0, handler: (E) -> Unit): Long {
        val adapter = Adapter(handler)
        return ffi { inner.register(adapter, priority) }.also { adapter.id = it }
    }

    /** Registers [handler] to run in the first round that reaches it, then be removed. */
    fun registerOnce(priority: Int = 0, handler: (E) -> Unit): Long {
        val adapter = Adapter(handler)
        return ffi { inner.registerOnce(adapter, priority) }.also { adapter.id = it }
    }

    /** Removes handler [id]; whether it was registered. A running call may still finish. */
    fun unregister(id: Long): Boolean = ffi { inner.unregister(id) }

    /** As [unregister], then waits until no `notify` on any thread can still run it. */
    fun unregisterAndWait(id: Long): Boolean = ffi { inner.unregisterAndWait(id) }

    /** Whether [id] is registered. */
    operator fun contains(id: Long): Boolean = ffi { inner.contains(id) }

    /** The number of handlers. */
    val size: Int get() = ffi { inner.len().toInt() }

    /** Removes every handler. */
    fun clear() = ffi { inner.clear() }

    /** Removes every handler and waits for their running calls. */
    fun clearAndWait() = ffi { inner.clearAndWait() }

    /** Calls every handler with [event] on this thread; past [maxDepth] throws [LimitExceededException]. */
    fun notify(event: E): NotifyReport {
        val token = tokens.incrementAndGet()
        events[token] = Box(event)
        try {
            return ffi { inner.notify(token) }
        } finally {
            events.remove(token)
        }
    }

    /** Whether [close] was called. */
    val isClosed: Boolean get() = inner.isClosed()

    /** Releases every handler; afterwards every call throws [ClosedException]. Idempotent. */
    override fun close() = inner.end()

    private companion object {
        fun checkedDepth(depth: Int): UInt = if (depth < 0) UInt.MAX_VALUE else depth.toUInt()
    }
}
