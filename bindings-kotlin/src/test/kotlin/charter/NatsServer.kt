package charter

import org.junit.jupiter.api.Assumptions.assumeTrue
import java.io.File
import java.net.InetAddress
import java.net.ServerSocket
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread

/**
 * A nats-server of a test's own on a free loopback port, killed on close.
 * A test that needs one is skipped, saying why, when nats-server is not
 * installed (scripts/install-deps.sh installs it), as the other bindings'
 * bridge tests are.
 */
class NatsServer private constructor(private val process: Process, val url: String) : AutoCloseable {
    override fun close() {
        process.destroyForcibly()
        process.waitFor()
    }

    companion object {
        private val path: String? =
            (System.getenv("PATH").orEmpty().split(File.pathSeparator).map { "$it/nats-server" } +
                listOf("/usr/sbin/nats-server", "/usr/local/bin/nats-server"))
                .firstOrNull { File(it).canExecute() }

        /** Starts one with [options] (`-js`, `-sd DIR`, ...); ready when this returns. */
        fun start(vararg options: String): NatsServer {
            assumeTrue(path != null, "nats-server is not installed")
            val port = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }
            val process = ProcessBuilder(path, "-a", "127.0.0.1", "-p", "$port", *options)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start()
            val ready = CountDownLatch(1)
            // Drains the log to its end (the process's exit), so the server never blocks on it.
            thread(isDaemon = true, name = "nats-server log") {
                process.errorStream.bufferedReader().forEachLine { if ("Server is ready" in it) ready.countDown() }
            }
            if (!ready.await(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor()
                error("nats-server did not become ready")
            }
            return NatsServer(process, "nats://127.0.0.1:$port")
        }
    }
}
