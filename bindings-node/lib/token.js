'use strict';

const { inspect } = require('node:util');

const { internal, libraryOnly } = require('./internal.js');
const { NativeToken } = require('./native.js');
const { attempt } = require('./errors.js');
const { nativeKey, nativePair, publicKey } = require('./keys.js');
const { bytes, invalid, options, required, string, unixSeconds, wellFormed } = require('./options.js');

/** Grants as the addon takes them: an array of `"action pattern"` strings. */
function grantList(value, stackStart) {
  if (!Array.isArray(required(value, 'grants', stackStart))) {
    throw invalid('grants must be an array of "action pattern" strings', stackStart);
  }
  for (const grant of value) {
    if (typeof grant !== 'string') {
      throw invalid(`each grant must be an "action pattern" string, got ${typeof grant}`, stackStart);
    }
    wellFormed(grant, 'a grant', stackStart);
  }
  return value;
}

/** A link's window `[notBefore, notAfter)` in Unix seconds, from Dates or seconds. */
function linkWindow(value, stackStart) {
  const { notBefore, notAfter } = options(required(value, 'window', stackStart), 'window', stackStart, [
    'notBefore',
    'notAfter',
  ]);
  return [unixSeconds(notBefore, 'notBefore', stackStart), unixSeconds(notAfter, 'notAfter', stackStart)];
}

/** A link as `Token.links` shows it, its keys as `PublicKey`s. */
function link(view) {
  return {
    issuer: publicKey(view.issuer),
    subject: publicKey(view.subject),
    grants: view.grants,
    notBefore: view.notBefore,
    notAfter: view.notAfter,
    linkId: view.linkId,
  };
}

/** The native token of a `Token`, `undefined` for anything else (set in the class). */
let nativeOfToken;

/**
 * A capability token: a chain of 1 to 8 signed links. Link 0 is signed by
 * a root key and gives grants to a subject for a window of time; each
 * later link is signed by the previous subject and may only narrow. Holding
 * a token proves nothing by itself: opening a session also takes a proof
 * that only the holder's key can make (`prove`).
 */
class Token {
  #native;

  constructor(token, native) {
    libraryOnly(token, 'Token', 'use Token.mint(), Token.fromBytes() or Token.fromText()');
    this.#native = native;
  }

  /**
   * Mints a root token: `root` (a `KeyPair`) gives `grants` (such as
   * `'publish orders.*'`) to `subject` (a `PublicKey` or its text form)
   * for `{ notBefore, notAfter }` (Dates or Unix seconds; `notAfter`
   * excluded).
   */
  static mint(root, subject, grants, window) {
    const here = Token.mint;
    const pair = nativePair(root, 'root', here);
    const key = nativeKey(subject, 'subject', here);
    const list = grantList(grants, here);
    const [notBefore, notAfter] = linkWindow(window, here);
    const native = attempt(() => NativeToken.mint(pair, key, list, notBefore, notAfter), here);
    return new Token(internal, native);
  }

  /**
   * A token that extends this one with a link to `subject`, signed by
   * `holder`, this token's subject. Each grant must lie within one of this
   * token's and the window within its window: widening throws `DeniedError`.
   */
  delegate(holder, subject, grants, window) {
    const here = this.delegate;
    const pair = nativePair(holder, 'holder', here);
    const key = nativeKey(subject, 'subject', here);
    const list = grantList(grants, here);
    const [notBefore, notAfter] = linkWindow(window, here);
    const native = attempt(() => this.#native.delegate(pair, key, list, notBefore, notAfter), here);
    return new Token(internal, native);
  }

  /** Decodes the binary form. Checks structure only (`MalformedError`); `Authority.verify` checks the rest. */
  static fromBytes(tokenBytes) {
    bytes(tokenBytes, 'bytes', Token.fromBytes);
    return new Token(internal, attempt(() => NativeToken.fromBytes(tokenBytes), Token.fromBytes));
  }

  /** Decodes the text form `charter-tok1:...`, checking structure only. */
  static fromText(text) {
    string(text, 'text', Token.fromText);
    return new Token(internal, attempt(() => NativeToken.fromText(text), Token.fromText));
  }

  /** The binary form, in a new `Buffer`. */
  toBytes() {
    return this.#native.toBytes();
  }

  /** The text form, `charter-tok1:` then base64url. */
  toString() {
    return this.#native.toText();
  }

  toJSON() {
    return this.toString();
  }

  /** A readable account of every link: id, issuer, subject, window and grants. */
  inspect() {
    return this.#native.inspect();
  }

  /** The links, root first: `{ issuer, subject, grants, notBefore, notAfter, linkId }`. */
  get links() {
    return this.#native.links().map(link);
  }

  /** The last link's subject: the key of whoever holds the token. */
  get subject() {
    return publicKey(this.#native.subject);
  }

  /** The root key the chain starts from. */
  get rootKey() {
    return publicKey(this.#native.rootKey);
  }

  /**
   * The holder's proof of possession for `challenge` (32 bytes from
   * `Authority.challenge`): 64 bytes only `holder`, the subject's key
   * pair, can make.
   */
  prove(holder, challenge) {
    const pair = nativePair(holder, 'holder', this.prove);
    bytes(challenge, 'challenge', this.prove);
    return attempt(() => this.#native.prove(pair, challenge), this.prove);
  }

  [inspect.custom]() {
    return `Token <${this.#native.links().length} link(s), subject ${publicKey(this.#native.subject)}>`;
  }

  static {
    nativeOfToken = (value) => (Object(value) === value && #native in value ? value.#native : undefined);
  }
}

/** The native token of `value`, which must be a `Token`. */
function nativeToken(value, stackStart) {
  const native = nativeOfToken(required(value, 'token', stackStart));
  if (native === undefined) {
    throw invalid('token must be a Token', stackStart);
  }
  return native;
}

module.exports = { Token, nativeToken };
