'use strict';

// `Bridge` and `BridgeVerifier`: a bus carried onto NATS and back
// (docs/bridge.md), and the bridge's import checks on their own. The
// bridge is Charter's `charter-bridge` crate, the same as Python's
// `charter.Bridge` and Go's `StartBridge`; this module checks JS argument
// types and maps names, and decides nothing of its own.

const { internal, libraryOnly } = require('./internal.js');
const { NativeBridgeVerifier, startBridge } = require('./native.js');
const { recording, settled } = require('./audit.js');
const { nativeAuthority, nativeSession } = require('./authority.js');
const { nativeBus } = require('./bus.js');
const { fromNative } = require('./errors.js');
const { nativePair } = require('./keys.js');
const { headers: flatHeaders, payload: checkPayload } = require('./message.js');
const { nativeToken } = require('./token.js');
const { count, invalid, millis, options, required, string } = require('./options.js');

const START_OPTIONS = [
  'server',
  'servers',
  'name',
  'exports',
  'imports',
  'durableImports',
  'relay',
  'token',
  'key',
  'authority',
  'audit',
  'auditScope',
  'maxSkewMs',
  'session',
  'requestTimeoutMs',
  'exportCapacity',
  'exportMaxBytes',
  'importCapacity',
  'maxRequestsInFlight',
  'workerThreads',
  'bareExports',
];

/** An array of strings (patterns, servers); absent is empty. */
function strings(value, what, stackStart) {
  if (value === undefined || value === null) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw invalid(`${what} must be an array of strings`, stackStart);
  }
  return value.map((item, i) => string(item, `${what}[${i}]`, stackStart));
}

/** Imports: each a pattern, or `{ pattern, queueGroup }`. */
function imports(value, relay, stackStart) {
  if (value === undefined || value === null) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw invalid('imports must be an array of patterns or { pattern, queueGroup } objects', stackStart);
  }
  return value.map((item, i) => {
    if (typeof item === 'string') {
      return { pattern: string(item, `imports[${i}]`, stackStart), relay };
    }
    const given = options(item, `imports[${i}]`, stackStart, ['pattern', 'queueGroup']);
    const queueGroup =
      given.queueGroup === undefined || given.queueGroup === null
        ? undefined
        : string(given.queueGroup, `imports[${i}].queueGroup`, stackStart);
    return { pattern: string(given.pattern, `imports[${i}].pattern`, stackStart), queueGroup, relay };
  });
}

const DURABLE_OPTIONS = [
  'pattern',
  'stream',
  'durable',
  'ackWaitMs',
  'maxAckPending',
  'relay',
  'handledThrough',
  'handled',
  'sealedThrough',
  'sealed',
];

/** A seal id (`Charter-Seal-Id`): a bigint of 64 bits, passed on as text. */
function sealId(value, at, stackStart) {
  if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) {
    throw invalid(`${at} must be a bigint from 0 to 2^64 - 1 (BigInt(header('Charter-Seal-Id')))`, stackStart);
  }
  return value.toString();
}

/**
 * Durable imports: each `{ pattern, stream, durable, ... }` with the
 * application's committed position (`handledThrough`, `handled`, and with
 * verification `sealedThrough`, `sealed`).
 */
function durableImports(value, stackStart) {
  if (value === undefined || value === null) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw invalid('durableImports must be an array of { pattern, stream, durable } objects', stackStart);
  }
  return value.map((item, i) => {
    const at = `durableImports[${i}]`;
    const given = options(item, at, stackStart, DURABLE_OPTIONS);
    if (given.relay !== undefined && typeof given.relay !== 'boolean') {
      throw invalid(`${at}.relay must be a boolean`, stackStart);
    }
    if (given.handled !== undefined && given.handled !== null && !Array.isArray(given.handled)) {
      throw invalid(`${at}.handled must be an array of stream sequence numbers`, stackStart);
    }
    if (given.sealed !== undefined && given.sealed !== null && !Array.isArray(given.sealed)) {
      throw invalid(`${at}.sealed must be an array of seal ids (bigint)`, stackStart);
    }
    return {
      pattern: string(given.pattern, `${at}.pattern`, stackStart),
      stream: string(given.stream, `${at}.stream`, stackStart),
      durable: string(given.durable, `${at}.durable`, stackStart),
      ackWaitMs: millis(given.ackWaitMs, `${at}.ackWaitMs`, stackStart),
      maxAckPending: count(given.maxAckPending, `${at}.maxAckPending`, stackStart),
      relay: given.relay,
      handledThrough: count(given.handledThrough, `${at}.handledThrough`, stackStart),
      handled: (given.handled ?? []).map((seq, j) => count(seq, `${at}.handled[${j}]`, stackStart)),
      sealedThrough: count(given.sealedThrough, `${at}.sealedThrough`, stackStart),
      sealed: (given.sealed ?? []).map((id, j) => sealId(id, `${at}.sealed[${j}]`, stackStart)),
    };
  });
}

