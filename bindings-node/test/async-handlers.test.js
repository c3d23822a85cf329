'use strict';

// Promise-returning handlers: `Registry.notifyAsync` awaits them,
// concurrently or sequentially; a bus thread handler's Promise is awaited
// before the next message; every rejection is isolated, counted where it
// can be, passed to `onError`, and never an unhandled rejection.

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { test } = require('node:test');

const { Bus, Registry } = require('charter');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('notifyAsync awaits every handler concurrently and counts rejections as failed', async () => {
  const errors = [];
  const registry = new Registry({ onError: (id, error) => errors.push([id, error]) });
  const log = [];
  const slow = registry.register(async (event) => {
    log.push(`slow start ${event}`);
    await sleep(20);
    log.push('slow end');
  });
  const failing = registry.register(async () => {
    log.push('failing start');
    await sleep(5);
    throw new Error('async failure');
  });
  const reason = new Error('sync failure');
  const throwing = registry.register(() => {
    throw reason;
  });
  registry.register((event) => log.push(`sync ${event}`));
  const report = await registry.notifyAsync('e');
  assert.deepEqual(report, { delivered: 2, failed: 2, panicked: 0 });
  assert.deepEqual(log, ['slow start e', 'failing start', 'sync e', 'slow end']);
  assert.deepEqual(
    errors.map(([id, error]) => [id, error.message]),
    [
      [throwing, 'sync failure'],
      [failing, 'async failure'],
    ],
  );
  assert.ok(registry.contains(slow));
});

test('notifyAsync with sequential starts each handler after the previous one settled', async () => {
  const errors = [];
  const registry = new Registry({ onError: (id, error) => errors.push(error) });
  const log = [];
  registry.register(
    async () => {
      log.push('a start');
      await sleep(10);
      log.push('a end');
      throw new Error('a failed');
    },
    { priority: 2 },
  );
  registry.register(
    async () => {
      log.push('b start');
      await sleep(1);
      log.push('b end');
    },
    { priority: 1 },
  );
  registry.registerOnce(() => log.push('once'));
  const report = await registry.notifyAsync('e', { sequential: true });
  assert.deepEqual(log, ['a start', 'a end', 'b start', 'b end', 'once']);
  assert.deepEqual(report, { delivered: 2, failed: 1, panicked: 0 });
  assert.deepEqual(
    errors.map((e) => e.message),
    ['a failed'],
  );
  assert.equal(registry.size, 2, 'the once handler is gone');
});

test('a sequential round skips a handler that an earlier one unregistered', async () => {
  const registry = new Registry();
  const log = [];
  let second = 0;
  registry.register(
    async () => {
      await sleep(1);
      registry.unregister(second);
      log.push('first');
    },
    { priority: 1 },
  );
  second = registry.register(() => log.push('second'));
  assert.deepEqual(await registry.notifyAsync(null, { sequential: true }), {
    delivered: 1,
    failed: 0,
    panicked: 0,
  });
  assert.deepEqual(log, ['first']);
});

test('notify passes a handler rejection to onError instead of leaving it unhandled', async () => {
  const errors = [];
  const registry = new Registry({ onError: (id, error) => errors.push(error.message) });
  registry.register(async () => {
    throw new Error('later');
  });
  assert.deepEqual(registry.notify(1), { delivered: 1, failed: 0, panicked: 0 });
  await sleep(1);
  assert.deepEqual(errors, ['later']);
});

test('notifyAsync checks its options and rejects on a closed registry', async () => {
  const registry = new Registry();
  await assert.rejects(registry.notifyAsync(1, 'sequential'), { name: 'InvalidArgumentError' });
  registry.close();
  await assert.rejects(registry.notifyAsync(1), { name: 'ClosedError' });
});

test("a thread handler's Promise is awaited: one message at a time, a rejection counted as a handler failure", async () => {
  const errors = [];
  const bus = new Bus({ onError: (id, error, message) => errors.push([error.message, message.payload.toString()]) });
  const log = [];
  const sub = bus.subscribe(
    't',
    async (m) => {
      const n = m.payload.toString();
      log.push(`start ${n}`);
      await sleep(5);
      log.push(`end ${n}`);
      if (n === '1') {
        throw new Error('rejected');
      }
    },
    { dispatch: 'thread' },
  );
  for (const n of ['0', '1', '2']) {
    bus.publish('t', n);
  }
  while (sub.stats().delivered < 3 || log.length < 6) {
    await sleep(5);
  }
  await sleep(5);
  assert.deepEqual(log, ['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  assert.deepEqual(errors, [['rejected', '1']]);
  assert.equal(sub.stats().handlerFailures, 1);
  bus.close();
});

test("an inline handler's rejection is counted when it comes and goes to onError (publish cannot await it)", async () => {
  const errors = [];
  const bus = new Bus({ onError: (id, error) => errors.push(error.message) });
  const sub = bus.subscribe('t', async () => {
    await null;
    throw new Error('inline rejection');
  });
  assert.deepEqual(bus.publish('t', 'x'), { matched: 1, delivered: 1, dropped: 0 });
  assert.equal(sub.stats().handlerFailures, 0);
  await sleep(1);
  assert.deepEqual(errors, ['inline rejection']);
  const stats = sub.stats();
  assert.equal(stats.handlerFailures, 1);
  assert.equal(stats.delivered, 1);
});

test('rejecting async handlers with no onError hook are process warnings, never a crash', () => {
  const child = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'rejecting-handlers.cjs')], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(child.error, undefined);
  assert.equal(child.status, 0);
  assert.equal(child.stdout, 'survived: 1 failure counted, 1 inline and 1 thread handler failure\n');
  // Never silent: each failure is a process warning, as sync ones are.
  const warnings = child.stderr.split('\n').filter((line) => line.includes('CharterHandlerWarning'));
  assert.deepEqual(
    warnings.map((line) => line.replace(/.*threw /, '')),
    ['Error: registry', 'Error: registry', 'Error: inline', 'Error: thread'],
  );
});
