package charter

/** What a message checked by [BridgeVerifier.check] must be. */
sealed class BridgeExpect {
    /** A publish: a `publish` grant must cover the subject. */
    data object Publish : BridgeExpect()
    /** A request: a `request` grant must cover the subject. */
    data object Request : BridgeExpect()
    /**
     * The reply to a request sent on [subject] with reply inbox [inbox] and
     * nonce [nonce], sealed at [sentMs] (Unix ms): sealed on that inbox,
     * echoing both, by a token with a `subscribe` grant covering [subject].
     */
    data class Reply(val subject: String, val inbox: String, val nonce: String, val sentMs: Long) : BridgeExpect()

    internal fun toFfi(): charter.ffi.BridgeExpect = when (this) {
        Publish -> charter.ffi.BridgeExpect.Publish
        Request -> charter.ffi.BridgeExpect.Request
        is Reply -> charter.ffi.BridgeExpect.Reply(subject, inbox, nonce, sentMs)
    }
}

/** Every reason a bridge's verifier refuses a message for, in check order (the bridge crate's names). */
val BRIDGE_REFUSAL_REASONS: List<String> by lazy { charter.ffi.bridgeRefusalReasons() }

/**
 * The checks a receiving [Bridge] makes on every sealed message, on their
 * own: for a message that reached the program from NATS some other way,
 * and for the shared vectors. It keeps a replay window, as a bridge does.
 * [maxSkew] is the freshness window (`null`: the bridge crate's 30 s);
 * [fixedTimeMs] judges messages' times by that fixed time (tests and
 * vectors; `null`: the system clock); [audit] records refusals (or, with
 * [AuditScope.ALL], every check).
 */
class BridgeVerifier(
    authority: Authority,
    maxSkew: kotlin.time.Duration? = null,
    fixedTimeMs: Long? = null,
    audit: AuditLog? = null,
    auditScope: AuditScope = AuditScope.DENIALS,
) {
    private val inner = ffi { charter.ffi.BridgeVerifier(authority.inner, maxSkew?.nanos(), fixedTimeMs, audit?.inner, auditScope) }

    /**
     * Checks one message as it arrived from NATS, every header included
     * (the envelope's too), in the documented order: chain, proof, grant,
     * freshness and replay, revocation. Returns the proven sender's
     * principal id; a refusal throws its [CharterException] with its
     * [CharterException.reason].
     */
    fun check(
        subject: String,
        payload: ByteArray,
        headers: List<Pair<String, String>> = emptyList(),
        reply: String? = null,
        expect: BridgeExpect = BridgeExpect.Publish,
    ): String = ffi { inner.check(subject, reply, headerList(headers), payload, expect.toFfi()) }

    /** The messages refused so far, by reason (zeros included). */
    fun refused(): Map<String, Long> = inner.refused()
}
