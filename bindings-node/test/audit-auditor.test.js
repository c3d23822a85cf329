'use strict';

// The auditor's path (verifyLog, LogView) and the writer's append-only
// rules, from Node. The tests run as root, which file permissions do not
// stop, so "read-only" is shown the other way round: the log and its
// directory are made 0444 and 0555, and the test asserts that the auditor
// left every file's bytes, size and mtime as they were and created none (no
// lock file, no temporary file).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, test } = require('node:test');

const {
  AuditLog,
  CorruptError,
  InvalidArgumentError,
  KeyPair,
  LogView,
  NotFoundError,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
  verifyLog,
  verifyLogSync,
} = require('charter');

const ORIGIN = 'example.com/audit';
const T0 = 1_767_225_600_000;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'charter-auditor-test-'));
after(() => {
  fs.chmodSync(root, 0o755);
  fs.rmSync(root, { recursive: true, force: true });
});
let dirs = 0;
/** A fresh directory. */
const freshDir = () => fs.mkdtempSync(path.join(root, `d${++dirs}-`));

const entry = (i) => ({
  time: T0 + i,
  action: 'publish',
  resource: `orders.${String(i).padStart(3, '0')}`,
  decision: 'deny',
});

/**
 * A log of `n` records at `file`; resolves with the checkpoint note, if
 * signed. The writes after opening are synchronous: a Promise form's pool
 * thread may still hold the log (and its lock) for a moment after it
 * settles, and the tests reopen the file at once.
 */
async function written(file, key, n, checkpoint = true) {
  const log = await AuditLog.open(file, { signer: key, origin: ORIGIN, fsync: 'never' });
  try {
    for (let i = 0; i < n; i++) {
      log.appendSync(entry(i));
    }
    return checkpoint ? log.checkpointSync() : null;
  } finally {
    log.close();
  }
}

/** Every file in `dir`: bytes, size, mtime and mode. */
function snapshot(dir) {
  return Object.fromEntries(
    fs.readdirSync(dir).sort().map((name) => {
      const file = path.join(dir, name);
      const st = fs.lstatSync(file, { bigint: true });
      return [name, { data: fs.readFileSync(file).toString('hex'), size: st.size, mtime: st.mtimeNs, mode: st.mode }];
    }),
  );
}

function setup() {
  const key = KeyPair.generate();
  const log = AuditLog.inMemory({ signer: key, origin: ORIGIN });
  const vkey = log.verifierKey;
  log.close();
  return { key, vkey };
}

test('verifyLog and LogView never write: a read-only file and directory stay as they were', async () => {
  const dir = path.join(freshDir(), 'ro');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'audit.log');
  const { key, vkey } = setup();
  await written(file, key, 6);
  fs.appendFileSync(file, Buffer.alloc(30, 7)); // a frame being written: never cut
  for (const name of fs.readdirSync(dir)) {
    fs.chmodSync(path.join(dir, name), 0o444);
  }
  fs.chmodSync(dir, 0o555);
  const before = snapshot(dir);
  await new Promise((resolve) => setTimeout(resolve, 10));

  const report = await verifyLog(file, { logKey: vkey });
  assert.equal(report.ok, true, report.problem);
  assert.deepEqual([report.records, report.checkpoint, report.problemCode], [6, 6, null]);
  assert.deepEqual(verifyLogSync(file, { logKey: vkey }), report);
  const view = await LogView.open(file);
  assert.equal(view.length, 6);
  assert.deepEqual(view.root, report.root);
  assert.equal(verifyCheckpoint(view.checkpoint(), vkey).size, 6);
  verifyInclusion(view.leafHash(2), 2, 6, view.proveInclusion(2, 6), view.root);
  verifyConsistency(3, 6, view.rootAt(3), view.root, view.proveConsistency(3, 6));
  assert.equal(LogView.openSync(file).length, 6);

  assert.deepEqual(snapshot(dir), before);
  fs.chmodSync(dir, 0o755);
});

