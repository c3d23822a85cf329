package charter

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

class RegistryTest {
    @Test
    fun `handlers run by priority, then registration order, with the event itself`() = Registry<List<Int>>().use { registry ->
        val calls = mutableListOf<String>()
        val event = listOf(1, 2)
        registry.register { calls += "low"; assertTrue(it === event) }
        registry.register(priority = 5) { calls += "high" }
        registry.register { calls += "low2" }
        assertEquals(NotifyReport(3u, 0u, 0u), registry.notify(event))
        assertEquals(listOf("high", "low", "low2"), calls)
    }

    @Test
    fun `registerOnce, unregister, contains and size`() = Registry<String>().use { registry ->
        var once = 0
        val id = registry.registerOnce { once++ }
        val other = registry.register { }
        assertTrue(id in registry)
        assertEquals(2, registry.size)
        registry.notify("a")
        registry.notify("b")
        assertEquals(1, once)
        assertFalse(id in registry)
        assertTrue(registry.unregister(other))
        assertFalse(registry.unregister(other))
        assertFalse(registry.unregisterAndWait(12345))
        registry.register { }
        registry.clear()
        assertEquals(0, registry.size)
    }

    @Test
    fun `a throwing handler counts as failed, goes to onError, the round finishes`() {
        val errors = mutableListOf<Pair<Long, Throwable>>()
        Registry<Unit>(onError = { id, e -> errors += id to e }).use { registry ->
            val bad = registry.register(priority = 1) { throw RuntimeException("bad") }
            var ran = false
            registry.register { ran = true }
            val report = registry.notify(Unit)
            assertEquals(1uL, report.failed)
            assertEquals(1uL, report.delivered)
            assertTrue(ran)
            assertEquals(bad, errors.single().first)
            assertEquals("bad", errors.single().second.message)
        }
    }

    @Test
    fun `nested notify is bounded by maxDepth`() {
        Registry<Int>(maxDepth = 3).use { registry ->
            var deepest = 0
            var refused: Throwable? = null
            registry.register { depth ->
                deepest = maxOf(deepest, depth)
                try {
                    registry.notify(depth + 1)
                } catch (e: LimitExceededException) {
                    refused = e
                }
            }
            registry.notify(1)
            assertEquals(3, deepest)
            assertTrue(refused is LimitExceededException)
            assertEquals(3, registry.maxDepth)
            assertThrows<InvalidArgumentException> { Registry<Int>(maxDepth = 0) }
        }
    }

    @Test
    fun `a handler may close its registry, and afterwards calls throw ClosedException`() {
        val registry = Registry<Unit>()
        registry.register { registry.close() }
        registry.notify(Unit)
        assertTrue(registry.isClosed)
        registry.close()
        assertThrows<ClosedException> { registry.notify(Unit) }
        assertThrows<ClosedException> { registry.register { } }
    }
}
