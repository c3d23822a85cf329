package charter

import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonPrimitive
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.DynamicTest.dynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.assertThrows
import java.io.ByteArrayOutputStream
import java.io.DataOutputStream
import java.security.KeyFactory
import java.security.MessageDigest
import java.security.Signature
import java.security.spec.X509EncodedKeySpec
import java.util.Base64
import kotlin.time.Duration.Companion.milliseconds

/**
 * Every case of the shared vectors, with java.security (Ed25519, SHA-256)
 * as an oracle independent of the core for signatures and leaf hashes.
 */
class VectorsTest {
    // Oracle: Ed25519 by the JDK, from the raw key (RFC 8410 SubjectPublicKeyInfo).
    private fun ed25519Verify(publicKey: ByteArray, message: ByteArray, signature: ByteArray): Boolean {
        val spki = "302a300506032b6570032100".hex() + publicKey
        val key = KeyFactory.getInstance("Ed25519").generatePublic(X509EncodedKeySpec(spki))
        return Signature.getInstance("Ed25519").run {
            initVerify(key)
            update(message)
            verify(signature)
        }
    }

    private fun sha256(vararg parts: ByteArray): ByteArray =
        MessageDigest.getInstance("SHA-256").run { parts.forEach { update(it) }; digest() }

    private fun expectStatus(expect: String, body: () -> Unit) {
        if (expect == "CHARTER_OK") {
            body()
            return
        }
        val e = assertThrows<CharterException> { body() }
        assertEquals(expect, e.status)
        assertEquals(STATUS_CODES[expect], e.code)
    }

    @TestFactory
    fun status(): List<DynamicTest> = Vectors.status.list("cases").filter { it.str("name") != "CHARTER_OK" }.map { case ->
        dynamicTest(case.str("name")) {
            assertEquals(case.int("code"), STATUS_CODES[case.str("name")])
            val e = charterException(case.str("name"), case.int("code"), "m")
            assertEquals(case.str("name"), e.status)
            assertTrue(e !is InternalException || case.str("name") == "CHARTER_E_INTERNAL")
        }
    }

    @Test
    fun `every status of the vectors is the core's, and every status of the core has its own class`() {
        val cases = Vectors.status.list("cases").filter { it.str("name") != "CHARTER_OK" }
        cases.forEach { assertEquals(it.int("code"), STATUS_CODES[it.str("name")], it.str("name")) }
        val classes = STATUS_CODES.map { (name, code) -> charterException(name, code, "")::class }
        assertEquals(STATUS_CODES.size, classes.toSet().size)
        assertEquals(-24, STATUS_CODES["CHARTER_E_CANCELLED"])
    }

    @TestFactory
    fun topicValidity(): List<DynamicTest> = Vectors.topics.list("validity").mapIndexed { i, case ->
        dynamicTest("validity $i ${case.str("text").take(40)}") {
            expectStatus(if (case.bool("valid_topic")) "CHARTER_OK" else "CHARTER_E_INVALID_ARGUMENT") { validateTopic(case.str("text")) }
            expectStatus(if (case.bool("valid_pattern")) "CHARTER_OK" else "CHARTER_E_INVALID_ARGUMENT") { validatePattern(case.str("text")) }
        }
    }

    @TestFactory
    fun topicMatching(): List<DynamicTest> = Vectors.topics.list("matching").mapIndexed { i, case ->
        dynamicTest("matching $i") { assertEquals(case.bool("matches"), topicMatches(case.str("pattern"), case.str("topic"))) }
    }

    @TestFactory
    fun patternContainment(): List<DynamicTest> = Vectors.topics.list("containment").mapIndexed { i, case ->
        dynamicTest("containment $i") { assertEquals(case.bool("contained"), patternContains(case.str("inner"), case.str("outer"))) }
    }

    @Test
    fun matchingAndContainmentRefuseInvalidArgumentsWithTheCoresMessage() {
        assertTrue(assertThrows<InvalidArgumentException> { topicMatches("a.>.b", "a") }.message!!.startsWith("pattern "))
        assertTrue(assertThrows<InvalidArgumentException> { topicMatches(">", "a.*") }.message!!.startsWith("topic "))
        assertTrue(assertThrows<InvalidArgumentException> { patternContains("", ">") }.message!!.startsWith("inner: "))
        assertTrue(assertThrows<InvalidArgumentException> { patternContains(">", "a..b") }.message!!.startsWith("outer: "))
    }

