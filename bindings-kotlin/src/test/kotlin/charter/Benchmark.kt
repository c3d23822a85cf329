package charter

import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.Test
import java.util.concurrent.ArrayBlockingQueue
import kotlin.time.Duration.Companion.seconds

/**
 * A simple timed benchmark (not part of `mvn verify`: it runs only with
 * -Dcharter.bench=true, through scripts/bench.sh). Each case runs a warm-up
 * round for the JIT, then [ROUNDS] timed rounds; the median ns/op is printed
 * with a JDK baseline measured in the same run.
 */
class Benchmark {
    private fun measure(name: String, ops: Int, body: (Int) -> Unit) {
        repeat(ops) { body(it) }
        val rounds = (1..ROUNDS).map {
            val start = System.nanoTime()
            repeat(ops) { i -> body(i) }
            (System.nanoTime() - start).toDouble() / ops
        }.sorted()
        System.out.printf("BENCH %-52s median %8.1f ns/op  (min %.1f, max %.1f)%n", name, rounds[ROUNDS / 2], rounds.first(), rounds.last())
    }

    @Test
    fun run() {
        assumeTrue(System.getProperty("charter.bench") == "true", "run by scripts/bench.sh")
        val event = "order 17 created".toByteArray()
        Registry<ByteArray>().use { registry ->
            var sink = 0
            registry.register { sink += it.size }
            measure("Registry.notify, one Kotlin handler", 20_000) { registry.notify(event) }
            val handler: (ByteArray) -> Unit = { sink += it.size }
            measure("baseline: direct call of the handler", 20_000) { handler(event) }
            check(sink > 0)
        }
        Bus().use { bus ->
            val sub = bus.subscribe("orders.eu.created")
            val payload = ByteArray(16)
            measure("Bus.publish + Subscription.recv, one pull subscriber", 20_000) {
                bus.publish("orders.eu.created", payload)
                sub.recv(1.seconds)
            }
            measure("Bus.publish + Subscription.tryRecv", 20_000) {
                bus.publish("orders.eu.created", payload)
                sub.tryRecv()
            }
            val queue = ArrayBlockingQueue<ByteArray>(1024)
            measure("baseline: ArrayBlockingQueue offer + poll of a copy", 20_000) {
                queue.offer(payload.copyOf())
                queue.poll()
            }
        }
    }

    private companion object {
        const val ROUNDS = 5
    }
}
