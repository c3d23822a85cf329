package charter

import charter.ffi.PollOutcome
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.withTimeoutOrNull
import kotlin.time.Duration
import kotlin.time.Duration.Companion.nanoseconds
import kotlin.time.TimeSource

/**
 * A subscription: a queue to receive from ([recv], [tryRecv], [recvAsync],
 * [messages]), or a handler's. Closing drops (and counts) what is queued
 * and wakes receivers with [ClosedException]. A queue subscription also
 * ends when it is garbage collected (nobody could receive from it); a
 * handler subscription lives until it or its bus is closed.
 */
class Subscription internal constructor(private val inner: charter.ffi.Subscription) : AutoCloseable {
    /** The subscription's id. */
    val id: Long = inner.id().toLong()

    /** The pattern it was made with. */
    val pattern: String = inner.pattern()

    /**
     * Waits up to [timeout] (default: no limit) for the next message, blocking
     * the thread. Throws [TimeoutException] when none came ([WouldBlockException]
     * for a zero timeout on an empty queue), [ClosedException] once it ended.
     * A wait that ends without a message consumes nothing. The wait is
     * [Thread.interrupt]ible, as a JDK blocking call is: it then throws
     * [InterruptedException], having consumed nothing.
     */
    fun recv(timeout: Duration = Duration.INFINITE): Message =
        tryRecv() ?: runBlocking { recvAsync(timeout) }

    /** The next message if one is queued, without waiting. */
    fun tryRecv(): Message? = ffi { inner.tryRecv() }?.let(::Message)

    /**
     * Suspends until the next message, up to [timeout]; the same outcomes as
     * [recv], but no thread waits: the core's readiness signal resumes the
     * coroutine. Cancelling it consumes nothing.
     */
    suspend fun recvAsync(timeout: Duration = Duration.INFINITE): Message = Waiter().use { receive(it, timeout) }

    /**
     * The messages as a cold [Flow]: each collection receives from this
     * subscription until it ends ([ClosedException] ends the flow; expiry and
     * revocation are thrown). Cancelling a collection loses no message: one
     * is taken only when it is emitted.
     */
    fun messages(): Flow<Message> = flow {
        Waiter().use { waiter ->
            while (true) {
                val message = try {
                    receive(waiter, Duration.INFINITE)
                } catch (_: ClosedException) {
                    return@flow
                }
                emit(message)
            }
        }
    }

    /** A coroutine's wake-up: the core arms it, the publisher fires it. */
    private inner class Waiter : AutoCloseable {
        val signal = Channel<Unit>(Channel.CONFLATED)
        val waker = charter.ffi.Waker(object : charter.ffi.Wake {
            override fun wake() {
                signal.trySend(Unit)
            }
        })

        override fun close() {
            inner.disarm(waker)
            waker.destroy()
        }
    }

    private suspend fun receive(waiter: Waiter, timeout: Duration): Message {
        val deadline = if (timeout.isInfinite()) null else TimeSource.Monotonic.markNow() + timeout
        while (true) {
            when (val polled = ffi { inner.pollRecv(waiter.waker) }) {
                is PollOutcome.Ready -> return Message(polled.message)
                is PollOutcome.Pending -> {
                    val left = deadline?.let { -it.elapsedNow() }
                    if (left != null && !left.isPositive()) {
                        // Out of time: the core's own last look decides,
                        // a message or its TIMEOUT (WOULD_BLOCK for zero).
                        return ffi { Message(inner.recv(if (timeout == Duration.ZERO) 0L else 1L)) }
                    }
                    val recheck = polled.recheckNanos?.nanoseconds
                    val wait = listOfNotNull(left, recheck).minOrNull()
                    if (wait == null) waiter.signal.receive() else withTimeoutOrNull(wait) { waiter.signal.receive() }
                }
            }
        }
    }

    /** Whether it has ended: closed, its bus closed, evicted as idle, or its session ended. */
    val isClosed: Boolean get() = inner.isClosed()

    /** Its accounting (readable after close). */
    fun stats(): SubscriptionStats = inner.stats()

    /** Ends it. Idempotent. */
    override fun close() = inner.end()
}
