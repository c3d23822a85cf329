'use strict';

// The audit log: every public method, tampering and torn tails on disk,
// proofs checked by the binding's verifiers and by an independent RFC 9162
// implementation written here on node:crypto, checkpoints checked as C2SP
// signed notes with node:crypto's Ed25519, and decisions recorded by a bus
// and an authority.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { after, test } = require('node:test');

const {
  AuditLog,
  Authority,
  BadSignatureError,
  Bus,
  ClosedError,
  CorruptError,
  DeniedError,
  InvalidArgumentError,
  KeyPair,
  LimitExceededError,
  MalformedError,
  NotFoundError,
  NullArgumentError,
  WouldBlockError,
  auditLimits,
  encodeRecord,
  leafHash,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
} = require('charter');
const { holderWith, setup } = require('./capability-setup.js');
const { refVerifyNote } = require('./signed-note.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'charter-audit-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;
/** A fresh file path in the test directory. */
const freshPath = () => path.join(dir, `log-${++files}.audit`);

/** 2026-01-01T00:00:00Z in milliseconds. */
const T0 = 1_767_225_600_000;
const ACTOR = KeyPair.generate().principal;

/** Record `i` of the test logs: every field used, resources easy to find on disk. */
function entry(i) {
  return {
    time: T0 + i * 1000,
    actor: i % 2 === 1 ? ACTOR : undefined,
    action: i % 3 === 0 ? 'subscribe' : 'publish',
    resource: `res-${String(i).padStart(4, '0')}`,
    decision: ['allow', 'deny', 'error'][i % 3],
    reason: i % 3 === 0 ? 0 : -10,
    detail: `detail ${i}`,
  };
}

/** What `get(i)` returns for `entry(i)`. */
function stored(i) {
  const e = entry(i);
  return { index: i, ...e, actor: e.actor ?? null, actorUnproven: false };
}

// ---- An independent implementation: the record encoding and RFC 9162 (C2SP signed notes: signed-note.js).

const sha256 = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts)).digest();
const refLeafHash = (leaf) => sha256(Buffer.from([0]), leaf);
const refNodeHash = (left, right) => sha256(Buffer.from([1]), left, right);

/** docs/formats.md's record encoding, written out from the spec. */
function refEncode(record, index) {
  const u16 = (n) => Buffer.from([n >> 8, n & 0xff]);
  const head = Buffer.alloc(1 + 8 + 8 + 1 + 4);
  head.writeUInt8(1, 0);
  head.writeBigUInt64BE(BigInt(index), 1);
  head.writeBigUInt64BE(BigInt(record.time), 9);
  head.writeUInt8({ allow: 0, deny: 1, error: 2 }[record.decision], 17);
  head.writeInt32BE(record.reason ?? 0, 18);
  const flag = record.actorUnproven ? 2 : 1;
  const actor = record.actor
    ? Buffer.concat([Buffer.from([flag]), Buffer.from(record.actor.slice('charter-id1:'.length), 'base64url')])
    : Buffer.from([0]);
  const fields = [record.action, record.resource, record.detail ?? ''].map((text) => {
    const bytes = Buffer.from(text, 'utf8');
    return Buffer.concat([u16(bytes.length), bytes]);
  });
  return Buffer.concat([head, actor, ...fields]);
}

/** The largest power of two smaller than `n` (n > 1). */
function split(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]), RFC 9162 section 2.1.1. */
function refRoot(leaves) {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0];
  const k = split(leaves.length);
  return refNodeHash(refRoot(leaves.slice(0, k)), refRoot(leaves.slice(k)));
}

/** PATH(m, D[n]), section 2.1.3.1. */
function refPath(m, leaves) {
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return m < k
    ? [...refPath(m, leaves.slice(0, k)), refRoot(leaves.slice(k))]
    : [...refPath(m - k, leaves.slice(k)), refRoot(leaves.slice(0, k))];
}

/** PROOF(m, D[n]), section 2.1.4.1 (empty for m = 0 and m = n). */
function refProof(m, leaves) {
  const subproof = (m, d, b) => {
    if (m === d.length) return b ? [] : [refRoot(d)];
    const k = split(d.length);
    return m <= k
      ? [...subproof(m, d.slice(0, k), b), refRoot(d.slice(k))]
      : [...subproof(m - k, d.slice(k), false), refRoot(d.slice(0, k))];
  };
  return m === 0 || m === leaves.length ? [] : subproof(m, leaves, true);
}

