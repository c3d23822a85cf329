'use strict';

const { isAnyArrayBuffer, isUint8Array } = require('node:util/types');

const { classes } = require('./errors.js');
const { failure, invalid, wellFormed } = require('./options.js');

/** Marks the library's calls, so only the library makes a `Message`. */
const fromBus = Symbol('fromBus');

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
    if (token !== fromBus) {
      throw new TypeError('Message is not constructible: messages come from a Bus');
    }
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
  return new Message(fromBus, seq, topic, bytes, headers, replyTo);
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

module.exports = { Message, headers, message, payload, scratch };
