'use strict';

// Argument checks shared by the public classes. `null` and `undefined` both
// mean "not given" for optional arguments (an options bag itself must be an
// object when passed). The addon trusts what passes these checks
// (`src/options.rs`); the core then checks the limits themselves.

const { isDate, isUint8Array } = require('node:util/types');

const { classes } = require('./errors.js');

/** A `CharterError` whose stack starts at the caller of `stackStart`. */
function failure(ErrorClass, message, stackStart) {
  const error = new ErrorClass(message);
  Error.captureStackTrace(error, stackStart ?? failure);
  return error;
}

function invalid(message, stackStart) {
  return failure(classes.InvalidArgumentError, message, stackStart ?? invalid);
}

/** How a value shows in an error message. */
function describe(value) {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * An options bag: absent is `{}`; anything but an object, `null` too, is
 * refused, and so is a key not in `known`: a misspelt option would
 * otherwise be silently ignored.
 */
function options(value, what, stackStart, known) {
  if (value === undefined) {
    return {};
  }
  if (value === null || typeof value !== 'object') {
    throw invalid(`${what} must be an object`, stackStart);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw invalid(
        `${what} has an unknown key ${JSON.stringify(key)}; the keys are ${known.join(', ')}`,
        stackStart ?? options,
      );
    }
  }
  return value;
}

/** A value of `typeof` `type`, or `undefined` when absent. */
function optionalOfType(value, type, what, stackStart) {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== type) {
    throw invalid(`${what} must be a ${type}, got ${typeof value}`, stackStart);
  }
  return value;
}

/** A function argument: `null` when absent. */
function optionalFunction(value, what, stackStart) {
  return optionalOfType(value, 'function', what, stackStart) ?? null;
}

/** A boolean field: `undefined` when absent. */
function optionalBoolean(value, what, stackStart) {
  return optionalOfType(value, 'boolean', what, stackStart);
}

/** A non-negative integer, or `undefined` when absent. */
function count(value, what, stackStart) {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${what} must be a non-negative integer, got ${describe(value)}`, stackStart);
  }
  return value;
}

/** A duration in milliseconds (`Infinity`: no limit), or `undefined`. */
function millis(value, what, stackStart) {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'number' || !(value >= 0)) {
    throw invalid(`${what} must be a number of milliseconds, 0 or more, got ${describe(value)}`, stackStart);
  }
  return value;
}

/** A lone UTF-16 surrogate: half of a pair, without its other half. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Refuses a string with a lone surrogate with `InvalidUtf8Error`: it has no
 * UTF-8 form, and Node's conversion would replace it with U+FFFD, so that
 * `'x.\ud800'` and `'x.\udfff'` would silently become the same topic.
 */
function wellFormed(value, what, stackStart) {
  if (!value.isWellFormed()) {
    const at = value.search(LONE_SURROGATE);
    throw failure(
      classes.InvalidUtf8Error,
      `${what} is not valid Unicode: a lone surrogate at index ${at} has no UTF-8 form`,
      stackStart ?? wellFormed,
    );
  }
  return value;
}

/** A string argument such as a topic; missing is a `NullArgumentError`. */
function string(value, what, stackStart) {
  if (typeof required(value, what, stackStart ?? string) !== 'string') {
    throw invalid(`${what} must be a string, got ${typeof value}`, stackStart);
  }
  return wellFormed(value, what, stackStart);
}

/** An `AbortSignal` (checked by shape, so any realm's will do), or `null`. */
function signal(value, stackStart) {
  if (value === undefined || value === null) {
    return null;
  }
  if (typeof value.aborted !== 'boolean' || typeof value.addEventListener !== 'function') {
    throw invalid('signal must be an AbortSignal', stackStart);
  }
  return value;
}

/** A required argument: `null` and `undefined` are a `NullArgumentError`. */
function required(value, what, stackStart) {
  if (value === undefined || value === null) {
    throw failure(classes.NullArgumentError, `${what} is required`, stackStart ?? required);
  }
  return value;
}

/** Bytes: a `Uint8Array`, `Buffer` included. */
function bytes(value, what, stackStart) {
  if (!isUint8Array(required(value, what, stackStart))) {
    throw invalid(`${what} must be a Buffer or Uint8Array, got ${typeof value}`, stackStart);
  }
  return value;
}

/** 9999-12-31T23:59:59Z, the last second a `Date` prints with four digits. */
const LAST_SECOND = 253_402_300_799;

/**
 * A point in time as the core takes it, in whole seconds since the Unix
 * epoch: from a `Date` (rounded down to the second) or such a number. A
 * number past the year 9999 is refused: it is milliseconds (`Date.now()`),
 * which would make a time some 55,000 years away.
 */
function unixSeconds(value, what, stackStart) {
  if (isDate(required(value, what, stackStart))) {
    const ms = value.getTime();
    if (!(ms >= 0)) {
      throw invalid(`${what} must be a valid Date, not before 1970, got ${String(value)}`, stackStart);
    }
    return Math.floor(ms / 1000);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalid(
      `${what} must be a Date or a whole number of seconds since the Unix epoch, got ${describe(value)}`,
      stackStart,
    );
  }
  if (value > LAST_SECOND) {
    throw invalid(
      `${what} is ${value} seconds since the Unix epoch, after the year 9999: ` +
        'milliseconds such as Date.now()? Pass a Date, or seconds',
      stackStart,
    );
  }
  return value;
}

/**
 * A point in time in milliseconds since the Unix epoch, as audit records
 * keep it: from a `Date` or such a number.
 */
function unixMillis(value, what, stackStart) {
  if (isDate(required(value, what, stackStart))) {
    const ms = value.getTime();
    if (!(ms >= 0)) {
      throw invalid(`${what} must be a valid Date, not before 1970, got ${String(value)}`, stackStart);
    }
    return ms;
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalid(
      `${what} must be a Date or a whole number of milliseconds since the Unix epoch, got ${describe(value)}`,
      stackStart,
    );
  }
  if (value > LAST_SECOND * 1000 + 999) {
    throw invalid(
      `${what} is ${value} milliseconds since the Unix epoch, after the year 9999: microseconds? ` +
        'Pass a Date, or milliseconds such as Date.now()',
      stackStart,
    );
  }
  return value;
}

/** The most messages one batch call (`publishMany`, `recvMany`) handles, as in the C ABI. */
const BATCH_MAX = 65536;

module.exports = {
  BATCH_MAX,
  bytes,
  describe,
  count,
  failure,
  invalid,
  millis,
  optionalBoolean,
  optionalFunction,
  options,
  required,
  signal,
  string,
  unixMillis,
  unixSeconds,
  wellFormed,
};
