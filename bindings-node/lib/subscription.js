'use strict';

const { classes, fromNative } = require('./errors.js');
const { failure, millis, options, signal } = require('./options.js');
const { END, Source } = require('./receive.js');

/** Marks the library's calls, so only a `Bus` makes a `Subscription`. */
const fromBus = Symbol('fromBus');

function timedOut(timeoutMs) {
  return new classes.TimeoutError(`no message arrived within ${timeoutMs} ms`);
}

function closed(stackStart) {
  return failure(classes.ClosedError, 'the subscription is closed', stackStart ?? closed);
}

/**
 * One subscription of a bus, made by `Bus.subscribe`. A pull subscription
 * (no handler) is read with `recv`, `tryRecv` or `for await`; a callback
 * subscription delivers to its handler, and its receiving methods throw
 * `InvalidArgumentError`.
 */
class Subscription {
  #source;
  #id;
  #closed = false;

  constructor(token, native) {
    if (token !== fromBus) {
      throw new TypeError('Subscription is not constructible: use bus.subscribe()');
    }
    this.#source = new Source(native);
    this.#id = native.id;
  }

  /** The id, unique within the bus (never reused). */
  get id() {
    return this.#id;
  }

  get pattern() {
    return this.#source.native.pattern;
  }

  /** Whether it has ended: closed here, by its bus closing, or by idle eviction. */
  get closed() {
    return this.#closed || this.#source.native.ended;
  }

  /** The next queued message, or `null` when none is queued. Never waits. */
  tryRecv() {
    if (this.#closed) {
      throw closed(this.tryRecv);
    }
    try {
      return this.#source.tryRecv();
    } catch (error) {
      throw fromNative(error, this.tryRecv);
    }
  }

  /**
   * The next message: at once when one is queued, otherwise when it
   * arrives (waiting on no thread; concurrent receives are served in the
   * order they were made). Rejects with `TimeoutError` after `timeoutMs`,
   * `ClosedError` once the subscription has ended, and an `AbortError` when
   * `signal` aborts, having taken nothing (see `lib/receive.js`).
   */
  async recv(opts) {
    const given = options(opts, 'options', this.recv, ['timeoutMs', 'signal']);
    const timeoutMs = millis(given.timeoutMs, 'timeoutMs', this.recv);
    const abort = signal(given.signal, this.recv);
    if (this.#closed) {
      throw closed(this.recv);
    }
    return this.#source.receive(timeoutMs, abort, () => timedOut(timeoutMs));
  }

  /**
   * Every message until the subscription or its bus closes. Each step takes
   * one queued message (never more: what the loop does not reach stays
   * queued, and counted) in a single turn of the microtask queue.
   */
  [Symbol.asyncIterator]() {
    const source = this.#source;
    let done = false;
    const iterator = {
      next: () => {
        if (done || this.#closed) {
          done = true;
          return Promise.resolve(END);
        }
        return source.next();
      },
      return: () => {
        done = true;
        return Promise.resolve(END);
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** The subscription's accounting; still available once it has ended. */
  stats() {
    return this.#source.native.stats();
  }

  /**
   * Ends the subscription: queued messages are dropped (and counted) and
   * pending receives reject with `ClosedError`. Idempotent.
   */
  close() {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    try {
      this.#source.native.close();
    } catch (error) {
      throw fromNative(error, this.close);
    }
  }

  [Symbol.dispose]() {
    this.close();
  }
}

/** A `Subscription` of the native subscription `native`. */
function subscription(native) {
  return new Subscription(fromBus, native);
}

module.exports = { Subscription, subscription };
