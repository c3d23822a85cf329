package charter

import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.nio.file.Path
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.atomic.AtomicReference
import kotlin.concurrent.thread
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource

/**
 * [Bridge] against a real nats-server on a free loopback port (skipped
 * when none is installed): messages and requests carried between buses,
 * sealed ones verified and forged ones refused, counted and audited, signed
 * replies, a durable import from a committed position, and the lifecycle.
 */
class BridgeTest {
    private fun b(s: String) = s.toByteArray()

    /** Waits for a counter the bridge updates on its own thread (10 s at most). */
    private fun eventually(what: String, condition: () -> Boolean) {
        val deadline = TimeSource.Monotonic.markNow() + 10.seconds
        while (!condition()) {
            check(deadline.hasNotPassedNow()) { "timed out waiting for $what" }
            Thread.sleep(10)
        }
    }

    private fun flushAll(vararg bridges: Bridge) = runBlocking { bridges.forEach { it.flush(10.seconds) } }

    private val now = System.currentTimeMillis() / 1000

    private fun token(root: KeyPair, holder: KeyPair, vararg grants: String) =
        Token.mint(root, holder.publicKey, grants.toList(), now - 60, now + 3600)

    @Test
    fun `options are judged by the bridge crate`(): Unit = Bus().use { bus ->
        val nowhere = "nats://127.0.0.1:1"
        assertThrows<InvalidArgumentException> { Bridge.start(bus, nowhere, exports = listOf("a..b")) }
        assertThrows<InvalidArgumentException> { Bridge.start(bus, nowhere, imports = listOf(BridgeImport("a.>.b"))) }
        val key = KeyPair.generate()
        val token = token(key, key, "publish a")
        for (start in listOf({ Bridge.start(bus, nowhere, key = key) }, { Bridge.start(bus, nowhere, token = token) })) {
            val e = assertThrows<InvalidArgumentException> { start() }
            assertEquals("token and key go together: give both to seal, or neither", e.message)
        }
        val bare = assertThrows<InvalidArgumentException> {
            Bridge.start(bus, nowhere, token = token, key = key, bareExports = true)
        }
        assertEquals("bare exports carry no seal: a bridge with credentials cannot send them", bare.message)
        val audit = assertThrows<InvalidArgumentException> { Bridge.start(bus, nowhere, audit = AuditLog.inMemory()) }
        assertEquals("an audit recorder needs an authority: it records refusals", audit.message)
        assertThrows<InvalidArgumentException> { Bridge.start(bus, nowhere, requestTimeout = (-1).seconds) }
        assertThrows<InvalidArgumentException> { Bridge.start(bus, nowhere, exportCapacity = -1) }
        val negative = BridgeDurableImport("jobs.>", "JOBS", "d", handled = listOf(-1))
        assertThrows<InvalidArgumentException> { Bridge.start(bus, nowhere, durableImports = listOf(negative)) }
        val tooMany = BridgeDurableImport("jobs.>", "JOBS", "d", handled = List((1 shl 20) + 1) { it.toLong() + 1 })
        assertThrows<LimitExceededException> { Bridge.start(bus, nowhere, durableImports = listOf(tooMany)) }
        val backdated = BridgeDurableImport("jobs.>", "JOBS", "d", sealedThrough = -1)
        assertThrows<InvalidArgumentException> { Bridge.start(bus, nowhere, durableImports = listOf(backdated)) }
        val tooManySeals = BridgeDurableImport("jobs.>", "JOBS", "d", sealed = List((1 shl 20) + 1) { it.toULong() })
        assertThrows<LimitExceededException> { Bridge.start(bus, nowhere, durableImports = listOf(tooManySeals)) }
        bus.close()
        assertThrows<ClosedException> { Bridge.start(bus, nowhere) }
    }

    @Test
    fun `a flush with no server answering times out, and a close during a flush ends both`(): Unit = Bus().use { bus ->
        val bridge = Bridge.start(bus, "nats://127.0.0.1:1", exports = listOf("a.>"))
        assertFalse(bridge.isConnected)
        val e = assertThrows<TimeoutException> { runBlocking { bridge.flush(300.milliseconds) } }
        assertTrue(e.message!!.contains("300 ms"), e.message)
        assertThrows<InvalidArgumentException> { runBlocking { bridge.flush((-1).seconds) } }
        // The close waits for a flush that holds the bridge; one that comes after it finds it closed.
        val flushed = AtomicReference<Throwable>()
        val flusher = thread { flushed.set(runCatching { runBlocking { bridge.flush(1.seconds) } }.exceptionOrNull()) }
        Thread.sleep(100)
        bridge.close()
        flusher.join()
        assertTrue(flushed.get() is TimeoutException || flushed.get() is ClosedException, "${flushed.get()}")
        assertTrue(bridge.isClosed)
    }