/** An optional object argument checked by `check`, or `null`. */
function optional(value, check, stackStart) {
  return value === undefined || value === null ? null : check(value, stackStart);
}

/**
 * A running bridge between a bus and NATS, made by `Bridge.start`. It
 * exports local publishes (and requests) on the `exports` patterns to NATS,
 * and imports NATS messages (and requests) on the `imports` patterns into
 * the bus. With a `token` and `key` everything it sends is sealed; with an
 * `authority` everything it receives must be sealed by a token of its roots
 * with a fitting grant, or it is refused, counted (`refused()`) and, with
 * an `audit` log, recorded. A running bridge does not keep the event loop
 * alive by itself; close it with `await bridge.close()`.
 */
class Bridge {
  #native;
  /**
   * The native bus it carries, held so that a running bridge keeps its bus:
   * a collected bus ends its handlers' gates, and an import into a bus whose
   * handlers are never called again would acknowledge what nobody handled.
   */
  #bus;

  constructor(token, native, bus) {
    libraryOnly(token, 'Bridge', 'use Bridge.start(bus, options)');
    this.#native = native;
    this.#bus = bus;
  }

  /**
   * Starts a bridge for `bus`; resolves once it has subscribed (a server
   * that does not answer yet is not an error: the bridge keeps trying).
   * Rejects with `InvalidArgumentError` on bad options.
   */
  static async start(bus, startOptions) {
    const here = Bridge.start;
    const native = nativeBus(bus, here);
    const given = options(required(startOptions, 'options', here), 'options', here, START_OPTIONS);
    const servers = [
      ...(given.server === undefined ? [] : [string(given.server, 'server', here)]),
      ...strings(given.servers, 'servers', here),
    ];
    for (const flag of ['relay', 'bareExports']) {
      if (given[flag] !== undefined && typeof given[flag] !== 'boolean') {
        throw invalid(`${flag} must be a boolean`, here);
      }
    }
    const audit = recording(given, here);
    const spec = {
      servers,
      name: given.name === undefined || given.name === null ? undefined : string(given.name, 'name', here),
      exports: strings(given.exports, 'exports', here),
      imports: imports(given.imports, given.relay ?? false, here),
      durableImports: durableImports(given.durableImports, here),
      maxSkewMs: millis(given.maxSkewMs, 'maxSkewMs', here),
      requestTimeoutMs: millis(given.requestTimeoutMs, 'requestTimeoutMs', here),
      exportCapacity: count(given.exportCapacity, 'exportCapacity', here),
      exportMaxBytes: count(given.exportMaxBytes, 'exportMaxBytes', here),
      importCapacity: count(given.importCapacity, 'importCapacity', here),
      maxRequestsInFlight: count(given.maxRequestsInFlight, 'maxRequestsInFlight', here),
      workerThreads: count(given.workerThreads, 'workerThreads', here),
      bareExports: given.bareExports,
      auditScope: audit.scope,
    };
    const started = await settled(
      () =>
        startBridge(
          native,
          spec,
          optional(given.token, nativeToken, here),
          given.key === undefined || given.key === null ? null : nativePair(given.key, 'key', here),
          optional(given.authority, nativeAuthority, here),
          audit.log,
          optional(given.session, nativeSession, here),
        ),
      'starting the bridge',
      here,
    );
    return new Bridge(internal, started, native);
  }

  /** The bridge's origin id (32 hex digits), fresh at every start. */
  get origin() {
    return this.#native.origin;
  }

  /** Whether the bridge is connected to a NATS server now; `ClosedError` once closed. */
  get connected() {
    try {
      return this.#native.connected();
    } catch (error) {
      throw fromNative(error);
    }
  }

  /** Whether the bridge has been closed. */
  get closed() {
    return this.#native.closed;
  }

