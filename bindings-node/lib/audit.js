'use strict';

const { inspect } = require('node:util');
const { fileURLToPath } = require('node:url');

const { internal, libraryOnly } = require('./internal.js');
const native = require('./native.js');
const { attempt, classes, fromNative } = require('./errors.js');
const { nativePair } = require('./keys.js');
const { bytes, count, failure, invalid, optionalBoolean, options, required, string, unixMillis } = require('./options.js');

const { NativeAuditLog } = native;

const DECISIONS = new Set(['allow', 'deny', 'error']);
const SCOPES = new Set(['denials', 'all']);

function closed(stackStart) {
  return failure(classes.ClosedError, 'the audit log is closed', stackStart ?? closed);
}

/** How a log is kept, as the addon takes it (`src/audit.rs`), and its signer. */
function logSpec(logOptions, stackStart, extra = []) {
  const known = ['fsync', 'origin', 'checkpointEvery', 'checkpointIntervalMs', 'signer', ...extra];
  const given = options(logOptions, 'options', stackStart, known);
  const spec = {};
  const { fsync } = given;
  if (fsync === 'always' || fsync === 'never') {
    spec.fsync = fsync;
  } else if (typeof fsync === 'object' && fsync !== null) {
    const intervalMs = count(fsync.intervalMs, 'fsync.intervalMs', stackStart);
    if (intervalMs === undefined || intervalMs === 0) {
      throw invalid('fsync.intervalMs must be a whole number of milliseconds, 1 or more', stackStart);
    }
    spec.fsync = 'interval';
    spec.intervalMs = intervalMs;
  } else if (fsync !== undefined && fsync !== null) {
    throw invalid("fsync must be 'always', 'never' or { intervalMs }", stackStart);
  }
  if (given.origin !== undefined && given.origin !== null) {
    spec.origin = string(given.origin, 'origin', stackStart);
  }
  spec.checkpointEvery = count(given.checkpointEvery, 'checkpointEvery', stackStart);
  const intervalMs = count(given.checkpointIntervalMs, 'checkpointIntervalMs', stackStart);
  if (intervalMs === 0) {
    throw invalid('checkpointIntervalMs must be a whole number of milliseconds, 1 or more', stackStart);
  }
  spec.checkpointIntervalMs = intervalMs;
  const { signer } = given;
  return {
    spec,
    signer: signer === undefined || signer === null ? null : nativePair(signer, 'signer', stackStart),
  };
}

/** A file path: a string or a `file:` URL. */
function filePath(value, stackStart) {
  if (value instanceof URL) {
    return fileURLToPath(value);
  }
  return string(required(value, 'path', stackStart), 'path', stackStart);
}

function decision(value, what, stackStart) {
  if (!DECISIONS.has(value)) {
    throw invalid(`${what} must be 'allow', 'deny' or 'error', got ${String(value)}`, stackStart);
  }
  return value;
}

/** An optional string field: `undefined` when absent. */
function optionalString(value, what, stackStart) {
  return value === undefined || value === null ? undefined : string(value, what, stackStart);
}

const RECORD_KEYS = [
  'time', 'actor', 'actorUnproven', 'action', 'resource', 'decision', 'reason', 'detail', 'index',
];

/** A record as the addon takes it. Byte limits are the core's to check. */
function recordSpec(record, stackStart) {
  // `index` is accepted (and ignored) so that a record read back can be
  // appended again.
  const given = options(required(record, 'record', stackStart), 'record', stackStart, RECORD_KEYS);
  const { reason } = given;
  if (reason !== undefined && reason !== null && !(Number.isInteger(reason) && (reason | 0) === reason)) {
    throw invalid(`reason must be a 32-bit integer, got ${String(reason)}`, stackStart);
  }
  return {
    time: unixMillis(given.time, 'time', stackStart),
    actor: optionalString(given.actor, 'actor', stackStart),
    actorUnproven: optionalBoolean(given.actorUnproven, 'actorUnproven', stackStart),
    action: string(given.action, 'action', stackStart),
    resource: string(given.resource, 'resource', stackStart),
    decision: decision(given.decision, 'decision', stackStart),
    reason: reason ?? undefined,
    detail: optionalString(given.detail, 'detail', stackStart),
  };
}

