'use strict';

// The payloads of a batch (`publishMany`) packed for the addon: one buffer
// holding their lengths, as native-endian 32-bit numbers, then their bytes
// one after another (`src/message.rs`'s `batch_payloads` reads it). The
// addon then reads one value for the whole batch, where reading each
// payload would cost two calls across Node-API per message.
//
// The buffer is kept and reused by the next batch, so a warm batch makes
// no JS object of its own. A batch holds it until the addon has read it:
// one published meanwhile (by an inline handler, which runs inside the
// publish) packs into a buffer of its own.

// Bound here: the global `Buffer` is a getter (see `lib/message.js`).
const { Buffer } = require('node:buffer');

const { classes } = require('./errors.js');
const { payload: checkPayload } = require('./message.js');
const { BATCH_MAX, failure, invalid } = require('./options.js');

/**
 * What a kept buffer may grow to; past it, the buffer is let go after the
 * batch, so one batch of large payloads does not hold its size for good.
 */
const KEPT_BYTES = 1 << 20;

/**
 * `byteLength` as the typed array itself knows it: safe from a subclass's
 * getter, and cheaper than the property, which V8 does not inline here.
 */
const byteLengthOf = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'byteLength').get;

/**
 * `set` as the typed array itself has it, called on the buffer: V8 (Node
 * 20) looks `buffer.set` up through a generic load on every call, about 85
 * instructions a payload under callgrind, where a known function is called
 * directly.
 */
const setBytes = Object.getPrototypeOf(Uint8Array.prototype).set;

/** A growing buffer for packed batches. */
class Packer {
  buffer = Buffer.alloc(0);
  /** The buffer's first bytes as 32-bit numbers: the lengths. */
  lengths = new Uint32Array(0);

  /**
   * Packs the first `count` of `payloads`, each checked as `publish` checks one, and returns the
   * buffer; a bad payload throws with nothing packed for the addon.
   */
  pack(payloads, count, stackStart) {
    let offset = 4 * count;
    this.#reserve(offset, 0);
    for (let i = 0; i < count; i++) {
      let body;
      try {
        body = checkPayload(payloads[i], stackStart);
      } catch (error) {
        throw failure(error.constructor, `payloads[${i}]: ${error.message}`, stackStart);
      }
      if (typeof body === 'string') {
        const length = Buffer.byteLength(body);
        this.#reserve(offset + length, offset);
        this.buffer.write(body, offset);
        this.lengths[i] = length;
        offset += length;
      } else {
        const length = byteLengthOf.call(body);
        this.#reserve(offset + length, offset);
        setBytes.call(this.buffer, body, offset);
        this.lengths[i] = length;
        offset += length;
      }
    }
    return this.buffer;
  }

  /** Room for `needed` bytes, the first `used` kept. */
  #reserve(needed, used) {
    if (needed <= this.buffer.length) {
      return;
    }
    let size = Math.max(4096, this.buffer.length);
    while (size < needed) {
      size *= 2;
    }
    // A buffer of its own: the lengths' view starts at a multiple of 4.
    const grown = Buffer.allocUnsafeSlow(size);
    this.buffer.copy(grown, 0, 0, used);
    this.buffer = grown;
    this.lengths = new Uint32Array(grown.buffer, 0, size >>> 2);
  }
}

/** The kept packer, and whether a batch holds it. */
let kept = new Packer();
let held = false;

/**
 * Calls `send(packed, count)` with `payloads` packed (see the module
 * comment), checked first as the `payloads` argument of `publishMany`;
 * returns what it returns.
 */
function withPacked(payloads, stackStart, send) {
  if (payloads === undefined || payloads === null) {
    throw failure(classes.NullArgumentError, 'payloads is required', stackStart);
  }
  if (!Array.isArray(payloads)) {
    throw invalid(`payloads must be an array, got ${typeof payloads}`, stackStart);
  }
  // Read once: what the addon is told must be what was packed.
  const count = payloads.length;
  if (count > BATCH_MAX) {
    throw failure(
      classes.LimitExceededError,
      `payloads has ${count} items; a batch holds at most ${BATCH_MAX}`,
      stackStart,
    );
  }
  if (held) {
    return send(new Packer().pack(payloads, count, stackStart), count);
  }
  held = true;
  try {
    return send(kept.pack(payloads, count, stackStart), count);
  } finally {
    held = false;
    if (kept.buffer.length > KEPT_BYTES) {
      kept = new Packer();
    }
  }
}

module.exports = { withPacked };