  /**
   * Resolves once the server has seen everything sent so far (the
   * imports' subscriptions included); rejects with `TimeoutError` when no
   * server answers within `timeoutMs` (default: the core's default request
   * timeout, 5000, as the native side applies it).
   */
  async flush(flushOptions) {
    const here = this.flush;
    const given = options(flushOptions, 'options', here, ['timeoutMs']);
    const timeoutMs = millis(given.timeoutMs, 'timeoutMs', here);
    await settled(() => this.#native.flush(timeoutMs), 'flushing the bridge', here);
  }

  /** What the bridge carried and dropped so far, each drop by its reason (docs/bridge.md). */
  stats() {
    try {
      return this.#native.stats();
    } catch (error) {
      throw fromNative(error, this.stats);
    }
  }

  /** The messages refused, by reason (`unsigned`, `bad_proof`, ...), zeros included. */
  refused() {
    try {
      return this.#native.refused();
    } catch (error) {
      throw fromNative(error, this.refused);
    }
  }

  /**
   * Stops carrying, sends what the client still buffers (for up to a
   * second) and closes the connection. Idempotent.
   */
  async close() {
    await settled(() => this.#native.close(), 'closing the bridge', this.close);
  }

  async [Symbol.asyncDispose]() {
    await this.close();
  }
}

const EXPECT_KINDS = new Set(['publish', 'request']);

/** The native form of `check`'s `expect`. */
function expectation(value, stackStart) {
  if (value === undefined || value === null) {
    return { kind: 'publish' };
  }
  if (typeof value === 'string') {
    if (!EXPECT_KINDS.has(value)) {
      throw invalid(`expect must be 'publish', 'request' or a reply's { kind: 'reply', ... }, got ${value}`, stackStart);
    }
    return { kind: value };
  }
  const given = options(value, 'expect', stackStart, ['kind', 'subject', 'inbox', 'nonce', 'sentMs']);
  if (given.kind !== 'reply') {
    throw invalid("an expect object is a reply's: { kind: 'reply', subject, inbox, nonce, sentMs }", stackStart);
  }
  const sentMs = count(required(given.sentMs, 'expect.sentMs', stackStart), 'expect.sentMs', stackStart);
  return {
    kind: 'reply',
    subject: string(given.subject, 'expect.subject', stackStart),
    inbox: string(given.inbox, 'expect.inbox', stackStart),
    nonce: string(given.nonce, 'expect.nonce', stackStart),
    sentMs,
  };
}

/**
 * The checks a receiving bridge makes on every sealed message, on their
 * own: for a message that reached you from NATS some other way, and for
 * the shared vectors. `check` runs them in the documented order (chain,
 * proof, grant, freshness and replay, revocation) and keeps a replay
 * window, as a bridge does.
 */
class BridgeVerifier {
  #native;

  /**
   * A verifier trusting `authority`'s roots. Options: `maxSkewMs` (default
   * 30000), `fixedTimeMs` (judge messages' times against this fixed time,
   * for tests and vectors; default the system clock), `audit` and
   * `auditScope` (where refusals, or with `'all'` every check, are recorded).
   */
  constructor(authority, verifierOptions) {
    const here = BridgeVerifier;
    const native = nativeAuthority(required(authority, 'authority', here), here);
    const given = options(verifierOptions, 'options', here, ['maxSkewMs', 'fixedTimeMs', 'audit', 'auditScope']);
    const audit = recording(given, here);
    const spec = {
      maxSkewMs: millis(given.maxSkewMs, 'maxSkewMs', here),
      fixedTimeMs: count(given.fixedTimeMs, 'fixedTimeMs', here),
      auditScope: audit.scope,
    };
    try {
      this.#native = new NativeBridgeVerifier(native, spec, audit.log);
    } catch (error) {
      throw fromNative(error, here);
    }
  }

  /**
   * Checks one message as it arrived from NATS: `{ subject, reply,
   * headers, payload }` (headers as `[name, value]` pairs or an object,
   * the envelope's included), expected to be a `'publish'` (the default),
   * a `'request'`, or a reply `{ kind: 'reply', subject, inbox, nonce,
   * sentMs }`. Returns the proven sender's principal id; a refused
   * message throws the refusal's `CharterError`, with its `reason`
   * (`'bad_proof'`, `'replayed'`, ...).
   */
  check(message, expect) {
    const here = this.check;
    const given = options(required(message, 'message', here), 'message', here, ['subject', 'reply', 'headers', 'payload']);
    const subject = string(given.subject, 'subject', here);
    const reply = given.reply === undefined || given.reply === null ? null : string(given.reply, 'reply', here);
    const flat = flatHeaders(given.headers, here) ?? [];
    let payload = checkPayload(given.payload ?? new Uint8Array(0), here);
    if (typeof payload === 'string') {
      payload = Buffer.from(payload, 'utf8');
    }
    let outcome;
    try {
      outcome = this.#native.check(subject, reply, flat, payload, expectation(expect, here));
    } catch (error) {
      throw fromNative(error, here);
    }
    if (outcome.principal !== null && outcome.principal !== undefined) {
      return outcome.principal;
    }
    const refusal = fromNative({ code: outcome.code, message: outcome.message }, here);
    refusal.reason = outcome.reason;
    throw refusal;
  }
}

module.exports = { Bridge, BridgeVerifier };
