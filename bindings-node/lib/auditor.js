'use strict';

// The auditor's path: `verifyLog` and `LogView` only read a log file and
// its checkpoint and take no lock, so they work on a read-only file and
// beside a live writer (they see the complete records there are). What is
// trusted and what counts as a problem is decided by the core.

const { inspect } = require('node:util');

const { internal, libraryOnly } = require('./internal.js');
const native = require('./native.js');
const { attempt } = require('./errors.js');
const { filePath, position, report, settled } = require('./audit.js');
const { count, invalid, options, string } = require('./options.js');

const { NativeLogView } = native;

/** What `verifyLog` trusts, as the addon takes it (`src/auditor.rs`). */
function verifySpec(verifyOptions, stackStart) {
  const given = options(verifyOptions, 'options', stackStart, [
    'logKey', 'allowMissingCheckpoint', 'against', 'witnesses', 'quorum', 'state',
  ]);
  const text = (value, what) => (value === undefined || value === null ? undefined : string(value, what, stackStart));
  const { witnesses } = given;
  if (witnesses !== undefined && witnesses !== null) {
    if (!Array.isArray(witnesses)) {
      throw invalid('witnesses must be an array of cosigner verifier keys', stackStart);
    }
    witnesses.forEach((key) => string(key, 'each witness key', stackStart));
  }
  const allow = given.allowMissingCheckpoint;
  if (allow !== undefined && allow !== null && typeof allow !== 'boolean') {
    throw invalid('allowMissingCheckpoint must be a boolean', stackStart);
  }
  return {
    logKey: text(given.logKey, 'logKey'),
    allowMissingCheckpoint: allow ?? undefined,
    against: text(given.against, 'against'),
    witnesses: witnesses ?? undefined,
    quorum: count(given.quorum, 'quorum', stackStart),
    state: given.state === undefined || given.state === null ? undefined : filePath(given.state, stackStart),
  };
}

/**
 * Verifies the log file at `path` on another thread without writing to it
 * or locking it; memory stays bounded however long the log. Options:
 * `logKey` (the persisted checkpoint must verify and be extended),
 * `allowMissingCheckpoint`, `against` (an earlier note), `witnesses` and
 * `quorum` (cosigner keys, and how many must have cosigned), `state` (a
 * trust state file). Resolves with the report; rejects only when the check
 * could not run.
 */
async function verifyLog(path, verifyOptions) {
  const file = filePath(path, verifyLog);
  const spec = verifySpec(verifyOptions, verifyLog);
  return report(await settled(() => native.verifyLog(file, spec), 'the verification', verifyLog));
}

/** `verifyLog` on this thread. */
function verifyLogSync(path, verifyOptions) {
  const file = filePath(path, verifyLogSync);
  const spec = verifySpec(verifyOptions, verifyLogSync);
  return report(attempt(() => native.verifyLogSync(file, spec), verifyLogSync));
}

/** A read-only snapshot of a log file, for proofs. Made by `LogView.open` or `LogView.openSync`. */
class LogView {
  #native;

  constructor(token, nativeView) {
    libraryOnly(token, 'LogView', 'use LogView.open()');
    this.#native = nativeView;
  }

  /** Reads the complete records of the log at `path` on another thread. */
  static async open(path) {
    const file = filePath(path, LogView.open);
    return new LogView(internal, await settled(() => NativeLogView.open(file), 'the open', LogView.open));
  }

  /** `open` on this thread. */
  static openSync(path) {
    const file = filePath(path, LogView.openSync);
    return new LogView(internal, attempt(() => NativeLogView.openSync(file), LogView.openSync));
  }

  /** The number of records read. */
  get length() {
    return this.#native.length;
  }

  /** The Merkle root of the records read (a new `Buffer` on every read). */
  get root() {
    return this.#native.root();
  }

  /** The Merkle root of the first `size` records. */
  rootAt(size) {
    const n = position(size, 'size', this.rootAt);
    return attempt(() => this.#native.rootAt(n), this.rootAt);
  }

  /** The leaf hash of record `index`. */
  leafHash(index) {
    const i = position(index, 'index', this.leafHash);
    return attempt(() => this.#native.leafHash(i), this.leafHash);
  }

  /** As `AuditLog.proveInclusion`. */
  proveInclusion(index, size) {
    const here = this.proveInclusion;
    const [i, n] = [position(index, 'index', here), position(size, 'size', here)];
    return attempt(() => this.#native.proveInclusion(i, n), here);
  }

  /** As `AuditLog.proveConsistency`. */
  proveConsistency(oldSize, newSize) {
    const here = this.proveConsistency;
    const [m, n] = [position(oldSize, 'oldSize', here), position(newSize, 'newSize', here)];
    return attempt(() => this.#native.proveConsistency(m, n), here);
  }

  /** The persisted checkpoint note (`<path>.checkpoint`), read now, or `null`. */
  checkpoint() {
    return attempt(() => this.#native.checkpoint(), this.checkpoint) ?? null;
  }

  [inspect.custom]() {
    return `LogView <${this.length} records>`;
  }
}

module.exports = { LogView, verifyLog, verifyLogSync };
