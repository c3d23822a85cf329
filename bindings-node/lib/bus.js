'use strict';

const { inspect } = require('node:util');

const { internal, libraryOnly } = require('./internal.js');
const { DEFAULT_REQUEST_TIMEOUT_MS, NativeBus, noReply } = require('./native.js');
const { recording } = require('./audit.js');
const { nativeAuthority, nativeSession } = require('./authority.js');
const { unhandled } = require('./unhandled.js');
const { attempt, classes, fromNative } = require('./errors.js');
const {
  Message,
  headers: flatHeaders,
  message,
  payload: checkPayload,
  scratch,
} = require('./message.js');
const { AbortError, Source } = require('./receive.js');
const { withPacked } = require('./pack.js');
const { isThenable } = require('./thenable.js');
const { subscription } = require('./subscription.js');

const {
  count,
  failure,
  invalid,
  millis,
  optionalFunction,
  options,
  required,
  signal,
  string,
} = require('./options.js');

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

const SUBSCRIBE_OPTIONS = ['capacity', 'maxBytes', 'ttlMs', 'idleTtlMs', 'overflow', 'dispatch'];

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
  const { dispatch, overflow } = given;
  if (dispatch === 'inline' || dispatch === 'thread') {
    spec.dispatch = dispatch;
  } else if (dispatch !== undefined && dispatch !== null) {
    throw invalid("dispatch must be 'inline' or 'thread'", stackStart);
  }
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

  /**
   * Passes what the handler of subscription `id` threw to `onError`, or,
   * with no hook, to a process warning (`lib/unhandled.js`); what the hook
   * throws goes there too: it must not affect delivery.
   */
  failed(id, error, received) {
    const hook = this.onError;
    if (hook === null) {
      unhandled(`the handler of subscription ${id}`, error);
      return;
    }
    try {
      hook(id, error, received);
    } catch (hookError) {
      unhandled("the bus's onError hook", hookError);
    }
  }
}

/**
 * `handler` as the addon calls it (see `src/handler.rs`): with a message's
 * parts, the payload `null` for a delivery that can no longer be made;
 * returns whether the handler returned normally, and never throws. A
 * handler's Promise is awaited when it runs on the subscription's thread
 * (`threaded`): the guarded handler then returns a Promise of the outcome,
 * which never rejects, and the subscription's thread waits for it. Inline,
 * `publish` cannot wait: the handler counts as delivered, and a rejection
 * is counted as a handler failure when it comes and goes to `onError`,
 * never unhandled. Its `id` is set once the
 * subscription exists; no delivery can come before (same thread).
 */
function guard(handler, dispatch, threaded) {
  const guarded = (seq, topic, payload, headers, replyTo) => {
    if (payload === null) {
      return false;
    }
    const received = message(seq, topic, payload, headers, replyTo);
    let awaited;
    try {
      const returned = handler(received);
      if (!isThenable(returned)) {
        return true;
      }
      awaited = Promise.resolve(returned).then(
        () => true,
        (error) => {
          if (!threaded) {
            // Inline, the publish has returned and counted the message as
            // delivered: the failure is counted now.
            guarded.native?.deref()?.recordHandlerFailure();
          }
          dispatch.failed(guarded.id, error, received);
          return false;
        },
      );
    } catch (error) {
      dispatch.failed(guarded.id, error, received);
      return false;
    }
    return threaded ? awaited : true;
  };
  guarded.id = 0;
  return guarded;
}

/** What a bus shares with its clients: the native bus, the error hook, whether it is closed. */
class State {
  dispatch = new Dispatch();
  closed = false;

  constructor(native) {
    this.native = native;
  }
}

/**
 * Publishing, subscribing and requesting as one caller does them: the bus
 * itself (`session` null), or the holder of a session (a `Client`), whose
 * calls the core checks against the session's grants: `subscribe` needs a
 * `subscribe` grant containing `pattern`, `publish`, `publishMany` and
 * `publishAsync` a `publish` grant matching `topic` (each message of a
 * batch checked as `publish` checks one), `request` a `request` grant
 * matching `topic`; `respond` needs no grant, but a live session. Each
 * public method passes itself as the start of error stacks, which then
 * start at its caller.
 */
class Caller {
  #state;
  /** The native session, or `null`. */
  #session;
  /** The native publish function, made once: the hot path. */
  #publish;
  /** The native batch publish function, made on first use. */
  #publishMany = null;

  constructor(state, session, here) {
    this.#state = state;
    this.#session = session;
    this.#publish = attempt(() => state.native.publisher(session), here);
  }

  /**
   * Subscribes to `pattern`: with a queue to receive from, or, when
   * `handler` is given, with a handler called for every message.
   */
  subscribe(pattern, handler, subscribeOptions) {
    const here = this.subscribe;
    string(pattern, 'pattern', here);
    if (typeof handler !== 'function') {
      if (subscribeOptions !== undefined) {
        throw invalid('handler must be a function', here);
      }
      return this.#subscribePull(pattern, options(handler, 'options', here, SUBSCRIBE_OPTIONS), here);
    }
    return this.#subscribeHandler(pattern, handler, options(subscribeOptions, 'options', here, SUBSCRIBE_OPTIONS), here);
  }