    @TestFactory
    fun tokenKeys(): List<DynamicTest> = Vectors.tokens.list("keys").map { key ->
        dynamicTest(key.str("name")) {
            val pair = KeyPair.fromPkcs8(key.hex("pkcs8_hex"))
            assertEquals(key.str("public_key"), pair.publicKey.toString())
            assertEquals(key.str("public_key_hex"), pair.publicKey.bytes.hex())
            assertEquals(key.str("principal"), pair.principal)
            // Oracle: the principal is the SHA-256 of the public key (base64url, no padding).
            val digest = Base64.getUrlEncoder().withoutPadding().encodeToString(sha256(pair.publicKey.bytes))
            assertEquals("charter-id1:$digest", pair.principal)
        }
    }

    private fun verify(case: JsonElement): Verified {
        val authority = Authority(
            case.strings("roots").map(PublicKey::fromText),
            clock = ManualClock(case.long("now")),
            maxLifetime = kotlin.time.Duration.parse("${Vectors.tokens.long("max_lifetime")}s"),
            clockSkew = kotlin.time.Duration.parse("${Vectors.tokens.long("clock_skew")}s"),
        )
        case.strings("revoked").forEach { assertTrue(authority.revoke(it)) }
        return authority.verify(Token.fromBytes(case.hex("token_hex")))
    }

    @TestFactory
    fun tokens(): List<DynamicTest> = Vectors.tokens.list("cases").map { case ->
        dynamicTest(case.str("name")) {
            if (case.str("expect") != "CHARTER_OK") {
                expectStatus(case.str("expect")) { verify(case) }
                return@dynamicTest
            }
            val verified = verify(case)
            assertEquals(case.str("subject"), verified.subject)
            assertEquals(PublicKey.fromText(case.str("subject")).principal, verified.principal)
            assertEquals(case.strings("grants"), verified.grants)
            assertEquals(case.long("not_before"), verified.notBefore.toLong())
            assertEquals(case.long("not_after"), verified.notAfter.toLong())
            assertEquals(case.strings("link_ids"), verified.links)
            val token = Token.fromText(case.str("token_text"))
            assertEquals(case.str("token_hex"), token.toByteArray().hex())
            assertEquals(case.str("token_text"), Token.fromBytes(token.toByteArray()).toString())
            assertEquals(case.strings("link_ids"), token.links.map { it.id })
            val signatures = case.list("signatures")
            assertEquals(token.links.size, signatures.size)
            signatures.forEachIndexed { i, entry ->
                val public = entry.hex("public_key_hex")
                assertTrue(ed25519Verify(public, entry.hex("message_hex"), entry.hex("signature_hex")), "link $i signature")
                assertEquals(PublicKey.fromBytes(public).toString(), token.links[i].issuer)
                assertTrue(entry.str("signature_hex") in case.str("token_hex"))
            }
        }
    }

    private fun record(fields: JsonElement) = AuditRecord(
        action = fields.str("action"),
        resource = fields.str("resource"),
        decision = Decision.valueOf(fields.str("decision").uppercase()),
        actor = fields.strOrNull("actor"),
        reason = fields.int("reason"),
        detail = fields.str("detail"),
        time = fields.long("time").toULong(),
        actorUnproven = fields.bool("actor_unproven"),
    )

    private val records get() = Vectors.audit.list("records")

    private fun vectorLog(): AuditLog = AuditLog.inMemory().also { log -> records.forEach { log.append(record(it)) } }

    @TestFactory
    fun auditRecords(): List<DynamicTest> = records.map { fields ->
        dynamicTest("record ${fields.long("index")}") {
            val leaf = fields.hex("leaf_hex")
            assertArrayEquals(leaf, encodeRecord(record(fields), fields.long("index")))
            assertEquals(fields.str("leaf_hash_hex"), leafHash(leaf).hex())
            // Oracle: RFC 9162 leaf hash = SHA-256(0x00 || leaf).
            assertEquals(fields.str("leaf_hash_hex"), sha256(byteArrayOf(0), leaf).hex())
        }
    }