/** A query as the addon takes it. */
function querySpec(query, stackStart) {
  const given = options(query, 'query', stackStart, ['since', 'until', 'actor', 'decision', 'fromIndex']);
  const time = (value, what) =>
    value === undefined || value === null ? undefined : unixMillis(value, what, stackStart);
  return {
    since: time(given.since, 'since'),
    until: time(given.until, 'until'),
    actor: optionalString(given.actor, 'actor', stackStart),
    decision:
      given.decision === undefined || given.decision === null
        ? undefined
        : decision(given.decision, 'decision', stackStart),
    fromIndex: count(given.fromIndex, 'fromIndex', stackStart),
  };
}

/** A record read back, every field present. */
function record(view) {
  return {
    index: view.index,
    time: view.time,
    actor: view.actor ?? null,
    actorUnproven: view.actorUnproven,
    action: view.action,
    resource: view.resource,
    decision: view.decision,
    reason: view.reason,
    detail: view.detail,
  };
}

/** A verification report, every field present. */
function report(view) {
  return {
    records: view.records,
    firstBad: view.firstBad ?? null,
    problem: view.problem ?? null,
    problemCode: view.problemCode ?? null,
    checkpoint: view.checkpoint ?? null,
    against: view.against ?? null,
    witnesses: view.witnesses,
    root: view.root,
    ok: view.ok,
  };
}

/**
 * Starts a native operation that returns a Promise and awaits it: its
 * errors become `CharterError`s, and a job that ended without an outcome
 * an `InternalError`.
 */
async function settled(start, what, stackStart) {
  const pending = attempt(start, stackStart);
  let outcome;
  try {
    outcome = await pending;
  } catch (error) {
    throw fromNative(error);
  }
  if (outcome === undefined) {
    throw new classes.InternalError(`${what} ended without an outcome`);
  }
  return outcome;
}

/** A non-negative integer argument (an index or a size). */
function position(value, what, stackStart) {
  return count(required(value, what, stackStart), what, stackStart);
}

/** An array of hashes (proofs). */
function hashList(value, what, stackStart) {
  if (!Array.isArray(required(value, what, stackStart))) {
    throw invalid(`${what} must be an array of 32-byte Buffers or Uint8Arrays`, stackStart);
  }
  for (const hash of value) {
    bytes(hash, `each hash of ${what}`, stackStart);
  }
  return value;
}

/** The native log of an `AuditLog`, `undefined` for anything else (set in the class). */
let nativeOfLog;

/**
 * A tamper-evident, append-only log of decisions: each record is a leaf of
 * an RFC 9162 Merkle tree over SHA-256, kept in a file (or in memory),
 * whose root can be signed as a C2SP checkpoint. Made by `AuditLog.open`,
 * `AuditLog.openSync` or `AuditLog.inMemory`. An open log never keeps the
 * process alive.
 */
class AuditLog {
  #native;
  #closed = false;

  constructor(token, nativeLog) {
    libraryOnly(token, 'AuditLog', 'use AuditLog.open() or AuditLog.inMemory()');
    this.#native = nativeLog;
  }

  /**
   * Opens the log at `path` (a string or a `file:` URL), creating it if
   * needed, on another thread: the whole file is read and checked. A torn
   * last record (a crash during an append) is cut off and reported in
   * `recovery`; damage anywhere else rejects with `CorruptError` naming the
   * record, leaving the file as it is. Options: `fsync` (`'always'`, the
   * default, `'never'` or `{ intervalMs }`), `signer` (a `KeyPair` that
   * signs checkpoints) and `origin` (the log's name in them).
   */
  static async open(path, logOptions) {
    const file = filePath(path, AuditLog.open);
    const { spec, signer } = logSpec(logOptions, AuditLog.open);
    const opened = await settled(() => NativeAuditLog.open(file, spec, signer), 'the open', AuditLog.open);
    return new AuditLog(internal, opened);
  }

  /** `open` on this thread. */
  static openSync(path, logOptions) {
    const file = filePath(path, AuditLog.openSync);
    const { spec, signer } = logSpec(logOptions, AuditLog.openSync);
    const opened = attempt(() => NativeAuditLog.openSync(file, spec, signer), AuditLog.openSync);
    return new AuditLog(internal, opened);
  }