  #subscribePull(pattern, given, here) {
    const spec = subscribeSpec(given, here);
    if (this.#state.closed) {
      throw closed(here);
    }
    const native = this.#state.native;
    return subscription(attempt(() => native.subscribe(pattern, spec, this.#session), here), native);
  }

  #subscribeHandler(pattern, handler, given, here) {
    const spec = subscribeSpec(given, here);
    const state = this.#state;
    if (state.closed) {
      throw closed(here);
    }
    const guarded = guard(handler, state.dispatch, spec.dispatch === 'thread');
    const native = attempt(
      () => state.native.subscribeWith(pattern, spec, guarded, this.#session),
      here,
    );
    guarded.id = native.id;
    // Weakly: the native subscription holds the guarded handler.
    guarded.native = new WeakRef(native);
    return subscription(native, state.native);
  }

  /**
   * The payload of a message about to go out on `topic`, as the addon
   * takes it: checked once the bus is known open and `topic` a string.
   */
  #outgoing(topic, payload, here) {
    if (this.#state.closed) {
      throw closed(here);
    }
    string(topic, 'topic', here);
    return checkPayload(payload, here);
  }

  /**
   * Answers `request`, a message received with a reply inbox. Needs no
   * grant, but a bus with an authority refuses it without a session: answer
   * through a client (`client.respond`).
   */
  respond(request, payload, headers) {
    const here = this.respond;
    if (this.#state.closed) {
      throw closed(here);
    }
    if (!(request instanceof Message)) {
      throw invalid('request must be a Message received from a bus', here);
    }
    payload = checkPayload(payload, here);
    const flat = flatHeaders(headers, here);
    // No inbox is the empty one, which the core refuses as "not a request".
    const inbox = request.replyTo ?? '';
    return attempt(() => this.#state.native.reply(inbox, payload, flat, this.#session), here);
  }

  /**
   * Publishes `payload` on `topic` to every matching subscription and
   * returns `{ matched, delivered, dropped }`. Inline handlers run inside
   * it. With a `block` subscription full, it blocks this thread up to that
   * subscription's timeout; `publishAsync` waits without blocking.
   */
  publish(topic, payload, headers) {
    const here = this.publish;
    const body = this.#outgoing(topic, payload, here);
    const flat = flatHeaders(headers, here);
    try {
      return report(this.#publish(topic, body, flat));
    } catch (error) {
      throw fromNative(error, here);
    }
  }

  /**
   * Publishes each of `payloads` on `topic` with the same `headers`, in
   * order, each exactly as `publish` publishes one, in one call into the
   * core; returns their reports added up. Every payload is checked first:
   * a bad one fails with nothing published. After that, the first message
   * that fails stops the batch: the error thrown has `published`, how many
   * went out before it, and `report`, theirs added up.
   */
  publishMany(topic, payloads, headers) {
    const here = this.publishMany;
    if (this.#state.closed) {
      throw closed(here);
    }
    string(topic, 'topic', here);
    this.#publishMany ??= attempt(() => this.#state.native.batchPublisher(this.#session), here);
    const outcome = withPacked(payloads, here, (packed, count) => {
      const flat = flatHeaders(headers, here);
      return attempt(() => this.#publishMany(topic, packed, count, flat), here);
    });
    if (typeof outcome === 'number') {
      return report(outcome);
    }
    if (outcome.code === undefined || outcome.code === null) {
      return outcome.report;
    }
    const error = fromNative({ code: outcome.code, message: outcome.message }, here);
    error.published = outcome.published;
    error.report = outcome.report;
    throw error;
  }

  /**
   * `publish` on a thread of the addon's pool: a full `block` subscription
   * makes the Promise wait for room instead of blocking this thread. Inline
   * handlers still run on this thread, before the Promise resolves.
   */
  async publishAsync(topic, payload, headers) {
    const here = this.publishAsync;
    const body = this.#outgoing(topic, payload, here);
    const flat = flatHeaders(headers, here);
    let outcome;
    try {
      outcome = await this.#state.native.publishAsync(topic, body, flat, this.#session);
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
   * `TimeoutError` when no reply comes within `timeoutMs` (default: the
   * core's default request timeout, 5000), and an `AbortError` when
   * `signal` aborts.
   */
  async request(topic, payload, requestOptions) {
    const here = this.request;
    const given = options(requestOptions, 'options', here, ['timeoutMs', 'signal', 'headers']);
    const timeoutMs = millis(given.timeoutMs, 'timeoutMs', here) ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const abort = signal(given.signal, here);
    const body = this.#outgoing(topic, payload, here);
    const flat = flatHeaders(given.headers, here);
    if (abort?.aborted) {
      throw new AbortError(abort);
    }
    const inbox = attempt(() => this.#state.native.requestStart(topic, body, flat, this.#session), here);
    const expired = () => new classes.TimeoutError(noReply(topic, timeoutMs));
    try {
      return await new Source(inbox).receive(timeoutMs, abort, expired);
    } finally {
      inbox.close();
    }
  }
}

/**
 * A topic bus: NATS-style topics and wildcards, bounded queues with
 * explicit overflow policies, request/reply, exact accounting. With an
 * `authority`, it enforces capabilities: every publish, subscribe and
 * request must come through a `Client` of a session that authority opened
 * (`bus.client(session)`), whose grants cover it. With an `audit` log, it
 * records its decisions there (`auditScope`: `'denials'`, the default, or
 * `'all'`).
 */
/** Reads a `Bus`'s native bus, `undefined` for anything else (set in the class). */
let nativeOfBus;

class Bus extends Caller {
  #state;

  constructor(limits) {
    const given = options(limits, 'options', Bus, [...LIMITS, 'authority', 'onError', 'audit', 'auditScope']);
    const spec = {};
    for (const name of LIMITS) {
      spec[name] = count(given[name], name, Bus);
    }
    const authority =
      given.authority === undefined || given.authority === null ? null : nativeAuthority(given.authority, Bus);
    const onError = optionalFunction(given.onError, 'onError', Bus);
    const audit = recording(given, Bus);
    const state = new State(
      attempt(() => new NativeBus(spec, message, scratch, authority, audit.log, audit.scope), Bus),
    );
    super(state, null, Bus);
    this.#state = state;
    state.dispatch.onError = onError;
  }

  /**
   * The bus as seen by the holder of `session`: publish, subscribe and
   * request, each checked against the session's grants.
   */
  client(session) {
    const native = nativeSession(session, this.client);
    if (this.#state.closed) {
      throw closed(this.client);
    }
    return new Client(internal, this.#state, native, session);
  }

  /** The bus's accounting over its whole life; still available once closed. */
  stats() {
    return this.#state.native.stats();
  }

  /** Ends every pull subscription idle past its `idleTtlMs`; returns how many. */
  evictIdle() {
    if (this.#state.closed) {
      throw closed(this.evictIdle);
    }
    return attempt(() => this.#state.native.evictIdle(), this.evictIdle);
  }

  /** `(subscriptionId, error, message) => void`, called for every handler that throws. */
  get onError() {
    if (this.#state.closed) {
      throw closed();
    }
    return this.#state.dispatch.onError;
  }

  set onError(hook) {
    if (this.#state.closed) {
      throw closed();
    }
    this.#state.dispatch.onError = optionalFunction(hook, 'onError');
  }

  get closed() {
    return this.#state.closed;
  }

  /** `util.inspect` and `console.log` show the bus's state and totals. */
  [inspect.custom](depth, inspectOptions, nested) {
    const { published, liveSubscriptions, denied } = this.stats();
    const state = { closed: this.closed, liveSubscriptions, published, denied };
    return `Bus ${nested(state, inspectOptions)}`;
  }

  /**
   * Closes the bus: every subscription ends (queued messages are dropped
   * and counted, pending receives reject with `ClosedError`) and all the
   * native side holds is released at once, handlers included (see
   * `src/release.rs`), leaving only JS shells for the collector. Any later
   * call but `stats` throws `ClosedError`, its clients' calls too.
   * Idempotent.
   */
  close() {
    const state = this.#state;
    if (state.closed) {
      return;
    }
    state.closed = true;
    state.dispatch.onError = null;
    attempt(() => state.native.close(), this.close);
  }

  [Symbol.dispose]() {
    this.close();
  }

  static {
    nativeOfBus = (value) => (Object(value) === value && #state in value ? value.#state.native : undefined);
  }
}

/**
 * The bus as seen by the holder of a session, made by `bus.client(session)`:
 * `publish`, `publishAsync`, `subscribe` and `request` as on the bus, each
 * checked against the session's grants. A call no grant covers throws
 * `DeniedError`; once the session has expired or been revoked, every call
 * throws `ExpiredError` or `RevokedError`, and the session's subscriptions
 * end at once. Handlers' errors go to the bus's `onError`; answer requests
 * with `client.respond`. A client gives no way to the bus: hand a component
 * the client, keep the bus.
 */
class Client extends Caller {
  #session;

  constructor(token, state, native, session) {
    libraryOnly(token, 'Client', 'use bus.client(session)');
    super(state, native, Bus.prototype.client);
    this.#session = session;
  }

  /** The session calls are checked against. */
  get session() {
    return this.#session;
  }
}

/** The native bus of `value`, which must be a `Bus` (for a `Bridge`). */
function nativeBus(value, stackStart) {
  const native = nativeOfBus(required(value, 'bus', stackStart));
  if (native === undefined) {
    throw invalid('bus must be a Bus', stackStart);
  }
  return native;
}

module.exports = { Bus, Client, nativeBus };
