package charter

import kotlin.time.Duration

/** One audited event: action, resource, decision, actor, reason, detail, time (Unix ms), actorUnproven. */
typealias AuditRecord = charter.ffi.AuditRecord
/** What a record says was decided: `ALLOW`, `DENY`, `ERROR`. */
typealias Decision = charter.ffi.AuditDecision
/** A record with its index. */
typealias IndexedRecord = charter.ffi.IndexedRecord
/** What [AuditLog.verify] found; `ok` unless `problem` is set. */
typealias VerifyReport = charter.ffi.VerifyReport
/** What opening a log found: records, and bytes of a torn last append cut off. */
typealias Recovery = charter.ffi.Recovery
/** A verified checkpoint: origin, size, root. */
typealias Checkpoint = charter.ffi.CheckpointData

/** When appends reach the disk. */
sealed class Fsync {
    /** Durable when `append` returns (concurrent appenders share fsyncs). */
    data object Always : Fsync()
    /** Only on `sync` and `checkpoint`. */
    data object Never : Fsync()
    /** A background thread syncs every [period]. */
    data class Interval(val period: Duration) : Fsync()

    internal fun toFfi(): charter.ffi.Fsync = when (this) {
        Always -> charter.ffi.Fsync.Always
        Never -> charter.ffi.Fsync.Never
        is Interval -> charter.ffi.Fsync.Interval(period.nanos())
    }
}

/**
 * A tamper-evident, append-only log of decisions, in a file (or memory) and
 * an RFC 9162 Merkle tree whose root is signed in C2SP checkpoints. Closing
 * gives up this object's hold; a bus or authority recording to the log
 * holds it too.
 */
class AuditLog private constructor(internal val inner: charter.ffi.AuditLog) : AutoCloseable {
    /** Appends a record; its index. [time] defaults to now (Unix ms). */
    fun append(
        action: String,
        resource: String,
        decision: Decision,
        actor: String? = null,
        reason: Int = 0,
        detail: String = "",
        time: Long? = null,
        actorUnproven: Boolean = false,
    ): Long = append(AuditRecord(action, resource, decision, actor, reason, detail, time?.toULong(), actorUnproven))

    /** Appends [record]; its index. */
    fun append(record: AuditRecord): Long = ffi { inner.append(record).toLong() }

    /** The number of records. */
    val size: Long get() = ffi { inner.len().toLong() }

    /** Record [index], reread and checked against the tree ([NotFoundException], [CorruptException]). */
    operator fun get(index: Long): AuditRecord = ffi { inner.get(index.toULong()) }

    /** The records from [start] that match, oldest first; [since] and [until] (exclusive) are Unix ms. */
    fun records(
        start: Long = 0,
        since: Long? = null,
        until: Long? = null,
        actor: String? = null,
        decision: Decision? = null,
    ): List<IndexedRecord> = ffi { inner.records(start.toULong(), since?.toULong(), until?.toULong(), actor, decision) }

    /** The root of the whole tree (32 bytes). */
    val root: ByteArray get() = ffi { inner.root() }

    /** The root of the first [size] records. */
    fun rootAt(size: Long): ByteArray = ffi { inner.rootAt(size.toULong()) }

    /** Record [index]'s leaf hash. */
    fun leafHash(index: Long): ByteArray = ffi { inner.leafHash(index.toULong()) }

    /** The inclusion proof of record [index] in the tree of [size] records. */
    fun proveInclusion(index: Long, size: Long): List<ByteArray> = ffi { inner.proveInclusion(index.toULong(), size.toULong()) }

    /** The consistency proof from [oldSize] to [newSize]. */
    fun proveConsistency(oldSize: Long, newSize: Long): List<ByteArray> =
        ffi { inner.proveConsistency(oldSize.toULong(), newSize.toULong()) }

    /** Signs a checkpoint of the tree as it is now; the note ([InvalidArgumentException] without a signer). */
    fun checkpoint(): String = ffi { inner.checkpoint() }

    /** The latest checkpoint note kept, or `null`. */
    val latestCheckpoint: String? get() = ffi { inner.latestCheckpoint() }

    /** `origin+keyid+key` to publish, or `null` without a signer. */
    val verifierKey: String? get() = ffi { inner.verifierKey() }

    /** The log's name. */
    val origin: String get() = ffi { inner.origin() }

    /** Rereads every record, recomputes the tree and checks the kept checkpoint. */
    fun verify(): VerifyReport = ffi { inner.verify() }

    /** As [verify], and that the log extends [note] (catches truncation and rollback). */
    fun verifyAgainst(note: String): VerifyReport = ffi { inner.verifyAgainst(note) }

    /** Makes every append durable. */
    fun sync() = ffi { inner.sync() }

    /** What opening found. */
    val recovery: Recovery get() = ffi { inner.recovery() }

    /** Whether [close] was called. */
    val isClosed: Boolean get() = inner.isClosed()