    @Test
    fun `on an enforcing bus the bridge acts as its session`() {
        val root = KeyPair.generate()
        val holder = KeyPair.generate()
        val authority = Authority(listOf(root.publicKey))
        val token = token(root, holder, "subscribe a.>")
        val challenge = authority.challenge()
        val session = authority.openSession(token, challenge, token.prove(holder, challenge))
        Bus(authority = authority).use { bus ->
            assertThrows<DeniedException> { Bridge.start(bus, "nats://127.0.0.1:1", exports = listOf("a.>")) }
            Bridge.start(bus, "nats://127.0.0.1:1", exports = listOf("a.>"), session = session).close()
            assertThrows<DeniedException> { Bridge.start(bus, "nats://127.0.0.1:1", exports = listOf("b.>"), session = session) }
        }
    }

    @Test
    fun `a bus closed under a running bridge refuses what it imports, and the bridge still closes`(): Unit =
        NatsServer.start().use { nats ->
            Bus().use { a ->
                val b = Bus()
                Bridge.start(a, nats.url, exports = listOf("x.>")).use { exporter ->
                    Bridge.start(b, nats.url, imports = listOf(BridgeImport("x.>"))).use { importer ->
                        flushAll(exporter, importer)
                        b.close()
                        a.publish("x.y", b("after"))
                        eventually("the local refusal") { importer.stats().localRefused == 1L }
                        assertEquals(0L, importer.stats().imported)
                    }
                }
            }
        }

    @Test
    fun `messages and requests cross between two buses`(): Unit = NatsServer.start().use { nats ->
        Bus().use { a ->
            Bus().use { b ->
                b.subscribe("svc.upper") { m -> b.respond(m, m.payload.decodeToString().uppercase().toByteArray()) }
                val orders = b.subscribe("orders.>")
                val ba = Bridge.start(a, nats.url, exports = listOf("orders.>", "svc.>"))
                val imports = listOf(BridgeImport("orders.>", queueGroup = "workers"), BridgeImport("svc.>"))
                val bb = Bridge.start(b, nats.url, servers = listOf(nats.url), imports = imports)
                ba.use {
                    bb.use {
                        runBlocking {
                            ba.flush(10.seconds)
                            bb.flush() // the crate's default timeout
                        }
                        assertTrue(ba.isConnected)
                        assertEquals(32, ba.origin.length)
                        a.publish("orders.eu", b("hello"), listOf("kind" to "created"))
                        val m = orders.recv(10.seconds)
                        assertEquals("hello", m.payload.decodeToString())
                        assertEquals("created", m.header("kind"))
                        assertEquals(ba.origin, m.header("Charter-Origin"))
                        val reply = a.request("svc.upper", b("ping"), timeout = 10.seconds)
                        assertEquals("PING", reply.payload.decodeToString())
                        val none = assertThrows<NotFoundException> {
                            runBlocking { a.requestAsync("svc.nobody", b("ping"), timeout = 10.seconds) }
                        }
                        assertEquals("no responder on NATS for the request", none.message)
                        eventually("the counters") { ba.stats().exported == 1L && ba.stats().requestsOut == 2L }
                        eventually("the import count") { bb.stats().imported == 1L && bb.stats().requestsIn == 2L }
                        assertEquals(BRIDGE_REFUSAL_REASONS.toSet(), bb.refused().keys)
                        assertEquals(0L, bb.refused().values.sum())
                    }
                }
                assertTrue(ba.isClosed && bb.isClosed)
                assertEquals("Bridge(closed)", ba.toString())
            }
        }
    }

    @Test
    fun `a bare export is imported as a plain NATS client's`(): Unit = NatsServer.start().use { nats ->
        Bus().use { a ->
            Bus().use { b ->
                val seen = b.subscribe("bare.>")
                Bridge.start(b, nats.url, imports = listOf(BridgeImport("bare.>"))).use { bb ->
                    Bridge.start(a, nats.url, exports = listOf("bare.>"), bareExports = true).use { ba ->
                        flushAll(bb, ba)
                        a.publish("bare.one", b("1"))
                        val m = seen.recv(10.seconds)
                        assertEquals("bare.one", m.topic)
                        assertEquals("nats", m.header("Charter-Origin"))
                    }
                }
            }
        }
    }

