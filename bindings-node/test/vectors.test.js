'use strict';

// The shared test vectors (`vectors/*.json`, see vectors/README.md): every
// case of every file, checked through the binding's public API, and the
// signatures they carry checked independently with node:crypto's Ed25519.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');

const charter = require('charter');
const { refVerifyNote } = require('./signed-note.js');

const {
  AuditLog,
  Authority,
  CharterError,
  InvalidArgumentError,
  KeyPair,
  ManualClock,
  Token,
  encodeRecord,
  leafHash,
  patternContains,
  topicMatches,
  validatePattern,
  validateTopic,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
} = charter;

const vectorsDir = path.join(__dirname, '..', '..', 'vectors');

/** A vector file, its schema and description checked. */
function load(name) {
  const vectors = JSON.parse(fs.readFileSync(path.join(vectorsDir, name), 'utf8'));
  assert.equal(vectors.schema, 1, name);
  assert.ok(typeof vectors.description === 'string' && vectors.description.length > 0, name);
  return vectors;
}

const unhex = (hex) => Buffer.from(hex, 'hex');

/** The status name `body` ends with: `'CHARTER_OK'`, or the code of the `CharterError` it throws. */
function outcome(body) {
  try {
    body();
    return 'CHARTER_OK';
  } catch (error) {
    assert.ok(error instanceof CharterError, `${error}`);
    return error.code;
  }
}

test('status.json: every status has its error class, with the same code and name', () => {
  const { cases } = load('status.json');
  assert.deepEqual(cases[0], { code: 0, name: 'CHARTER_OK' });
  const exported = Object.values(charter).filter(
    (value) => typeof value === 'function' && value.prototype instanceof CharterError,
  );
  assert.deepEqual(
    exported.map((ErrorClass) => ({ code: ErrorClass.status, name: ErrorClass.code })),
    cases.slice(1),
    'one class per error status, in code order, and no other',
  );
  for (const ErrorClass of exported) {
    const error = new ErrorClass('x');
    assert.equal(error.code, ErrorClass.code);
    assert.equal(error.status, ErrorClass.status);
  }
});

test('topics.json: validity, matching and containment', () => {
  const v = load('topics.json');
  for (const { text, valid_topic: validTopic, valid_pattern: validPattern } of v.validity) {
    const invalid = 'CHARTER_E_INVALID_ARGUMENT';
    assert.equal(outcome(() => validateTopic(text)), validTopic ? 'CHARTER_OK' : invalid, `topic ${text}`);
    assert.equal(outcome(() => validatePattern(text)), validPattern ? 'CHARTER_OK' : invalid, `pattern ${text}`);
  }
  for (const { pattern, topic, matches } of v.matching) {
    assert.equal(topicMatches(pattern, topic), matches, `${pattern} ~ ${topic}`);
  }
  for (const { inner, outer, contained } of v.containment) {
    assert.equal(patternContains(inner, outer), contained, `${inner} in ${outer}`);
  }
  assert.ok(v.validity.length > 0 && v.matching.length > 0 && v.containment.length > 0);
});

test('topics.json: an invalid topic or pattern throws with the rule it breaks', () => {
  const { validity } = load('topics.json');
  const badTopic = validity.find((c) => !c.valid_topic && c.valid_pattern).text;
  const badPattern = validity.find((c) => !c.valid_pattern).text;
  assert.throws(() => validateTopic(badTopic), { name: 'InvalidArgumentError', message: /wildcard/ });
  assert.throws(() => topicMatches('>', badTopic), { name: 'InvalidArgumentError', message: /^topic / });
  assert.throws(() => topicMatches(badPattern, 'a'), { name: 'InvalidArgumentError', message: /^pattern / });
  assert.throws(() => patternContains(badPattern, '>'), { name: 'InvalidArgumentError', message: /^inner: pattern / });
  assert.throws(() => patternContains('>', badPattern), { name: 'InvalidArgumentError', message: /^outer: pattern / });
  assert.throws(() => validatePattern(42), { name: 'InvalidArgumentError', message: /pattern must be a string/ });
});

