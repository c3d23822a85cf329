package charter

import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.DynamicTest.dynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.assertThrows
import kotlin.time.Duration.Companion.milliseconds

/**
 * Every rule is the core's: each subscription and each set of bus limits
 * the core refuses (vectors/rules/refusals.json, written by the core) fails
 * here with the core's status and exact message. The Kotlin API has no `idleTtl` for a
 * handler subscription and no dispatch for a queue one, so those two
 * combinations cannot be written here at all; every other case runs.
 */
class RulesTest {
    private fun options(case: JsonElement): Map<String, JsonElement> = case.jsonObject.getValue("options").jsonObject

    private fun expressible(case: JsonElement): Boolean {
        val names = options(case).keys
        return if (case.bool("handler")) "idle_ttl_ms" !in names else "dispatch" !in names
    }

    private fun subscribe(bus: Bus, case: JsonElement) {
        val o = options(case)
        val capacity = o["capacity"]?.jsonPrimitive?.int
        val maxBytes = o["max_bytes"]?.jsonPrimitive?.long
        val ttl = o["ttl_ms"]?.jsonPrimitive?.long?.milliseconds
        if (case.bool("handler")) {
            val dispatch = if (o["dispatch"]?.jsonPrimitive?.content == "thread") Dispatch.THREAD else Dispatch.INLINE
            bus.subscribe("rules", dispatch, capacity, maxBytes, ttl = ttl) {}
        } else {
            val idleTtl = o["idle_ttl_ms"]?.jsonPrimitive?.long?.milliseconds
            bus.subscribe("rules", capacity, maxBytes, ttl = ttl, idleTtl = idleTtl)
        }
    }

    @TestFactory
    fun `subscribe refusals are the core's`(): List<DynamicTest> {
        val cases = Vectors.refusals.list("subscribe").filter(::expressible)
        assertTrue(cases.size >= 7, "${cases.size} cases")
        return cases.map { case ->
            dynamicTest(case.str("name")) {
                Bus().use { bus ->
                    val e = assertThrows<CharterException> { subscribe(bus, case) }
                    assertEquals(case.str("status"), e.status)
                    assertEquals(case.str("message"), e.message)
                    assertEquals(0L, bus.stats().liveSubscriptions)
                }
            }
        }
    }

    /** The vectors' limit names (the core's `BusLimits` fields) as [BusLimits]. */
    private fun limits(case: JsonElement): BusLimits {
        val given = case.jsonObject.getValue("limits").jsonObject
        val known = setOf("max_subscriptions", "max_queue_messages", "max_queue_bytes", "max_topic_len", "max_topic_tokens")
        assertTrue(known.containsAll(given.keys), "a limit this runner does not know: ${given.keys}")
        fun of(name: String) = given[name]?.jsonPrimitive?.long
        return BusLimits(
            maxSubscriptions = of("max_subscriptions"),
            maxQueueMessages = of("max_queue_messages"),
            maxQueueBytes = of("max_queue_bytes"),
            maxTopicLen = of("max_topic_len"),
            maxTopicTokens = of("max_topic_tokens"),
        )
    }

    @TestFactory
    fun `bus limit refusals are the core's`(): List<DynamicTest> {
        val cases = Vectors.refusals.list("bus")
        assertTrue(cases.size >= 7, "${cases.size} cases")
        return cases.map { case ->
            dynamicTest(case.str("name")) {
                val e = assertThrows<CharterException> { Bus(limits(case)).close() }
                assertEquals(case.str("status"), e.status)
                assertEquals(case.str("message"), e.message)
            }
        }
    }

    @Test
    fun `respond refusals are the core's`() = Bus().use { bus ->
        val sub = bus.subscribe("plain")
        bus.publish("plain", ByteArray(0))
        val plain = sub.recv(1000.milliseconds)
        for (case in Vectors.refusals.list("respond")) {
            val e = assertThrows<CharterException> { bus.respond(plain, ByteArray(0)) }
            assertEquals(case.str("status"), e.status)
            assertEquals(case.str("message"), e.message)
        }
    }
}