    @Test
    fun `audit roots`() {
        val roots = Vectors.audit.strings("roots")
        assertEquals(records.size + 1, roots.size)
        assertEquals(roots[0], EMPTY_ROOT.hex())
        assertEquals(sha256().hex(), EMPTY_ROOT.hex())
        AuditLog.inMemory().use { log ->
            records.forEachIndexed { i, fields ->
                log.append(record(fields))
                assertEquals(roots[i + 1], log.root.hex())
            }
            roots.forEachIndexed { n, root -> assertEquals(root, log.rootAt(n.toLong()).hex()) }
        }
    }

    @TestFactory
    fun auditInclusion(): List<DynamicTest> {
        val log = vectorLog()
        val roots = Vectors.audit.strings("roots")
        return Vectors.audit.list("inclusion").map { case ->
            dynamicTest("inclusion ${case.long("index")} of ${case.long("size")}") {
                val proof = case.strings("proof").map(String::hex)
                val index = case.long("index")
                val size = case.long("size")
                assertEquals(case.strings("proof"), log.proveInclusion(index, size).map { it.hex() })
                verifyInclusion(records[index.toInt()].hex("leaf_hash_hex"), index, size, proof, roots[size.toInt()].hex())
                if (proof.isNotEmpty()) {
                    val bad = proof.map { it.copyOf() }.also { it[0][0] = (it[0][0].toInt() xor 1).toByte() }
                    assertThrows<BadSignatureException> {
                        verifyInclusion(records[index.toInt()].hex("leaf_hash_hex"), index, size, bad, roots[size.toInt()].hex())
                    }
                }
            }
        }
    }

    @TestFactory
    fun auditConsistency(): List<DynamicTest> {
        val log = vectorLog()
        val roots = Vectors.audit.strings("roots")
        return Vectors.audit.list("consistency").map { case ->
            val old = case.long("old_size")
            val new = case.long("new_size")
            dynamicTest("consistency $old to $new") {
                assertEquals(case.strings("proof"), log.proveConsistency(old, new).map { it.hex() })
                verifyConsistency(old, new, roots[old.toInt()].hex(), roots[new.toInt()].hex(), case.strings("proof").map(String::hex))
            }
        }
    }

    @Test
    fun `audit verifier key`() {
        val signer = KeyPair.fromPkcs8(Vectors.audit.jsonObject("signer").hex("pkcs8_hex"))
        assertEquals(Vectors.audit.str("verifier_key"), verifierKey(Vectors.audit.str("origin"), signer.publicKey))
    }

    @TestFactory
    fun auditCheckpoints(): List<DynamicTest> = Vectors.audit.list("checkpoints").map { case ->
        dynamicTest("checkpoint ${case.long("size")}") {
            val checkpoint = verifyCheckpoint(case.str("note"), Vectors.audit.str("verifier_key"))
            assertEquals(Vectors.audit.str("origin"), checkpoint.origin)
            assertEquals(case.long("size"), checkpoint.size.toLong())
            assertEquals(case.str("root_hex"), checkpoint.root.hex())
            // Oracle: the note's signature line is base64(key id (4) || Ed25519 signature) over the body.
            val note = case.str("note")
            val body = note.substringBefore("\n\n") + "\n"
            val line = note.substringAfter("\n\n").lines().first()
            val signature = Base64.getDecoder().decode(line.substringAfterLast(" ")).copyOfRange(4, 68)
            val public = Vectors.audit.jsonObject("signer").hex("public_key_hex")
            assertTrue(ed25519Verify(public, body.toByteArray(), signature))
        }
    }

    private val witnessKeys get() = Vectors.audit.list("witnesses").map { it.str("verifier_key") }

    @TestFactory
    fun auditCosignerKeys(): List<DynamicTest> = Vectors.audit.list("witnesses").map { w ->
        dynamicTest(w.str("name")) {
            val key = KeyPair.fromPkcs8(w.jsonObject("key").hex("pkcs8_hex"))
            assertEquals(w.str("verifier_key"), cosignerKey(w.str("name"), key.publicKey))
        }
    }

    @TestFactory
    fun auditCosignatures(): List<DynamicTest> = Vectors.audit.list("cosignatures").map { case ->
        dynamicTest(case.str("name")) {
            val run = { verifyCosigned(case.str("note"), Vectors.audit.str("verifier_key"), witnessKeys, case.int("quorum")) }
            if (case.bool("valid")) {
                val cosigned = run()
                assertEquals(case.long("size"), cosigned.checkpoint.size.toLong())
                assertEquals(case.strings("cosigned_by"), cosigned.witnesses)
                assertEquals(case.list("timestamps").map { it.toString().toLong() }, cosigned.timestamps.map { it.toLong() })
            } else {
                expectStatus(case.str("status")) { run() }
            }
        }
    }