/** A public key object for node:crypto from the 32 raw Ed25519 key bytes. */
function ed25519Key(raw) {
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

test('tokens.json: keys, and every case verified as the authority decides', async () => {
  const v = load('tokens.json');
  for (const key of v.keys) {
    const pair = KeyPair.fromPkcs8(unhex(key.pkcs8_hex));
    assert.equal(pair.publicKey.toString(), key.public_key, key.name);
    assert.equal(pair.publicKey.bytes.toString('hex'), key.public_key_hex, key.name);
    assert.equal(pair.principal, key.principal, key.name);
  }
  for (const c of v.cases) {
    const authority = new Authority(c.roots, {
      clock: new ManualClock(c.now),
      clockSkewSeconds: v.clock_skew,
      maxLifetimeSeconds: v.max_lifetime,
    });
    for (const id of c.revoked) assert.equal(authority.revoke(id), true, c.name);
    let token;
    let verified;
    const got = outcome(() => {
      token = Token.fromBytes(unhex(c.token_hex));
      verified = authority.verifySync(token);
    });
    assert.equal(got, c.expect, c.name);
    if (token !== undefined) {
      const settled = await authority.verify(token).then(
        (result) => ({ ...result, subject: result.subject.toString() }),
        (error) => ({ code: error.code }),
      );
      const expected = verified === undefined ? { code: c.expect } : { ...verified, subject: c.subject };
      assert.deepEqual(settled, expected, `${c.name}: verify agrees with verifySync`);
    }
    if (c.expect !== 'CHARTER_OK') continue;

    assert.equal(verified.subject.toString(), c.subject, c.name);
    assert.equal(verified.principal, verified.subject.principal, c.name);
    assert.deepEqual(verified.grants, c.grants, c.name);
    assert.equal(verified.notBefore, c.not_before, c.name);
    assert.equal(verified.notAfter, c.not_after, c.name);
    assert.deepEqual(verified.links, c.link_ids, c.name);
    assert.deepEqual(token.links.map((link) => link.linkId), c.link_ids, c.name);
    assert.equal(token.toString(), c.token_text, c.name);
    assert.equal(Token.fromText(c.token_text).toBytes().toString('hex'), c.token_hex, c.name);

    assert.equal(c.signatures.length, token.links.length, c.name);
    c.signatures.forEach((signature, i) => {
      const [publicKey, message, sig] = [signature.public_key_hex, signature.message_hex, signature.signature_hex];
      assert.equal(token.links[i].issuer.bytes.toString('hex'), publicKey, `${c.name} link ${i} issuer`);
      assert.ok(c.token_hex.includes(sig), `${c.name} link ${i}: the signature is in the token`);
      assert.ok(
        crypto.verify(null, unhex(message), ed25519Key(unhex(publicKey)), unhex(sig)),
        `${c.name} link ${i}: Ed25519 by node:crypto`,
      );
    });
  }
  assert.ok(v.keys.length > 0 && v.cases.length > 0);
});

test('audit.json: records, roots, proofs and checkpoints', () => {
  const v = load('audit.json');
  const roots = v.roots.map(unhex);
  assert.equal(roots.length, v.records.length + 1);

  const leaves = v.records.map((record, i) => {
    assert.equal(record.index, i);
    const { time, actor, action, resource, decision, reason, detail } = record;
    const actorUnproven = record.actor_unproven;
    const leaf = encodeRecord({ time, actor, actorUnproven, action, resource, decision, reason, detail }, record.index);
    assert.equal(leaf.toString('hex'), record.leaf_hex, `record ${i}`);
    const hash = leafHash(unhex(record.leaf_hex));
    assert.equal(hash.toString('hex'), record.leaf_hash_hex, `record ${i}`);
    return hash;
  });

  // Appended to a fresh log with the vectors' signer: the same roots, leaf
  // hashes and proofs, and (Ed25519 being deterministic) the same notes.
  const signer = KeyPair.fromPkcs8(unhex(v.signer.pkcs8_hex));
  assert.equal(signer.publicKey.toString(), v.signer.public_key);
  const log = AuditLog.inMemory({ signer, origin: v.origin });
  assert.equal(log.verifierKey, v.verifier_key);
  const notes = new Map(v.checkpoints.map((c) => [c.size, c.note]));
  assert.deepEqual(log.root, roots[0]);
  assert.equal(log.checkpointSync(), notes.get(0));
  for (const record of v.records) {
    const { index, leaf_hex: leafHex, leaf_hash_hex: leafHashHex, actor_unproven: actorUnproven, ...rest } = record;
    const fields = { ...rest, actorUnproven };
    assert.equal(log.appendSync(fields), index);
    assert.deepEqual(log.root, roots[index + 1], `root after ${index + 1} appends`);
    assert.equal(log.leafHash(index).toString('hex'), leafHashHex);
    assert.deepEqual(log.get(index), { index, ...fields });
    if (notes.has(index + 1)) assert.equal(log.checkpointSync(), notes.get(index + 1));
  }

  for (const { index, size, proof } of v.inclusion) {
    const hashes = proof.map(unhex);
    verifyInclusion(leaves[index], index, size, hashes, roots[size]);
    assert.deepEqual(log.proveInclusion(index, size), hashes, `inclusion ${index} in ${size}`);
  }
  for (const { old_size: oldSize, new_size: newSize, proof } of v.consistency) {
    const hashes = proof.map(unhex);
    verifyConsistency(oldSize, newSize, roots[oldSize], roots[newSize], hashes);
    assert.deepEqual(log.proveConsistency(oldSize, newSize), hashes, `consistency ${oldSize} to ${newSize}`);
  }

  for (const { size, root_hex: rootHex, note } of v.checkpoints) {
    assert.equal(rootHex, v.roots[size]);
    assert.deepEqual(verifyCheckpoint(note, v.verifier_key), { origin: v.origin, size, root: roots[size] });
    const { text, publicKey } = refVerifyNote(note, v.verifier_key);
    assert.equal(publicKey.toString('hex'), v.signer.public_key_hex);
    assert.equal(text, `${v.origin}\n${size}\n${roots[size].toString('base64')}\n`);
  }
  log.close();
  assert.ok([v.records, v.inclusion, v.consistency, v.checkpoints].every((cases) => cases.length > 0));
});

test('audit.json: cosigner keys, k-of-n cosigned notes and the witness request', () => {
  const v = load('audit.json');
  const byName = new Map(v.witnesses.map((w) => [w.name, w]));
  const wkeys = v.witnesses.map((w) => w.verifier_key);
  for (const w of v.witnesses) {
    assert.equal(charter.cosignerKey(w.name, KeyPair.fromPkcs8(unhex(w.key.pkcs8_hex))), w.verifier_key);
  }
  for (const c of v.cosignatures) {
    if (c.valid) {
      const cosigned = charter.verifyCosigned(c.note, v.verifier_key, wkeys, c.quorum);
      assert.deepEqual(
        [cosigned.checkpoint.size, cosigned.witnesses, cosigned.timestamps],
        [c.size, c.cosigned_by, c.timestamps],
        c.name,
      );
    } else {
      const verify = () => charter.verifyCosigned(c.note, v.verifier_key, wkeys, c.quorum);
      assert.throws(verify, { code: c.status }, c.name);
    }
  }

  // The request round-trips, the cosignature is the vector's (Ed25519 is
  // deterministic) and verifies with node:crypto over the signed message,
  // and a witness that saw the older checkpoint answers with it exactly.
  const r = v.witness_request;
  const key = KeyPair.fromPkcs8(unhex(byName.get(r.witness).key.pkcs8_hex));
  const { oldSize, proof, note } = charter.parseWitnessRequest(r.request);
  assert.deepEqual([oldSize, note], [r.old_size, r.note]);
  assert.equal(charter.witnessRequest(oldSize, proof, note), r.request);
  assert.equal(charter.cosign(note, r.witness, key, r.timestamp), r.cosignature);
  const raw = Buffer.from(r.cosignature.slice(`\u2014 ${r.witness} `.length, -1), 'base64');
  assert.equal(raw.readBigUInt64BE(4), BigInt(r.timestamp));
  const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex'); // DER SubjectPublicKeyInfo, Ed25519
  const spki = Buffer.concat([spkiPrefix, unhex(byName.get(r.witness).key.public_key_hex)]);
  const publicKey = crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' });
  assert.ok(crypto.verify(null, Buffer.from(r.signed_message), publicKey, raw.subarray(12)));
  const [older] = v.checkpoints.filter((c) => c.size === r.old_size).map((c) => c.note);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'charter-vectors-'));
  try {
    const options = { name: r.witness, key, logs: [v.verifier_key] };
    const witness = charter.Witness.open(path.join(dir, 'state'), options);
    witness.addCheckpointSync(0, [], older, { timestamp: r.timestamp });
    assert.equal(witness.addCheckpointSync(oldSize, proof, note, { timestamp: r.timestamp }), r.cosignature);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
