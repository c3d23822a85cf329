package charter

import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.File
import kotlin.time.Duration.Companion.seconds

class CapabilityTest {
    private val root = KeyPair.generate()
    private val service = KeyPair.generate()
    private val worker = KeyPair.generate()
    private val clock = ManualClock(1_700_000_000)
    private val authority = Authority(listOf(root.publicKey), clock = clock)
    private val now = clock.now()
    private val token = Token.mint(root, service.publicKey, listOf("publish orders.>", "subscribe orders.>"), now, now + 3600)
    private val child = token.delegate(service, worker.publicKey, listOf("publish orders.eu.*"), now, now + 600)

    private fun open(token: Token, key: KeyPair): Session {
        val challenge = authority.challenge()
        return authority.openSession(token, challenge, token.prove(key, challenge))
    }

    @Test
    fun `keys round-trip through PKCS#8, PEM, text and bytes`(@TempDir dir: File) {
        assertEquals(root.principal, KeyPair.fromPkcs8(root.toPkcs8()).principal)
        assertEquals(root.principal, KeyPair.fromPem(root.toPem()).principal)
        assertEquals(root.publicKey, PublicKey.fromText(root.publicKey.toString()))
        assertEquals(root.publicKey, PublicKey.fromBytes(root.publicKey.bytes))
        assertFalse(root.toString().contains(root.toPem()))
        assertThrows<MalformedException> { PublicKey.fromText("charter-pk1:nope") }
        val path = File(dir, "key.pem").path
        root.writeFile(path, pem = true)
        assertEquals(root.principal, KeyPair.readFile(path).principal)
        assertThrows<CharterException> { root.writeFile(path) }
    }

    @Test
    fun `tokens delegate narrower, round-trip and verify`() {
        val copy = Token.fromText(child.toString())
        assertArrayEquals(child.toByteArray(), Token.fromBytes(copy.toByteArray()).toByteArray())
        assertEquals(2, copy.links.size)
        assertEquals(root.publicKey.toString(), copy.links[0].issuer)
        assertTrue(copy.links[0].isRoot)
        assertEquals(worker.publicKey, copy.subject)
        assertEquals(root.publicKey, copy.rootKey)
        val verified = authority.verify(copy)
        assertEquals(worker.principal, verified.principal)
        assertEquals(listOf("publish orders.eu.*"), verified.grants)
        assertTrue(copy.inspect().isNotEmpty())
        assertThrows<DeniedException> { token.delegate(service, worker.publicKey, listOf("publish payments.>"), now, now + 60) }
        assertThrows<MalformedException> { Token.fromBytes(byteArrayOf(1, 2, 3)) }
        clock.advance(7200)
        assertThrows<ExpiredException> { authority.verify(token) }
        assertThrows<UntrustedRootException> { Authority().verify(token) }
        assertTrue(Grants.allows("publish orders.*", "publish", "orders.eu"))
        assertTrue(Grants.within("publish orders.eu", "publish orders.*"))
    }

    @Test
    fun `sessions, an enforcing bus through clients, and revocation`() {
        val session = open(child, worker)
        session.check("publish", "orders.eu.created")
        assertThrows<DeniedException> { session.check("publish", "orders.us.created") }
        assertThrows<BadSignatureException> {
            val proof = child.prove(worker, authority.challenge())
            authority.openSession(child, authority.challenge(), proof)
        }
        Bus(authority = authority).use { bus ->
            val serviceClient = bus.client(open(token, service))
            val workerClient = bus.client(session)
            val orders = serviceClient.subscribe("orders.>")
            workerClient.publish("orders.eu.created", "order 17".toByteArray())
            assertEquals("order 17", orders.recv(1.seconds).payload.decodeToString())
            val denied = assertThrows<DeniedException> { workerClient.publish("orders.us.created", "x".toByteArray()) }
            assertTrue(worker.principal in denied.message!!)
            assertThrows<DeniedException> { bus.publish("orders.eu.created", "no session".toByteArray()) }
            assertThrows<DeniedException> { workerClient.subscribe("orders.>") }
            assertEquals(3, bus.stats().denied)

            assertTrue(authority.revoke(child.links.last().id))
            assertFalse(session.isActive)
            assertThrows<RevokedException> { workerClient.publish("orders.eu.created", "x".toByteArray()) }
            assertEquals(listOf(child.links.last().id), authority.revocations())
            assertTrue(authority.unrevoke(child.links.last().id))
            assertEquals(1, authority.importRevocations(child.links.last().id + "\n"))
            assertThrows<MalformedException> { authority.importRevocations("zz\n") }
        }
    }
}
