'use strict';

// Bounded queues: every overflow policy, time-to-live, slow-consumer
// episodes, and exact accounting (received == delivered + dropped + queued).

const assert = require('node:assert/strict');
const { test } = require('node:test');

const { Bus, LimitExceededError, TimeoutError, WouldBlockError } = require('charter');

const { drain } = require('./drain.js');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function assertBalanced(stats, label) {
  assert.equal(stats.received, stats.delivered + stats.dropped.total + stats.queued, label);
  const { overflow, expired, timeout, rejected, closed } = stats.dropped;
  assert.equal(stats.dropped.total, overflow + expired + timeout + rejected + closed, label);
}

test('dropOldest keeps the newest messages and counts the rest', () => {
  const bus = new Bus();
  const sub = bus.subscribe('t', { capacity: 2 });
  for (let i = 1; i <= 5; i++) {
    assert.deepEqual(bus.publish('t', String(i)), { matched: 1, delivered: 1, dropped: 0 });
    assertBalanced(sub.stats());
  }
  assert.deepEqual(drain(sub).map((m) => m.payload.toString()), ['4', '5']);
  const stats = sub.stats();
  assert.equal(stats.received, 5);
  assert.equal(stats.delivered, 2);
  assert.equal(stats.dropped.overflow, 3);
  assert.equal(stats.slowEpisodes, 1);
  assertBalanced(stats);
});

test('dropNewest keeps the oldest; the publish report counts the drop', () => {
  const bus = new Bus();
  const sub = bus.subscribe('t', { capacity: 2, overflow: 'dropNewest' });
  const reports = [1, 2, 3, 4].map((i) => bus.publish('t', String(i)));
  assert.deepEqual(reports.slice(2), [
    { matched: 1, delivered: 0, dropped: 1 },
    { matched: 1, delivered: 0, dropped: 1 },
  ]);
  assert.deepEqual(drain(sub).map((m) => m.payload.toString()), ['1', '2']);
  assert.equal(sub.stats().dropped.overflow, 2);
  assertBalanced(sub.stats());
});

test('error refuses the message, after every other subscription had it', () => {
  const bus = new Bus();
  const strict = bus.subscribe('t', { capacity: 1, overflow: 'error' });
  const lenient = bus.subscribe('t');
  bus.publish('t', 'first');
  assert.throws(() => bus.publish('t', 'second'), (error) => {
    assert.ok(error instanceof LimitExceededError);
    assert.match(error.message, /overflow policy is ERROR/);
    assert.match(error.message, /1 of 2 subscriptions accepted it/);
    return true;
  });
  assert.equal(lenient.stats().received, 2, 'the other subscription still got it');
  assert.deepEqual(drain(strict).map((m) => m.payload.toString()), ['first']);
  assert.equal(strict.stats().dropped.rejected, 1);
  assertBalanced(strict.stats());
});

test('a message larger than the queue is rejected by every policy', () => {
  const bus = new Bus();
  const oldest = bus.subscribe('t', { maxBytes: 8 });
  const error = bus.subscribe('t', { maxBytes: 8, overflow: 'error' });
  assert.throws(() => bus.publish('t', 'far too large'), /can never fit a queue of 8 bytes/);
  assert.equal(oldest.stats().dropped.rejected, 1);
  assert.equal(error.stats().dropped.rejected, 1);
  // Topic, payload and headers all count: 't' + 'ok' + 'k' + 'v' is 5 bytes.
  assert.equal(bus.publish('t', 'ok', { k: 'v' }).delivered, 2);
});

test('maxBytes bounds the queue by size as well as count', () => {
  const bus = new Bus();
  const sub = bus.subscribe('t', { maxBytes: 10 }); // each message: 1 + 4 bytes
  for (const p of ['aaaa', 'bbbb', 'cccc']) {
    bus.publish('t', p);
  }
  assert.deepEqual(drain(sub).map((m) => m.payload.toString()), ['bbbb', 'cccc']);
  assert.equal(sub.stats().dropped.overflow, 1);
});

test('block makes a synchronous publish wait, then fail with TimeoutError', () => {
  const bus = new Bus();
  const sub = bus.subscribe('t', { capacity: 1, overflow: { block: 40 } });
  bus.publish('t', 'fits');
  const started = process.hrtime.bigint();
  assert.throws(() => bus.publish('t', 'waits'), (error) => {
    assert.ok(error instanceof TimeoutError);
    assert.match(error.message, /stayed full .* for 40 ms/);
    return true;
  });
  const waitedMs = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(waitedMs >= 35, `waited ${waitedMs} ms`);
  assert.equal(sub.stats().dropped.timeout, 1);
  assertBalanced(sub.stats());
});

