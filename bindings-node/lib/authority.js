'use strict';

const { internal, libraryOnly } = require('./internal.js');
const { NativeAuthority, NativeManualClock } = require('./native.js');
const { recording } = require('./audit.js');
const { attempt, classes, fromNative } = require('./errors.js');
const { nativeKey, publicKey } = require('./keys.js');
const { nativeToken } = require('./token.js');
const { bytes, count, invalid, options, required, string, unixSeconds } = require('./options.js');

const ACTIONS = new Set(['publish', 'subscribe', 'request']);

/** Each read the `#native` of its class's instances, `undefined` for anything else (set in the classes). */
let nativeOfClock;
let nativeOfAuthority;
let nativeOfSession;

/**
 * A clock that moves only when told to, for tests: give it to an
 * `Authority` as its `clock` to check expiry and not-yet-valid tokens
 * without waiting. Times are Unix seconds (a `Date` is accepted too).
 */
class ManualClock {
  #native;

  constructor(now) {
    this.#native = new NativeManualClock(unixSeconds(now, 'now', ManualClock));
  }

  /** The time, in Unix seconds. */
  get now() {
    return this.#native.now;
  }

  /** Sets the time (a `Date` or Unix seconds; it may go back). */
  set(now) {
    this.#native.set(unixSeconds(now, 'now', this.set));
  }

  /** Moves the time forward by `seconds`. */
  advance(seconds) {
    const by = count(seconds, 'seconds', this.advance);
    if (by === undefined) {
      throw invalid('seconds must be a non-negative integer', this.advance);
    }
    this.#native.advance(by);
  }

  static {
    nativeOfClock = (value) => (Object(value) === value && #native in value ? value.#native : undefined);
  }
}

/** What `verify` establishes, with the subject as a `PublicKey`. */
function verified(native) {
  return {
    subject: publicKey(native.subject),
    principal: native.principal,
    grants: native.grants,
    notBefore: native.notBefore,
    notAfter: native.notAfter,
    links: native.links,
  };
}

/** A link id: 64 hex digits, as `Token.links` gives them. */
function linkId(value, stackStart) {
  return string(value, 'linkId', stackStart);
}

/**
 * An open session: a verified token whose holder proved possession of its
 * key. `check` costs a clock read, an atomic load and a grant match. It
 * ends when its token expires or any link of it is revoked. It holds
 * nothing to release.
 */
class Session {
  #native;

  constructor(token, native) {
    libraryOnly(token, 'Session', 'use authority.openSession()');
    this.#native = native;
  }

  /**
   * Returns if a grant allows `action` (`'publish'`, `'subscribe'` or
   * `'request'`) on `topic` (for `'subscribe'`, the pattern). Throws
   * `DeniedError` naming the topic and the missing grant, or
   * `ExpiredError` / `RevokedError` once the session has ended.
   */
  check(action, topic) {
    if (!ACTIONS.has(action)) {
      throw invalid("action must be 'publish', 'subscribe' or 'request'", this.check);
    }
    string(topic, 'topic', this.check);
    try {
      this.#native.check(action, topic);
    } catch (error) {
      throw fromNative(error, this.check);
    }
  }

  /** Whether it is still open: not expired, no link revoked. */
  get active() {
    return this.#native.active;
  }

  /** The holder's principal id, `charter-id1:...`. */
  get principal() {
    return this.#native.principal;
  }

