'use strict';

const { NativeBus } = require('./native.js');
const { classes, fromNative } = require('./errors.js');
const {
  Message,
  headers: flatHeaders,
  message,
  payload: checkPayload,
  scratch,
} = require('./message.js');
const { AbortError, Source, receive } = require('./receive.js');
const { subscription } = require('./subscription.js');

const {
  count,
  failure,
  invalid,
  millis,
  optionalFunction,
  options,
  signal,
  string,
} = require('./options.js');

/** How long `request` waits for a reply unless told otherwise. */
const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

const LIMITS = [
  'maxSubscriptions',
  'maxQueueMessages',
  'maxQueueBytes',
  'maxPayload',
  'maxTopicLen',
  'maxTopicTokens',
  'maxHeaders',
  'maxHeaderBytes',
];

const OVERFLOWS = new Set(['dropOldest', 'dropNewest', 'error']);

function closed(stackStart) {
  return failure(classes.ClosedError, 'the bus is closed', stackStart ?? closed);
}

/** `{ matched, delivered, dropped }` from what the addon returns. */
function report(outcome) {
  return typeof outcome === 'number'
    ? { matched: outcome, delivered: outcome, dropped: 0 }
    : outcome;
}

/** Subscribe options as the addon takes them (`src/options.rs`). */
function subscribeSpec(given, stackStart) {
  const spec = {
    capacity: count(given.capacity, 'capacity', stackStart),
    maxBytes: count(given.maxBytes, 'maxBytes', stackStart),
    ttlMs: millis(given.ttlMs, 'ttlMs', stackStart),
    idleTtlMs: millis(given.idleTtlMs, 'idleTtlMs', stackStart),
  };
  const { overflow } = given;
  if (typeof overflow === 'string' && OVERFLOWS.has(overflow)) {
    spec.overflow = overflow;
  } else if (typeof overflow === 'object' && overflow !== null && 'block' in overflow) {
    spec.overflow = 'block';
    spec.blockMs = millis(overflow.block, 'overflow.block', stackStart);
    if (spec.blockMs === undefined) {
      throw invalid('overflow.block must be a number of milliseconds (Infinity: no limit)', stackStart);
    }
  } else if (overflow !== undefined && overflow !== null) {
    throw invalid(
      "overflow must be 'dropOldest', 'dropNewest', 'error' or { block: ms }",
      stackStart,
    );
  }
  return spec;
}

/**
 * What a bus shares with its guarded handlers: the `onError` hook. It
 * leads nowhere else on purpose: the native bus holds the guarded handlers
 * strongly, so a path from them back to the bus would keep an unclosed bus
 * alive forever.
 */
class Dispatch {
  onError = null;

  /** Passes what the handler of subscription `id` threw to `onError`. */
  failed(id, error, received) {
    const hook = this.onError;
    if (hook === null) {
      return;
    }
    try {
      hook(id, error, received);
    } catch {
      // Swallowed: the hook must not affect delivery, and the library
      // never prints.
    }
  }
}

/**
 * `handler` as the addon calls it (see `src/handler.rs`): with a message's
 * parts, the payload `null` for a delivery that can no longer be made;
 * returns whether the handler returned normally, and never throws. Its `id`
 * is set once the subscription exists; no delivery can come before (same
 * thread).
 */
function guard(handler, dispatch) {
  const guarded = (seq, topic, payload, headers, replyTo) => {
    if (payload === null) {
      return false;
    }
    const received = message(seq, topic, payload, headers, replyTo);
    try {
      handler(received);
      return true;
    } catch (error) {
      dispatch.failed(guarded.id, error, received);
      return false;
    }
  };
  guarded.id = 0;
  return guarded;
}

/**
 * A topic bus: NATS-style topics and wildcards, bounded queues with
 * explicit overflow policies, request/reply, exact accounting.
 */
class Bus {
  #native;
  /** The native publish function, made once: the hot path. */
  #publish;
  #dispatch = new Dispatch();
  #closed = false;

  constructor(limits) {
    const given = options(limits, 'options', Bus);
    const spec = {};
    for (const name of LIMITS) {
      spec[name] = count(given[name], name, Bus);
    }
    try {
      this.#native = new NativeBus(spec, message, scratch);
      this.#publish = this.#native.publisher();
    } catch (error) {
      throw fromNative(error, Bus);
    }
    this.#dispatch.onError = optionalFunction(given.onError, 'onError', Bus);
  }

  /**
   * Subscribes to `pattern`: with a queue to receive from, or, when
   * `handler` is given, with a handler called for every message.
   */
  subscribe(pattern, handler, subscribeOptions) {
    string(pattern, 'pattern', this.subscribe);
    if (typeof handler !== 'function') {
      if (subscribeOptions !== undefined) {
        throw invalid('handler must be a function', this.subscribe);
      }
      return this.#subscribePull(pattern, options(handler, 'options', this.subscribe));
    }
    return this.#subscribeHandler(pattern, handler, options(subscribeOptions, 'options', this.subscribe));
  }

  #subscribePull(pattern, given) {
    if (given.dispatch !== undefined && given.dispatch !== null) {
      throw invalid('dispatch applies to subscriptions with a handler', this.subscribe);
    }
    const spec = subscribeSpec(given, this.subscribe);
    if (this.#closed) {
      throw closed(this.subscribe);
    }
    try {
      return subscription(this.#native.subscribe(pattern, spec));
    } catch (error) {
      throw fromNative(error, this.subscribe);
    }
  }