  /**
   * Starts a new history at `path` on another thread: the operator's
   * explicit act for a log that no longer extends its checkpoint. Takes
   * `open`'s options plus `reason`; `signer` is required and `origin` must
   * differ from the old checkpoint's (`InvalidArgumentError` otherwise).
   * The old files are kept, renamed `<path>.replaced-<ms>` and
   * `<path>.checkpoint.replaced-<ms>`; record 0 (action `start_over`)
   * says what was replaced and why; the first checkpoint is signed at once.
   */
  static async startOver(path, logOptions) {
    const here = AuditLog.startOver;
    const file = filePath(path, here);
    const { spec, signer } = logSpec(logOptions, here, ['reason']);
    const reason = string(required(logOptions?.reason, 'reason', here), 'reason', here);
    const opened = await settled(() => NativeAuditLog.startOver(file, spec, signer, reason), 'the start over', here);
    return new AuditLog(internal, opened);
  }

  /** `startOver` on this thread. */
  static startOverSync(path, logOptions) {
    const here = AuditLog.startOverSync;
    const file = filePath(path, here);
    const { spec, signer } = logSpec(logOptions, here, ['reason']);
    const reason = string(required(logOptions?.reason, 'reason', here), 'reason', here);
    return new AuditLog(internal, attempt(() => NativeAuditLog.startOverSync(file, spec, signer, reason), here));
  }

  /** A log kept in memory only: the same tree, proofs and checkpoints. Takes `open`'s options. */
  static inMemory(logOptions) {
    const { spec, signer } = logSpec(logOptions, AuditLog.inMemory);
    return new AuditLog(internal, attempt(() => NativeAuditLog.inMemory(spec, signer), AuditLog.inMemory));
  }

