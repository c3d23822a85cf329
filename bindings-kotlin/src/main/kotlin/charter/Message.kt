package charter

import charter.ffi.MessageData

/**
 * A received message: read-only. [seq] is bus-wide and increases in
 * publish order; [headers] keep the order given; [replyTo] is set on
 * requests (answer with `respond`).
 */
class Message internal constructor(data: MessageData) {
    /** Bus-wide sequence number. */
    val seq: Long = data.seq
    /** The topic it was published on. */
    val topic: String = data.topic
    /** The payload. */
    val payload: ByteArray = data.payload
    /** The headers, `(name, value)`, in the order given. */
    val headers: List<Pair<String, String>> = data.headers.map { it.name to it.value }
    /** The reply inbox, on requests. */
    val replyTo: String? = data.replyTo

    /** The first header named [name], or `null`. */
    fun header(name: String): String? = headers.firstOrNull { it.first == name }?.second

    override fun toString() = "Message(seq=$seq, topic=$topic, ${payload.size} bytes)"
}

/** Headers as the FFI takes them. */
internal fun headerList(headers: List<Pair<String, String>>) = headers.map { charter.ffi.Header(it.first, it.second) }