/** Inclusion verification, section 2.1.3.2, step by step. */
function refVerifyInclusion(index, size, leaf, proof, root) {
  if (index >= size) return false;
  let [fn, sn, r] = [index, size - 1, leaf];
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      r = refNodeHash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn !== 0) [fn, sn] = [fn >> 1, sn >> 1];
      }
    } else {
      r = refNodeHash(r, p);
    }
    [fn, sn] = [fn >> 1, sn >> 1];
  }
  return sn === 0 && r.equals(root);
}

/** Consistency verification, section 2.1.4.2, for 0 < first < second. */
function refVerifyConsistency(first, second, firstHash, secondHash, proof) {
  if (proof.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [firstHash, ...proof] : [...proof];
  let [fn, sn] = [first - 1, second - 1];
  while (fn & 1) [fn, sn] = [fn >> 1, sn >> 1];
  let [fr, sr] = [path[0], path[0]];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      fr = refNodeHash(c, fr);
      sr = refNodeHash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn !== 0) [fn, sn] = [fn >> 1, sn >> 1];
      }
    } else {
      sr = refNodeHash(sr, c);
    }
    [fn, sn] = [fn >> 1, sn >> 1];
  }
  return fr.equals(firstHash) && sr.equals(secondHash) && sn === 0;
}

/** A file log of `n` records of `entry`, appended on this thread. */
function fileLog(n, logOptions) {
  const file = freshPath();
  const log = AuditLog.openSync(file, logOptions);
  for (let i = 0; i < n; i++) log.appendSync(entry(i));
  return { file, log };
}

/** Flips one byte of the file, inside record `i`'s resource. */
function flipByteOfRecord(file, i) {
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf(Buffer.from(entry(i).resource));
  assert.notEqual(at, -1);
  bytes[at + 2] ^= 0x01;
  fs.writeFileSync(file, bytes);
}

// ---- The log

test('open creates a file log; append and appendSync return indexes; length, root, get', async () => {
  const file = freshPath();
  const log = await AuditLog.open(file);
  assert.ok(log instanceof AuditLog);
  assert.equal(log.path, file);
  assert.equal(log.origin, 'charter.local/audit');
  assert.deepEqual(log.recovery, { records: 0, truncatedBytes: 0 });
  assert.equal(log.length, 0);
  assert.ok(log.root.equals(sha256()), 'the empty root is SHA-256 of nothing');
  assert.equal(await log.append(entry(0)), 0);
  assert.equal(log.appendSync(entry(1)), 1);
  assert.equal(await log.append({ ...entry(2), time: new Date(T0 + 2000) }), 2);
  assert.equal(log.length, 3);
  for (let i = 0; i < 3; i++) assert.deepEqual(log.get(i), stored(i));
  assert.throws(() => log.get(3), NotFoundError);
  assert.equal(fs.readFileSync(file).subarray(0, 4).toString(), 'CHAU');
  log.close();

  const again = AuditLog.openSync(pathToFileURL(file));
  assert.deepEqual(again.recovery, { records: 3, truncatedBytes: 0 });
  assert.deepEqual([...again], [0, 1, 2].map(stored));
  again[Symbol.dispose]();
  assert.equal(again.closed, true);
});

test('a log closed right after an awaited append, sync or checkpoint opens again at once', async () => {
  // The pool thread's clone of the log must be gone before the Promise
  // settles: otherwise it still holds the file's lock when close() returns.
  const file = freshPath();
  const signer = KeyPair.generate();
  for (let round = 0; round < 30; round++) {
    const log = AuditLog.openSync(file, { signer });
    await log.append(entry(round));
    if (round % 3 === 1) await log.sync();
    if (round % 3 === 2) await log.checkpoint();
    log.close();
  }
  const again = AuditLog.openSync(file, { signer });
  assert.equal(again.length, 30);
  again.close();
});