  /**
   * Appends `record` on another thread and resolves with its index. Under
   * `fsync: 'always'` the record is on stable storage when the Promise
   * resolves; appends in flight together share their fsyncs.
   */
  async append(entry) {
    const spec = recordSpec(entry, this.append);
    return settled(() => this.#live().append(spec), 'the append', this.append);
  }

  /** `append` on this thread (it may wait for an fsync). */
  appendSync(entry) {
    const spec = recordSpec(entry, this.appendSync);
    return attempt(() => this.#live().appendSync(spec), this.appendSync);
  }

  /** Forces every record appended so far to stable storage, on another thread. */
  async sync() {
    await settled(() => this.#live().sync(), 'the sync', this.sync);
  }

  /** `sync` on this thread. */
  syncSync() {
    attempt(() => this.#live().syncSync(), this.syncSync);
  }

  /** The number of records. */
  get length() {
    return this.#live().length;
  }

  /** The Merkle root of all records, 32 bytes (a new `Buffer` on every read). */
  get root() {
    return this.#live().root();
  }

  /** The Merkle root of the first `size` records. */
  rootAt(size) {
    const n = position(size, 'size', this.rootAt);
    return attempt(() => this.#live().rootAt(n), this.rootAt);
  }

  /** The leaf hash of record `index`: what `verifyInclusion` takes. */
  leafHash(index) {
    const i = position(index, 'index', this.leafHash);
    return attempt(() => this.#live().leafHash(i), this.leafHash);
  }

  /**
   * Signs a checkpoint of the log as it is now, on another thread, and
   * resolves with the note. The records it covers are synced first. A file
   * log keeps the latest one in `<path>.checkpoint`. Rejects with
   * `InvalidArgumentError` without a signer.
   */
  async checkpoint() {
    return settled(() => this.#live().checkpoint(), 'the checkpoint', this.checkpoint);
  }

  /** `checkpoint` on this thread. */
  checkpointSync() {
    return attempt(() => this.#live().checkpointSync(), this.checkpointSync);
  }

  /** The note verifier key checkpoints verify with, `<origin>+<key id>+<key>`; `null` without a signer. */
  get verifierKey() {
    return this.#live().verifierKey;
  }

  /** The log's name in its checkpoints. */
  get origin() {
    return this.#live().origin;
  }

  /** Records between automatic checkpoints; 0 for none. */
  get checkpointEvery() {
    return this.#live().checkpointEvery;
  }

  /** Milliseconds between automatic checkpoints; `null` for none. */
  get checkpointIntervalMs() {
    return this.#live().checkpointIntervalMs ?? null;
  }

  /** The file the log is kept in; `null` in memory. */
  get path() {
    return this.#live().path;
  }

  /** What opening found and repaired: `{ records, truncatedBytes }` (zeros in memory). */
  get recovery() {
    return this.#live().recovery;
  }

  /** The latest persisted checkpoint note (for a file log, read from `<path>.checkpoint`), or `null`. */
  latestCheckpoint() {
    return attempt(() => this.#live().latestCheckpoint(), this.latestCheckpoint);
  }

  /** The proof that record `index` is in the tree of the first `size` records. */
  proveInclusion(index, size) {
    const here = this.proveInclusion;
    const [i, n] = [position(index, 'index', here), position(size, 'size', here)];
    return attempt(() => this.#live().proveInclusion(i, n), here);
  }

  /** The proof that the tree of the first `oldSize` records is a prefix of that of the first `newSize`. */
  proveConsistency(oldSize, newSize) {
    const here = this.proveConsistency;
    const [m, n] = [position(oldSize, 'oldSize', here), position(newSize, 'newSize', here)];
    return attempt(() => this.#live().proveConsistency(m, n), here);
  }

  /**
   * Record `index`, read back and checked against the tree: a record
   * changed on disk since it was written throws `CorruptError`.
   * `NotFoundError` past the end.
   */
  get(index) {
    const i = position(index, 'index', this.get);
    return record(attempt(() => this.#live().get(i), this.get));
  }

  /**
   * The records `query` selects, oldest first, among those in the log now:
   * `{ since, until }` (times, `[since, until)`), `actor`, `decision`,
   * `fromIndex`. An iterator; each record is read back as `get` does.
   */
  records(query) {
    const spec = querySpec(query, this.records);
    const nativeRecords = attempt(() => this.#live().records(spec), this.records);
    return this.#iterate(nativeRecords);
  }

  /** The native log, or `ClosedError` once closed. */
  #live() {
    if (this.#closed) {
      throw closed(this.#live);
    }
    return this.#native;
  }

  /** Every record, oldest first. */
  [Symbol.iterator]() {
    return this.records();
  }

  *#iterate(nativeRecords) {
    for (;;) {
      this.#live();
      const view = attempt(() => nativeRecords.next(), this.records);
      if (view === null) {
        return;
      }
      yield record(view);
    }
  }

  /**
   * Rereads every record on another thread, checks each, recomputes the
   * tree and checks it against the latest persisted checkpoint. Resolves
   * with `{ records, firstBad, problem, checkpoint, root, ok }`; rejects
   * only when the check could not run.
   */
  async verify() {
    return report(await settled(() => this.#live().verify(), 'the verification', this.verify));
  }

  /** `verify` on this thread. */
  verifySync() {
    return report(attempt(() => this.#live().verifySync(), this.verifySync));
  }

  /**
   * `verify`, and also that the log extends `note`, an earlier checkpoint
   * of it kept elsewhere: catches truncation and rollback even when the
   * persisted checkpoint was replaced too. Rejects with `BadSignatureError`,
   * `MalformedError` or `InvalidArgumentError` when `note` is not a
   * checkpoint of this log's signer and origin.
   */
  async verifyAgainst(note) {
    string(note, 'note', this.verifyAgainst);
    const here = this.verifyAgainst;
    return report(await settled(() => this.#live().verifyAgainst(note), 'the verification', here));
  }

  /** `verifyAgainst` on this thread. */
  verifyAgainstSync(note) {
    string(note, 'note', this.verifyAgainstSync);
    return report(attempt(() => this.#live().verifyAgainstSync(note), this.verifyAgainstSync));
  }

  get closed() {
    return this.#closed;
  }

  /**
   * Lets go of the log: any later call throws `ClosedError`. A bus, an
   * authority or a pending operation holding it keeps it open until it is
   * done with it. Idempotent.
   */
  close() {
    this.#closed = true;
    this.#native.close();
  }

  [Symbol.dispose]() {
    this.close();
  }

  [inspect.custom]() {
    if (this.#closed) {
      return 'AuditLog <closed>';
    }
    return `AuditLog <${this.path ?? 'in memory'}, ${this.length} records>`;
  }

  static {
    nativeOfLog = (value) => (Object(value) === value && #native in value ? value.#native : undefined);
  }
}

/**
 * The native log and scope a bus or an authority records decisions with,
 * from its `audit` and `auditScope` options: `{ log: null }` without a
 * log, the scope `undefined` when not given (the addon's default then).
 */
function recording(given, stackStart) {
  const { audit } = given;
  const scope = given.auditScope ?? undefined;
  if (scope !== undefined && !SCOPES.has(scope)) {
    throw invalid(`auditScope must be 'denials' or 'all', got ${String(scope)}`, stackStart);
  }
  if (audit === undefined || audit === null) {
    if (scope !== undefined) {
      throw invalid('auditScope needs an audit log (the audit option)', stackStart);
    }
    return { log: null, scope };
  }
  const log = nativeOfLog(audit);
  if (log === undefined) {
    throw invalid('audit must be an AuditLog', stackStart);
  }
  return { log, scope };
}

/**
 * Checks that `leafHash` (32 bytes, `log.leafHash(index)` or `leafHash` of
 * the record's encoding) is record `index` of the tree of `size` records
 * whose root is `root`, given the inclusion `proof`. Returns nothing;
 * throws `BadSignatureError` when the proof does not lead to `root`,
 * `MalformedError` for a proof of the wrong length and
 * `InvalidArgumentError` for an index outside the tree.
 */
function verifyInclusion(leafHash, index, size, proof, root) {
  const here = verifyInclusion;
  bytes(leafHash, 'leafHash', here);
  const [i, n] = [position(index, 'index', here), position(size, 'size', here)];
  hashList(proof, 'proof', here);
  bytes(root, 'root', here);
  attempt(() => native.verifyInclusion(leafHash, i, n, proof, root), here);
}

/**
 * Checks that the tree of `oldSize` records with root `oldRoot` is a
 * prefix of the tree of `newSize` records with root `newRoot`, given the
 * consistency `proof`. Returns nothing; throws as `verifyInclusion` does.
 */
function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
  const here = verifyConsistency;
  const [m, n] = [position(oldSize, 'oldSize', here), position(newSize, 'newSize', here)];
  bytes(oldRoot, 'oldRoot', here);
  bytes(newRoot, 'newRoot', here);
  hashList(proof, 'proof', here);
  attempt(() => native.verifyConsistency(m, n, oldRoot, newRoot, proof), here);
}

/**
 * Verifies a signed checkpoint `note` with one trusted `verifierKey`
 * (`log.verifierKey`) and returns what it says: `{ origin, size, root }`.
 * Throws `BadSignatureError` when no signature by that key verifies and
 * `MalformedError` for a note or key that is not well formed. The origin
 * is returned, not checked.
 */
function verifyCheckpoint(note, verifierKey) {
  string(note, 'note', verifyCheckpoint);
  string(verifierKey, 'verifierKey', verifyCheckpoint);
  return attempt(() => native.verifyCheckpoint(note, verifierKey), verifyCheckpoint);
}

/** The RFC 9162 leaf hash of `leaf`: `SHA-256(0x00 || leaf)`, 32 bytes. */
function leafHash(leaf) {
  bytes(leaf, 'leaf', leafHash);
  return native.leafHash(leaf);
}

/** The canonical encoding of `record` stored at `index`: its Merkle leaf, byte for byte. */
function encodeRecord(entry, index) {
  const spec = recordSpec(entry, encodeRecord);
  const i = position(index, 'index', encodeRecord);
  return attempt(() => native.encodeRecord(spec, i), encodeRecord);
}

/** The core's limits on records, notes and proofs, in bytes (and hashes). */
const auditLimits = Object.freeze(native.auditLimits());

module.exports = {
  AuditLog,
  auditLimits,
  encodeRecord,
  filePath,
  hashList,
  leafHash,
  position,
  recording,
  report,
  settled,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
};
