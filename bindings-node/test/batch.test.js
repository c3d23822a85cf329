'use strict';

// Batches: publishMany and recvMany, over the core's publish_many and
// recv_many. Each message of a batch is counted exactly as one published
// or received alone; bad input fails with nothing published or taken.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { inspect } = require('node:util');

const {
  Bus,
  ClosedError,
  DeniedError,
  InvalidArgumentError,
  LimitExceededError,
  Message,
  NullArgumentError,
  TimeoutError,
} = require('charter');
const { holderWith, setup } = require('./capability-setup.js');

const texts = (messages) => messages.map((m) => m.payload.toString());

/** What `body` throws, checked against `expected` as `assert.throws` checks it. */
function thrown(body, expected) {
  let caught;
  assert.throws(() => {
    try {
      body();
    } catch (error) {
      caught = error;
      throw error;
    }
  }, expected);
  return caught;
}

test('publishMany publishes every payload in order and adds up the reports', () => {
  const bus = new Bus();
  const a = bus.subscribe('t.*');
  const b = bus.subscribe('t.x');
  const payloads = ['one', Buffer.from('two'), new Uint16Array([0x6874, 0x6572]), new ArrayBuffer(0)];
  const report = bus.publishMany('t.x', payloads, { kind: 'batch' });
  assert.deepEqual(report, { matched: 8, delivered: 8, dropped: 0 });
  const received = [];
  for (let m = a.tryRecv(); m !== null; m = a.tryRecv()) {
    received.push(m);
  }
  assert.deepEqual(texts(received), ['one', 'two', 'thre', '']);
  assert.ok(received.every((m) => m.headers.length === 1 && m.headers[0][0] === 'kind' && m.headers[0][1] === 'batch'));
  assert.equal(b.stats().queued, 4);
  assert.equal(bus.stats().published, 4, 'each message counts once');
  assert.deepEqual(bus.publishMany('t.x', []), { matched: 0, delivered: 0, dropped: 0 });
  assert.deepEqual(bus.publishMany('nobody', ['x', 'y']), { matched: 0, delivered: 0, dropped: 0 });
});

test('publishMany counts drops exactly as single publishes do', () => {
  for (const overflow of ['dropOldest', 'dropNewest']) {
    const [single, batched] = [new Bus(), new Bus()];
    const subs = [single, batched].map((bus) => bus.subscribe('t', { capacity: 2, overflow }));
    const payloads = ['1', '2', '3', '4', '5'];
    const summed = { matched: 0, delivered: 0, dropped: 0 };
    for (const payload of payloads) {
      const one = single.publish('t', payload);
      for (const key of Object.keys(summed)) {
        summed[key] += one[key];
      }
    }
    assert.deepEqual(batched.publishMany('t', payloads), summed, overflow);
    assert.deepEqual(subs[1].stats(), subs[0].stats(), overflow);
    assert.equal(subs[1].stats().dropped.overflow, 3, overflow);
    assert.deepEqual(texts([subs[1].tryRecv(), subs[1].tryRecv()]), texts([subs[0].tryRecv(), subs[0].tryRecv()]));
  }
});

test('publishMany stops at the first message that fails and says how many went out', () => {
  const bus = new Bus();
  const sub = bus.subscribe('t', { capacity: 2, overflow: 'error' });
  const error = thrown(() => bus.publishMany('t', ['1', '2', '3', '4']), LimitExceededError);
  assert.equal(error.published, 2);
  assert.deepEqual(error.report, { matched: 2, delivered: 2, dropped: 0 });
  assert.match(error.message, /message 2 of the batch/);
  assert.equal(sub.stats().received, 3, 'the third was refused by the queue, the fourth never sent');
  assert.equal(sub.stats().queued, 2);
});

