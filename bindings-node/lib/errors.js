'use strict';

const { statuses } = require('./native.js');

const PREFIX = 'CHARTER_E_';

/**
 * Base class of every error Charter throws. `code` is the stable status
 * name (`'CHARTER_E_DENIED'`), `status` the stable negative number, both the
 * same as in the C ABI and the other bindings.
 */
class CharterError extends Error {
  constructor(message, options) {
    super(message, options);
    // Own properties, as on Node's own errors, so that they show up when the
    // error is inspected or logged.
    this.code = new.target.code;
    this.status = new.target.status;
  }
}
Object.defineProperty(CharterError.prototype, 'name', {
  value: 'CharterError',
  writable: true,
  configurable: true,
});

/** `CHARTER_E_NOT_YET_VALID` -> `NotYetValidError`. */
function className(statusName) {
  const words = statusName.slice(PREFIX.length).toLowerCase().split('_');
  return words.map((w) => w[0].toUpperCase() + w.slice(1)).join('') + 'Error';
}

/** Error classes by class name, e.g. `{ DeniedError, ... }`. */
const classes = { CharterError };
/** Error classes by status name, for `fromNative`. */
const byStatusName = new Map();

// One subclass per status of the core's table, so a status added there
// needs no change here.
for (const { name: statusName, code } of statuses()) {
  const name = className(statusName);
  const ErrorClass = class extends CharterError {};
  Object.defineProperties(ErrorClass, {
    name: { value: name },
    code: { value: statusName, enumerable: true },
    status: { value: code, enumerable: true },
  });
  Object.defineProperty(ErrorClass.prototype, 'name', {
    value: name,
    writable: true,
    configurable: true,
  });
  classes[name] = ErrorClass;
  byStatusName.set(statusName, ErrorClass);
}

/**
 * The `CharterError` subclass for an error thrown by the addon, which
 * carries its status name in `code`; any other value is returned as is.
 * `stackStart` is the public method that failed: the stack starts there.
 */
function fromNative(error, stackStart) {
  const ErrorClass = byStatusName.get(error?.code);
  if (ErrorClass === undefined || error instanceof CharterError) {
    return error;
  }
  const translated = new ErrorClass(error.message);
  Error.captureStackTrace(translated, stackStart);
  return translated;
}

/**
 * Runs `body`, a call into the addon, and rethrows what it throws as its
 * `CharterError` with the stack starting at `stackStart`'s caller.
 */
function attempt(body, stackStart) {
  try {
    return body();
  } catch (error) {
    throw fromNative(error, stackStart);
  }
}

module.exports = { attempt, classes, fromNative };
