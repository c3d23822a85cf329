package charter

import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import kotlin.concurrent.thread
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

class AsyncTest {
    private fun b(s: String) = s.toByteArray()
    private fun Message.text() = payload.decodeToString()

    @Test
    fun `recvAsync is woken by a publish on another thread`() = runBlocking {
        Bus().use { bus ->
            val sub = bus.subscribe("t")
            val got = async { sub.recvAsync(5.seconds) }
            delay(20)
            thread { bus.publish("t", b("hello")) }.join()
            assertEquals("hello", got.await().text())
        }
    }

    @Test
    fun `recvAsync times out with the core's TimeoutException and WouldBlock for zero`() {
        runBlocking {
            Bus().use { bus ->
                val sub = bus.subscribe("t")
                assertThrows<TimeoutException> { runBlocking { sub.recvAsync(30.milliseconds) } }
                assertThrows<WouldBlockException> { runBlocking { sub.recvAsync(kotlin.time.Duration.ZERO) } }
            }
        }
    }

    @Test
    fun `a cancelled recvAsync consumes nothing`() = runBlocking {
        Bus().use { bus ->
            val sub = bus.subscribe("t")
            repeat(50) {
                val waiting = launch(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) { sub.recvAsync() }
                yield()
                waiting.cancelAndJoin()
            }
            assertNull(withTimeoutOrNull(20) { sub.recvAsync() })
            bus.publish("t", b("kept"))
            assertEquals("kept", sub.recv(1.seconds).text())
            val s = sub.stats()
            assertEquals(1, s.delivered)
            assertEquals(0, s.dropped.total)
        }
    }

    @Test
    fun `the Flow is cold, emits in order and loses nothing when cancelled`() = runBlocking {
        Bus().use { bus ->
            val sub = bus.subscribe("f")
            repeat(5) { bus.publish("f", b("$it")) }
            assertEquals(listOf("0", "1"), sub.messages().take(2).toList().map { it.text() })
            assertEquals(listOf("2", "3"), sub.messages().take(2).toList().map { it.text() })
            val collector = launch { sub.messages().collect { delay(Long.MAX_VALUE) } }
            delay(20)
            collector.cancelAndJoin()
            // "4" was emitted to the cancelled collector; nothing else was taken.
            bus.publish("f", b("5"))
            assertEquals("5", sub.recv(1.seconds).text())
        }
    }

    @Test
    fun `the Flow ends when the subscription closes`() = runBlocking {
        Bus().use { bus ->
            val sub = bus.subscribe("f")
            val all = async { sub.messages().toList() }
            delay(20)
            bus.publish("f", b("a"))
            delay(20)
            sub.close()
            assertEquals(listOf("a"), withTimeout(5_000) { all.await() }.map { it.text() })
        }
    }

    @Test
    fun `closing wakes a suspended receive with ClosedException`() = runBlocking {
        val bus = Bus()
        val sub = bus.subscribe("t")
        val waiting = async(Dispatchers.Default) { runCatching { sub.recvAsync() }.exceptionOrNull() }
        delay(30)
        bus.close()
        assertTrue(withTimeout(5_000) { waiting.await() } is ClosedException)
    }

    @Test
    fun `a blocking recv is interruptible and consumes nothing`() {
        Bus().use { bus ->
            val sub = bus.subscribe("t")
            var thrown: Throwable? = null
            val waiter = thread { thrown = runCatching { sub.recv() }.exceptionOrNull() }
            Thread.sleep(50)
            waiter.interrupt()
            waiter.join(5_000)
            assertTrue(!waiter.isAlive && thrown is InterruptedException, "$thrown")
            bus.publish("t", "kept".toByteArray())
            assertEquals("kept", sub.recv(1.seconds).payload.decodeToString())
        }
    }

    @Test
    fun `requestAsync gets the reply, NotFound at once, the core's no-reply timeout`() = runBlocking {
        Bus().use { bus ->
            bus.subscribe("echo", dispatch = Dispatch.THREAD) { m -> bus.respond(m, m.payload) }
            assertEquals("hi", bus.requestAsync("echo", b("hi")).text())
            assertThrows<NotFoundException> { runBlocking { bus.requestAsync("nobody", b("x")) } }
            bus.subscribe("silent")
            val e = assertThrows<TimeoutException> { runBlocking { bus.requestAsync("silent", b("x"), timeout = 30.milliseconds) } }
            assertTrue(e.message!!.startsWith("no reply to"), e.message)
        }
    }

    @Test
    fun `10,000 suspended receivers share one subscription, each gets one message`() = runBlocking {
        Bus().use { bus ->
            val n = 10_000
            val sub = bus.subscribe("many", capacity = n)
            val receivers = (1..n).map { async(Dispatchers.Default) { sub.recvAsync(60.seconds).text() } }
            delay(50)
            repeat(n) { bus.publish("many", b("$it")) }
            val got = withTimeout(60_000) { receivers.awaitAll() }
            assertEquals((0 until n).map { "$it" }.toSet(), got.toSet())
            assertEquals(n.toLong(), sub.stats().delivered)
        }
    }
}