test('publishMany refuses bad input before publishing anything', () => {
  const bus = new Bus({ maxPayload: 4 });
  const sub = bus.subscribe('t');
  assert.throws(() => bus.publishMany('t', ['ok', 'too long']), {
    name: 'LimitExceededError',
    message: /^payloads\[1\]: payload is 8 bytes/,
  });
  assert.throws(() => bus.publishMany('t', ['ok', 7]), {
    name: 'InvalidArgumentError',
    message: /^payloads\[1\]: payload must be/,
  });
  assert.throws(() => bus.publishMany('t', ['ok', null]), { name: 'NullArgumentError', message: /^payloads\[1\]/ });
  assert.throws(() => bus.publishMany('t', ['ok', '\ud800']), { name: 'InvalidUtf8Error' });
  assert.throws(() => bus.publishMany('t', 'ok'), InvalidArgumentError);
  assert.throws(() => bus.publishMany('t'), NullArgumentError);
  assert.throws(() => bus.publishMany(undefined, ['x']), NullArgumentError);
  assert.throws(() => bus.publishMany('t', new Array(65_537).fill('')), LimitExceededError);
  assert.equal(sub.stats().received, 0, 'nothing was published');
  const bad = thrown(() => bus.publishMany('bad..topic', ['x']), InvalidArgumentError);
  assert.equal(bad.published, 0);
});

test("a client's publishMany is checked against its grants, message by message", () => {
  const env = setup();
  const bus = new Bus({ authority: env.authority });
  const { session } = holderWith(env, ['publish orders.>', 'subscribe orders.>']);
  const client = bus.client(session);
  const sub = client.subscribe('orders.>');
  assert.deepEqual(client.publishMany('orders.new', ['a', 'b']), { matched: 2, delivered: 2, dropped: 0 });
  const denied = thrown(() => client.publishMany('billing.new', ['a']), DeniedError);
  assert.equal(denied.published, 0);
  assert.throws(() => bus.publishMany('orders.new', ['a']), DeniedError, 'no session, no grant');
  assert.equal(sub.stats().received, 2);
  bus.close();
});

test('recvMany takes the queued messages up to max, in order, in one call', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  bus.publishMany('t', ['1', '2', '3', '4', '5']);
  const first = await sub.recvMany(3);
  assert.ok(first.every((m) => m instanceof Message));
  assert.deepEqual(texts(first), ['1', '2', '3']);
  assert.deepEqual(texts(await sub.recvMany(64)), ['4', '5']);
  await assert.rejects(sub.recvMany(1, { timeoutMs: 0 }), TimeoutError);
  const stats = sub.stats();
  assert.equal(stats.delivered, 5, 'each message counts as delivered once');
  assert.equal(stats.queued, 0);
});

test('recvMany waits for the first message, then takes what is queued behind it', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  const waiting = sub.recvMany(10);
  bus.publishMany('t', ['a', 'b', 'c']);
  assert.deepEqual(texts(await waiting), ['a', 'b', 'c']);

  const first = sub.recvMany(2);
  const second = sub.recv();
  bus.publishMany('t', ['x', 'y', 'z']);
  assert.deepEqual(texts(await first), ['x', 'y'], 'the batch is taken before the next receive in line');
  assert.equal((await second).payload.toString(), 'z');
});

test('recvMany times out, aborts and ends as recv does, taking nothing', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  await assert.rejects(sub.recvMany(4, { timeoutMs: 0 }), TimeoutError);
  await assert.rejects(sub.recvMany(4, { timeoutMs: 5 }), TimeoutError);
  const controller = new AbortController();
  const aborted = sub.recvMany(4, { signal: controller.signal });
  controller.abort();
  await assert.rejects(aborted, { name: 'AbortError' });
  bus.publish('t', 'kept');
  assert.equal(sub.stats().queued, 1, 'the aborted batch took nothing');
  assert.deepEqual(texts(await sub.recvMany(4)), ['kept']);
  const ended = sub.recvMany(4);
  sub.close();
  await assert.rejects(ended, ClosedError);
});