test('one writer per file: a second open fails with WouldBlockError until the first is closed', async () => {
  const { file, log } = fileLog(2);
  const iterator = log.records();
  iterator.next();
  await assert.rejects(AuditLog.open(file), WouldBlockError);
  assert.throws(() => AuditLog.openSync(file), WouldBlockError);
  log.close();
  const again = await AuditLog.open(file);
  assert.equal(again.length, 2, 'close released the file, though an iterator of it was still alive');
  again.close();
});

test('many appends in flight at once get distinct indexes and all land', async () => {
  const { log } = fileLog(0);
  const n = 200;
  const indexes = await Promise.all(Array.from({ length: n }, (_, i) => log.append(entry(i))));
  assert.deepEqual([...indexes].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
  assert.equal(log.length, n);
  for (const [i, index] of indexes.entries()) assert.equal(log.get(index).resource, entry(i).resource);
  assert.equal((await log.verify()).ok, true);
  log.close();
});

test('inMemory logs keep the same tree; fsync policies and sync', async () => {
  const memory = AuditLog.inMemory({ origin: 'example.com/mem' });
  assert.equal(memory.path, null);
  assert.equal(memory.origin, 'example.com/mem');
  assert.deepEqual(memory.recovery, { records: 0, truncatedBytes: 0 });
  const interval = fileLog(0, { fsync: { intervalMs: 5 } }).log;
  const never = fileLog(0, { fsync: 'never' }).log;
  for (const log of [memory, interval, never]) {
    for (let i = 0; i < 5; i++) assert.equal(await log.append(entry(i)), i);
    assert.equal(await log.sync(), undefined);
    assert.equal(log.syncSync(), undefined);
  }
  assert.ok(memory.root.equals(interval.root));
  assert.ok(memory.root.equals(never.root));
  for (const log of [memory, interval, never]) log.close();
});

test('options are checked', async () => {
  const file = freshPath();
  for (const bad of [{ fsync: 'sometimes' }, { fsync: { intervalMs: 0 } }, { fsync: { intervalMs: 1.5 } }]) {
    assert.throws(() => AuditLog.inMemory(bad), InvalidArgumentError);
    await assert.rejects(AuditLog.open(file, bad), InvalidArgumentError);
  }
  assert.throws(() => AuditLog.inMemory({ signer: 'key' }), InvalidArgumentError);
  assert.throws(() => AuditLog.inMemory({ origin: 'has space' }), InvalidArgumentError);
  assert.throws(() => AuditLog.inMemory({ origin: 'a+b', signer: KeyPair.generate() }), InvalidArgumentError);
  assert.throws(() => AuditLog.inMemory(7), InvalidArgumentError);
  assert.throws(() => AuditLog.openSync(), NullArgumentError);
  await assert.rejects(AuditLog.open(42), InvalidArgumentError);
  assert.equal(fs.existsSync(file), false, 'nothing was created');
  assert.throws(() => new AuditLog(), TypeError);
});

test('records are checked; the core checks the byte limits', async () => {
  const log = AuditLog.inMemory();
  const bad = [
    [{ ...entry(0), decision: 'maybe' }, InvalidArgumentError],
    [{ ...entry(0), time: -1 }, InvalidArgumentError],
    [{ ...entry(0), time: new Date(NaN) }, InvalidArgumentError],
    [{ ...entry(0), reason: 1.5 }, InvalidArgumentError],
    [{ ...entry(0), reason: 2 ** 31 }, InvalidArgumentError],
    [{ ...entry(0), action: '' }, InvalidArgumentError],
    [{ ...entry(0), resource: undefined }, NullArgumentError],
    [{ ...entry(0), actor: 'charter-id1:nope' }, MalformedError],
    [{ ...entry(0), action: 'a'.repeat(auditLimits.maxActionBytes + 1) }, LimitExceededError],
    [{ ...entry(0), resource: 'é'.repeat(auditLimits.maxResourceBytes / 2 + 1) }, LimitExceededError],
    [{ ...entry(0), detail: 'd'.repeat(auditLimits.maxDetailBytes + 1) }, LimitExceededError],
  ];
  for (const [record, ErrorClass] of bad) {
    assert.throws(() => log.appendSync(record), ErrorClass);
    await assert.rejects(log.append(record), ErrorClass);
  }
  assert.throws(() => log.appendSync(), NullArgumentError);
  assert.equal(log.length, 0, 'nothing was appended');
  const smallest = { time: 0, action: 'a', resource: '', decision: 'allow', reason: -(2 ** 31) };
  assert.equal(log.appendSync(smallest), 0);
  assert.deepEqual(auditLimits, {
    maxActionBytes: 64,
    maxResourceBytes: 1024,
    maxDetailBytes: 1024,
    maxRecordBytes: 2173,
    maxNoteBytes: 65536,
    maxProofHashes: 64,
    recordVersion: 1,
  });
  assert.ok(Object.isFrozen(auditLimits));
});

test('records() selects by time, actor, decision and index, as a real iterator', async () => {
  const log = AuditLog.inMemory();
  for (let i = 0; i < 12; i++) log.appendSync(entry(i));
  const indexes = (query) => [...log.records(query)].map((r) => r.index);
  assert.deepEqual(indexes(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(indexes({ decision: 'deny' }), [1, 4, 7, 10]);
  assert.deepEqual(indexes({ actor: ACTOR }), [1, 3, 5, 7, 9, 11]);
  assert.deepEqual(indexes({ actor: ACTOR, decision: 'error' }), [5, 11]);
  assert.deepEqual(indexes({ since: T0 + 3000, until: new Date(T0 + 6000) }), [3, 4, 5]);
  assert.deepEqual(indexes({ since: new Date(T0 + 10_000) }), [10, 11]);
  assert.deepEqual(indexes({ until: T0 + 1000 }), [0]);
  assert.deepEqual(indexes({ fromIndex: 9 }), [9, 10, 11]);
  assert.deepEqual(indexes({ fromIndex: 99 }), []);

  const iterator = log.records({ decision: 'allow' });
  assert.equal(iterator[Symbol.iterator](), iterator);
  assert.deepEqual(iterator.next(), { value: stored(0), done: false });
  assert.deepEqual(iterator.next().value.index, 3);
  log.appendSync(entry(12));
  assert.deepEqual([...iterator].map((r) => r.index), [6, 9], 'only the records there when it started');
  const seen = [];
  for await (const record of log.records({ fromIndex: 11 })) seen.push(record.index);
  assert.deepEqual(seen, [11, 12]);

  assert.throws(() => log.records({ decision: 'nope' }), InvalidArgumentError);
  assert.throws(() => log.records({ since: -5 }), InvalidArgumentError);
  assert.throws(() => log.records({ actor: 'x' }), MalformedError);
  assert.throws(() => log.records('all'), InvalidArgumentError);
});

test('a checkpoint verifies with verifyCheckpoint and, independently, with node:crypto Ed25519', async () => {
  const signer = KeyPair.generate();
  const { file, log } = fileLog(5, { signer, origin: 'example.com/audit' });
  assert.equal(log.latestCheckpoint(), null);
  const note = await log.checkpoint();
  assert.equal(log.latestCheckpoint(), note);
  assert.equal(fs.readFileSync(`${file}.checkpoint`, 'utf8'), note);

  const key = log.verifierKey;
  assert.match(key, /^example\.com\/audit\+[0-9a-f]{8}\+/);
  assert.deepEqual(verifyCheckpoint(note, key), { origin: 'example.com/audit', size: 5, root: log.root });

  const { text, publicKey } = refVerifyNote(note, key);
  assert.ok(publicKey.equals(signer.publicKey.bytes), 'the verifier key carries the signer');
  assert.equal(text, `example.com/audit\n5\n${log.root.toString('base64')}\n`);
  const leaves = Array.from({ length: 5 }, (_, i) => refLeafHash(refEncode(entry(i), i)));
  assert.ok(refRoot(leaves).equals(log.root), 'the signed root is the RFC 9162 root of the records');

  log.appendSync(entry(5));
  const later = log.checkpointSync();
  assert.equal(verifyCheckpoint(later, key).size, 6);
  assert.equal(log.latestCheckpoint(), later);

  const tampered = note.replace('\n5\n', '\n4\n');
  assert.throws(() => verifyCheckpoint(tampered, key), BadSignatureError);
  const otherKey = AuditLog.inMemory({ signer: KeyPair.generate(), origin: 'example.com/audit' }).verifierKey;
  assert.throws(() => verifyCheckpoint(note, otherKey), BadSignatureError);
  assert.throws(() => verifyCheckpoint('not a note', key), MalformedError);
  assert.throws(() => verifyCheckpoint(note, 'not a key'), MalformedError);
  assert.throws(() => verifyCheckpoint(note), NullArgumentError);
  log.close();
  const reopened = AuditLog.openSync(file, { signer, origin: 'example.com/audit' });
  assert.equal(reopened.latestCheckpoint(), later, 'the latest checkpoint is kept next to the file');
  reopened.close();
});

test('a log without a signer has no verifier key and cannot checkpoint', async () => {
  const log = AuditLog.inMemory();
  assert.equal(log.verifierKey, null);
  await assert.rejects(log.checkpoint(), InvalidArgumentError);
  assert.throws(() => log.checkpointSync(), InvalidArgumentError);
  await assert.rejects(log.verifyAgainst('x'), InvalidArgumentError);
  const memory = AuditLog.inMemory({ signer: KeyPair.generate() });
  assert.equal(memory.latestCheckpoint(), null);
  const note = memory.checkpointSync();
  assert.equal(memory.latestCheckpoint(), note, 'in memory, the latest checkpoint is kept in memory');
});

test('every proof for n <= 32 verifies with the verifiers here and an independent RFC 9162 one', () => {
  const log = AuditLog.inMemory();
  const leaves = [];
  const roots = [sha256()];
  for (let i = 0; i < 32; i++) {
    log.appendSync(entry(i));
    const leaf = refLeafHash(refEncode(entry(i), i));
    assert.ok(log.leafHash(i).equals(leaf), `leaf ${i}: the encoding is the documented one`);
    assert.ok(leafHash(encodeRecord(entry(i), i)).equals(leaf));
    assert.ok(encodeRecord(entry(i), i).equals(refEncode(entry(i), i)));
    leaves.push(leaf);
    roots.push(refRoot(leaves));
  }
  let checked = 0;
  for (let n = 1; n <= 32; n++) {
    assert.ok(log.rootAt(n).equals(roots[n]), `root of ${n}`);
    for (let i = 0; i < n; i++) {
      const proof = log.proveInclusion(i, n);
      assert.deepEqual(proof, refPath(i, leaves.slice(0, n)), `PATH(${i}, ${n})`);
      verifyInclusion(leaves[i], i, n, proof, roots[n]);
      assert.ok(refVerifyInclusion(i, n, leaves[i], proof, roots[n]), `reference inclusion ${i} of ${n}`);
      checked++;
    }
    for (let m = 0; m <= n; m++) {
      const proof = log.proveConsistency(m, n);
      assert.deepEqual(proof, refProof(m, leaves.slice(0, n)), `PROOF(${m}, ${n})`);
      verifyConsistency(m, n, roots[m], roots[n], proof);
      if (m > 0 && m < n) {
        const ok = refVerifyConsistency(m, n, roots[m], roots[n], proof);
        assert.ok(ok, `reference consistency ${m} to ${n}`);
      }
      checked++;
    }
  }
  assert.equal(checked, 528 + 560);
  assert.ok(log.root.equals(roots[32]));
});

test('tampered or misshapen proofs are refused by both implementations', () => {
  const log = AuditLog.inMemory();
  for (let i = 0; i < 13; i++) log.appendSync(entry(i));
  const [root, leaf] = [log.root, log.leafHash(5)];
  const proof = log.proveInclusion(5, 13);
  const flipped = proof.map((h) => Buffer.from(h));
  flipped[1][7] ^= 1;
  assert.throws(() => verifyInclusion(leaf, 5, 13, flipped, root), BadSignatureError);
  assert.equal(refVerifyInclusion(5, 13, leaf, flipped, root), false);
  assert.throws(() => verifyInclusion(leaf, 6, 13, proof, root), BadSignatureError);
  assert.equal(refVerifyInclusion(6, 13, leaf, proof, root), false);
  assert.throws(() => verifyInclusion(leaf, 5, 13, proof.slice(1), root), MalformedError);
  assert.throws(() => verifyInclusion(leaf, 13, 13, proof, root), InvalidArgumentError);
  assert.throws(() => verifyInclusion(leaf.subarray(1), 5, 13, proof, root), InvalidArgumentError);
  assert.throws(() => verifyInclusion(leaf, 5, 13, 'proof', root), InvalidArgumentError);
  assert.throws(() => verifyInclusion(leaf, -1, 13, proof, root), InvalidArgumentError);

  const old = log.rootAt(6);
  const consistency = log.proveConsistency(6, 13);
  const bent = consistency.map((h) => Buffer.from(h));
  bent[0][0] ^= 1;
  assert.throws(() => verifyConsistency(6, 13, old, root, bent), BadSignatureError);
  assert.equal(refVerifyConsistency(6, 13, old, root, bent), false);
  assert.throws(() => verifyConsistency(6, 13, root, root, consistency), BadSignatureError);
  assert.equal(refVerifyConsistency(6, 13, root, root, consistency), false);
  assert.throws(() => verifyConsistency(6, 13, old, root, [...consistency, root]), MalformedError);
  assert.throws(() => verifyConsistency(7, 6, old, root, []), InvalidArgumentError);
  assert.throws(() => log.proveInclusion(13, 13), InvalidArgumentError);
  assert.throws(() => log.proveConsistency(14, 13), InvalidArgumentError);
  assert.throws(() => log.rootAt(14), InvalidArgumentError);
  assert.throws(() => log.leafHash(13), NotFoundError);
  assert.throws(() => log.proveInclusion(0.5, 13), InvalidArgumentError);
  assert.throws(() => leafHash('leaf'), InvalidArgumentError);
});

test('a byte flipped on disk: verify names the first bad record, get and records throw', async () => {
  const { file, log } = fileLog(8);
  assert.deepEqual(await log.verify(), {
    records: 8,
    firstBad: null,
    problem: null,
    problemCode: null,
    checkpoint: null,
    against: null,
    witnesses: [],
    root: log.root,
    ok: true,
  });
  flipByteOfRecord(file, 5);
  flipByteOfRecord(file, 6);
  const report = await log.verify();
  assert.equal(report.ok, false);
  assert.equal(report.problemCode, 'CHARTER_E_CORRUPT');
  assert.equal(report.firstBad, 5);
  assert.equal(report.records, 5);
  assert.match(report.problem, /record 5/);
  assert.ok(report.root.equals(log.rootAt(5)));
  assert.deepEqual(log.verifySync(), report);
  assert.deepEqual(log.get(4), stored(4));
  assert.throws(() => log.get(5), CorruptError);
  const iterator = log.records();
  for (let i = 0; i < 5; i++) assert.equal(iterator.next().value.index, i);
  assert.throws(() => iterator.next(), CorruptError);
  assert.deepEqual(iterator.next(), { value: undefined, done: true }, 'the iteration ended there');
  log.close();

  const before = fs.readFileSync(file);
  await assert.rejects(AuditLog.open(file), (error) => {
    assert.ok(error instanceof CorruptError);
    assert.match(error.message, /record 5/);
    return true;
  });
  assert.throws(() => AuditLog.openSync(file), CorruptError);
  assert.ok(fs.readFileSync(file).equals(before), 'the damaged file is left as it is');

  const notALog = freshPath();
  fs.writeFileSync(notALog, 'hello, world\n');
  await assert.rejects(AuditLog.open(notALog), CorruptError);
});

test('a torn last record is cut off on open and reported in recovery', async () => {
  const { file, log } = fileLog(5);
  const root4 = log.rootAt(4);
  log.close();
  const size = fs.statSync(file).size;
  fs.truncateSync(file, size - 3);
  const reopened = await AuditLog.open(file);
  assert.equal(reopened.recovery.records, 4);
  assert.ok(reopened.recovery.truncatedBytes > 0);
  assert.equal(reopened.length, 4);
  assert.ok(reopened.root.equals(root4));
  assert.equal((await reopened.verify()).ok, true);
  assert.equal(await reopened.append(entry(4)), 4, 'appending continues where the intact records end');
  assert.deepEqual(reopened.get(4), stored(4));
  reopened.close();
  assert.equal(fs.statSync(file).size, size);
});

test('verifyAgainst catches a rollback that verify alone cannot see', async () => {
  const signer = KeyPair.generate();
  const logOptions = { signer, origin: 'example.com/audit' };
  const { file, log } = fileLog(3, logOptions);
  const sizeAt3 = fs.statSync(file).size;
  log.appendSync(entry(3));
  log.appendSync(entry(4));
  const note = await log.checkpoint();
  log.appendSync(entry(5));
  const extended = await log.verifyAgainst(note);
  assert.equal(extended.ok, true);
  assert.equal(extended.checkpoint, 5);
  assert.deepEqual(log.verifyAgainstSync(note), extended);
  const foreign = AuditLog.inMemory({ signer: KeyPair.generate(), origin: 'example.com/audit' });
  await assert.rejects(log.verifyAgainst(foreign.checkpointSync()), BadSignatureError);
  await assert.rejects(log.verifyAgainst(42), InvalidArgumentError);
  log.close();

  // Rolled back to 3 records, its persisted checkpoint removed too.
  fs.truncateSync(file, sizeAt3);
  fs.rmSync(`${file}.checkpoint`);
  const rolledBack = await AuditLog.open(file, logOptions);
  assert.equal((await rolledBack.verify()).ok, true, 'on its own it looks intact');
  const report = await rolledBack.verifyAgainst(note);
  assert.equal(report.ok, false);
  assert.match(report.problem, /truncated or rolled back/);
  rolledBack.close();
});

test('close: every later call throws ClosedError, iterators too; close is idempotent', async () => {
  const log = AuditLog.inMemory({ signer: KeyPair.generate() });
  log.appendSync(entry(0));
  log.appendSync(entry(1));
  const iterator = log.records();
  iterator.next();
  assert.equal(log.closed, false);
  log.close();
  log.close();
  assert.equal(log.closed, true);
  assert.throws(() => iterator.next(), ClosedError);
  const calls = [
    () => log.appendSync(entry(2)),
    () => log.syncSync(),
    () => log.length,
    () => log.root,
    () => log.rootAt(0),
    () => log.leafHash(0),
    () => log.checkpointSync(),
    () => log.verifierKey,
    () => log.origin,
    () => log.path,
    () => log.recovery,
    () => log.latestCheckpoint(),
    () => log.proveInclusion(0, 1),
    () => log.proveConsistency(1, 2),
    () => log.get(0),
    () => log.records(),
    () => [...log],
    () => log.verifySync(),
    () => log.verifyAgainstSync('note'),
  ];
  for (const call of calls) assert.throws(call, ClosedError, String(call));
  const pending = [
    () => log.append(entry(2)),
    () => log.sync(),
    () => log.checkpoint(),
    () => log.verify(),
    () => log.verifyAgainst('note'),
  ];
  for (const call of pending) await assert.rejects(call(), ClosedError, String(call));
  assert.throws(() => new Bus({ audit: log }), ClosedError);
});

test('an append or verification in flight completes when the log is closed meanwhile', async () => {
  const { log } = fileLog(3);
  const appended = log.append(entry(3));
  const verified = log.verify();
  log.close();
  assert.equal(await appended, 3);
  assert.equal((await verified).ok, true);
});

// ---- Decisions recorded by a bus and an authority

test('an enforcing bus records a denial with the principal; allowed calls only under "all"', async () => {
  const env = setup();
  const log = AuditLog.inMemory();
  const bus = new Bus({ authority: env.authority, audit: log });
  const { session } = holderWith(env, ['publish orders.*.created', 'subscribe orders.>']);
  const client = bus.client(session);
  client.publish('orders.eu.created', 'o-1');
  assert.equal(log.length, 0, "'denials' records nothing on the allowed path");
  let denied;
  try {
    client.publish('orders.eu.deleted', 'o-1');
  } catch (error) {
    denied = error;
  }
  assert.ok(denied instanceof DeniedError);
  assert.throws(() => bus.publish('orders.eu.created', 'o-2'), DeniedError);
  await assert.rejects(client.publishAsync('orders.us.deleted', 'o-3'), DeniedError);
  assert.throws(() => client.subscribe('billing.>'), DeniedError);

  const records = [...log];
  assert.equal(records.length, 4);
  const [first, anonymous, asynchronous, subscribe] = records;
  assert.equal(first.decision, 'deny');
  assert.equal(first.actor, session.principal);
  assert.equal(first.action, 'publish');
  assert.equal(first.resource, 'orders.eu.deleted');
  assert.equal(first.reason, DeniedError.status);
  assert.equal(first.detail, denied.message);
  assert.ok(Math.abs(first.time - Date.now()) < 60_000);
  assert.equal(anonymous.actor, null, 'a call without a session has no principal');
  assert.equal(asynchronous.resource, 'orders.us.deleted');
  assert.deepEqual([subscribe.action, subscribe.resource], ['subscribe', 'billing.>']);
  assert.deepEqual([...log.records({ actor: session.principal })].map((r) => r.index), [0, 2, 3]);
  bus.close();

  const all = AuditLog.inMemory();
  const open = new Bus({ audit: all, auditScope: 'all' });
  open.publish('t.a', 'x');
  assert.deepEqual(
    [...all].map((r) => [r.decision, r.action, r.resource, r.actor]),
    [['allow', 'publish', 't.a', null]],
  );
  open.close();
});

test('bus and authority audit options are checked', () => {
  const log = AuditLog.inMemory();
  assert.throws(() => new Bus({ audit: log, auditScope: 'some' }), InvalidArgumentError);
  assert.throws(() => new Bus({ auditScope: 'all' }), InvalidArgumentError);
  assert.throws(() => new Bus({ audit: {} }), InvalidArgumentError);
  assert.throws(() => new Authority([], { audit: 'log' }), InvalidArgumentError);
  assert.throws(() => new Authority([], { auditScope: 'all' }), InvalidArgumentError);
  assert.ok(new Bus({ audit: log, auditScope: null }) instanceof Bus);
});

test('an authority records refused session openings, and every opening under "all"', async () => {
  const log = AuditLog.inMemory();
  const env = setup({ audit: log });
  const { token, holder } = holderWith(env, ['publish t']);
  const challenge = env.authority.challenge();
  await assert.rejects(env.authority.openSession(token, challenge, Buffer.alloc(64)), BadSignatureError);
  assert.equal(log.length, 1, 'the successful opening in holderWith was not recorded');
  const record = log.get(0);
  assert.equal(record.decision, 'deny');
  assert.equal(record.action, 'open_session');
  assert.equal(record.actor, holder.principal);
  assert.equal(record.resource, env.root.publicKey.toString());
  assert.equal(record.reason, BadSignatureError.status);
  assert.equal(record.actorUnproven, true, 'the refusal names the holder, but nobody proved to be the holder');

  const all = AuditLog.inMemory();
  const recorded = setup({ audit: all, auditScope: 'all' });
  holderWith(recorded, ['publish t']);
  assert.deepEqual([...all].map((r) => [r.decision, r.action, r.actorUnproven]), [['allow', 'open_session', false]]);
});

test('a claimed actor round-trips, is flag 2, and needs an actor', () => {
  const log = AuditLog.inMemory();
  const claimed = { time: T0, actor: ACTOR, actorUnproven: true, action: 'open_session', resource: 'k', decision: 'deny' };
  assert.equal(log.appendSync(claimed), 0);
  assert.equal(log.get(0).actorUnproven, true);
  assert.equal(log.get(0).actor, ACTOR);
  assert.equal(encodeRecord(claimed, 0)[22], 2);
  assert.ok(encodeRecord(claimed, 0).equals(refEncode(claimed, 0)));
  assert.equal(encodeRecord({ ...claimed, actorUnproven: false }, 0)[22], 1);
  assert.throws(() => log.appendSync({ ...claimed, actor: undefined }), /cannot mark its actor unproven/);
  assert.throws(() => log.appendSync({ ...claimed, actor: undefined }), InvalidArgumentError);
  assert.throws(() => log.appendSync({ ...claimed, actorUnproven: 'yes' }), InvalidArgumentError);
  assert.equal(log.length, 1);
});