    @Test
    fun `a sealed message is verified, forged ones are refused, counted and audited`(): Unit = NatsServer.start().use { nats ->
        val root = KeyPair.generate()
        val holder = KeyPair.generate()
        val authority = Authority(listOf(root.publicKey))
        val log = AuditLog.inMemory()
        val buses = List(4) { Bus() }
        val (receiver, sealed, plain, untrusted) = buses
        val alerts = receiver.subscribe("alerts.>")
        val bridges = listOf(
            Bridge.start(receiver, nats.url, imports = listOf(BridgeImport("alerts.>")), authority = authority, audit = log),
            Bridge.start(sealed, nats.url, exports = listOf("alerts.>"), token = token(root, holder, "publish alerts.>"), key = holder),
            Bridge.start(plain, nats.url, exports = listOf("alerts.>")),
            Bridge.start(untrusted, nats.url, exports = listOf("alerts.>"), token = token(KeyPair.generate(), holder, "publish alerts.>"), key = holder),
        )
        try {
            val verifier = bridges[0]
            flushAll(*bridges.toTypedArray())
            sealed.publish("alerts.fire", b("sealed"))
            val m = alerts.recv(10.seconds)
            assertEquals("sealed", m.payload.decodeToString())
            assertEquals(holder.principal, m.header("Charter-Principal"))
            plain.publish("alerts.fire", b("forged"))
            eventually("the unsigned refusal") { verifier.refused()["unsigned"] == 1L }
            untrusted.publish("alerts.fire", b("forged"))
            eventually("the chain refusal") { verifier.refused()["chain"] == 1L }
            assertEquals(1L, verifier.stats().imported)
            assertNull(alerts.tryRecv())
            assertEquals(2L, log.size)
            assertTrue(log.records().all { it.record.decision == Decision.DENY })
            assertNull(log[0].actor, "an unsigned message names no one")
            assertEquals(holder.principal, log[1].actor, "the token's holder, claimed")
            assertTrue(log[1].actorUnproven)
        } finally {
            bridges.forEach { it.close() }
            buses.forEach { it.close() }
        }
    }

    @Test
    fun `a signed request gets a signed reply, and an unentitled responder's is refused`(): Unit = NatsServer.start().use { nats ->
        val root = KeyPair.generate()
        val authority = Authority(listOf(root.publicKey))
        val (requester, responder, rogue) = List(3) { KeyPair.generate() }
        val buses = List(3) { Bus() }
        val (a, b, c) = buses
        b.subscribe("svc.echo") { m -> b.respond(m, b("pong:") + m.payload) }
        c.subscribe("rogue.echo") { m -> c.respond(m, b("pong")) }
        val bridges = listOf(
            Bridge.start(a, nats.url, exports = listOf("svc.>", "rogue.>"), authority = authority,
                token = token(root, requester, "request svc.>", "request rogue.>"), key = requester),
            Bridge.start(b, nats.url, imports = listOf(BridgeImport("svc.>")), authority = authority,
                token = token(root, responder, "subscribe svc.>"), key = responder),
            // May publish on rogue.>, not answer requests there.
            Bridge.start(c, nats.url, imports = listOf(BridgeImport("rogue.>")), authority = authority,
                token = token(root, rogue, "publish rogue.>"), key = rogue),
        )
        try {
            flushAll(*bridges.toTypedArray())
            val reply = a.request("svc.echo", b("ping"), timeout = 10.seconds)
            assertEquals("pong:ping", reply.payload.decodeToString())
            assertEquals(responder.principal, reply.header("Charter-Principal"))
            val refused = assertThrows<DeniedException> { a.request("rogue.echo", b("ping"), timeout = 10.seconds) }
            assertEquals("the reply failed verification at the bridge", refused.message)
            assertEquals(1L, bridges[0].refused()["not_granted"])
        } finally {
            bridges.forEach { it.close() }
            buses.forEach { it.close() }
        }
    }

