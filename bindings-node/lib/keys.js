'use strict';

const { KeyObject, createPrivateKey, createPublicKey } = require('node:crypto');
const { inspect } = require('node:util');

const { internal, libraryOnly } = require('./internal.js');
const { NativeKeyPair, NativePublicKey } = require('./native.js');
const { attempt } = require('./errors.js');
const { bytes, invalid, optionalBoolean, options, required, string, wellFormed } = require('./options.js');

/** The native key of a `PublicKey`, `undefined` for anything else (set in the class). */
let nativeOfKey;

/**
 * An Ed25519 public key: a root to trust, or the subject a token is
 * given to. Made from its text form (`charter-pk1:...`) or its 32 bytes,
 * both checked (canonical encoding, not a point of small order).
 */
class PublicKey {
  #native;

  constructor(token, native) {
    libraryOnly(token, 'PublicKey', 'use PublicKey.fromText() or PublicKey.fromBytes()');
    this.#native = native;
  }

  /** Parses the text form `charter-pk1:...`; `MalformedError` otherwise. */
  static fromText(text) {
    string(text, 'text', PublicKey.fromText);
    return new PublicKey(internal, attempt(() => NativePublicKey.fromText(text), PublicKey.fromText));
  }

  /** Parses the 32 key bytes; `MalformedError` otherwise. */
  static fromBytes(keyBytes) {
    bytes(keyBytes, 'bytes', PublicKey.fromBytes);
    return new PublicKey(internal, attempt(() => NativePublicKey.fromBytes(keyBytes), PublicKey.fromBytes));
  }

  /**
   * The public key of `key`, an Ed25519 `crypto.KeyObject` (a public key,
   * or a private one, whose public half is taken); checked as `fromBytes`
   * checks bytes. Any other KeyObject is `InvalidArgumentError`.
   */
  static fromKeyObject(key) {
    const x = ed25519(key, 'key', PublicKey.fromKeyObject).export({ format: 'jwk' }).x;
    const keyBytes = Buffer.from(x, 'base64url');
    return new PublicKey(internal, attempt(() => NativePublicKey.fromBytes(keyBytes), PublicKey.fromKeyObject));
  }

  /** The key as a public `crypto.KeyObject`, for `crypto.verify(null, data, key, signature)`. */
  toKeyObject() {
    const x = this.#native.toBytes().toString('base64url');
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  }

  /** The 32 key bytes, in a new `Buffer` on every read. */
  get bytes() {
    return this.#native.toBytes();
  }

  /** The principal the key identifies, `charter-id1:...` (the SHA-256 of the key). */
  get principal() {
    return this.#native.principal;
  }

  /** Whether `other` is a `PublicKey` of the same key. */
  equals(other) {
    const native = nativeOfKey(other);
    return native !== undefined && this.#native.equals(native);
  }

  /** The text form, `charter-pk1:` then base64url. */
  toString() {
    return this.#native.toText();
  }

  toJSON() {
    return this.toString();
  }

  [inspect.custom]() {
    return `PublicKey <${this.toString()}>`;
  }

  static {
    nativeOfKey = (value) => (Object(value) === value && #native in value ? value.#native : undefined);
  }
}

/** The native key of `value`, a `PublicKey` or its text form. */
function nativeKey(value, what, stackStart) {
  const native = nativeOfKey(value);
  if (native !== undefined) {
    return native;
  }
  if (typeof required(value, what, stackStart) === 'string') {
    wellFormed(value, what, stackStart);
    return attempt(() => NativePublicKey.fromText(value), stackStart);
  }
  throw invalid(`${what} must be a PublicKey or its text form, got ${typeof value}`, stackStart);
}

/** A `PublicKey` of a native key the addon returned. */
function publicKey(native) {
  return new PublicKey(internal, native);
}

/** The native pair of a `KeyPair`, `undefined` for anything else (set in the class). */
let nativeOfPair;

/**
 * An Ed25519 key pair: a root that mints tokens, or a holder that
 * delegates them and proves possession. Its private key leaves it only
 * through `toPkcs8`; it is never printed.
 */
class KeyPair {
  #native;
  #publicKey;

  constructor(token, native) {
    libraryOnly(token, 'KeyPair', 'use KeyPair.generate() or KeyPair.fromPkcs8()');
    this.#native = native;
    this.#publicKey = publicKey(native.publicKey);
  }

  /** A new key pair from the operating system's random source. */
  static generate() {
    return new KeyPair(internal, attempt(() => NativeKeyPair.generate(), KeyPair.generate));
  }