  #subscribeHandler(pattern, handler, given) {
    const dispatch = given.dispatch ?? 'inline';
    if (dispatch !== 'inline' && dispatch !== 'thread') {
      throw invalid("dispatch must be 'inline' or 'thread'", this.subscribe);
    }
    if (given.idleTtlMs !== undefined && given.idleTtlMs !== null) {
      throw invalid('idleTtlMs applies to subscriptions without a handler', this.subscribe);
    }
    const spec = subscribeSpec(given, this.subscribe);
    if (this.#closed) {
      throw closed(this.subscribe);
    }
    const guarded = guard(handler, this.#dispatch);
    let native;
    try {
      native = this.#native.subscribeWith(pattern, spec, guarded, dispatch === 'thread');
    } catch (error) {
      throw fromNative(error, this.subscribe);
    }
    guarded.id = native.id;
    return subscription(native);
  }

  /**
   * Publishes `payload` on `topic` to every matching subscription and
   * returns `{ matched, delivered, dropped }`. Inline handlers run inside
   * it. With a `block` subscription full, it blocks this thread up to that
   * subscription's timeout; `publishAsync` waits without blocking.
   */
  publish(topic, payload, headers) {
    if (this.#closed) {
      throw closed(this.publish);
    }
    string(topic, 'topic', this.publish);
    checkPayload(payload, this.publish);
    const flat = flatHeaders(headers, this.publish);
    try {
      return report(this.#publish(topic, payload, flat));
    } catch (error) {
      throw fromNative(error, this.publish);
    }
  }

  /**
   * `publish` on a thread of the addon's pool: a full `block` subscription
   * makes the Promise wait for room instead of blocking this thread. Inline
   * handlers still run on this thread, before the Promise resolves.
   */
  async publishAsync(topic, payload, headers) {
    if (this.#closed) {
      throw closed(this.publishAsync);
    }
    string(topic, 'topic', this.publishAsync);
    checkPayload(payload, this.publishAsync);
    const flat = flatHeaders(headers, this.publishAsync);
    let outcome;
    try {
      outcome = await this.#native.publishAsync(topic, payload, flat);
    } catch (error) {
      throw fromNative(error);
    }
    if (outcome === undefined) {
      throw new classes.InternalError('the publish ended without an outcome');
    }
    return report(outcome);
  }

  /**
   * Publishes a request on `topic` and resolves with the first reply.
   * Rejects with `NotFoundError` when nothing subscribes to `topic`,
   * `TimeoutError` when no reply comes within `timeoutMs` (default 5000),
   * and an `AbortError` when `signal` aborts.
   */
  async request(topic, payload, requestOptions) {
    const here = this.request;
    const given = options(requestOptions, 'options', here);
    const timeoutMs = millis(given.timeoutMs, 'timeoutMs', here) ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const abort = signal(given.signal, here);
    if (this.#closed) {
      throw closed(here);
    }
    string(topic, 'topic', here);
    checkPayload(payload, here);
    const flat = flatHeaders(given.headers, here);
    if (abort?.aborted) {
      throw new AbortError(abort);
    }
    let inbox;
    try {
      inbox = this.#native.requestStart(topic, payload, flat);
    } catch (error) {
      throw fromNative(error, here);
    }
    try {
      return await receive(new Source(inbox), timeoutMs, abort, () => inbox.close());
    } catch (error) {
      if (error instanceof classes.TimeoutError) {
        throw new classes.TimeoutError(`no reply to ${JSON.stringify(topic)} within ${timeoutMs} ms`);
      }
      throw error;
    } finally {
      inbox.close();
    }
  }

  /** Answers `request`, a message received with a reply inbox. */
  respond(request, payload, headers) {
    if (this.#closed) {
      throw closed(this.respond);
    }
    if (!(request instanceof Message)) {
      throw invalid('request must be a Message received from a bus', this.respond);
    }
    if (request.replyTo === null) {
      throw invalid('the message is not a request: it has no reply inbox', this.respond);
    }
    checkPayload(payload, this.respond);
    const flat = flatHeaders(headers, this.respond);
    try {
      return this.#native.reply(request.replyTo, payload, flat);
    } catch (error) {
      throw fromNative(error, this.respond);
    }
  }

  /** The bus's accounting over its whole life; still available once closed. */
  stats() {
    return this.#native.stats();
  }

  /** Ends every pull subscription idle past its `idleTtlMs`; returns how many. */
  evictIdle() {
    if (this.#closed) {
      throw closed(this.evictIdle);
    }
    try {
      return this.#native.evictIdle();
    } catch (error) {
      throw fromNative(error, this.evictIdle);
    }
  }

  /** `(subscriptionId, error, message) => void`, called for every handler that throws. */
  get onError() {
    if (this.#closed) {
      throw closed();
    }
    return this.#dispatch.onError;
  }

  set onError(hook) {
    if (this.#closed) {
      throw closed();
    }
    this.#dispatch.onError = optionalFunction(hook, 'onError');
  }

  get closed() {
    return this.#closed;
  }

  /**
   * Closes the bus: every subscription ends (queued messages are dropped
   * and counted, pending receives reject with `ClosedError`) and handlers
   * are released. Any later call but `stats` throws `ClosedError`.
   * Idempotent.
   */
  close() {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#dispatch.onError = null;
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

module.exports = { Bus };
