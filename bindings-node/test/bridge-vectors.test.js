'use strict';

// vectors/bridge/messages.json in Node. Seal cases: the signed bytes are
// rebuilt here from the message, as docs/formats.md states them ("NATS
// bridge message authentication"), and each proof is checked with
// node:crypto's Ed25519, not Charter's. Verify cases: each goes, in order,
// through one BridgeVerifier (the replay window carries from case to case)
// and must come out as stated. Seal id cases: the hashed bytes and the id
// are rebuilt from the spec with node:crypto's SHA-256.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const {
  Authority,
  BridgeVerifier,
  CharterError,
  DeniedError,
  InvalidArgumentError,
  ManualClock,
  NullArgumentError,
  Token,
} = require('charter');

const vectors = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'vectors', 'bridge', 'messages.json'), 'utf8'),
);
const ENVELOPE = new Set(['Charter-Origin', 'Charter-Seq', 'Charter-Time', 'Charter-Token', 'Charter-Proof']);
/** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410). */
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

function lengthPrefixed(text) {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function sha256(bytes) {
  return crypto.createHash('sha256').update(bytes).digest();
}

/** The bytes a proof signs, built from the spec alone. */
function signedBytes(c) {
  const fields = Object.fromEntries(c.headers.filter(([name]) => ENVELOPE.has(name)));
  const others = c.headers
    .filter(([name]) => !ENVELOPE.has(name))
    .map(([name, value]) => [Buffer.from(name), Buffer.from(value)])
    .sort((a, b) => Buffer.compare(a[0], b[0]) || Buffer.compare(a[1], b[1]));
  const numbers = Buffer.alloc(16);
  numbers.writeBigUInt64BE(BigInt(fields['Charter-Seq']), 0);
  numbers.writeBigUInt64BE(BigInt(fields['Charter-Time']), 8);
  const count = Buffer.alloc(2);
  count.writeUInt16BE(others.length);
  const token = Buffer.from(fields['Charter-Token'].replace(/^charter-tok1:/, ''), 'base64url');
  return Buffer.concat([
    Buffer.from('charter/bridge-message/v1\0'),
    Buffer.from(fields['Charter-Origin'], 'hex'),
    numbers,
    lengthPrefixed(c.subject),
    lengthPrefixed(c.reply ?? ''),
    sha256(token),
    sha256(Buffer.from(c.payload_hex, 'hex')),
    count,
    ...others.flatMap(([name, value]) => [lengthPrefixed(name.toString()), lengthPrefixed(value.toString())]),
  ]);
}

test('seal cases sign the documented bytes, verified with node:crypto', () => {
  assert.ok(vectors.seal_cases.length >= 4);
  for (const c of vectors.seal_cases) {
    const signed = signedBytes(c);
    assert.equal(signed.toString('hex'), c.signed_bytes_hex, c.name);
    const fields = Object.fromEntries(c.headers);
    const holder = Token.fromText(fields['Charter-Token']).subject.bytes;
    const key = crypto.createPublicKey({ key: Buffer.concat([SPKI_ED25519, holder]), format: 'der', type: 'spki' });
    const proof = Buffer.from(fields['Charter-Proof'], 'base64url');
    assert.equal(crypto.verify(null, signed, key, proof), true, c.name);
    assert.equal(crypto.verify(null, Buffer.concat([signed, Buffer.from('x')]), key, proof), false, c.name);
  }
});

test('seal id cases hash the documented bytes, with node:crypto', () => {
  assert.ok(vectors.seal_id_cases.length >= 4);
  for (const c of vectors.seal_id_cases) {
    const key = vectors.keys.find((k) => k.name === c.holder);
    const principal = sha256(Buffer.from(key.public_key_hex, 'hex'));
    assert.equal(principal.toString('hex'), c.principal_hex, c.name);
    assert.deepEqual(Buffer.from(key.principal.replace(/^charter-id1:/, ''), 'base64url'), principal, c.name);
    const seq = Buffer.alloc(8);
    seq.writeBigUInt64BE(BigInt(c.seq));
    const hashed = Buffer.concat([Buffer.from('charter/bridge-seal-id/v1\0'), principal, Buffer.from(c.origin, 'hex'), seq]);
    assert.equal(hashed.length, 82, c.name);
    assert.equal(hashed.toString('hex'), c.hashed_hex, c.name);
    assert.equal(sha256(hashed).readBigUInt64BE(0).toString(), c.seal_id, c.name);
  }
});

function vectorVerifier() {
  const skewMs = vectors.max_skew_ms;
  const authority = new Authority(vectors.trusted_roots, {
    clock: new ManualClock(vectors.authority_now),
    clockSkewSeconds: skewMs / 1000,
  });
  for (const link of vectors.revoked_links) {
    assert.equal(authority.revoke(link), true);
  }
  return new BridgeVerifier(authority, { maxSkewMs: skewMs, fixedTimeMs: vectors.now_ms });
}

test('verify cases come out as stated, in order, through one verifier', () => {
  const verifier = vectorVerifier();
  const seen = new Set();
  for (const c of vectors.verify_cases) {
    const expect =
      c.expect.kind === 'reply'
        ? { kind: 'reply', subject: c.expect.subject, inbox: c.expect.inbox, nonce: c.expect.nonce, sentMs: c.expect.sent_ms }
        : c.expect.kind;
    const message = { subject: c.subject, reply: c.reply, headers: c.headers, payload: Buffer.from(c.payload_hex, 'hex') };
    let got;
    try {
      assert.equal(verifier.check(message, expect), c.principal, c.name);
      got = 'accepted';
    } catch (error) {
      assert.ok(error instanceof CharterError, `${c.name}: ${error}`);
      got = error.reason;
    }
    assert.equal(got, c.result, c.name);
    seen.add(got);
  }
  for (const reason of ['accepted', 'unsigned', 'malformed', 'chain', 'bad_proof', 'not_granted', 'stale', 'replayed', 'revoked', 'misdirected']) {
    assert.ok(seen.has(reason), `the vectors cover ${reason}`);
  }
});

test('bad arguments are refused before any check', () => {
  const verifier = vectorVerifier();
  assert.throws(() => verifier.check({ subject: 'a.b', payload: '' }, 'subscribe'), InvalidArgumentError);
  assert.throws(() => verifier.check({ subject: 'a.b', payload: '' }, { kind: 'reply', inbox: 'i', nonce: 'n', sentMs: 0 }), NullArgumentError);
  assert.throws(() => verifier.check({ payload: '' }), NullArgumentError);
  assert.throws(() => verifier.check({ subject: 'a.b', bogus: 1 }), InvalidArgumentError);
  assert.throws(() => new BridgeVerifier({}), InvalidArgumentError);
  assert.throws(
    () => verifier.check({ subject: 'a.b', headers: { a: '1' }, payload: 'x' }),
    (error) => error instanceof DeniedError && error.reason === 'unsigned',
  );
});