test('verifyLog beside a live writer sees a growing, consistent prefix', async () => {
  const file = path.join(freshDir(), 'audit.log');
  const { key, vkey } = setup();
  await written(file, key, 1);
  const writer = await AuditLog.open(file, { signer: key, origin: ORIGIN, fsync: 'never', checkpointEvery: 5 });
  assert.equal(writer.checkpointEvery, 5);
  let stop = false;
  const writing = (async () => {
    for (let i = 1; !stop; i++) {
      await writer.append({ time: i, action: 'publish', resource: 'x'.repeat(i % 300), decision: 'allow' });
    }
  })();
  let seen = 0;
  const deadline = Date.now() + 10_000;
  try {
    for (let i = 0; i < 30 || (seen < 50 && Date.now() < deadline); i++) {
      const report = await verifyLog(file, { logKey: vkey });
      assert.equal(report.ok, true, report.problem);
      assert.ok(report.records >= seen && report.checkpoint !== null && report.checkpoint <= report.records);
      seen = report.records;
    }
  } finally {
    stop = true;
    await writing;
    writer.close();
  }
  assert.ok(seen > 1, `the verifier saw ${seen} records`);
});

test('tamper, rollback and a split view are caught; the writer refuses to sign them', async () => {
  const dir = freshDir();
  const file = path.join(dir, 'audit.log');
  const { key, vkey } = setup();
  const earlier = await written(file, key, 8);
  const data = fs.readFileSync(file);
  const checkpoint = fs.readFileSync(`${file}.checkpoint`);

  const tampered = Buffer.from(data);
  tampered[data.indexOf('orders.003') + 9] ^= 1;
  fs.writeFileSync(file, tampered);
  let report = await verifyLog(file, { logKey: vkey });
  assert.deepEqual([report.ok, report.firstBad, report.problemCode], [false, 3, 'CHARTER_E_CORRUPT']);

  // Rollback: the same five records written alone give the frame boundary.
  const five = path.join(dir, 'five.log');
  await written(five, key, 5, false);
  const prefix = fs.readFileSync(five);
  assert.deepEqual(data.subarray(0, prefix.length), prefix);
  fs.writeFileSync(file, prefix);
  await assert.rejects(
    AuditLog.open(file, { signer: key, origin: ORIGIN }),
    (e) => e instanceof CorruptError && /record 5/.test(e.message),
  );
  report = await verifyLog(file, { logKey: vkey });
  assert.deepEqual([report.ok, report.records, report.firstBad], [false, 5, 5]);
  // The host drops the checkpoint and re-appends: only a note kept elsewhere catches it.
  fs.rmSync(`${file}.checkpoint`);
  const rewriter = AuditLog.openSync(file, { signer: key, origin: ORIGIN });
  rewriter.appendSync({ time: 1, action: 'publish', resource: 'other', decision: 'allow' });
  rewriter.checkpointSync();
  rewriter.close();
  assert.equal((await verifyLog(file, { logKey: vkey })).ok, true);
  report = await verifyLog(file, { logKey: vkey, against: earlier });
  assert.deepEqual([report.ok, report.against, report.problemCode], [false, 8, 'CHARTER_E_CORRUPT']);

  // A split view under the old checkpoint: the writer will not open it, so never signs it.
  const split = Buffer.from(data);
  split[data.indexOf('orders.006') + 9] ^= 1;
  fs.writeFileSync(file, split);
  fs.writeFileSync(`${file}.checkpoint`, checkpoint);
  assert.throws(() => AuditLog.openSync(file, { signer: key, origin: ORIGIN }), CorruptError);
  assert.deepEqual(fs.readFileSync(`${file}.checkpoint`), checkpoint);
});

test('a trust state file catches a deleted and restarted log', async () => {
  const dir = freshDir();
  const [file, state] = [path.join(dir, 'audit.log'), path.join(dir, 'trusted')];
  const { key, vkey } = setup();
  await written(file, key, 10);
  assert.equal((await verifyLog(file, { logKey: vkey, state })).ok, true);
  assert.equal(fs.statSync(state).mode & 0o777, 0o600);
  fs.rmSync(file);
  fs.rmSync(`${file}.checkpoint`);
  await written(file, key, 3);
  assert.equal((await verifyLog(file, { logKey: vkey })).ok, true);
  const report = await verifyLog(file, { logKey: vkey, state });
  assert.equal(report.ok, false);
  await assert.rejects(verifyLog(file, { state }), InvalidArgumentError);
});

