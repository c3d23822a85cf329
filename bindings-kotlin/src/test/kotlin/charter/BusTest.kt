package charter

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference
import kotlin.concurrent.thread
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

class BusTest {
    private fun b(s: String) = s.toByteArray()

    @Test
    fun `a queue subscription receives in publish order with headers`() = Bus().use { bus ->
        val sub = bus.subscribe("orders.*.created")
        val report = bus.publish("orders.eu.created", b("one"), listOf("trace" to "abc", "trace" to "def"))
        assertEquals(PublishReport(1, 1, 0), report)
        bus.publish("orders.us.created", b("two"))
        assertEquals(0, bus.publish("payments.x", b("none")).matched)
        val first = sub.recv(1.seconds)
        val second = sub.recv(1.seconds)
        assertEquals("orders.eu.created", first.topic)
        assertArrayEquals(b("one"), first.payload)
        assertEquals("abc", first.header("trace"))
        assertEquals(listOf("trace" to "abc", "trace" to "def"), first.headers)
        assertNull(first.replyTo)
        assertTrue(second.seq > first.seq)
        assertNull(sub.tryRecv())
        assertEquals(sub.pattern, "orders.*.created")
    }

    @Test
    fun `an empty wait times out and consumes nothing`() = Bus().use { bus ->
        val sub = bus.subscribe("t")
        assertThrows<TimeoutException> { sub.recv(20.milliseconds) }
        assertThrows<WouldBlockException> { sub.recv(Duration.ZERO) }
        bus.publish("t", b("x"))
        assertEquals("x", sub.recv(1.seconds).payload.decodeToString())
    }

    @Test
    fun `inline and thread handlers get every message`() = Bus().use { bus ->
        val inline = mutableListOf<String>()
        val latch = CountDownLatch(3)
        val threads = mutableSetOf<Thread>()
        bus.subscribe("t.>") { inline += it.topic }
        bus.subscribe("t.>", dispatch = Dispatch.THREAD) { synchronized(threads) { threads += Thread.currentThread() }; latch.countDown() }
        repeat(3) { bus.publish("t.$it", b("x")) }
        assertEquals(listOf("t.0", "t.1", "t.2"), inline)
        assertTrue(latch.await(5, TimeUnit.SECONDS))
        assertTrue(Thread.currentThread() !in threads)
    }

    @Test
    fun `a handler's exception is counted and reported to onError, and the others still run`() {
        val reported = AtomicReference<Pair<Long, Throwable>>()
        Bus(onError = { id, e -> reported.set(id to e) }).use { bus ->
            val bad = bus.subscribe("t") { throw IllegalStateException("boom") }
            val good = bus.subscribe("t")
            val report = bus.publish("t", b("x"))
            assertEquals(2, report.delivered)
            assertEquals(bad.id, reported.get().first)
            assertEquals("boom", reported.get().second.message)
            assertEquals(1, bad.stats().handlerFailures)
            assertEquals("x", good.recv(1.seconds).payload.decodeToString())
        }
    }

    @Test
    fun `without onError a handler's exception goes to the thread's uncaught-exception handler`() {
        val caught = AtomicReference<Throwable>()
        val thread = Thread.currentThread()
        val previous = thread.uncaughtExceptionHandler
        thread.uncaughtExceptionHandler = Thread.UncaughtExceptionHandler { _, e -> caught.set(e) }
        try {
            Bus().use { bus ->
                bus.subscribe("t") { throw IllegalArgumentException("to the sink") }
                bus.publish("t", b("x"))
            }
        } finally {
            thread.uncaughtExceptionHandler = previous
        }
        assertEquals("to the sink", caught.get().message)
    }

    @Test
    fun `an exception thrown by onError itself is swallowed`() = Bus(onError = { _, _ -> error("hook") }).use { bus ->
        bus.subscribe("t") { error("handler") }
        assertEquals(1, bus.publish("t", b("x")).delivered)
    }

    @Test
    fun `an omitted request timeout is the core's default`() {
        assertEquals(5.seconds, DEFAULT_REQUEST_TIMEOUT)
    }

    @Test
    fun `request and reply`() {
        Bus().use { bus ->
            bus.subscribe("math.double") { m -> bus.respond(m, m.payload + m.payload) }
            assertEquals("abab", bus.request("math.double", b("ab"), timeout = 5.seconds).payload.decodeToString())
            assertThrows<NotFoundException> { bus.request("nobody.home", b("x")) }
            bus.subscribe("silent")
            val e = assertThrows<TimeoutException> { bus.request("silent", b("x"), timeout = 30.milliseconds) }
            assertTrue("no reply" in e.message!!, e.message)
            val plain = bus.subscribe("plain")
            bus.publish("plain", b("x"))
            assertThrows<InvalidArgumentException> { bus.respond(plain.recv(1.seconds), b("y")) }
        }
    }

