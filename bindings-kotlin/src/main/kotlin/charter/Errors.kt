package charter

import charter.ffi.FfiException

/**
 * Base class of every exception Charter throws: one subclass per status of
 * the core. [status] is the stable name (`"CHARTER_E_DENIED"`), [code] the
 * stable negative number shared with C, Go, Node and Python, and [message]
 * the core's explanation.
 */
sealed class CharterException(val status: String, val code: Int, message: String) : Exception(message) {
    /**
     * Which check of a bridge's verifier refused a message (`"unsigned"`,
     * `"bad_proof"`, `"replayed"`, ...: [BRIDGE_REFUSAL_REASONS]), when
     * [BridgeVerifier.check] threw this; `null` for every other error.
     */
    var reason: String? = null
        internal set
}

/** A required argument was missing. */
class NullArgumentException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_NULL_ARGUMENT", code, message)
/** An argument was present but not acceptable. */
class InvalidArgumentException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_INVALID_ARGUMENT", code, message)
/** A string was not valid UTF-8. */
class InvalidUtf8Exception internal constructor(code: Int, message: String) : CharterException("CHARTER_E_INVALID_UTF8", code, message)
/** A handle that was never Charter's (C ABI only). */
class InvalidHandleException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_INVALID_HANDLE", code, message)
/** A handle of another type (C ABI only). */
class WrongHandleTypeException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_WRONG_HANDLE_TYPE", code, message)
/** A freed handle (C ABI only). */
class HandleFreedException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_HANDLE_FREED", code, message)
/** A second free (C ABI only). */
class AlreadyFreedException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_ALREADY_FREED", code, message)
/** A configured or built-in limit was reached. */
class LimitExceededException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_LIMIT_EXCEEDED", code, message)
/** The thing asked for does not exist. */
class NotFoundException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_NOT_FOUND", code, message)
/** Authorization refused the operation. */
class DeniedException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_DENIED", code, message)
/** A token, link or session is past its validity window. */
class ExpiredException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_EXPIRED", code, message)
/** A token or link is before its validity window. */
class NotYetValidException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_NOT_YET_VALID", code, message)
/** A token, link or session has been revoked. */
class RevokedException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_REVOKED", code, message)
/** A signature or proof did not verify. */
class BadSignatureException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_BAD_SIGNATURE", code, message)
/** Bytes or text that do not decode. */
class MalformedException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_MALFORMED", code, message)
/** A token whose root key is not trusted. */
class UntrustedRootException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_UNTRUSTED_ROOT", code, message)
/** The operation would have to wait and was asked not to. */
class WouldBlockException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_WOULD_BLOCK", code, message)
/** A wait ran out of time. */
class TimeoutException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_TIMEOUT", code, message)
/** The object was closed. */
class ClosedException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_CLOSED", code, message)
/** An operating-system I/O error. */
class IoException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_IO", code, message)
/** Stored data failed an integrity check. */
class CorruptException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_CORRUPT", code, message)
/** A panic was caught at the library boundary. */
class PanicException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_PANIC", code, message)
/** A bug in Charter itself. */
class InternalException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_INTERNAL", code, message)
/** A wait was cancelled before anything happened (nothing was consumed). */
class CancelledException internal constructor(code: Int, message: String) : CharterException("CHARTER_E_CANCELLED", code, message)

/** The exception of the core status named [status]. */
internal fun charterException(status: String, code: Int, message: String): CharterException = when (status) {
    "CHARTER_E_NULL_ARGUMENT" -> NullArgumentException(code, message)
    "CHARTER_E_INVALID_ARGUMENT" -> InvalidArgumentException(code, message)
    "CHARTER_E_INVALID_UTF8" -> InvalidUtf8Exception(code, message)
    "CHARTER_E_INVALID_HANDLE" -> InvalidHandleException(code, message)
    "CHARTER_E_WRONG_HANDLE_TYPE" -> WrongHandleTypeException(code, message)
    "CHARTER_E_HANDLE_FREED" -> HandleFreedException(code, message)
    "CHARTER_E_ALREADY_FREED" -> AlreadyFreedException(code, message)
    "CHARTER_E_LIMIT_EXCEEDED" -> LimitExceededException(code, message)
    "CHARTER_E_NOT_FOUND" -> NotFoundException(code, message)
    "CHARTER_E_DENIED" -> DeniedException(code, message)
    "CHARTER_E_EXPIRED" -> ExpiredException(code, message)
    "CHARTER_E_NOT_YET_VALID" -> NotYetValidException(code, message)
    "CHARTER_E_REVOKED" -> RevokedException(code, message)
    "CHARTER_E_BAD_SIGNATURE" -> BadSignatureException(code, message)
    "CHARTER_E_MALFORMED" -> MalformedException(code, message)
    "CHARTER_E_UNTRUSTED_ROOT" -> UntrustedRootException(code, message)
    "CHARTER_E_WOULD_BLOCK" -> WouldBlockException(code, message)
    "CHARTER_E_TIMEOUT" -> TimeoutException(code, message)
    "CHARTER_E_CLOSED" -> ClosedException(code, message)
    "CHARTER_E_IO" -> IoException(code, message)
    "CHARTER_E_CORRUPT" -> CorruptException(code, message)
    "CHARTER_E_PANIC" -> PanicException(code, message)
    "CHARTER_E_CANCELLED" -> CancelledException(code, message)
    // A status this binding does not know yet is still an error of the core.
    else -> InternalException(code, "$status: $message")
}

/** Every status of the core, name to code (read from the core, never copied). */
val STATUS_CODES: Map<String, Int> by lazy { charter.ffi.statuses().associate { it.name to it.code } }

/** Runs an FFI call, turning the core's error into its [CharterException]. */
internal inline fun <T> ffi(block: () -> T): T = try {
    block()
} catch (e: FfiException.Status) {
    throw charterException(e.name, e.code, e.detail)
} catch (e: FfiException.Refused) {
    throw charterException(e.name, e.code, e.detail).also { it.reason = e.reason }
}
