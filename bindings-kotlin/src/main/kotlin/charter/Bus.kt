package charter

import kotlin.time.Duration
import kotlin.time.Duration.Companion.nanoseconds

/**
 * How long [BusCalls.request] waits for a reply when it names no timeout:
 * the core's default, read from it, so that every language waits the same.
 */
val DEFAULT_REQUEST_TIMEOUT: Duration = charter.ffi.defaultRequestTimeoutNanos().toLong().nanoseconds

/**
 * The calls of a bus, made by someone: the bus itself (no session) or a
 * session's [Client]. Every rule is the core's.
 */
sealed class BusCalls(internal val core: charter.ffi.Client, internal val hook: ErrorHook) {
    /**
     * Publishes [payload] with [headers] on [topic] to every matching
     * subscription. A subscription whose overflow policy refuses the message
     * makes this throw ([LimitExceededException], [TimeoutException],
     * [WouldBlockException]) after the others have it.
     */
    fun publish(topic: String, payload: ByteArray, headers: List<Pair<String, String>> = emptyList()): PublishReport =
        ffi { core.publish(topic, payload, headerList(headers)) }

    /**
     * A queue subscription to [pattern]; `null` options keep the core's
     * defaults (1024 messages, 16 MiB, [Overflow.DropOldest]). [ttl] drops
     * messages older than that when received; [idleTtl] ends the
     * subscription when not received from for that long.
     */
    fun subscribe(
        pattern: String,
        capacity: Int? = null,
        maxBytes: Long? = null,
        overflow: Overflow? = null,
        ttl: Duration? = null,
        idleTtl: Duration? = null,
    ): Subscription = ffi {
        Subscription(core.subscribe(pattern, settings(capacity, maxBytes, overflow, ttl, idleTtl, Dispatch.INLINE)))
    }

    /**
     * A subscription whose messages go to [handler], on the publishing
     * thread ([Dispatch.INLINE]) or a thread of its own ([Dispatch.THREAD]).
     * An exception the handler throws counts as a handler failure and goes
     * to the bus's `onError` (or the thread's uncaught-exception handler).
     */
    fun subscribe(
        pattern: String,
        dispatch: Dispatch = Dispatch.INLINE,
        capacity: Int? = null,
        maxBytes: Long? = null,
        overflow: Overflow? = null,
        ttl: Duration? = null,
        handler: (Message) -> Unit,
    ): Subscription {
        val adapter = HandlerAdapter(handler, hook)
        val subscription = ffi {
            Subscription(core.subscribeWith(pattern, settings(capacity, maxBytes, overflow, ttl, null, dispatch), adapter))
        }
        adapter.id = subscription.id
        return subscription
    }

    /**
     * Publishes a request and waits up to [timeout] for the first reply,
     * blocking the thread: [NotFoundException] at once when nothing
     * subscribes, [TimeoutException] when no reply comes.
     */
    fun request(
        topic: String,
        payload: ByteArray,
        headers: List<Pair<String, String>> = emptyList(),
        timeout: Duration = DEFAULT_REQUEST_TIMEOUT,
    ): Message = ffi { Message(core.request(topic, payload, headerList(headers), timeout.nanos())) }

    /** [request], suspending rather than blocking: no thread waits for the reply. */
    suspend fun requestAsync(
        topic: String,
        payload: ByteArray,
        headers: List<Pair<String, String>> = emptyList(),
        timeout: Duration = DEFAULT_REQUEST_TIMEOUT,
    ): Message {
        val replies = ffi { Subscription(core.requestStart(topic, payload, headerList(headers))) }
        return replies.use {
            try {
                it.recvAsync(timeout)
            } catch (e: CharterException) {
                if (e !is TimeoutException && e !is WouldBlockException) throw e
                ffi { charter.ffi.noReply(topic, timeout.nanos()) }
                throw e
            }
        }
    }

    /** Answers [request], a received message with a reply inbox ([InvalidArgumentException] for others). */
    fun respond(request: Message, payload: ByteArray, headers: List<Pair<String, String>> = emptyList()): PublishReport =
        ffi { core.reply(request.replyTo ?: "", payload, headerList(headers)) }
}

private class HandlerAdapter(private val handler: (Message) -> Unit, private val hook: ErrorHook) :
    charter.ffi.MessageHandler {
    @Volatile var id = 0L

    override fun onMessage(message: charter.ffi.MessageData): Boolean = hook.guard(id) { handler(Message(message)) }
}

/**
 * A topic bus with NATS-style wildcards, bounded queues with an overflow
 * policy per subscription, exact accounting and request/reply. With an
 * [authority], every call needs a session: use [client]. With [audit],
 * decisions are recorded (refusals only, or every one: [auditScope]).
 *
 * Closing ends every subscription and releases every handler; afterwards
 * calls throw [ClosedException].
 */
class Bus private constructor(internal val inner: charter.ffi.Bus, hook: ErrorHook) :
    BusCalls(inner.anyone(), hook), AutoCloseable {
    /** A bus with [limits] (every `null` the core's default). */
    constructor(
        limits: BusLimits = BusLimits(),
        authority: Authority? = null,
        audit: AuditLog? = null,
        auditScope: AuditScope = AuditScope.DENIALS,
        onError: ((Long, Throwable) -> Unit)? = null,
    ) : this(ffi { charter.ffi.Bus(limits, authority?.inner, audit?.inner, auditScope) }, ErrorHook(onError))

    /** Receives every exception a handler throws: `(subscriptionId, exception)`. */
    var onError: ((Long, Throwable) -> Unit)?
        get() = hook.hook
        set(value) { hook.hook = value }

    /** A client whose calls are checked against [session]; revocation ends it and its subscriptions. */
    fun client(session: Session): Client = Client(ffi { inner.client(session.inner) }, hook)

    /** The bus's accounting. */
    fun stats(): BusStats = ffi { inner.stats() }

    /** Ends idle subscriptions now; how many. */
    fun evictIdle(): Long = ffi { inner.evictIdle() }

    /** Whether the bus is closed. */
    val isClosed: Boolean get() = inner.isClosed()

    /**
     * Ends every subscription, joins handler threads, releases handlers and
     * the core bus (at once, not when garbage collected). Idempotent.
     */
    override fun close() = inner.end()
}

/** A session's calls on a bus: each checked against the session. It gives no way to its bus. */
class Client internal constructor(core: charter.ffi.Client, hook: ErrorHook) : BusCalls(core, hook)

/** Which decisions a recording bus or authority writes. */
typealias AuditScope = charter.ffi.AuditScope
