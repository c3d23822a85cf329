'use strict';

// Witnessed checkpoints, C2SP tlog-cosignature (cosignature/v1, Ed25519).
// A witness cosigns a log's checkpoint only when a consistency proof shows
// that it extends the last one it cosigned for that log, so a verifier
// requiring k witnesses accepts a split view only if k of them collude.
// Every check is the core's.

const { inspect } = require('node:util');

const { internal, libraryOnly } = require('./internal.js');
const native = require('./native.js');
const { attempt } = require('./errors.js');
const { filePath, hashList, position, settled } = require('./audit.js');
const { nativePair } = require('./keys.js');
const { count, invalid, options, required, string, unixSeconds } = require('./options.js');

const { NativeWitness } = native;

/** An array of strings argument. */
function strings(value, what, stackStart) {
  if (!Array.isArray(required(value, what, stackStart))) {
    throw invalid(`${what} must be an array of strings`, stackStart);
  }
  value.forEach((item) => string(item, `each of ${what}`, stackStart));
  return value;
}

/** A `timestamp` option: seconds (or a `Date`) after the epoch; 0 for now. */
function timestampOption(given, stackStart) {
  const { timestamp } = options(given, 'options', stackStart, ['timestamp']);
  if (timestamp === undefined || timestamp === null) {
    return 0;
  }
  const seconds = unixSeconds(timestamp, 'timestamp', stackStart);
  if (seconds === 0) {
    throw invalid('timestamp must be after the Unix epoch', stackStart);
  }
  return seconds;
}

/**
 * A witness keeping, in its state file, the last checkpoint it cosigned
 * for each log it trusts. Made by `Witness.open`.
 */
class Witness {
  #native;

  constructor(token, nativeWitness) {
    libraryOnly(token, 'Witness', 'use Witness.open()');
    this.#native = nativeWitness;
  }

  /**
   * A witness named `name` signing with `key`, keeping its state in the
   * file `state` (created 0600 on first use, locked while used), trusting
   * the logs whose note verifier keys are `logs`. Touches no file yet.
   */
  static open(state, witnessOptions) {
    const here = Witness.open;
    const file = filePath(state, here);
    const given = options(required(witnessOptions, 'options', here), 'options', here, ['name', 'key', 'logs']);
    const name = string(given.name, 'name', here);
    const key = nativePair(given.key, 'key', here);
    const logs = strings(given.logs, 'logs', here);
    return new Witness(internal, attempt(() => NativeWitness.open(file, name, key, logs), here));
  }

  /** The witness's cosigner verifier key (type 0x04), for verifiers. */
  get verifierKey() {
    return this.#native.verifierKey;
  }

  /** The witness's name. */
  get name() {
    return this.#native.name;
  }

  /**
   * Checks `note` against the last checkpoint cosigned for its log with the
   * consistency `proof` from `oldSize`, records it, and resolves with the
   * cosignature line to append to the note (timestamped now, or at the
   * `timestamp` option). Rejects as C2SP tlog-witness refuses:
   * `NotFoundError` (unknown log), `BadSignatureError` (not the log's key),
   * `DeniedError` (`oldSize` is not the size it holds; see `latest`),
   * `CorruptError` (the proof fails: a split view).
   */
  async addCheckpoint(oldSize, proof, note, addOptions) {
    const here = this.addCheckpoint;
    const m = position(oldSize, 'oldSize', here);
    const [hashes, text] = [hashList(proof, 'proof', here), string(note, 'note', here)];
    const at = timestampOption(addOptions, here);
    return settled(() => this.#native.addCheckpoint(m, hashes, text, at), 'the cosignature', here);
  }

  /** `addCheckpoint` on this thread. */
  addCheckpointSync(oldSize, proof, note, addOptions) {
    const here = this.addCheckpointSync;
    const m = position(oldSize, 'oldSize', here);
    const [hashes, text] = [hashList(proof, 'proof', here), string(note, 'note', here)];
    const at = timestampOption(addOptions, here);
    return attempt(() => this.#native.addCheckpointSync(m, hashes, text, at), here);
  }

  /** `{ size, root }` of the last checkpoint cosigned for `origin`, or `null`. */
  latest(origin) {
    string(origin, 'origin', this.latest);
    return attempt(() => this.#native.latest(origin), this.latest) ?? null;
  }

  [inspect.custom]() {
    return `Witness <${this.name}>`;
  }
}

/** The cosigner verifier key of witness `name` with `key`: `<name>+<key id>+<base64(0x04 || key)>`. */
function cosignerKey(name, key) {
  string(name, 'name', cosignerKey);
  const pair = nativePair(key, 'key', cosignerKey);
  return attempt(() => native.cosignerKey(name, pair), cosignerKey);
}

/**
 * The cosignature line of witness `name` with `key` over the checkpoint in
 * `note` at `timestamp` (a `Date` or seconds). The caller is the witness
 * and has checked the checkpoint; `Witness.addCheckpoint` does both.
 */
function cosign(note, name, key, timestamp) {
  string(note, 'note', cosign);
  string(name, 'name', cosign);
  const pair = nativePair(key, 'key', cosign);
  const at = unixSeconds(timestamp, 'timestamp', cosign);
  return attempt(() => native.cosign(note, name, pair, at), cosign);
}

/**
 * Verifies that `note` is signed by `logKey` and cosigned by at least
 * `quorum` distinct witnesses among `witnesses` (cosigner keys); returns
 * `{ checkpoint, witnesses, timestamps }`. A witness counts once however
 * often its line appears. Throws `BadSignatureError` for too few, or a
 * trusted line that does not verify.
 */
function verifyCosigned(note, logKey, witnesses, quorum) {
  const here = verifyCosigned;
  string(note, 'note', here);
  string(logKey, 'logKey', here);
  strings(witnesses, 'witnesses', here);
  const k = count(required(quorum, 'quorum', here), 'quorum', here);
  return attempt(() => native.verifyCosigned(note, logKey, witnesses, k), here);
}

/** The body of a C2SP tlog-witness `add-checkpoint` request. */
function witnessRequest(oldSize, proof, note) {
  const here = witnessRequest;
  const m = position(oldSize, 'oldSize', here);
  hashList(proof, 'proof', here);
  string(note, 'note', here);
  return attempt(() => native.witnessRequest(m, proof, note), here);
}

/** An `add-checkpoint` request body as `{ oldSize, proof, note }`. */
function parseWitnessRequest(body) {
  string(body, 'body', parseWitnessRequest);
  return attempt(() => native.parseWitnessRequest(body), parseWitnessRequest);
}

module.exports = { Witness, cosign, cosignerKey, parseWitnessRequest, verifyCosigned, witnessRequest };
