'use strict';

// close() releases at once what it promises: after bus.close() and
// log.close(), the audit file's lock is free, with no garbage collection in
// between (the closed objects are still referenced here).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');
const { setImmediate: turn } = require('node:timers/promises');

const { AuditLog, Bus, ClosedError, WouldBlockError } = require('charter');

test('closing a recording bus and its log frees the file lock at once', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'charter-close-test-'));
  try {
    const file = path.join(dir, 'audit.log');
    const log = AuditLog.openSync(file);
    const bus = new Bus({ audit: log, auditScope: 'all' });
    const sub = bus.subscribe('t');
    bus.publish('t', 'p');
    assert.throws(() => AuditLog.openSync(file), WouldBlockError, 'held while open');
    bus.close();
    log.close();
    const again = AuditLog.openSync(file);
    assert.equal(again.length, 2, 'subscribe and publish were recorded');
    again.close();
    assert.ok(sub.closed && bus.closed && log.closed, 'all still referenced');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a closed bus keeps no native memory: 50,000 closed buses, still referenced, cost little outside the JS heap', async () => {
  const count = 50_000;
  const kept = [];
  const before = process.memoryUsage();
  for (let i = 0; i < count; i += 1) {
    const bus = new Bus();
    bus.subscribe('pull');
    bus.subscribe('handled', () => {});
    bus.publish('pull', 'queued, then dropped at close');
    bus.close();
    kept.push(bus);
    if (i % 1000 === 999) {
      // A handler's thread-safe function is freed by Node on a turn of the
      // event loop once released (not by garbage collection).
      await turn();
    }
  }
  const after = process.memoryUsage();
  // No garbage collection is forced: the buses are all still referenced,
  // so only `close` can have released their native parts. Open, each of
  // these holds about 5 KB outside the JS heap; closed, about 1.3 KB (the
  // Node-API wrappings of its JS shells, and the core's record of each
  // subscription's accounting, which the shells keep readable).
  const native = after.rss - after.heapTotal - (before.rss - before.heapTotal);
  const perBus = native / count;
  assert.ok(perBus < 2048, `a closed bus holds ${perBus.toFixed(0)} bytes outside the JS heap`);
  assert.equal(kept.length, count);
  assert.ok(kept.every((bus) => bus.closed));
  assert.equal(kept[0].stats().published, 1, 'the accounting stays');
});

test('every call on a closed bus, its clients and its subscriptions throws ClosedError', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  const handled = bus.subscribe('h', () => {});
  bus.publish('t', 'one');
  bus.close();
  assert.throws(() => bus.publish('t', 'x'), ClosedError);
  assert.throws(() => bus.publishMany('t', ['x']), ClosedError);
  assert.throws(() => bus.subscribe('t'), ClosedError);
  assert.throws(() => bus.subscribe('t', () => {}), ClosedError);
  assert.throws(() => bus.evictIdle(), ClosedError);
  assert.throws(() => bus.onError, ClosedError);
  await assert.rejects(bus.request('t', 'x'), ClosedError);
  await assert.rejects(bus.publishAsync('t', 'x'), ClosedError);
  assert.throws(() => sub.tryRecv(), ClosedError);
  await assert.rejects(sub.recv(), ClosedError);
  await assert.rejects(sub.recvMany(4), ClosedError);
  assert.ok(sub.closed && handled.closed);
  const stats = sub.stats();
  assert.equal(stats.received, 1, 'a released subscription keeps its accounting');
  assert.equal(stats.dropped.closed, 1);
  assert.equal(sub.pattern, 't');
  assert.equal(typeof sub.id, 'number');
  sub.close();
  handled.close();
  bus.close();
});
