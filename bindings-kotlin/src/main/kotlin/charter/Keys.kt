package charter

/** An Ed25519 public key; equal by value. Its text is `charter-pk1:...`. */
class PublicKey internal constructor(internal val inner: charter.ffi.PublicKey) {
    /** The 32 bytes. */
    val bytes: ByteArray get() = inner.toBytes()

    /** The principal id, `charter-id1:...` (the SHA-256 of the key). */
    val principal: String get() = inner.principal()

    override fun toString(): String = inner.toText()
    override fun equals(other: Any?) = other is PublicKey && other.bytes.contentEquals(bytes)
    override fun hashCode() = bytes.contentHashCode()

    companion object {
        /** Parses `charter-pk1:...` text ([MalformedException]). */
        fun fromText(text: String) = PublicKey(ffi { charter.ffi.PublicKey.fromText(text) })

        /** Takes 32 raw bytes ([MalformedException]). */
        fun fromBytes(bytes: ByteArray) = PublicKey(ffi { charter.ffi.PublicKey.fromBytes(bytes) })
    }
}

/**
 * An Ed25519 key pair. The secret leaves only as its PKCS#8 document
 * ([toPkcs8], [toPem]) or a key file ([writeFile]); never in [toString].
 */
class KeyPair internal constructor(internal val inner: charter.ffi.KeyPair) {
    /** The public key. */
    val publicKey: PublicKey get() = PublicKey(inner.publicKey())

    /** The principal id, `charter-id1:...`. */
    val principal: String get() = inner.principal()

    /** The PKCS#8 v1 document (RFC 8410). */
    fun toPkcs8(): ByteArray = inner.toPkcs8()

    /** The PKCS#8 document as PEM text. */
    fun toPem(): String = inner.toPem()

    /** Writes a new key file with mode 0600 (never replacing a file), DER or [pem]. */
    fun writeFile(path: String, pem: Boolean = false) = ffi { inner.writeFile(path, pem) }

    override fun toString() = "KeyPair($principal)"

    companion object {
        /** A fresh key pair. */
        fun generate() = KeyPair(ffi { charter.ffi.KeyPair.generate() })

        /** Reads a PKCS#8 document (v1 or v2). */
        fun fromPkcs8(der: ByteArray) = KeyPair(ffi { charter.ffi.KeyPair.fromPkcs8(der) })

        /** Reads PEM text. */
        fun fromPem(text: String) = KeyPair(ffi { charter.ffi.KeyPair.fromPem(text) })

        /** Reads a key file, refusing one group or others may access unless [allowOpenPermissions]. */
        fun readFile(path: String, allowOpenPermissions: Boolean = false) =
            KeyPair(ffi { charter.ffi.KeyPair.readFile(path, allowOpenPermissions) })
    }
}