test('publishAsync waits for room without blocking the JS thread', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t', { capacity: 1, overflow: { block: 10_000 } });
  const received = [];
  const consumer = (async () => {
    for await (const m of sub) {
      received.push(m.payload.toString());
      if (received.length === 20) {
        return;
      }
      await sleep(1); // a slow consumer
    }
  })();
  for (let i = 0; i < 20; i++) {
    assert.deepEqual(await bus.publishAsync('t', String(i)), { matched: 1, delivered: 1, dropped: 0 });
  }
  await consumer;
  assert.deepEqual(received, Array.from({ length: 20 }, (_, i) => String(i)));
  const stats = sub.stats();
  assert.equal(stats.dropped.total, 0, 'backpressure, not drops');
  assert.equal(stats.delivered, 20);
});

test('publishAsync rejects like publish does', async () => {
  const bus = new Bus();
  // Kept until the end: a pull subscription ends when collected.
  const sub = bus.subscribe('t', { capacity: 1, overflow: 'error' });
  await bus.publishAsync('t', 'first');
  await assert.rejects(bus.publishAsync('t', 'second'), LimitExceededError);
  await assert.rejects(bus.publishAsync('a..b', 'x'), /empty token/);
  await assert.rejects(bus.publishAsync('t', 5), /payload must be/);
  assert.deepEqual(await bus.publishAsync('none', 'x'), { matched: 0, delivered: 0, dropped: 0 });
  assert.equal(sub.stats().dropped.rejected, 1);
});

test('inside an inline handler, a block publish to a full queue is WouldBlockError', () => {
  const bus = new Bus();
  const full = bus.subscribe('full', { capacity: 1, overflow: { block: 10_000 } });
  bus.publish('full', 'fills it');
  let inner;
  bus.subscribe('trigger', () => {
    const started = Date.now();
    try {
      bus.publish('full', 'would wait for this very thread');
    } catch (error) {
      inner = { error, waited: Date.now() - started };
    }
  });
  bus.publish('trigger', 'x');
  assert.ok(inner.error instanceof WouldBlockError);
  assert.ok(inner.waited < 1000, 'it failed at once');
  assert.equal(full.stats().dropped.timeout, 1);
});

test('messages past their time-to-live are dropped when received', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t', { ttlMs: 30 });
  bus.publish('t', 'old');
  await sleep(60);
  bus.publish('t', 'fresh');
  assert.deepEqual(drain(sub).map((m) => m.payload.toString()), ['fresh']);
  assert.equal(sub.stats().dropped.expired, 1);
  assertBalanced(sub.stats());
});

test('a slow-consumer episode is counted once per episode', () => {
  const bus = new Bus();
  const sub = bus.subscribe('t', { capacity: 4 });
  const fill = (n) => {
    for (let i = 0; i < n; i++) bus.publish('t', 'x');
  };
  fill(10);
  assert.equal(sub.stats().slowEpisodes, 1);
  sub.tryRecv();
  fill(3);
  assert.equal(sub.stats().slowEpisodes, 1, 'still the same episode');
  drain(sub); // drains below half: the episode ends
  fill(6);
  assert.equal(sub.stats().slowEpisodes, 2);
});

test('accounting is exact across policies, partial draining and close', () => {
  const bus = new Bus();
  const subs = [
    bus.subscribe('a.*', { capacity: 3 }),
    bus.subscribe('a.>', { capacity: 2, overflow: 'dropNewest' }),
    bus.subscribe('*.b', { capacity: 5, overflow: 'error' }),
    bus.subscribe('a.b', { maxBytes: 40 }),
    bus.subscribe('>', { capacity: 4, ttlMs: 1 }),
  ];
  const topics = ['a.b', 'a.c', 'a.b.c', 'x.b', 'y'];
  let matched = 0;
  let delivered = 0;
  let dropped = 0;
  let refused = 0;
  // A fixed pseudo-random sequence, so a failure reproduces.
  let seed = 7;
  const next = (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let i = 0; i < 500; i++) {
    const topic = topics[next(topics.length)];
    try {
      const report = bus.publish(topic, 'p'.repeat(next(20)));
      assert.equal(report.matched, report.delivered + report.dropped);
      matched += report.matched;
      delivered += report.delivered;
      dropped += report.dropped;
    } catch (error) {
      assert.ok(error instanceof LimitExceededError);
      refused += 1;
    }
    if (next(3) === 0) {
      subs[next(subs.length)].tryRecv();
    }
    for (const sub of subs) {
      assertBalanced(sub.stats());
    }
  }
  assert.ok(refused > 0, 'the error queue refused some');
  const received = subs.reduce((n, s) => n + s.stats().received, 0);
  assert.ok(received >= matched, 'refused publishes still reached their other subscriptions');
  subs[0].close();
  subs[3].close();
  const total = bus.stats();
  assertBalanced(total.subscriptions, 'bus totals, ended subscriptions included');
  assert.equal(total.published, 500);
  assert.equal(total.liveSubscriptions, 3);
  assert.equal(total.subscriptions.received, received);
  assert.ok(delivered > 0 && dropped > 0, 'both outcomes happened');
});