  /** The holder's public key. */
  get subject() {
    return publicKey(this.#native.subject);
  }

  /** What it may do, as `"action pattern"` strings. */
  get grants() {
    return this.#native.grants;
  }

  /** When it ends unless revoked before, in Unix seconds. */
  get expiresAt() {
    return this.#native.expiresAt;
  }

  static {
    nativeOfSession = (value) => (Object(value) === value && #native in value ? value.#native : undefined);
  }
}

/** A `Session` of the native session the addon returned. */
function session(native) {
  if (native === undefined) {
    throw new classes.InternalError('the session could not be opened: its job ended without an outcome');
  }
  return new Session(internal, native);
}

/**
 * Verifies tokens and opens sessions: which root keys to trust, what time
 * it is, how long a link may last, how far clocks may disagree, and which
 * links are revoked. It holds nothing that keeps the process alive.
 */
class Authority {
  #native;

  /**
   * An authority that trusts `roots` (`PublicKey`s or their text forms).
   * Options: `maxLifetimeSeconds` (default 90 days), `clockSkewSeconds`
   * (default 60) and `clock`, a `ManualClock` for tests (default: the
   * system clock), and `audit`, an `AuditLog` that records session
   * openings (`auditScope`: `'denials'`, the default, or `'all'`).
   */
  constructor(roots, authorityOptions) {
    const given = options(authorityOptions, 'options', Authority, [
      'maxLifetimeSeconds', 'clockSkewSeconds', 'clock', 'audit', 'auditScope',
    ]);
    const maxLifetimeSeconds = count(given.maxLifetimeSeconds, 'maxLifetimeSeconds', Authority);
    const clockSkewSeconds = count(given.clockSkewSeconds, 'clockSkewSeconds', Authority);
    let clock = null;
    if (given.clock !== undefined && given.clock !== null) {
      clock = nativeOfClock(given.clock);
      if (clock === undefined) {
        throw invalid('clock must be a ManualClock', Authority);
      }
    }
    const keys = [];
    if (roots !== undefined && roots !== null) {
      if (typeof roots[Symbol.iterator] !== 'function' || typeof roots === 'string') {
        throw invalid('roots must be an array of PublicKeys or their text forms', Authority);
      }
      for (const root of roots) {
        keys.push(nativeKey(root, 'each root', Authority));
      }
    }
    const audit = recording(given, Authority);
    const spec = { maxLifetimeSeconds, clockSkewSeconds, auditScope: audit.scope };
    this.#native = attempt(() => new NativeAuthority(spec, clock, audit.log), Authority);
    for (const key of keys) {
      this.#native.trust(key);
    }
  }

  /** Trusts `root` (a `PublicKey` or its text form) from now on. */
  trust(root) {
    this.#native.trust(nativeKey(root, 'root', this.trust));
  }

  /**
   * Stops trusting `root`; returns whether it was trusted. Every session
   * opened under it ends at once, with its subscriptions.
   */
  distrust(root) {
    return this.#native.distrust(nativeKey(root, 'root', this.distrust));
  }

  /**
   * Ends every session that has expired by the clock (or lost its token to
   * revocation or distrust) and its subscriptions: pending receives reject
   * at once. Returns how many sessions ended. Call it after moving a
   * `ManualClock`; `revoke` and `distrust` do it themselves.
   */
  sweep() {
    return this.#native.sweep();
  }

  /** The time by this authority's clock, in Unix seconds. */
  get now() {
    return this.#native.now;
  }

  /**
   * Verifies `token` on another thread: revocation, the root, the chain,
   * every signature, narrowing, lifetime, then the clock. Resolves with
   * `{ subject, principal, grants, notBefore, notAfter, links }`; rejects
   * with `RevokedError`, `UntrustedRootError`, `MalformedError`,
   * `BadSignatureError`, `DeniedError`, `NotYetValidError` or `ExpiredError`.
   */
  async verify(token) {
    const native = nativeToken(token, this.verify);
    let outcome;
    try {
      outcome = await this.#native.verify(native);
    } catch (error) {
      throw fromNative(error);
    }
    if (outcome === undefined) {
      throw new classes.InternalError('the verification ended without an outcome');
    }
    return verified(outcome);
  }

  /** `verify` on this thread: one signature check per link (tens of microseconds each). */
  verifySync(token) {
    const native = nativeToken(token, this.verifySync);
    return verified(attempt(() => this.#native.verifySync(native), this.verifySync));
  }

  /** A fresh 32-byte challenge for a holder to sign with `token.prove`; usable once, for 120 seconds. */
  challenge() {
    return attempt(() => this.#native.challenge(), this.challenge);
  }

  /**
   * Opens a session for `token`'s holder, who signed `challenge` (from
   * `challenge()`, used up here) into `proof` (from `token.prove`). The
   * checks run on another thread; rejects as `verify` does, with
   * `DeniedError` for an unknown, used or expired challenge, and
   * `BadSignatureError` for a wrong proof.
   */
  async openSession(token, challenge, proof) {
    const here = this.openSession;
    const native = nativeToken(token, here);
    bytes(challenge, 'challenge', here);
    bytes(proof, 'proof', here);
    let opened;
    try {
      opened = await this.#native.openSession(native, challenge, proof);
    } catch (error) {
      throw fromNative(error);
    }
    return session(opened);
  }

  /** `openSession` on this thread. */
  openSessionSync(token, challenge, proof) {
    const here = this.openSessionSync;
    const native = nativeToken(token, here);
    bytes(challenge, 'challenge', here);
    bytes(proof, 'proof', here);
    return session(attempt(() => this.#native.openSessionSync(native, challenge, proof), here));
  }

  /**
   * Revokes the link `linkId` (hex, from `Token.links`): every token that
   * contains it fails to verify, and every session opened with one ends,
   * with its bus subscriptions. Returns whether it was new.
   */
  revoke(linkIdHex) {
    linkId(linkIdHex, this.revoke);
    return attempt(() => this.#native.revoke(linkIdHex), this.revoke);
  }

  /** Lifts the revocation of `linkId`; returns whether it was revoked. Ended sessions stay ended. */
  unrevoke(linkIdHex) {
    linkId(linkIdHex, this.unrevoke);
    return attempt(() => this.#native.unrevoke(linkIdHex), this.unrevoke);
  }

  /** The revoked link ids, sorted. */
  revocations() {
    return this.#native.revocations();
  }

  /** The revocations as text: one hex link id per line, sorted. */
  exportRevocations() {
    return this.#native.exportRevocations();
  }

  /**
   * Adds every link id of `text` (as `exportRevocations` writes it; blank
   * lines and `#` comments are skipped), all or nothing. Returns how many
   * were new.
   */
  importRevocations(text) {
    string(text, 'text', this.importRevocations);
    return attempt(() => this.#native.importRevocations(text), this.importRevocations);
  }

  static {
    nativeOfAuthority = (value) => (Object(value) === value && #native in value ? value.#native : undefined);
  }
}

/** The native authority of `value`, which must be an `Authority`. */
function nativeAuthority(value, stackStart) {
  const native = nativeOfAuthority(value);
  if (native === undefined) {
    throw invalid('authority must be an Authority', stackStart);
  }
  return native;
}

/** The native session of `value`, which must be a `Session`. */
function nativeSession(value, stackStart) {
  const native = nativeOfSession(required(value, 'session', stackStart));
  if (native === undefined) {
    throw invalid('session must be a Session', stackStart);
  }
  return native;
}

module.exports = { Authority, ManualClock, Session, nativeAuthority, nativeSession };