    @Test
    fun `audit witness request`() {
        val case = Vectors.audit.jsonObject("witness_request")
        val witness = Vectors.audit.list("witnesses").first { it.str("name") == case.str("witness") }
        val key = KeyPair.fromPkcs8(witness.jsonObject("key").hex("pkcs8_hex"))
        val request = parseWitnessRequest(case.str("request"))
        assertEquals(case.long("old_size"), request.oldSize.toLong())
        assertEquals(case.str("note"), request.note)
        assertEquals(case.str("request"), witnessRequest(request.oldSize.toLong(), request.proof, request.note))
        val line = cosign(request.note, case.str("witness"), key, case.long("timestamp"))
        assertEquals(case.str("cosignature"), line)
        // Oracle: the cosignature is base64(key id (4) || timestamp (8) || Ed25519 signature) over the signed message.
        val raw = Base64.getDecoder().decode(line.trimEnd('\n').substringAfterLast(" "))
        assertTrue(ed25519Verify(key.publicKey.bytes, case.str("signed_message").toByteArray(), raw.copyOfRange(12, 76)))
    }

    // The bridge's message authentication (vectors/bridge/messages.json).

    private val envelope = setOf("Charter-Origin", "Charter-Seq", "Charter-Time", "Charter-Token", "Charter-Proof")

    private fun headersOf(case: JsonElement): List<Pair<String, String>> =
        case.list("headers").map { it.jsonArray[0].jsonPrimitive.content to it.jsonArray[1].jsonPrimitive.content }

    private fun unbase64url(text: String): ByteArray = Base64.getUrlDecoder().decode(text)

    private val bytewise = Comparator<ByteArray> { a, b ->
        (0 until minOf(a.size, b.size)).map { a[it].toUByte().compareTo(b[it].toUByte()) }.firstOrNull { it != 0 } ?: a.size.compareTo(b.size)
    }

    /** The bytes a bridge proof signs, built from docs/formats.md alone (not from Charter's code). */
    private fun signedBytes(case: JsonElement): ByteArray {
        val headers = headersOf(case)
        val fields = headers.filter { it.first in envelope }.toMap()
        val others = headers.filter { it.first !in envelope }
            .map { it.first.encodeToByteArray() to it.second.encodeToByteArray() }
            .sortedWith { a, b -> bytewise.compare(a.first, b.first).takeIf { it != 0 } ?: bytewise.compare(a.second, b.second) }
        val bytes = ByteArrayOutputStream()
        DataOutputStream(bytes).run {
            fun lv(field: ByteArray) {
                writeShort(field.size)
                write(field)
            }
            write("charter/bridge-message/v1\u0000".encodeToByteArray())
            write(fields.getValue("Charter-Origin").hex())
            writeLong(fields.getValue("Charter-Seq").toULong().toLong())
            writeLong(fields.getValue("Charter-Time").toULong().toLong())
            lv(case.str("subject").encodeToByteArray())
            lv((case.strOrNull("reply") ?: "").encodeToByteArray())
            write(sha256(unbase64url(fields.getValue("Charter-Token").removePrefix("charter-tok1:"))))
            write(sha256(case.hex("payload_hex")))
            writeShort(others.size)
            others.forEach { (name, value) -> lv(name); lv(value) }
        }
        return bytes.toByteArray()
    }

    @TestFactory
    fun bridgeSeals(): List<DynamicTest> = Vectors.bridge.list("seal_cases").map { case ->
        dynamicTest(case.str("name")) {
            val signed = signedBytes(case)
            assertEquals(case.str("signed_bytes_hex"), signed.hex())
            val fields = headersOf(case).toMap()
            val token = fields.getValue("Charter-Token")
            assertEquals(case.str("token_sha256_hex"), sha256(unbase64url(token.removePrefix("charter-tok1:"))).hex())
            assertEquals(case.str("payload_sha256_hex"), sha256(case.hex("payload_hex")).hex())
            assertEquals(case.str("proof"), fields.getValue("Charter-Proof"))
            val holder = Token.fromText(token).subject.bytes
            val proof = unbase64url(case.str("proof"))
            assertTrue(ed25519Verify(holder, signed, proof), "the proof verifies with the holder's key")
            assertTrue(!ed25519Verify(holder, signed + 'x'.code.toByte(), proof), "the proof does not verify altered bytes")
        }
    }

