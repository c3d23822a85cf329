package charter

/** One link of a token: index, id (64 hex digits), issuer, subject, grants, window, whether root. */
typealias Link = charter.ffi.LinkInfo

/**
 * An Ed25519-signed capability token: grants (`"ACTION PATTERN"`, actions
 * `publish`, `subscribe`, `request`) that can only narrow as they are
 * delegated. Decoding checks structure only; an [Authority] verifies.
 * Times are Unix seconds, windows `[notBefore, notAfter)`.
 */
class Token internal constructor(internal val inner: charter.ffi.Token) {
    /** A narrower token for [subject], signed by [holder] (this token's subject); widening throws [DeniedException]. */
    fun delegate(holder: KeyPair, subject: PublicKey, grants: List<String>, notBefore: Long, notAfter: Long) =
        Token(ffi { inner.delegate(holder.inner, subject.inner, grants, notBefore.toULong(), notAfter.toULong()) })

    /** The links, root first. */
    val links: List<Link> get() = inner.links()

    /** The last link's subject. */
    val subject: PublicKey get() = PublicKey(inner.subject())

    /** The root key. */
    val rootKey: PublicKey get() = PublicKey(inner.rootKey())

    /** The holder's proof of possession for an authority's [challenge]. */
    fun prove(holder: KeyPair, challenge: ByteArray): ByteArray = ffi { inner.prove(holder.inner, challenge) }

    /** A readable account of every link. */
    fun inspect(): String = inner.inspect()

    /** The binary form. */
    fun toByteArray(): ByteArray = inner.toBytes()

    /** The `charter-tok1:...` text form. */
    override fun toString(): String = inner.toText()

    companion object {
        /** A root token: [root] gives [grants] to [subject] for `[notBefore, notAfter)`. */
        fun mint(root: KeyPair, subject: PublicKey, grants: List<String>, notBefore: Long, notAfter: Long) =
            Token(ffi { charter.ffi.Token.mint(root.inner, subject.inner, grants, notBefore.toULong(), notAfter.toULong()) })

        /** Decodes the binary form ([MalformedException]). */
        fun fromBytes(bytes: ByteArray) = Token(ffi { charter.ffi.Token.fromBytes(bytes) })

        /** Decodes the text form ([MalformedException]). */
        fun fromText(text: String) = Token(ffi { charter.ffi.Token.fromText(text) })
    }
}

/** Grant rules, the core's: a grant is `"ACTION PATTERN"`. */
object Grants {
    /** Whether [grant] allows [action] on [topic]. */
    fun allows(grant: String, action: String, topic: String): Boolean = ffi { charter.ffi.grantAllows(grant, action, topic) }

    /** Whether [grant] lies within [other] (what delegation requires). */
    fun within(grant: String, other: String): Boolean = ffi { charter.ffi.grantWithin(grant, other) }
}
