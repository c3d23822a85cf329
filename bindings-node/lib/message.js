'use strict';

// Bound here: the global `Buffer` is a getter, which costs about 10 ns per
// use on a hot path (a view per message).
const { Buffer } = require('node:buffer');
const { isAnyArrayBuffer, isUint8Array } = require('node:util/types');

const { classes } = require('./errors.js');
const { internal, libraryOnly } = require('./internal.js');
const { failure, invalid, wellFormed } = require('./options.js');

/**
 * Where the addon writes payloads of up to 4095 bytes, for `message` to copy
 * out at once into a slice of Node's `Buffer` pool: far cheaper than a
 * `Buffer` made by the addon (see `src/message.rs`). One per thread: every
 * bus of this thread uses it, and a copy is taken before anything can
 * write it again.
 */
const scratch = Buffer.allocUnsafeSlow(4096);

/**
 * One message received from a bus. `payload` is a `Buffer` of its own (a
 * string payload arrives as its UTF-8 bytes); `headers` are `[name, value]`
 * pairs in the order they were published, duplicates kept.
 */
class Message {
  constructor(token, seq, topic, payload, headers, replyTo) {
    libraryOnly(token, 'Message', 'messages come from a Bus');
    /** The bus-wide sequence number, increasing in publish order (exact up to 2^53). */
    this.seq = seq;
    this.topic = topic;
    this.payload = payload;
    this.headers = pairs(headers);
    /** The reply inbox when the message is a request, else `null`. */
    this.replyTo = replyTo;
  }

  /** The value of the first header called `name`, or `undefined`. */
  header(name) {
    for (const [key, value] of this.headers) {
      if (key === name) {
        return value;
      }
    }
    return undefined;
  }
}

/** `[name, value, ...]` (as the addon sends headers), or `null`, to pairs. */
function pairs(flat) {
  const result = [];
  if (flat !== null) {
    for (let i = 0; i < flat.length; i += 2) {
      result.push([flat[i], flat[i + 1]]);
    }
  }
  return result;
}

/**
 * A `Message` from its parts as the addon passes them (`src/message.rs`):
 * the addon calls this to hand messages over. `payload` is a `Buffer`, or
 * the length of the bytes waiting in `scratch`.
 */
function message(seq, topic, payload, headers, replyTo) {
  let bytes = payload;
  if (typeof payload === 'number') {
    bytes = Buffer.allocUnsafe(payload);
    scratch.copy(bytes, 0, 0, payload);
  }
  return new Message(internal, seq, topic, bytes, headers, replyTo);
}

/**
 * A payload of a batch: a `Buffer` over its slice of the batch's bytes,
 * made as Node makes its own (a `Uint8Array` whose prototype chain holds
 * `Buffer.prototype`, so `Buffer.isBuffer`, `instanceof Buffer` and every
 * `Buffer` method hold), by the typed array constructor alone:
 * `Buffer.from(arrayBuffer, offset, length)` checks its arguments in JS
 * first, about 10 ns more a view (28 against 18 in a loop written for the
 * purpose), on a path that makes one view per message.
 */
class BatchPayload extends Uint8Array {}
Object.setPrototypeOf(BatchPayload.prototype, Buffer.prototype);
// As Node's own: `constructor` is `Buffer`, which `inspect` names and
// `subarray` makes its views with.
BatchPayload.prototype.constructor = Buffer;

/** Numbers before the first message's, and per message (`src/packed.rs`). */
const HEADER = 2;
const PER_MESSAGE = 3;
/** Room for the payloads of a batch; what does not fit comes as a ready-made `Message`. */
const BATCH_BYTES = 65536;

/**
 * Where the addon writes a batch (`src/packed.rs` has the layout): the
 * numbers, read through `batchNumbers`, then the payloads. Grown for the
 * largest `max` asked for so far; one per thread, like `scratch`, and read
 * out before anything can write it again.
 */
let batch = null;
let batchNumbers = null;

/** The batch buffer, with numbers for at least `max` messages. */
function batchBuffer(max) {
  const numbers = HEADER + PER_MESSAGE * max;
  if (batchNumbers === null || batchNumbers.length < numbers) {
    let room = 64;
    while (HEADER + PER_MESSAGE * room < numbers) {
      room *= 2;
    }
    const length = HEADER + PER_MESSAGE * room;
    batch = Buffer.allocUnsafeSlow(8 * length + BATCH_BYTES);
    batchNumbers = new Float64Array(batch.buffer, 0, length);
  }
  return batch;
}

/**
 * Up to `max` queued messages appended to `into`, taken by `take`, the
 * addon's batch receiver, in one call: the `Message`s are made here from
 * the numbers and payloads it wrote. The payloads are copied out once, to
 * a `Buffer` of the batch's own, and each message's payload is its slice
 * of it (slices never overlap). Returns how many were taken.
 */
function unpack(take, max, into) {
  const buffer = batchBuffer(max);
  const items = take(max, buffer);
  const numbers = batchNumbers;
  const count = numbers[0];
  const used = numbers[1];
  const start = 8 * (HEADER + PER_MESSAGE * max);
  const bytes = Buffer.allocUnsafe(used);
  buffer.copy(bytes, 0, start, start + used);
  // Views made on the bytes' `ArrayBuffer` directly: `subarray` costs
  // more than twice as much, through the species constructor.
  const shared = bytes.buffer;
  let offset = bytes.byteOffset;
  for (let i = 0; i < count; i++) {
    const at = HEADER + PER_MESSAGE * i;
    const item = items[numbers[at + 2]];
    const length = numbers[at + 1];
    if (length < 0) {
      into.push(item);
    } else {
      into.push(new Message(internal, numbers[at], item, new BatchPayload(shared, offset, length), null, null));
      offset += length;
    }
  }
  return count;
}

/**
 * A payload as the addon takes it: a string (sent as UTF-8) or a
 * `Uint8Array`. Any other `ArrayBufferView` (a `DataView`, a
 * `Float64Array`) or an `ArrayBuffer` is sent as its bytes, through a view
 * that copies nothing.
 */
function payload(value, stackStart) {
  if (typeof value === 'string') {
    return wellFormed(value, 'payload', stackStart);
  }
  if (value instanceof Uint8Array || isUint8Array(value)) {
    return value;
  }
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (isAnyArrayBuffer(value)) {
    return new Uint8Array(value);
  }
  if (value === undefined || value === null) {
    throw failure(classes.NullArgumentError, 'payload is required', stackStart);
  }
  throw invalid(`payload must be a string, an ArrayBufferView or an ArrayBuffer, got ${typeof value}`, stackStart);
}

/**
 * Headers as the addon takes them, `[name, value, ...]`, from an object of
 * names to values or an iterable of `[name, value]` pairs (such as a `Map`);
 * `undefined` when absent. The core checks the names and values.
 */
function headers(value, stackStart) {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'object') {
    throw invalid('headers must be an object or an iterable of [name, value] pairs', stackStart);
  }
  const entries = Symbol.iterator in value ? value : Object.entries(value);
  const flat = [];
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw invalid('each header must be a [name, value] pair', stackStart);
    }
    const [name, text] = entry;
    if (typeof name !== 'string' || typeof text !== 'string') {
      throw invalid(`header names and values must be strings (header ${String(name)})`, stackStart);
    }
    flat.push(wellFormed(name, 'a header name', stackStart), wellFormed(text, 'a header value', stackStart));
  }
  return flat;
}

module.exports = { Message, headers, message, payload, scratch, unpack };
