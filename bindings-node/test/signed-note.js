'use strict';

// An independent C2SP signed-note verifier on node:crypto, shared by the
// audit suites: the checkpoints the binding signs and the shared vectors'.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');

/** The DER prefix of an Ed25519 SubjectPublicKeyInfo, before the 32 key bytes. */
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

const sha256 = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts)).digest();

/**
 * Verifies `note` with `verifierKey` as the C2SP signed-note spec says,
 * with node:crypto only, and returns the signed text and the key's bytes.
 */
function refVerifyNote(note, verifierKey) {
  const first = verifierKey.indexOf('+');
  const second = verifierKey.indexOf('+', first + 1);
  const [name, keyId] = [verifierKey.slice(0, first), verifierKey.slice(first + 1, second)];
  const encodedKey = Buffer.from(verifierKey.slice(second + 1), 'base64');
  assert.equal(encodedKey.length, 33);
  assert.equal(encodedKey[0], 0x01, 'key type: Ed25519');
  const publicKey = encodedKey.subarray(1);
  const id = sha256(Buffer.from(`${name}\n`), Buffer.from([0x01]), publicKey).subarray(0, 4);
  assert.equal(id.toString('hex'), keyId, 'key id = SHA-256(name || "\\n" || 0x01 || key)[:4]');

  const blank = note.lastIndexOf('\n\n');
  const text = note.slice(0, blank + 1);
  const lines = note.slice(blank + 2).split('\n');
  assert.equal(lines.pop(), '', 'the last signature line ends in a newline');
  const line = lines.find((l) => l.startsWith(`\u2014 ${name} `));
  assert.ok(line, 'a signature line by the key');
  const signature = Buffer.from(line.slice(`\u2014 ${name} `.length), 'base64');
  assert.equal(signature.length, 4 + 64);
  assert.ok(signature.subarray(0, 4).equals(id), 'the signature names the key id');
  const spki = Buffer.concat([ED25519_SPKI, publicKey]);
  const key = crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' });
  assert.ok(crypto.verify(null, Buffer.from(text), key, signature.subarray(4)), 'Ed25519 over the note text');
  return { text, publicKey };
}

module.exports = { refVerifyNote };
