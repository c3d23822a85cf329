package charter

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.util.concurrent.CountDownLatch
import java.util.concurrent.atomic.AtomicLong
import kotlin.concurrent.thread

class StressTest {
    @Test
    fun `16 threads hammer one bus and every message is accounted for`() = Bus().use { bus ->
        val threads = 16
        val each = 2_000
        val handled = AtomicLong()
        val pull = bus.subscribe("load.>", capacity = 1024)
        bus.subscribe("load.>") { handled.incrementAndGet() }
        val received = AtomicLong()
        val consumer = thread { while (true) { runCatching { pull.recv() }.getOrNull() ?: break; received.incrementAndGet() } }
        val start = CountDownLatch(1)
        val failures = AtomicLong()
        val workers = (0 until threads).map { t ->
            thread {
                start.await()
                repeat(each) { i ->
                    runCatching {
                        bus.publish("load.$t", "m$i".toByteArray())
                        if (i % 100 == 0) bus.subscribe("load.$t.x").close()
                        if (i % 500 == 0) bus.stats()
                    }.onFailure { failures.incrementAndGet() }
                }
            }
        }
        start.countDown()
        workers.forEach { it.join() }
        val total = threads.toLong() * each
        assertEquals(0, failures.get())
        assertEquals(total, handled.get())
        pull.close()
        consumer.join()
        val s = pull.stats()
        assertEquals(total, s.received)
        assertEquals(s.received, s.delivered + s.dropped.total + s.queued)
        assertEquals(total, bus.stats().published)
    }

    private fun rssKb(): Long =
        java.io.File("/proc/self/status").readLines().first { it.startsWith("VmRSS:") }.split(Regex("\\s+"))[1].toLong()

    @Test
    fun `100k create and close cycles keep memory flat`() {
        fun cycles(n: Int) = repeat(n) { i ->
            Bus().use { bus ->
                if (i % 10 == 0) {
                    bus.subscribe("t").use { sub ->
                        bus.publish("t", byteArrayOf(1))
                        sub.tryRecv()
                    }
                }
            }
            Registry<Int>().use { if (i % 10 == 0) it.register { } }
        }
        cycles(10_000)
        System.gc()
        Thread.sleep(200)
        val before = rssKb()
        cycles(100_000)
        System.gc()
        Thread.sleep(200)
        val grown = rssKb() - before
        // Flat: what leaked per cycle would show as 100k times its size.
        assertTrue(grown < 64 * 1024, "RSS grew by $grown kB over 100k cycles")
    }
}