    /** Gives up this object's hold on the log; afterwards its calls throw [ClosedException]. Idempotent. */
    override fun close() = inner.end()

    companion object {
        private fun settings(
            fsync: Fsync,
            signer: KeyPair?,
            origin: String?,
            checkpointEvery: Long,
            checkpointInterval: Duration?,
        ) = charter.ffi.AuditSettings(fsync.toFfi(), signer?.inner, origin, checkpointEvery.toULong(), checkpointInterval?.limitNanos())

        /**
         * Opens or creates the log at [path] (mode 0600). A torn last record
         * is cut off and reported in [recovery]; other damage throws
         * [CorruptException]. With a [signer], checkpoints are signed every
         * [checkpointEvery] records and every [checkpointInterval].
         */
        fun open(
            path: String,
            fsync: Fsync = Fsync.Always,
            signer: KeyPair? = null,
            origin: String? = null,
            checkpointEvery: Long = 0,
            checkpointInterval: Duration? = null,
        ) = AuditLog(ffi { charter.ffi.AuditLog.open(path, settings(fsync, signer, origin, checkpointEvery, checkpointInterval)) })

        /** The same tree, proofs and checkpoints, no file. */
        fun inMemory(signer: KeyPair? = null, origin: String? = null) =
            AuditLog(ffi { charter.ffi.AuditLog.inMemory(settings(Fsync.Never, signer, origin, 0, null)) })

        /** The operator's explicit act for a log that no longer extends its checkpoint: a new [origin]. */
        fun startOver(path: String, reason: String, signer: KeyPair, origin: String, fsync: Fsync = Fsync.Always) =
            AuditLog(ffi { charter.ffi.AuditLog.startOver(path, settings(fsync, signer, origin, 0, null), reason) })
    }
}

/** Checks that [leafHash] is record [index] of the tree of [size] with [root]; throws [BadSignatureException] if not. */
fun verifyInclusion(leafHash: ByteArray, index: Long, size: Long, proof: List<ByteArray>, root: ByteArray) =
    ffi { charter.ffi.verifyInclusion(leafHash, index.toULong(), size.toULong(), proof, root) }

/** Checks that the tree of [newSize] extends that of [oldSize]; throws [BadSignatureException] if not. */
fun verifyConsistency(oldSize: Long, newSize: Long, oldRoot: ByteArray, newRoot: ByteArray, proof: List<ByteArray>) =
    ffi { charter.ffi.verifyConsistency(oldSize.toULong(), newSize.toULong(), oldRoot, newRoot, proof) }

/** Verifies [note]'s signature by [verifierKey] (others' lines are ignored). */
fun verifyCheckpoint(note: String, verifierKey: String): Checkpoint = ffi { charter.ffi.verifyCheckpoint(note, verifierKey) }

/** The note verifier key (`name+keyid+key`) of [name] signed by [key]. */
fun verifierKey(name: String, key: PublicKey): String = ffi { charter.ffi.verifierKey(name, key.inner) }

/** The RFC 9162 leaf hash of [leaf]. */
fun leafHash(leaf: ByteArray): ByteArray = charter.ffi.leafHash(leaf)

/** The root of the empty tree. */
val EMPTY_ROOT: ByteArray get() = charter.ffi.emptyRoot()

/** The canonical encoding of [record] at [index]: its Merkle leaf. */
fun encodeRecord(record: AuditRecord, index: Long): ByteArray = ffi { charter.ffi.encodeRecord(record, index.toULong()) }

/** A checkpoint with the trusted witnesses that cosigned it and when. */
typealias Cosigned = charter.ffi.Cosigned

/**
 * Verifies [note] by [logKey] and at least [quorum] of [witnesses] (their
 * cosigner keys); lines by other keys are ignored. Too few is [BadSignatureException].
 */
fun verifyCosigned(note: String, logKey: String, witnesses: List<String>, quorum: Int): Cosigned =
    ffi { charter.ffi.verifyCosigned(note, logKey, witnesses, quorum.toLong()) }

/** A witness's cosigner verifier key (C2SP `cosignature/v1`). */
fun cosignerKey(name: String, key: PublicKey): String = ffi { charter.ffi.cosignerKey(name, key.inner) }

/** The cosignature line witness [name] signs with [key] for [note] at [timestamp] (POSIX seconds). */
fun cosign(note: String, name: String, key: KeyPair, timestamp: Long): String =
    ffi { charter.ffi.cosign(note, name, key.inner, timestamp.toULong()) }

/** A tlog-witness add-checkpoint request body. */
fun witnessRequest(oldSize: Long, proof: List<ByteArray>, note: String): String =
    ffi { charter.ffi.witnessRequest(oldSize.toULong(), proof, note) }

/** A parsed add-checkpoint request: old size, proof, note. */
typealias WitnessRequest = charter.ffi.WitnessRequest

/** Parses an add-checkpoint request body ([MalformedException]). */
fun parseWitnessRequest(body: String): WitnessRequest = ffi { charter.ffi.parseWitnessRequest(body) }
