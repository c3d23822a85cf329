package charter

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import java.io.File

class AuditTest {
    @Test
    fun `a file log appends, proves, checkpoints and verifies`(@TempDir dir: File) {
        val path = File(dir, "audit.log").path
        val key = KeyPair.generate()
        val note: String
        AuditLog.open(path, signer = key, origin = "example.com/orders-audit").use { log ->
            assertEquals(0uL, log.recovery.truncatedBytes)
            val index = log.append("refund", "order/17", Decision.ALLOW, actor = key.principal, detail = "policy 4")
            log.append(AuditRecord("refund", "order/18", Decision.DENY, reason = -10))
            assertEquals(2, log.size)
            note = log.checkpoint()
            val vkey = log.verifierKey!!
            val checkpoint = verifyCheckpoint(note, vkey)
            assertEquals(2uL, checkpoint.size)
            verifyInclusion(log.leafHash(index), index, 2, log.proveInclusion(index, 2), checkpoint.root)
            verifyConsistency(1, 2, log.rootAt(1), log.root, log.proveConsistency(1, 2))
            assertTrue(log.verify().ok)
            assertTrue(log.verifyAgainst(note).ok)
            assertEquals("refund", log[0].action)
            assertEquals(key.principal, log[0].actor)
            assertEquals(listOf(1uL), log.records(decision = Decision.DENY).map { it.index })
            assertThrows<NotFoundException> { log[5] }
            assertEquals(note, log.latestCheckpoint)
            assertEquals("example.com/orders-audit", log.origin)
        }
        AuditLog.open(path, signer = key, origin = "example.com/orders-audit").use { log ->
            assertEquals(2, log.size)
            assertTrue(log.verifyAgainst(note).ok)
            log.close()
            assertTrue(log.isClosed)
            assertThrows<ClosedException> { log.append("a", "b", Decision.ALLOW) }
        }
        File(path).appendBytes(byteArrayOf(1, 2, 3))
        AuditLog.open(path, signer = key, origin = "example.com/orders-audit").use { log ->
            assertTrue(log.recovery.truncatedBytes > 0uL)
        }
    }

    @Test
    fun `without a signer there are no checkpoints`() {
        AuditLog.inMemory().use { log ->
            assertNull(log.verifierKey)
            assertThrows<InvalidArgumentException> { log.checkpoint() }
            assertThrows<LimitExceededException> { log.append("a".repeat(65), "r", Decision.ALLOW) }
        }
    }

    @Test
    fun `a recording bus and authority write their decisions`() {
        val key = KeyPair.generate()
        AuditLog.inMemory().use { log ->
            Bus(authority = Authority(listOf(key.publicKey)), audit = log).use { bus ->
                assertThrows<DeniedException> { bus.publish("orders.eu", "x".toByteArray()) }
                assertEquals(Decision.DENY, log[0].decision)
                assertEquals("publish", log[0].action)
                assertEquals("orders.eu", log[0].resource)
            }
        }
        val log = AuditLog.inMemory()
        log.close()
        assertThrows<ClosedException> { Bus(audit = log) }
        assertFalse(!log.isClosed)
    }
}