    private fun fill(overflow: Overflow): Pair<Subscription, Bus> {
        val bus = Bus()
        val sub = bus.subscribe("q", capacity = 2, overflow = overflow)
        bus.publish("q", b("1"))
        bus.publish("q", b("2"))
        return sub to bus
    }

    private fun Subscription.drain() = generateSequence { tryRecv() }.map { it.payload.decodeToString() }.toList()

    @Test
    fun `overflow policies`() {
        fill(Overflow.DropOldest).let { (sub, bus) ->
            bus.use {
                bus.publish("q", b("3"))
                assertEquals(listOf("2", "3"), sub.drain())
                assertEquals(1, sub.stats().dropped.overflow)
            }
        }
        fill(Overflow.DropNewest).let { (sub, bus) ->
            bus.use {
                bus.publish("q", b("3"))
                assertEquals(listOf("1", "2"), sub.drain())
            }
        }
        fill(Overflow.Error).let { (sub, bus) ->
            bus.use {
                assertThrows<LimitExceededException> { bus.publish("q", b("3")) }
                assertEquals(1, sub.stats().dropped.rejected)
            }
        }
        fill(Overflow.Block(20.milliseconds)).let { (sub, bus) ->
            bus.use {
                assertThrows<TimeoutException> { bus.publish("q", b("3")) }
                assertEquals(1, sub.stats().dropped.timeout)
            }
        }
        fill(Overflow.Block(10.seconds)).let { (sub, bus) ->
            bus.use {
                val drainer = thread { Thread.sleep(30); sub.recv(1.seconds) }
                assertEquals(1, bus.publish("q", b("3")).delivered)
                drainer.join()
                assertEquals(listOf("2", "3"), sub.drain())
            }
        }
    }

    @Test
    fun `stats account for every message`() = Bus().use { bus ->
        val sub = bus.subscribe("s", capacity = 1)
        repeat(3) { bus.publish("s", b("x")) }
        sub.recv(1.seconds)
        val s = sub.stats()
        assertEquals(3, s.received)
        assertEquals(s.received, s.delivered + s.dropped.total + s.queued)
        val stats = bus.stats()
        assertEquals(3, stats.published)
        assertEquals(1, stats.liveSubscriptions)
    }

    @Test
    fun `limits and bad arguments are the core's errors`() {
        Bus(BusLimits(maxPayload = 4)).use { bus ->
            assertThrows<LimitExceededException> { bus.publish("t", b("12345")) }
            assertThrows<InvalidArgumentException> { bus.publish("bad..topic", b("x")) }
            assertThrows<InvalidArgumentException> { bus.subscribe("t", capacity = -1) }
            assertThrows<InvalidArgumentException> { bus.subscribe("t", overflow = Overflow.Block((-1).seconds)) }
        }
        assertThrows<InvalidArgumentException> { Bus(BusLimits(maxSubscriptions = -1)) }
    }

    @Test
    fun `a closed bus and a closed subscription refuse with ClosedException`() {
        val bus = Bus()
        val sub = bus.subscribe("t")
        val handled = bus.subscribe("t") { }
        val waiter = AtomicReference<Throwable>()
        val blocked = thread { waiter.set(runCatching { sub.recv() }.exceptionOrNull()) }
        Thread.sleep(50)
        bus.close()
        bus.close()
        blocked.join(5_000)
        assertTrue(waiter.get() is ClosedException, "${waiter.get()}")
        assertTrue(bus.isClosed)
        assertThrows<ClosedException> { bus.publish("t", b("x")) }
        assertThrows<ClosedException> { bus.subscribe("t") }
        assertThrows<ClosedException> { sub.recv(1.seconds) }
        assertTrue(sub.isClosed && handled.isClosed)
        sub.close()
        handled.close()
        handled.close()

        Bus().use { other ->
            val s = other.subscribe("t")
            other.publish("t", b("queued"))
            s.close()
            s.close()
            assertThrows<ClosedException> { s.tryRecv() }
            assertEquals(1, s.stats().dropped.closed)
        }
    }

    @Test
    fun `a handler may use its bus, close its own subscription and close the bus`() {
        val bus = Bus()
        val seen = mutableListOf<String>()
        lateinit var self: Subscription
        self = bus.subscribe("a") { m -> seen += m.topic; bus.publish("b", b("x")); self.close() }
        bus.subscribe("b") { m -> seen += m.topic; bus.close() }
        bus.publish("a", b("x"))
        assertEquals(listOf("a", "b"), seen)
        assertTrue(bus.isClosed)
    }
}