test('recvMany hands over a mixed batch whole: topics, headers, empty, string and large payloads', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('m.>');
  const large = Buffer.alloc(70_000, 7); // past the 64 KiB a batch's payloads share
  bus.publish('m.a', 'one');
  bus.publish('m.a', '');
  bus.publish('m.b', Buffer.from([1, 2, 3]), { trace: 'x' });
  bus.publish('m.b', 'two');
  bus.publish('m.a', large);
  bus.publish('m.a', 'three');
  const batch = await sub.recvMany(10);
  assert.deepEqual(
    batch.map((m) => [m.topic, m.payload.length, m.headers]),
    [['m.a', 3, []], ['m.a', 0, []], ['m.b', 3, [['trace', 'x']]], ['m.b', 3, []], ['m.a', 70_000, []], ['m.a', 5, []]],
  );
  assert.ok(batch.every((m) => m instanceof Message && Buffer.isBuffer(m.payload) && m.replyTo === null));
  assert.deepEqual(batch.map((m) => m.seq), [...batch.map((m) => m.seq)].sort((a, b) => a - b));
  assert.ok(batch[4].payload.equals(large));
  assert.deepEqual(texts([batch[0], batch[3], batch[5]]), ['one', 'two', 'three']);
  batch[0].payload.fill(0);
  assert.deepEqual(texts([batch[3], batch[5]]), ['two', 'three'], 'each payload is its own bytes');
  assert.equal(sub.stats().delivered, 6);
  bus.close();
});

test('recvMany payloads are Buffers of their own, unchanged by the batches after them', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t', { capacity: 64 });
  bus.publishMany('t', ['first', 'second']);
  const kept = await sub.recvMany(64);
  bus.publishMany('t', ['xxxxx', 'yyyyyy']);
  const next = await sub.recvMany(64);
  next[0].payload.fill(0);
  assert.deepEqual(texts(kept), ['first', 'second'], 'a kept payload does not change under its holder');
  assert.deepEqual(texts(next), ['\0\0\0\0\0', 'yyyyyy']);
  const payload = kept[1].payload;
  assert.ok(payload instanceof Buffer && Buffer.isBuffer(payload) && payload.constructor === Buffer);
  assert.equal(inspect(payload), inspect(Buffer.from('second')));
  assert.equal(payload.toString('hex'), Buffer.from('second').toString('hex'));
  assert.ok(payload.equals(Buffer.from('second')));
  assert.deepEqual(payload.toJSON(), Buffer.from('second').toJSON());
  const part = payload.subarray(1, 4);
  assert.ok(Buffer.isBuffer(part));
  assert.equal(part.toString(), 'eco');
  assert.equal(payload.readUInt8(0), 's'.charCodeAt(0));
  bus.close();
});

test('recvMany with the largest max takes a long queue at once, then a short one', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t', { capacity: 3000 });
  const payloads = Array.from({ length: 3000 }, (_, i) => String(i));
  bus.publishMany('t', payloads);
  assert.deepEqual(texts(await sub.recvMany(65_536)), payloads);
  bus.publishMany('t', ['a', 'b']);
  assert.deepEqual(texts(await sub.recvMany(2)), ['a', 'b']);
  bus.close();
});

test('recvMany refuses a bad max or options', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  bus.publish('t', 'x');
  await assert.rejects(sub.recvMany(0), { name: 'InvalidArgumentError', message: /max must be/ });
  await assert.rejects(sub.recvMany(1.5), InvalidArgumentError);
  await assert.rejects(sub.recvMany('4'), InvalidArgumentError);
  await assert.rejects(sub.recvMany(), NullArgumentError);
  await assert.rejects(sub.recvMany(65_537), LimitExceededError);
  await assert.rejects(sub.recvMany(4, { timeout: 5 }), { name: 'InvalidArgumentError', message: /timeout/ });
  await assert.rejects(sub.recvMany(4, { timeoutMs: -1 }), InvalidArgumentError);
  assert.equal(sub.stats().queued, 1, 'nothing was taken');
  const handled = bus.subscribe('h', () => {});
  await assert.rejects(handled.recvMany(4), InvalidArgumentError, 'a callback subscription has no queue');
});

