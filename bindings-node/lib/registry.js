'use strict';

const { NativeRegistry } = require('./native.js');
const { classes, fromNative } = require('./errors.js');

/** An options bag: absent is `{}`, anything but an object is refused. */
function options(value, what) {
  if (value === undefined) {
    return {};
  }
  if (value === null || typeof value !== 'object') {
    throw new classes.InvalidArgumentError(`${what} must be an object`);
  }
  return value;
}

/**
 * A set of handlers notified together. Higher priority fires first, equal
 * priorities in registration order. A handler that throws is counted as
 * failed and its error goes to `onError`; the other handlers still run.
 */
class Registry {
  #native;
  /** The native `notify`, bound once: the hot path skips method lookup. */
  #notify;

  constructor(opts) {
    const { maxDepth, onError } = options(opts, 'options');
    try {
      this.#native = new NativeRegistry(maxDepth);
      this.#notify = this.#native.notifier();
      if (onError !== undefined) {
        this.#native.onError = onError;
      }
    } catch (error) {
      throw fromNative(error, Registry);
    }
  }

  register(handler, opts) {
    const { priority } = options(opts, 'options');
    try {
      return this.#native.register(handler, priority);
    } catch (error) {
      throw fromNative(error, this.register);
    }
  }

  unregister(id) {
    try {
      return this.#native.unregister(id);
    } catch (error) {
      throw fromNative(error, this.unregister);
    }
  }

  contains(id) {
    try {
      return this.#native.contains(id);
    } catch (error) {
      throw fromNative(error, this.contains);
    }
  }

  /** How many handlers are registered. */
  get size() {
    try {
      return this.#native.size;
    } catch (error) {
      throw fromNative(error);
    }
  }

  /** How deeply `notify` may nest on one thread (set at construction). */
  get maxDepth() {
    try {
      return this.#native.maxDepth;
    } catch (error) {
      throw fromNative(error);
    }
  }

  clear() {
    try {
      this.#native.clear();
    } catch (error) {
      throw fromNative(error, this.clear);
    }
  }

  /**
   * Calls every handler with `event`, synchronously, and reports how they
   * fared. Throws `LimitExceededError` past the nesting bound.
   */
  notify(event) {
    let outcome;
    try {
      outcome = this.#notify(event);
    } catch (error) {
      throw fromNative(error, this.notify);
    }
    // The addon returns a bare count when every handler succeeded, so the
    // common case builds this object here, where it is cheapest.
    return typeof outcome === 'number'
      ? { delivered: outcome, failed: 0, panicked: 0 }
      : outcome;
  }

  /** `(handlerId, error) => void`, called for every handler that throws. */
  get onError() {
    try {
      return this.#native.onError;
    } catch (error) {
      throw fromNative(error);
    }
  }

  set onError(hook) {
    try {
      this.#native.onError = hook;
    } catch (error) {
      throw fromNative(error);
    }
  }

  get closed() {
    return this.#native.closed;
  }

  /**
   * Releases every handler and the `onError` hook; any later call throws
   * `ClosedError`. Closing again does nothing.
   */
  close() {
    try {
      this.#native.close();
    } catch (error) {
      throw fromNative(error, this.close);
    }
  }

  [Symbol.dispose]() {
    this.close();
  }
}

module.exports = { Registry };
