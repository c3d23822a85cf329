package charter

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import kotlin.time.Duration
import kotlin.time.Duration.Companion.nanoseconds

/**
 * How long [Bridge.flush] waits when it names no timeout: the bridge
 * crate's default (a flush is a round trip, so as long as a request waits),
 * read from it.
 */
val DEFAULT_FLUSH_TIMEOUT: Duration = charter.ffi.defaultFlushTimeoutNanos().toLong().nanoseconds

/** An import: NATS subjects matching `pattern` go onto the bus; `queueGroup` joins a NATS queue group; `relay` lets another bridge carry them on. */
typealias BridgeImport = charter.ffi.BridgeImport

/** What a bridge carried, and every drop by its reason (docs/bridge.md). */
typealias BridgeStats = charter.ffi.BridgeStats

/**
 * A durable import through JetStream (docs/bridge.md, "Durable import"):
 * [pattern] kept in [stream], read through the durable consumer [durable],
 * each message acknowledged after the local publish (at least once).
 * [handledThrough] and [handled] are the application's committed position:
 * the largest `Charter-Stream-Floor` it handled and the `Charter-Stream-Seq`s
 * it handled above it; the bridge never delivers those again. With
 * verification, [sealedThrough] and [sealed] are its seal position: the
 * largest `Charter-Seal-Floor` it handled and the `Charter-Seal-Id`s it
 * handled sealed at or after it (docs/bridge.md, "The seal position"). `null`
 * options keep the bridge crate's defaults (a 30 s ack wait, 1024 pending).
 */
data class BridgeDurableImport(
    val pattern: String,
    val stream: String,
    val durable: String,
    val ackWait: Duration? = null,
    val maxAckPending: Int? = null,
    val relay: Boolean = false,
    val handledThrough: Long = 0,
    val handled: List<Long> = emptyList(),
    val sealedThrough: Long = 0,
    val sealed: List<ULong> = emptyList(),
) {
    internal fun toFfi() = charter.ffi.BridgeDurableImport(
        pattern, stream, durable, ackWait?.nanos(), maxAckPending?.toLong(), relay, handledThrough, handled,
        sealedThrough, sealed,
    )
}

/**
 * A running bridge between a [Bus] and NATS (the `charter-bridge` crate,
 * the same as every other language's). Local publishes and requests on the
 * exports go to NATS; NATS messages and requests on the imports go onto
 * the bus. With a token and its key everything it sends is sealed; with an
 * authority everything it receives must be sealed by a token of its roots
 * with a fitting grant, or it is refused, counted ([refused]) and, with an
 * audit log, recorded. Delivered messages carry `Charter-Principal`, the
 * proven sender. Every rule is the bridge crate's.
 *
 * Closing stops carrying, sends what the client still buffers (for up to a
 * second) and closes the connection; afterwards its calls throw
 * [ClosedException]. A bridge never closed stops when garbage collected.
 */
class Bridge private constructor(private val inner: charter.ffi.Bridge) : AutoCloseable {
    /** The bridge's origin id (32 hex digits), fresh at every start. */
    val origin: String = inner.origin()

    /** Whether it is connected to a NATS server now. */
    val isConnected: Boolean get() = ffi { inner.isConnected() }

    /** Whether it has been closed. */
    val isClosed: Boolean get() = inner.isClosed()

    /**
     * Suspends until the server has seen everything sent so far (the
     * imports' subscriptions included), waiting on an I/O thread, never the
     * caller's: [TimeoutException] when no server answers within [timeout].
     * The wait ends within [timeout] even when the coroutine is cancelled.
     */
    suspend fun flush(timeout: Duration = DEFAULT_FLUSH_TIMEOUT) {
        val nanos = timeout.nanos()
        withContext(Dispatchers.IO) { ffi { inner.flush(nanos) } }
    }

    /** Its counters. */
    fun stats(): BridgeStats = ffi { inner.stats() }

    /** The messages its verifier refused, by reason ([BRIDGE_REFUSAL_REASONS], zeros included). */
    fun refused(): Map<String, Long> = ffi { inner.refused() }

    /**
     * Stops the bridge; a flush in progress finishes first. Idempotent.
     * From a handler the bridge itself runs, the stop finishes on a thread
     * of its own.
     */
    override fun close() = inner.end()

    override fun toString() = if (isClosed) "Bridge(closed)" else "Bridge(origin=$origin)"

    companion object {
        /**
         * Starts a bridge for [bus] to the NATS [server] (and [servers], to
         * reconnect among): a server that is down at start is not an error,
         * the bridge keeps trying. `null` options keep the bridge crate's
         * defaults. [token] and [key] go together; [audit] records what
         * [authority] refuses (per [auditScope]); [session] is who the
         * bridge acts as on a bus that enforces an authority. With
         * [bareExports] exported publishes carry their application headers
         * only: no message id, no origin (docs/bridge.md, "Bare exports");
         * it cannot go with [token] and [key]. Bad options throw
         * [InvalidArgumentException].
         */
        fun start(
            bus: Bus,
            server: String,
            servers: List<String> = emptyList(),
            name: String? = null,
            exports: List<String> = emptyList(),
            imports: List<BridgeImport> = emptyList(),
            durableImports: List<BridgeDurableImport> = emptyList(),
            token: Token? = null,
            key: KeyPair? = null,
            authority: Authority? = null,
            audit: AuditLog? = null,
            auditScope: AuditScope = AuditScope.DENIALS,
            maxSkew: Duration? = null,
            session: Session? = null,
            requestTimeout: Duration? = null,
            exportCapacity: Int? = null,
            exportMaxBytes: Long? = null,
            importCapacity: Int? = null,
            maxRequestsInFlight: Int? = null,
            workerThreads: Int? = null,
            bareExports: Boolean = false,
        ): Bridge {
            val settings = charter.ffi.BridgeSettings(
                server,
                servers,
                name,
                exports,
                imports,
                durableImports.map { it.toFfi() },
                maxSkew?.nanos(),
                requestTimeout?.nanos(),
                exportCapacity?.toLong(),
                exportMaxBytes,
                importCapacity?.toLong(),
                maxRequestsInFlight?.toLong(),
                workerThreads?.toLong(),
                bareExports,
            )
            return Bridge(ffi {
                charter.ffi.Bridge.start(
                    bus.inner, settings, token?.inner, key?.inner, authority?.inner, audit?.inner, auditScope, session?.inner,
                )
            })
        }
    }
}
