'use strict';

// KeyPair and PublicKey: generation, PKCS#8 and text forms, the checks on
// hostile keys, and that a key pair never shows its secret.

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, test } = require('node:test');
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

const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'charter-keys-test-'));
after(() => fs.rmSync(keyDir, { recursive: true, force: true }));

test('PKCS#8 out is RFC 8410 v1, and PEM round-trips', () => {
  const pair = KeyPair.generate();
  const der = pair.toPkcs8();
  assert.equal(der.length, 48);
  assert.equal(der.subarray(0, 16).toString('hex'), '302e020100300506032b657004220420');
  const pem = pair.toPem();
  assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/);
  assert.ok(KeyPair.fromPem(pem).publicKey.equals(pair.publicKey));
  assert.throws(() => KeyPair.fromPem(pem.replace('PRIVATE', 'PUBLIC')), MalformedError);
  assert.throws(() => KeyPair.fromPem(42), InvalidArgumentError);
});

test("node:crypto loads Charter's keys and Charter loads node:crypto's", () => {
  const pair = KeyPair.generate();
  const theirs = crypto.createPrivateKey({ key: pair.toPkcs8(), format: 'der', type: 'pkcs8' });
  const raw = crypto.createPublicKey(theirs).export({ format: 'der', type: 'spki' }).subarray(-32);
  assert.ok(raw.equals(pair.publicKey.bytes));
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const expected = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const fromDer = KeyPair.fromPkcs8(privateKey.export({ format: 'der', type: 'pkcs8' }));
  const fromPem = KeyPair.fromPem(privateKey.export({ format: 'pem', type: 'pkcs8' }));
  assert.ok(fromDer.publicKey.bytes.equals(expected));
  assert.ok(fromPem.publicKey.bytes.equals(expected));
});

test('key files are written 0600 and refused when others may access them', { skip: process.platform === 'win32' }, () => {
  const pair = KeyPair.generate();
  const file = path.join(keyDir, 'root.key');
  pair.writeFile(file);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.throws(() => pair.writeFile(file, { pem: true }), InvalidArgumentError, 'never replaces a key');
  assert.ok(KeyPair.readFile(file).publicKey.equals(pair.publicKey));
  fs.chmodSync(file, 0o644);
  assert.throws(() => KeyPair.readFile(file), /mode 0644/);
  assert.throws(() => KeyPair.readFile(file), InvalidArgumentError);
  assert.ok(KeyPair.readFile(file, { allowOpenPermissions: true }).publicKey.equals(pair.publicKey));
  assert.throws(() => KeyPair.readFile(file, { allowOpenPermissions: 'yes' }), InvalidArgumentError);
  const pemFile = path.join(keyDir, 'root.pem');
  pair.writeFile(pemFile, { pem: true });
  assert.match(fs.readFileSync(pemFile, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  assert.ok(KeyPair.readFile(pemFile).publicKey.equals(pair.publicKey));
  assert.throws(() => KeyPair.readFile(keyDir), InvalidArgumentError, 'not a regular file');
});

test('keys interoperate with the openssl command', (t) => {
  try {
    execFileSync('openssl', ['version']);
  } catch {
    t.skip('the openssl command is not installed');
    return;
  }
  const pair = KeyPair.generate();
  const file = path.join(keyDir, 'charter.der');
  pair.writeFile(file);
  const spki = execFileSync('openssl', ['pkey', '-inform', 'DER', '-in', file, '-pubout', '-outform', 'DER']);
  assert.ok(spki.subarray(-32).equals(pair.publicKey.bytes));
  const theirs = path.join(keyDir, 'openssl.pem');
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', theirs]);
  fs.chmodSync(theirs, 0o600);
  const expected = execFileSync('openssl', ['pkey', '-in', theirs, '-pubout', '-outform', 'DER']).subarray(-32);
  assert.ok(KeyPair.readFile(theirs).publicKey.bytes.equals(expected));
});

test('a key pair is made from, and exported as, a crypto.KeyObject', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const pair = KeyPair.fromKeyObject(privateKey);
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
  assert.deepEqual(pair.publicKey.bytes, raw, 'the same key, not a new one');
  assert.ok(PublicKey.fromKeyObject(publicKey).equals(pair.publicKey));
  assert.ok(PublicKey.fromKeyObject(privateKey).equals(pair.publicKey), 'the public half of a private key');

  const exported = pair.toKeyObject();
  assert.equal(exported.type, 'private');
  assert.equal(exported.asymmetricKeyType, 'ed25519');
  assert.ok(exported.equals(privateKey));
  const exportedPublic = pair.publicKey.toKeyObject();
  assert.equal(exportedPublic.type, 'public');
  assert.ok(exportedPublic.equals(publicKey));
});

test('keys exported as KeyObjects sign and verify with node:crypto', () => {
  const pair = KeyPair.generate();
  const data = Buffer.from('signed by a charter key');
  const signature = crypto.sign(null, data, pair.toKeyObject());
  assert.ok(crypto.verify(null, data, pair.publicKey.toKeyObject(), signature));
  assert.ok(!crypto.verify(null, Buffer.from('something else'), pair.publicKey.toKeyObject(), signature));
  assert.ok(!crypto.verify(null, data, KeyPair.generate().publicKey.toKeyObject(), signature));

  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  const imported = KeyPair.fromKeyObject(privateKey);
  const theirs = crypto.sign(null, data, privateKey);
  assert.ok(crypto.verify(null, data, imported.publicKey.toKeyObject(), theirs));
});

test('fromKeyObject refuses what is not an Ed25519 KeyObject of the right kind', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  assert.throws(() => KeyPair.fromKeyObject(publicKey), {
    name: 'InvalidArgumentError',
    message: /private KeyObject/,
  });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  assert.throws(() => KeyPair.fromKeyObject(ec.privateKey), { name: 'InvalidArgumentError', message: /got ec/ });
  assert.throws(() => PublicKey.fromKeyObject(ec.publicKey), InvalidArgumentError);
  const x448 = crypto.generateKeyPairSync('ed448');
  assert.throws(() => PublicKey.fromKeyObject(x448.publicKey), { message: /got ed448/ });
  assert.throws(() => KeyPair.fromKeyObject(crypto.createSecretKey(Buffer.alloc(32))), InvalidArgumentError);
  assert.throws(() => KeyPair.fromKeyObject(privateKey.export({ format: 'der', type: 'pkcs8' })), InvalidArgumentError);
  assert.throws(() => KeyPair.fromKeyObject(), NullArgumentError);
  assert.throws(() => PublicKey.fromKeyObject(null), NullArgumentError);
});