test('a handler that closes the bus, or its own subscription, mid-batch stops or narrows it', () => {
  const bus = new Bus();
  let calls = 0;
  const handled = bus.subscribe('t', () => {
    calls += 1;
    if (calls === 2) {
      bus.close();
    }
  });
  const error = thrown(() => bus.publishMany('t', ['1', '2', '3', '4']), ClosedError);
  assert.equal(error.published, 2, 'the two before the close went out');
  assert.deepEqual(error.report, { matched: 2, delivered: 2, dropped: 0 });
  assert.equal(calls, 2);
  assert.equal(handled.stats().delivered, 2, 'released, its accounting still reads');

  const other = new Bus();
  let self = null;
  self = other.subscribe('t', () => self.close());
  assert.deepEqual(other.publishMany('t', ['1', '2', '3']), { matched: 1, delivered: 1, dropped: 0 });
  assert.equal(self.closed, true);
  assert.equal(self.stats().received, 1);
  other.close();
});

test('a batch published by an inline handler while a batch is packed keeps both intact', () => {
  const bus = new Bus();
  const sub = bus.subscribe('>', { capacity: 100 });
  const inner = (text) => [`${text}-a`, Buffer.from(`${text}-b`), 'é'.repeat(3000)];
  const reports = [];
  bus.subscribe('outer', (m) => {
    reports.push(bus.publishMany('inner', inner(m.payload.toString())));
  });
  const outer = ['1', Buffer.from('2'), 'x'.repeat(5000)];
  assert.deepEqual(bus.publishMany('outer', outer), { matched: 6, delivered: 6, dropped: 0 });
  assert.deepEqual(reports, outer.map(() => ({ matched: 3, delivered: 3, dropped: 0 })));
  const received = [];
  for (let m = sub.tryRecv(); m !== null; m = sub.tryRecv()) {
    received.push([m.topic, m.payload.toString()]);
  }
  const expected = outer.flatMap((payload) => [
    ['outer', payload.toString()],
    ...inner(payload.toString()).map((text) => ['inner', text.toString()]),
  ]);
  assert.deepEqual(received, expected);
});

test('publishMany packs batches past the kept buffer, then small ones, byte for byte', () => {
  const bus = new Bus({ maxPayload: 4 << 20 });
  const sub = bus.subscribe('t', { capacity: 100, maxBytes: 64 << 20 });
  const batches = [
    ['small', Buffer.alloc(3 << 20, 1), 'after the growth', new Uint16Array([1, 2, 3])],
    ['a', '', Buffer.from('b')],
    [Buffer.alloc(2 << 20, 2), 'ü'.repeat(1 << 20)],
    ['c'],
  ];
  for (const batch of batches) {
    bus.publishMany('t', batch);
  }
  const bytes = (p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  for (const payload of batches.flat()) {
    assert.ok(sub.tryRecv().payload.equals(bytes(payload)));
  }
  assert.equal(sub.tryRecv(), null);
});

test('publishMany reads the length of its array once', () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  let reads = 0;
  const payloads = new Proxy(['a', 'b', 'c'], {
    get(target, key) {
      if (key === 'length') {
        reads += 1;
        return reads === 1 ? 2 : 3;
      }
      return target[key];
    },
  });
  assert.deepEqual(bus.publishMany('t', payloads), { matched: 2, delivered: 2, dropped: 0 });
  assert.deepEqual(texts([sub.tryRecv(), sub.tryRecv()]), ['a', 'b']);
  assert.equal(sub.tryRecv(), null);
});

test('recvMany takes a queued batch whose first message has headers or a reply inbox', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t.>');
  bus.publish('t.a', 'first', { kind: 'head' });
  bus.publishMany('t.b', ['x', 'y']);
  const batch = await sub.recvMany(8);
  assert.deepEqual(
    batch.map((m) => [m.topic, m.payload.toString(), m.headers]),
    [['t.a', 'first', [['kind', 'head']]], ['t.b', 'x', []], ['t.b', 'y', []]],
  );
  const reply = bus.request('t.ask', 'question', { timeoutMs: 5000 });
  bus.publish('t.c', 'behind');
  const [request, behind] = await sub.recvMany(8);
  assert.match(request.replyTo, /^_charter\.inbox\./);
  assert.equal(behind.payload.toString(), 'behind');
  bus.respond(request, 'answer');
  assert.equal((await reply).payload.toString(), 'answer');
  bus.close();
});
