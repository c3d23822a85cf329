'use strict';

// The addon is context-aware: several worker threads load it and use it at
// the same time as the main thread; workers can be terminated mid-call.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, test } = require('node:test');
const { Worker } = require('node:worker_threads');

const { AuditLog, Bus, Registry, WouldBlockError } = require('charter');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charter-workers-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const fixture = (name) => path.join(__dirname, 'fixtures', name);

function run(worker) {
  return new Promise((resolve, reject) => {
    let message;
    worker.on('message', (m) => (message = m));
    worker.on('error', reject);
    worker.on('exit', (code) => resolve({ code, message }));
  });
}

test('workers load the addon and notify concurrently with the main thread', async () => {
  const workers = 4;
  const rounds = 20_000;
  const ready = new Int32Array(new SharedArrayBuffer(4));
  const runs = Array.from({ length: workers }, () =>
    run(new Worker(fixture('notify-worker.js'), { workerData: { rounds, ready, workers } })),
  );

  const registry = new Registry();
  let mainSum = 0;
  registry.register((n) => (mainSum += n));
  for (let i = 0; i < rounds; i++) {
    registry.notify(i);
  }

  const expectedSum = (rounds * (rounds - 1)) / 2;
  assert.equal(mainSum, expectedSum);
  for (const { code, message } of await Promise.all(runs)) {
    assert.equal(code, 0);
    assert.deepEqual(message, { sum: expectedSum, failures: rounds, size: 3 });
  }
});

test('terminating a worker in the middle of notify is safe', async () => {
  const busy = new Worker(fixture('busy-worker.js'));
  const exited = run(busy);
  await new Promise((resolve) => busy.once('message', resolve));
  await busy.terminate();
  assert.equal((await exited).code, 1);

  // The addon still loads and works in a new worker afterwards.
  const ready = new Int32Array(new SharedArrayBuffer(4));
  const after = await run(
    new Worker(fixture('notify-worker.js'), { workerData: { rounds: 10, ready, workers: 1 } }),
  );
  assert.equal(after.code, 0);
  assert.deepEqual(after.message, { sum: 45, failures: 10, size: 3 });
});

test('workers run buses of their own concurrently with the main thread', async () => {
  const workers = 3;
  const messages = 300;
  const ready = new Int32Array(new SharedArrayBuffer(4));
  const runs = Array.from({ length: workers }, () =>
    run(new Worker(fixture('bus-worker.js'), { workerData: { messages, ready, workers } })),
  );
  const bus = new Bus();
  const sub = bus.subscribe('main');
  let sum = 0;
  for (let i = 0; i < messages; i++) {
    bus.publish('main', String(i));
    sum += Number((await sub.recv()).payload);
  }
  const expected = (messages * (messages - 1)) / 2;
  assert.equal(sum, expected);
  for (const { code, message } of await Promise.all(runs)) {
    assert.equal(code, 0);
    assert.deepEqual(message, { pulled: expected, inline: expected, threaded: expected, square: '144' });
  }
});

test('terminating a worker with pending receives and thread handlers is safe', async () => {
  const worker = new Worker(fixture('busy-bus-worker.js'));
  const exited = run(worker);
  await new Promise((resolve) => worker.once('message', resolve));
  const started = Date.now();
  await worker.terminate();
  assert.equal((await exited).code, 1);
  assert.ok(Date.now() - started < 5000, 'terminate did not hang');
});

test('workers keep audit logs at once with the main thread; a file held elsewhere is refused', async () => {
  const workers = 3;
  const records = 200;
  const ready = new Int32Array(new SharedArrayBuffer(4));
  const contested = path.join(tmp, 'main.audit');
  const main = await AuditLog.open(contested);
  const files = Array.from({ length: workers }, (_, i) => path.join(tmp, `worker-${i}.audit`));
  const runs = files.map((file) =>
    run(new Worker(fixture('audit-worker.js'), { workerData: { file, contested, records, ready, workers } })),
  );
  const appended = await Promise.all(
    Array.from({ length: records }, (_, i) =>
      main.append({ time: i, action: 'write', resource: `main ${i}`, decision: 'allow' }),
    ),
  );
  assert.equal(new Set(appended).size, records);

  const outcomes = await Promise.all(runs);
  for (const [i, { code, message }] of outcomes.entries()) {
    assert.equal(code, 0);
    const { root, ...rest } = message;
    assert.deepEqual(rest, {
      length: records + 1,
      denied: records / 2,
      ok: true,
      contestedError: 'CHARTER_E_WOULD_BLOCK',
    });
    const reopened = await AuditLog.open(files[i]);
    assert.equal(reopened.root.toString('hex'), root, 'the file holds what the worker appended');
    assert.equal((await reopened.verify()).ok, true);
    reopened.close();
  }
  assert.equal((await main.verify()).ok, true);
  main.close();
});

test('terminating a worker with appends in flight leaves a log that opens and verifies', async () => {
  const file = path.join(tmp, 'busy.audit');
  const worker = new Worker(fixture('busy-audit-worker.js'), { workerData: { file } });
  const exited = run(worker);
  await new Promise((resolve) => worker.once('message', resolve));
  await worker.terminate();
  assert.equal((await exited).code, 1);
  // An append already running on a pool thread holds the log (and its
  // file lock) until it is done, a moment after the worker is gone.
  let log;
  for (let tries = 0; log === undefined; tries++) {
    try {
      log = await AuditLog.open(file);
    } catch (error) {
      if (!(error instanceof WouldBlockError) || tries === 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  assert.ok(log.length >= 16);
  assert.equal(log.recovery.truncatedBytes, 0, 'each record is written whole');
  assert.equal((await log.verify()).ok, true);
  log.close();
});