  /** A key pair from a PKCS#8 (v1 or v2) document; `MalformedError` otherwise. */
  static fromPkcs8(der) {
    bytes(der, 'der', KeyPair.fromPkcs8);
    return new KeyPair(internal, attempt(() => NativeKeyPair.fromPkcs8(der), KeyPair.fromPkcs8));
  }

  /** The private key as a PKCS#8 v1 document (RFC 8410), in a new `Buffer`. Treat it as a secret. */
  toPkcs8() {
    return this.#native.toPkcs8();
  }

  /**
   * A key pair from `key`, an Ed25519 private `crypto.KeyObject` (from
   * `crypto.generateKeyPairSync('ed25519')`, `crypto.createPrivateKey`, a
   * key store...). A public or non-Ed25519 KeyObject is `InvalidArgumentError`.
   */
  static fromKeyObject(key) {
    if (ed25519(key, 'key', KeyPair.fromKeyObject).type !== 'private') {
      throw invalid('key must be a private KeyObject; a public key cannot sign', KeyPair.fromKeyObject);
    }
    const der = key.export({ format: 'der', type: 'pkcs8' });
    return new KeyPair(internal, attempt(() => NativeKeyPair.fromPkcs8(der), KeyPair.fromKeyObject));
  }

  /**
   * The private key as a `crypto.KeyObject`, for `crypto.sign(null, data,
   * key)` and the rest of `node:crypto`. Treat it as a secret.
   */
  toKeyObject() {
    return createPrivateKey({ key: this.#native.toPkcs8(), format: 'der', type: 'pkcs8' });
  }

  /** A key pair from PEM text (`-----BEGIN PRIVATE KEY-----`); `MalformedError` otherwise. */
  static fromPem(text) {
    string(text, 'text', KeyPair.fromPem);
    return new KeyPair(internal, attempt(() => NativeKeyPair.fromPem(text), KeyPair.fromPem));
  }

  /** The private key as PEM text. Treat it as a secret. */
  toPem() {
    return this.#native.toPem();
  }

  /**
   * Reads a private key file (PKCS#8, DER or PEM). A file that group or
   * others may access is refused (`InvalidArgumentError`), as ssh refuses
   * one, unless `{ allowOpenPermissions: true }`.
   */
  static readFile(path, options) {
    string(path, 'path', KeyPair.readFile);
    const allow = fileFlag(options, 'allowOpenPermissions', KeyPair.readFile);
    return new KeyPair(internal, attempt(() => NativeKeyPair.readFile(path, allow), KeyPair.readFile));
  }

  /** Writes the private key to a new file, mode 0600: DER, or PEM with `{ pem: true }`. */
  writeFile(path, options) {
    string(path, 'path', this.writeFile);
    const pem = fileFlag(options, 'pem', this.writeFile);
    attempt(() => this.#native.writeFile(path, pem), this.writeFile);
  }

  get publicKey() {
    return this.#publicKey;
  }

  /** The principal this key pair speaks for, `charter-id1:...`. */
  get principal() {
    return this.#publicKey.principal;
  }

  [inspect.custom]() {
    return `KeyPair <${this.#publicKey.toString()}>`;
  }

  static {
    nativeOfPair = (value) => (Object(value) === value && #native in value ? value.#native : undefined);
  }
}

/** `value`, which must be an Ed25519 `crypto.KeyObject`. */
function ed25519(value, what, stackStart) {
  if (!(required(value, what, stackStart) instanceof KeyObject) || value.type === 'secret') {
    throw invalid(`${what} must be an Ed25519 crypto.KeyObject`, stackStart);
  }
  if (value.asymmetricKeyType !== 'ed25519') {
    throw invalid(`${what} must be an Ed25519 key, got ${value.asymmetricKeyType}`, stackStart);
  }
  return value;
}

/** The boolean option `name` of an optional options object (default false). */
function fileFlag(given, name, stackStart) {
  const value = given === null ? undefined : options(given, 'options', stackStart, [name])[name];
  return optionalBoolean(value, name, stackStart) ?? false;
}

/** The native pair of `value`, which must be a `KeyPair`. */
function nativePair(value, what, stackStart) {
  const native = nativeOfPair(required(value, what, stackStart));
  if (native !== undefined) {
    return native;
  }
  throw invalid(`${what} must be a KeyPair`, stackStart);
}

module.exports = { KeyPair, PublicKey, nativeKey, nativePair, publicKey };
