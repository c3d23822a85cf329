'use strict';

// Witnessed checkpoints (C2SP tlog-cosignature, cosignature/v1): the
// witness cosigns only a checkpoint that extends the last one it cosigned
// for that log; a verifier requires k of n distinct witnesses. The key id
// is checked against node:crypto's SHA-256, independently of the core.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, test } = require('node:test');

const {
  AuditLog,
  BadSignatureError,
  CorruptError,
  DeniedError,
  InvalidArgumentError,
  KeyPair,
  MalformedError,
  NotFoundError,
  Witness,
  cosign,
  cosignerKey,
  parseWitnessRequest,
  verifyCosigned,
  verifyLog,
  witnessRequest,
} = require('charter');

const ORIGIN = 'example.com/audit';
const T = 1_750_000_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'charter-witness-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;
const fresh = (name) => path.join(dir, `${++files}-${name}`);

function signedLog(key = KeyPair.generate()) {
  const log = AuditLog.inMemory({ signer: key, origin: ORIGIN });
  return { log, vkey: log.verifierKey };
}

function grow(log, n) {
  for (let i = 0; i < n; i++) {
    log.appendSync({ time: i, action: 'publish', resource: `orders.${log.length}`, decision: 'deny' });
  }
  return log.checkpointSync();
}

const witness = (name, vkey) => Witness.open(fresh(`${name}.state`), { name, key: KeyPair.generate(), logs: [vkey] });

test('cosignerKey is the C2SP cosignature/v1 key', () => {
  const key = KeyPair.generate();
  const text = cosignerKey('w.example', key);
  const [name, id] = text.split('+', 2);
  const encoded = text.slice(name.length + id.length + 2);
  const raw = Buffer.from(encoded, 'base64');
  assert.equal(name, 'w.example');
  assert.equal(raw[0], 0x04);
  assert.deepEqual(raw.subarray(1), Buffer.from(key.publicKey.bytes));
  const digest = crypto.createHash('sha256').update(Buffer.concat([Buffer.from('w.example\n'), raw])).digest();
  assert.equal(id, digest.subarray(0, 4).toString('hex'));
  assert.throws(() => cosignerKey('has space', key), InvalidArgumentError);
});

test('cosign and verifyCosigned: k of n, a witness counted once', () => {
  const { log, vkey } = signedLog();
  const note = grow(log, 3);
  const keys = [KeyPair.generate(), KeyPair.generate(), KeyPair.generate()];
  const wkeys = keys.map((k, i) => cosignerKey(`w${i}`, k));
  const lines = keys.map((k, i) => cosign(note, `w${i}`, k, T + i));
  const two = note + lines[0] + lines[2];
  const cosigned = verifyCosigned(two, vkey, wkeys, 2);
  assert.deepEqual([cosigned.checkpoint.size, cosigned.witnesses, cosigned.timestamps], [3, ['w0', 'w2'], [T, T + 2]]);
  assert.throws(() => verifyCosigned(two, vkey, wkeys, 3), BadSignatureError);
  assert.throws(() => verifyCosigned(note + lines[1] + lines[1], vkey, wkeys, 2), BadSignatureError);
  assert.deepEqual(verifyCosigned(note + lines[1] + lines[1], vkey, wkeys, 1).witnesses, ['w1']);
  assert.throws(() => verifyCosigned(note + lines[1], vkey, [wkeys[1], wkeys[1]], 2), BadSignatureError);
  assert.throws(() => verifyCosigned(two, vkey, wkeys, 4), InvalidArgumentError);
  assert.deepEqual(cosign(note, 'w0', keys[0], new Date(T * 1000)), lines[0]);
});

test('a witness cosigns what extends, refuses a stale size, a split view, another key, an unknown log', async () => {
  const key = KeyPair.generate();
  const { log, vkey } = signedLog(key);
  const w = witness('witness.example', vkey);
  assert.equal(w.name, 'witness.example');
  assert.equal(w.latest(ORIGIN), null);
  const first = grow(log, 4);
  const line = await w.addCheckpoint(0, [], first, { timestamp: T });
  assert.deepEqual(verifyCosigned(first + line, vkey, [w.verifierKey], 1).timestamps, [T]);
  assert.deepEqual(w.latest(ORIGIN), { size: 4, root: log.rootAt(4) });

  const second = grow(log, 3);
  await assert.rejects(w.addCheckpoint(0, [], second), (e) => e instanceof DeniedError && /size 4/.test(e.message));
  w.addCheckpointSync(4, log.proveConsistency(4, 7), second);

  const fork = AuditLog.inMemory({ signer: key, origin: ORIGIN });
  grow(fork, 4);
  fork.appendSync({ time: 0, action: 'publish', resource: 'forged', decision: 'allow' });
  const forked = grow(fork, 3);
  await assert.rejects(w.addCheckpoint(7, fork.proveConsistency(7, 8), forked), CorruptError);
  assert.equal(w.latest(ORIGIN).size, 7);

  const impostor = AuditLog.inMemory({ signer: KeyPair.generate(), origin: ORIGIN });
  await assert.rejects(w.addCheckpoint(7, [], grow(impostor, 8)), BadSignatureError);
  const stranger = AuditLog.inMemory({ signer: KeyPair.generate(), origin: 'other.example/log' });
  await assert.rejects(w.addCheckpoint(0, [], grow(stranger, 1)), NotFoundError);
  assert.throws(() => Witness.open(fresh('s'), { name: 'w', key, logs: ['not a key'] }), MalformedError);
  assert.throws(() => new Witness(), TypeError);
});

test('witness requests round-trip', () => {
  const { log } = signedLog();
  grow(log, 2);
  const note = grow(log, 3);
  const proof = log.proveConsistency(2, 5);
  const body = witnessRequest(2, proof, note);
  assert.ok(body.startsWith('old 2\n'));
  assert.deepEqual(parseWitnessRequest(body), { oldSize: 2, proof, note });
  assert.throws(() => parseWitnessRequest(`old x\n\n${note}`), MalformedError);
});

test('verifyLog requires a quorum of witnesses on the persisted checkpoint', async () => {
  const file = fresh('audit.log');
  const key = KeyPair.generate();
  const log = await AuditLog.open(file, { signer: key, origin: ORIGIN });
  const vkey = log.verifierKey;
  const note = grow(log, 5);
  log.close();
  const ws = ['w0.example', 'w1.example', 'w2.example'].map((name) => witness(name, vkey));
  const wkeys = ws.map((w) => w.verifierKey);
  const lines = await Promise.all(ws.map((w) => w.addCheckpoint(0, [], note, { timestamp: T })));
  fs.writeFileSync(`${file}.checkpoint`, note + lines[0] + lines[1]);
  let report = await verifyLog(file, { logKey: vkey, witnesses: wkeys, quorum: 2 });
  assert.equal(report.ok, true, report.problem);
  assert.deepEqual(report.witnesses, ['w0.example', 'w1.example']);
  report = await verifyLog(file, { logKey: vkey, witnesses: wkeys, quorum: 3 });
  assert.deepEqual([report.ok, report.problemCode], [false, 'CHARTER_E_BAD_SIGNATURE']);
  fs.writeFileSync(`${file}.checkpoint`, note + lines[2] + lines[2]);
  assert.equal((await verifyLog(file, { logKey: vkey, witnesses: wkeys, quorum: 2 })).ok, false);
  assert.deepEqual((await verifyLog(file, { logKey: vkey, witnesses: wkeys, quorum: 1 })).witnesses, ['w2.example']);
});
