'use strict';

// KeyPair and PublicKey: generation, PKCS#8 and text forms, the checks on
// hostile keys, and that a key pair never shows its secret.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { inspect } = require('node:util');

const {
  InvalidArgumentError,
  KeyPair,
  MalformedError,
  NullArgumentError,
  PublicKey,
} = require('charter');

test('a generated key pair round-trips through PKCS#8', () => {
  const pair = KeyPair.generate();
  const der = pair.toPkcs8();
  assert.ok(Buffer.isBuffer(der));
  assert.ok(der.length > 32);
  const again = KeyPair.fromPkcs8(der);
  assert.ok(again.publicKey.equals(pair.publicKey));
  assert.equal(again.principal, pair.principal);
  assert.ok(KeyPair.fromPkcs8(new Uint8Array(der)).publicKey.equals(pair.publicKey), 'a Uint8Array works');
  assert.ok(!KeyPair.generate().publicKey.equals(pair.publicKey), 'every key is new');
});

test('a key pair refuses what is not an Ed25519 PKCS#8 document', () => {
  assert.throws(() => KeyPair.fromPkcs8(Buffer.from('not a key')), MalformedError);
  const der = KeyPair.generate().toPkcs8();
  assert.throws(() => KeyPair.fromPkcs8(der.subarray(0, der.length - 1)), MalformedError);
  assert.throws(() => KeyPair.fromPkcs8(), NullArgumentError);
  assert.throws(() => KeyPair.fromPkcs8('MC4CAQAw'), InvalidArgumentError);
});

test("a key pair's public key and principal, and its printed form without the secret", () => {
  const pair = KeyPair.generate();
  assert.ok(pair.publicKey instanceof PublicKey);
  assert.equal(pair.publicKey, pair.publicKey, 'the same object on every read');
  assert.match(pair.principal, /^charter-id1:[A-Za-z0-9_-]{43}$/);
  assert.equal(pair.principal, pair.publicKey.principal);
  const shown = inspect(pair);
  assert.equal(shown, `KeyPair <${pair.publicKey}>`);
  assert.ok(!shown.includes(pair.toPkcs8().toString('base64')));
  assert.equal(JSON.stringify(pair), '{}');
});

test('a public key round-trips through its text and bytes', () => {
  const key = KeyPair.generate().publicKey;
  const text = key.toString();
  assert.match(text, /^charter-pk1:[A-Za-z0-9_-]{43}$/);
  assert.equal(JSON.stringify({ key }), JSON.stringify({ key: text }));
  assert.equal(inspect(key), `PublicKey <${text}>`);
  const parsed = PublicKey.fromText(text);
  assert.ok(parsed.equals(key));
  assert.equal(parsed.principal, key.principal);
  const bytes = key.bytes;
  assert.ok(Buffer.isBuffer(bytes));
  assert.equal(bytes.length, 32);
  bytes.fill(0);
  assert.notDeepEqual(key.bytes, bytes, 'each read is a copy');
  assert.ok(PublicKey.fromBytes(key.bytes).equals(key));
  assert.ok(PublicKey.fromText(`  ${text}\n`).equals(key), 'surrounding space is ignored');
});

test('equals is false for anything but the same key', () => {
  const key = KeyPair.generate().publicKey;
  assert.ok(!key.equals(KeyPair.generate().publicKey));
  assert.ok(!key.equals(key.toString()));
  assert.ok(!key.equals(null));
  assert.ok(!key.equals(Object.create(PublicKey.prototype)));
});

test('hostile public keys are refused', () => {
  const key = KeyPair.generate().publicKey;
  const text = key.toString();
  assert.throws(() => PublicKey.fromText(text.replace('charter-pk1:', 'charter-id1:')), MalformedError);
  assert.throws(() => PublicKey.fromText(key.principal), MalformedError, 'a principal is not a key');
  assert.throws(() => PublicKey.fromText(text.slice(0, -2)), MalformedError);
  assert.throws(() => PublicKey.fromText(`${text}AA`), MalformedError);
  assert.throws(() => PublicKey.fromText('charter-pk1:!!!'), MalformedError);
  assert.throws(() => PublicKey.fromBytes(Buffer.alloc(31, 1)), MalformedError);
  // Points of small order: anyone can forge signatures for them.
  assert.throws(() => PublicKey.fromBytes(Buffer.alloc(32)), /small order/);
  const identity = Buffer.alloc(32);
  identity[0] = 1;
  assert.throws(() => PublicKey.fromBytes(identity), /small order/);
  // y = p: not canonical.
  const p = Buffer.alloc(32, 0xff);
  p[0] = 0xed;
  p[31] = 0x7f;
  assert.throws(() => PublicKey.fromBytes(p), /not canonical/);
  assert.throws(() => PublicKey.fromText(42), InvalidArgumentError);
  assert.throws(() => PublicKey.fromBytes(undefined), NullArgumentError);
});

test('keys are not constructible directly', () => {
  assert.throws(() => new PublicKey(), TypeError);
  assert.throws(() => new KeyPair(), TypeError);
});