    @Test
    fun `closing during traffic stops the bridge, not the bus`(): Unit = NatsServer.start().use { nats ->
        Bus().use { a ->
            Bus().use { b ->
                val ticks = b.subscribe("ticks.>", capacity = 1 shl 16)
                val exporter = Bridge.start(a, nats.url, exports = listOf("ticks.>"))
                val importer = Bridge.start(b, nats.url, imports = listOf(BridgeImport("ticks.>")))
                flushAll(exporter, importer)
                val stop = AtomicBoolean()
                val published = AtomicLong()
                val failure = AtomicReference<Throwable>()
                val publisher = thread {
                    try {
                        while (!stop.get()) {
                            a.publish("ticks.now", b("tick"))
                            published.incrementAndGet()
                        }
                    } catch (e: Throwable) {
                        failure.set(e)
                    }
                }
                ticks.recv(10.seconds)
                // While messages arrive from NATS, from several threads at once: one stops it.
                List(4) { thread { importer.close() } }.forEach { it.join() }
                exporter.close() // while the bus publishes to it
                val after = published.get()
                eventually("publishes after the close") { published.get() > after + 100 }
                stop.set(true)
                publisher.join()
                assertNull(failure.get())
                for (bridge in listOf(exporter, importer)) {
                    assertTrue(bridge.isClosed)
                    bridge.close() // idempotent
                    assertThrows<ClosedException> { bridge.stats() }
                    assertThrows<ClosedException> { bridge.refused() }
                    assertThrows<ClosedException> { bridge.isConnected }
                    assertThrows<ClosedException> { runBlocking { bridge.flush() } }
                }
                val delivered = generateSequence { ticks.tryRecv() }.count() + 1
                assertTrue(delivered <= published.get(), "$delivered delivered of ${published.get()}")
            }
        }
    }

    @Test
    fun `a handler the bridge runs may close it, and may not start one`(): Unit = NatsServer.start().use { nats ->
        Bus().use { a ->
            Bus().use { b ->
                val bridge = AtomicReference<Bridge>()
                val started = AtomicReference<Throwable>()
                val ran = CountDownLatch(1)
                b.subscribe("stop.>") {
                    // Inline: on the importing bridge's own thread.
                    started.set(runCatching { Bridge.start(b, nats.url) }.exceptionOrNull())
                    bridge.get().close()
                    ran.countDown()
                }
                bridge.set(Bridge.start(b, nats.url, imports = listOf(BridgeImport("stop.>"))))
                Bridge.start(a, nats.url, exports = listOf("stop.>")).use { exporter ->
                    flushAll(exporter, bridge.get())
                    a.publish("stop.now", b("stop"))
                    assertTrue(ran.await(10, TimeUnit.SECONDS))
                }
                assertTrue(bridge.get().isClosed)
                val refused = started.get()
                assertTrue(refused is WouldBlockException, "$refused")
                assertEquals(
                    "a bridge cannot be started inside an async runtime (a handler a bridge runs is in one): " +
                        "it would block the runtime's thread; call it from a plain thread",
                    refused.message,
                )
            }
        }
    }

    @Test
    fun `a durable import skips what the committed position covers`(@TempDir store: Path): Unit =
        NatsServer.start("-js", "-sd", store.toString()).use { nats ->
            // Everything through stream sequence 2, and 4, was handled before.
            val position = BridgeDurableImport("jobs.>", "JOBS", "kt-importer", ackWait = 5.seconds, handledThrough = 2, handled = listOf(4))
            Bus().use { a ->
                Bus().use { b ->
                    val jobs = b.subscribe("jobs.>")
                    Bridge.start(b, nats.url, durableImports = listOf(position)).use { importer ->
                        Bridge.start(a, nats.url, exports = listOf("jobs.>")).use { exporter ->
                            runBlocking { exporter.flush() }
                            // The importer creates the stream when it binds: publish until 5 is in.
                            val seen = mutableMapOf<Long, Long>()
                            val deadline = TimeSource.Monotonic.markNow() + 10.seconds
                            while (5L !in seen) {
                                check(deadline.hasNotPassedNow()) { "only ${seen.keys.sorted()} delivered" }
                                a.publish("jobs.one", b("x"))
                                while (true) {
                                    val m = try {
                                        jobs.recv(100.milliseconds)
                                    } catch (_: TimeoutException) {
                                        break
                                    }
                                    val seq = m.header("Charter-Stream-Seq")!!.toLong()
                                    assertFalse(seq in seen, "$seq delivered twice")
                                    seen[seq] = m.header("Charter-Stream-Floor")!!.toLong()
                                }
                            }
                            assertTrue(3L in seen && seen.keys.none { it in listOf(1L, 2L, 4L) }, "$seen")
                            assertTrue(seen.all { (seq, floor) -> floor in 2 until seq }, "$seen")
                            eventually("the suppressed count") { importer.stats().duplicateSuppressed == 3L }
                        }
                    }
                }
            }
        }
}
