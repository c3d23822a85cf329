'use strict';

const { classes, fromNative } = require('./errors.js');
const { internal, libraryOnly } = require('./internal.js');
const { BATCH_MAX, describe, failure, invalid, millis, options, signal } = require('./options.js');
const { END, Source } = require('./receive.js');

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
  /**
   * The native bus that made it, held so that a reachable subscription
   * keeps its bus: a collected bus ends its handlers' gates, and a handler
   * whose gate has ended is never called again.
   */
  #bus;

  constructor(token, native, bus) {
    libraryOnly(token, 'Subscription', 'use bus.subscribe()');
    this.#source = new Source(native);
    this.#id = native.id;
    this.#bus = bus;
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
   * Up to `max` messages (1 to 65,536): waits for the next one as `recv`
   * does (with the same options and errors), then takes those already
   * queued behind it, without waiting, in one call into the core. Resolves
   * with an array of at least one message.
   */
  async recvMany(max, opts) {
    const here = this.recvMany;
    if (max === undefined || max === null) {
      throw failure(classes.NullArgumentError, 'max is required', here);
    }
    if (!Number.isSafeInteger(max) || max < 1) {
      throw invalid(`max must be an integer, 1 or more, got ${describe(max)}`, here);
    }
    if (max > BATCH_MAX) {
      throw failure(classes.LimitExceededError, `max is ${max}; a batch holds at most ${BATCH_MAX}`, here);
    }
    const given = options(opts, 'options', here, ['timeoutMs', 'signal']);
    const timeoutMs = millis(given.timeoutMs, 'timeoutMs', here);
    const abort = signal(given.signal, here);
    if (this.#closed) {
      throw closed(here);
    }
    return this.#source.receiveMany(max, timeoutMs, abort, () => timedOut(timeoutMs));
  }

  /**
   * Every message until the subscription or its bus closes. Each step takes
   * one queued message (never more: what the loop does not reach stays
   * queued, and counted) in a single turn of the microtask queue.
   */
  [Symbol.asyncIterator]() {
    return this.#iterator(null);
  }

  /**
   * `for await (const m of sub.messages({ signal }))`: the messages as
   * `for await (const m of sub)` gives them, until `signal` aborts: the
   * waiting step then rejects with an `AbortError`, having taken nothing,
   * and the loop ends (as with `events.on`). One signal may be shared by any
   * number of loops and receives.
   */
  messages(opts) {
    const given = options(opts, 'options', this.messages, ['signal']);
    return this.#iterator(signal(given.signal, this.messages));
  }

  #iterator(abort) {
    const source = this.#source;
    let done = false;
    const stop = (error) => {
      done = true;
      throw error;
    };
    const iterator = {
      next: () => {
        if (done || this.#closed) {
          done = true;
          return Promise.resolve(END);
        }
        return abort === null ? source.next(null) : source.next(abort).catch(stop);
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

/** A `Subscription` of the native subscription `native`, made by the native bus `bus`. */
function subscription(native, bus) {
  return new Subscription(internal, native, bus);
}

module.exports = { Subscription, subscription };