    /** Each seal id rebuilt from docs/formats.md ("Stored messages") with the JDK's SHA-256. */
    @TestFactory
    fun bridgeSealIds(): List<DynamicTest> = Vectors.bridge.list("seal_id_cases").map { case ->
        dynamicTest(case.str("name")) {
            val key = Vectors.bridge.list("keys").single { it.str("name") == case.str("holder") }
            val principal = sha256(key.hex("public_key_hex"))
            assertEquals(case.str("principal_hex"), principal.hex())
            assertArrayEquals(principal, unbase64url(key.str("principal").removePrefix("charter-id1:")))
            val bytes = ByteArrayOutputStream()
            DataOutputStream(bytes).run {
                write("charter/bridge-seal-id/v1\u0000".encodeToByteArray())
                write(principal)
                write(case.str("origin").hex())
                writeLong(case.str("seq").toULong().toLong())
            }
            val hashed = bytes.toByteArray()
            assertEquals(82, hashed.size)
            assertEquals(case.str("hashed_hex"), hashed.hex())
            val id = sha256(hashed).take(8).fold(0UL) { acc, b -> (acc shl 8) or b.toUByte().toULong() }
            assertEquals(case.str("seal_id"), id.toString())
        }
    }

    private fun vectorVerifier(): BridgeVerifier {
        val v = Vectors.bridge
        val skew = v.long("max_skew_ms").milliseconds
        val authority = Authority(v.strings("trusted_roots").map(PublicKey::fromText), clock = ManualClock(v.long("authority_now")), clockSkew = skew)
        v.strings("revoked_links").forEach { assertTrue(authority.revoke(it)) }
        return BridgeVerifier(authority, maxSkew = skew, fixedTimeMs = v.long("now_ms"))
    }

    private fun expectation(expect: JsonElement): BridgeExpect = when (val kind = expect.str("kind")) {
        "publish" -> BridgeExpect.Publish
        "request" -> BridgeExpect.Request
        "reply" -> BridgeExpect.Reply(expect.str("subject"), expect.str("inbox"), expect.str("nonce"), expect.long("sent_ms"))
        else -> error("unknown kind $kind")
    }

    @Test
    fun `bridge verify cases come out as stated, in order, through one verifier`() {
        val verifier = vectorVerifier()
        val cases = Vectors.bridge.list("verify_cases")
        val seen = mutableSetOf<String>()
        for (case in cases) {
            val got = try {
                val expect = expectation(case.jsonObject("expect"))
                val principal = verifier.check(case.str("subject"), case.hex("payload_hex"), headersOf(case), case.strOrNull("reply"), expect)
                assertEquals(case.str("principal"), principal, case.str("name"))
                "accepted"
            } catch (e: CharterException) {
                e.reason ?: "no reason: $e"
            }
            assertEquals(case.str("result"), got, case.str("name"))
            seen += got
        }
        assertTrue(seen.containsAll(listOf("accepted", "unsigned", "malformed", "chain", "bad_proof", "not_granted", "stale", "replayed", "revoked", "misdirected")), "$seen")
        val refused = verifier.refused()
        assertEquals(BRIDGE_REFUSAL_REASONS.toSet(), refused.keys)
        assertEquals(cases.count { it.str("result") != "accepted" }.toLong(), refused.values.sum())
    }

    @Test
    fun `a bridge refusal is the status's exception with its reason, other errors have none`() {
        val verifier = vectorVerifier()
        val unsigned = assertThrows<DeniedException> { verifier.check("a.b", ByteArray(0), listOf("a" to "1")) }
        assertEquals("unsigned", unsigned.reason)
        assertEquals("CHARTER_E_DENIED", unsigned.status)
        assertEquals(null, assertThrows<InvalidArgumentException> { validateTopic("a..b") }.reason)
        val negative = assertThrows<InvalidArgumentException> { verifier.check("a.b", ByteArray(0), expect = BridgeExpect.Reply("a.b", "i", "n", -1)) }
        assertEquals(null, negative.reason)
        assertEquals(1L, verifier.refused().values.sum())
    }
}

private fun JsonElement.jsonObject(key: String): JsonElement = (this as kotlinx.serialization.json.JsonObject).getValue(key)