test('a missing checkpoint fails with a log key unless allowed', async () => {
  const dir = freshDir();
  const file = path.join(dir, 'audit.log');
  const { key, vkey } = setup();
  await written(file, key, 3, false);
  const report = await verifyLog(file, { logKey: vkey });
  assert.deepEqual([report.ok, report.problemCode], [false, 'CHARTER_E_BAD_SIGNATURE']);
  assert.equal((await verifyLog(file, { logKey: vkey, allowMissingCheckpoint: true })).ok, true);
  assert.equal((await verifyLog(file)).ok, true);
  await assert.rejects(verifyLog(path.join(dir, 'missing')), NotFoundError);
  await assert.rejects(verifyLog(dir), InvalidArgumentError);
  assert.throws(() => verifyLogSync(file, { quorum: -1 }), InvalidArgumentError);
  assert.throws(() => verifyLogSync(file, { witnesses: 'not an array' }), InvalidArgumentError);
  await assert.rejects(LogView.open(path.join(dir, 'missing')), NotFoundError);
});

test('a symlinked checkpoint.tmp is not followed; files are 0600', async () => {
  const dir = freshDir();
  const [file, victim] = [path.join(dir, 'audit.log'), path.join(dir, 'victim')];
  fs.writeFileSync(victim, 'precious');
  const { key, vkey } = setup();
  await written(file, key, 2, false);
  fs.symlinkSync(victim, `${file}.checkpoint.tmp`);
  const log = await AuditLog.open(file, { signer: key, origin: ORIGIN });
  const note = await log.checkpoint();
  log.close();
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
  const st = fs.lstatSync(`${file}.checkpoint`);
  assert.ok(!st.isSymbolicLink() && (st.mode & 0o777) === 0o600);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.readFileSync(`${file}.checkpoint`, 'utf8'), note);
  assert.equal((await verifyLog(file, { logKey: vkey })).ok, true);
});

test('startOver keeps the old history; automatic checkpoints', async () => {
  const dir = freshDir();
  const file = path.join(dir, 'audit.log');
  const { key, vkey } = setup();
  const log = AuditLog.openSync(file, { signer: key, origin: ORIGIN, checkpointEvery: 3 });
  for (let i = 0; i < 7; i++) {
    log.appendSync(entry(i));
  }
  log.close();
  assert.equal((await verifyLog(file, { logKey: vkey })).checkpoint, 6);
  // On a file of its own: the interval thread may hold the log (and its
  // lock) for a moment after close, while it signs.
  const timedFile = path.join(dir, 'timed.log');
  const timed = AuditLog.openSync(timedFile, { signer: key, origin: ORIGIN, checkpointIntervalMs: 20 });
  assert.equal(timed.checkpointIntervalMs, 20);
  timed.appendSync(entry(0));
  const deadline = Date.now() + 10_000;
  while ((await verifyLog(timedFile, { logKey: vkey })).checkpoint !== 1 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  timed.close();
  assert.equal((await verifyLog(timedFile, { logKey: vkey })).checkpoint, 1);
  assert.throws(() => AuditLog.openSync(file, { checkpointEvery: 3 }), InvalidArgumentError);
  assert.throws(
    () => AuditLog.openSync(file, { signer: key, origin: ORIGIN, checkpointIntervalMs: 0 }),
    InvalidArgumentError,
  );

  await assert.rejects(AuditLog.startOver(file, { signer: key, origin: ORIGIN, reason: 'x' }), InvalidArgumentError);
  assert.throws(() => AuditLog.startOverSync(file, { signer: key, origin: `${ORIGIN}-2` }), /reason/);
  const fresh = await AuditLog.startOver(file, { signer: key, origin: `${ORIGIN}-2`, reason: 'disk restored' });
  const first = fresh.get(0);
  assert.deepEqual([fresh.length, first.action, first.resource], [1, 'start_over', ORIGIN]);
  assert.match(first.detail, /size 6.*disk restored/);
  fresh.close();
  const kept = fs.readdirSync(dir).filter((name) => name.includes('.replaced-'));
  assert.equal(kept.length, 2);
});
