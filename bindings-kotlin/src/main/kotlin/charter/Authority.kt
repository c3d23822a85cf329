package charter

import kotlin.time.Duration

/** What [Authority.verify] found: subject, principal, grants, window and link ids. */
typealias Verified = charter.ffi.Verified

/** A clock set by hand, for tests (Unix seconds). */
class ManualClock(now: Long) {
    internal val inner = charter.ffi.ManualClock(now.toULong())

    /** The time it reads. */
    fun now(): Long = inner.now().toLong()

    /** Sets it. */
    fun set(now: Long) = inner.set(now.toULong())

    /** Moves it forward. */
    fun advance(seconds: Long) = inner.advance(seconds.toULong())
}

/**
 * Verifies tokens against trusted [roots] and opens sessions; revoking a
 * link ends every token containing it and every session opened with one,
 * at once. [clock] is the system clock unless given.
 */
class Authority(
    roots: List<PublicKey> = emptyList(),
    clock: ManualClock? = null,
    maxLifetime: Duration? = null,
    clockSkew: Duration? = null,
    audit: AuditLog? = null,
    auditScope: AuditScope = AuditScope.DENIALS,
) {
    internal val inner = ffi {
        charter.ffi.Authority(
            roots.map { it.inner },
            clock?.inner,
            maxLifetime?.seconds()?.toULong(),
            clockSkew?.seconds()?.toULong(),
            audit?.inner,
            auditScope,
        )
    }

    /**
     * Checks [token]; throws [RevokedException], [UntrustedRootException],
     * [MalformedException], [BadSignatureException], [DeniedException],
     * [NotYetValidException] or [ExpiredException], checked in that order.
     */
    fun verify(token: Token): Verified = ffi { inner.verify(token.inner) }

    /** A fresh 32-byte challenge, usable once, for two minutes. */
    fun challenge(): ByteArray = ffi { inner.challenge() }

    /** Opens a session for [token], whose holder answered [challenge] with [proof]. */
    fun openSession(token: Token, challenge: ByteArray, proof: ByteArray): Session =
        Session(ffi { inner.openSession(token.inner, challenge, proof) })

    /** Revokes link [id] (64 hex digits); whether it was new. */
    fun revoke(id: String): Boolean = ffi { inner.revoke(id) }

    /** Lifts a revocation; whether there was one. */
    fun unrevoke(id: String): Boolean = ffi { inner.unrevoke(id) }

    /** The revoked link ids. */
    fun revocations(): List<String> = inner.revocations()

    /** The revocations, one id per line. */
    fun exportRevocations(): String = inner.exportRevocations()

    /** Imports revocations, all or nothing ([MalformedException] names the line); how many were new. */
    fun importRevocations(text: String): Long = ffi { inner.importRevocations(text).toLong() }

    /** Trusts [root]. */
    fun trust(root: PublicKey) = inner.trust(root.inner)

    /** Stops trusting [root]; whether it was trusted. */
    fun distrust(root: PublicKey): Boolean = inner.distrust(root.inner)

    /** The authority's time, Unix seconds. */
    fun now(): Long = inner.now().toLong()
}

/** A proven holder of a token. It has nothing to release; once ended it stays ended. */
class Session internal constructor(internal val inner: charter.ffi.Session) {
    /** Throws [DeniedException] naming the action, topic and principal, or [ExpiredException] / [RevokedException]. */
    fun check(action: String, topic: String) = ffi { inner.check(action, topic) }

    /** Whether it is still alive. */
    val isActive: Boolean get() = inner.isActive()

    /** The holder's principal id. */
    val principal: String get() = inner.principal()

    /** The holder's key. */
    val subject: PublicKey get() = PublicKey(inner.subject())

    /** Its grants. */
    val grants: List<String> get() = inner.grants()

    /** When it expires, Unix seconds. */
    val expiresAt: Long get() = inner.expiresAt().toLong()
}
