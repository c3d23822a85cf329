'use strict';

// Receiving with Promises: recv, timeouts, AbortSignal (a cancelled receive
// consumes nothing), close waking pending receives, and `for await`.

const assert = require('node:assert/strict');
const { test } = require('node:test');

const { Bus, ClosedError, InvalidArgumentError, Message, TimeoutError } = require('charter');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const elapsedMs = (started) => Number(process.hrtime.bigint() - started) / 1e6;

/** Whether `promise` is still pending after the pending I/O and timers ran. */
async function pending(promise) {
  const marker = Symbol('pending');
  return (await Promise.race([promise, sleep(20).then(() => marker)])) === marker;
}

function isAbortError(error, reason) {
  assert.equal(error.name, 'AbortError');
  assert.equal(error.code, 'ABORT_ERR');
  assert.equal(error.cause, reason);
  return true;
}

test('recv resolves at once with a queued message', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  bus.publish('t', 'ready');
  const message = await sub.recv();
  assert.ok(message instanceof Message);
  assert.equal(message.payload.toString(), 'ready');
});

test('recv waits (on no thread) until a message arrives', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  const waiting = sub.recv();
  assert.equal(await pending(waiting), true);
  let timerRan = false;
  setTimeout(() => {
    timerRan = true;
    bus.publish('t', 'later');
  }, 10);
  const message = await waiting;
  assert.equal(timerRan, true, 'the event loop kept running while recv waited');
  assert.equal(message.payload.toString(), 'later');
  assert.equal(sub.stats().delivered, 1);
});

test('concurrent receives each get a different message', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  const waits = [sub.recv(), sub.recv(), sub.recv()];
  await sleep(10);
  for (let i = 0; i < 3; i++) bus.publish('t', String(i));
  const got = (await Promise.all(waits)).map((m) => m.payload.toString()).sort();
  assert.deepEqual(got, ['0', '1', '2']);
});

test('recv times out with TimeoutError and consumes nothing', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  const started = process.hrtime.bigint();
  await assert.rejects(sub.recv({ timeoutMs: 80 }), (error) => {
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.message, 'no message arrived within 80 ms');
    return true;
  });
  assert.ok(elapsedMs(started) >= 75, `after ${elapsedMs(started)} ms`);
  await assert.rejects(sub.recv({ timeoutMs: 0 }), TimeoutError);
  bus.publish('t', 'after');
  assert.equal((await sub.recv({ timeoutMs: 0 })).payload.toString(), 'after');
  const stats = sub.stats();
  assert.equal(stats.received, 1);
  assert.equal(stats.delivered, 1);
});

test('recv checks its options', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  for (const bad of [{ timeoutMs: -1 }, { timeoutMs: '5' }, { signal: {} }, { signal: 'abort' }, 7]) {
    await assert.rejects(sub.recv(bad), InvalidArgumentError, JSON.stringify(bad));
  }
  bus.publish('t', 'x');
  const message = await sub.recv({ timeoutMs: Infinity, signal: null });
  assert.equal(message.payload.toString(), 'x');
});

test('an abort rejects with AbortError and leaves the message for the next receive', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  const controller = new AbortController();
  const waiting = sub.recv({ signal: controller.signal });
  await sleep(10);
  const reason = new Error('user gave up');
  const started = process.hrtime.bigint();
  controller.abort(reason);
  await assert.rejects(waiting, (error) => isAbortError(error, reason));
  assert.ok(elapsedMs(started) < 1000, 'at once (a generous bound: timing is a benchmark)');
  bus.publish('t', 'kept');
  assert.equal((await sub.recv()).payload.toString(), 'kept');
  assert.equal(sub.stats().delivered, 1);
});

test('an already aborted signal rejects without touching the queue', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  bus.publish('t', 'queued');
  const reason = 'stop';
  await assert.rejects(sub.recv({ signal: AbortSignal.abort(reason) }), (error) => isAbortError(error, reason));
  assert.equal(sub.stats().queued, 1);
  assert.equal(sub.tryRecv().payload.toString(), 'queued');
});

test("a message published before the abort is the receive's; one published after stays queued", async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  for (let i = 0; i < 20; i++) {
    const before = new AbortController();
    const waiting = sub.recv({ signal: before.signal });
    await sleep(i % 3);
    bus.publish('t', `before ${i}`);
    before.abort();
    assert.equal((await waiting).payload.toString(), `before ${i}`);

    const after = new AbortController();
    const aborted = sub.recv({ signal: after.signal });
    await sleep(i % 3);
    after.abort();
    bus.publish('t', `after ${i}`);
    await assert.rejects(aborted, (error) => isAbortError(error, after.signal.reason));
    assert.equal(sub.tryRecv().payload.toString(), `after ${i}`);
  }
  const stats = sub.stats();
  assert.equal(stats.delivered, 40);
  assert.equal(stats.queued, 0);
});

test('a receive after an abort gets the next message; the aborted one takes nothing', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  for (let i = 0; i < 10; i++) {
    const controller = new AbortController();
    const first = sub.recv({ signal: controller.signal });
    await sleep(i % 2);
    controller.abort();
    const second = sub.recv();
    bus.publish('t', 'a');
    bus.publish('t', 'b');
    await assert.rejects(first, (error) => isAbortError(error, controller.signal.reason));
    assert.equal((await second).payload.toString(), 'a', `round ${i}`);
    assert.equal(sub.tryRecv().payload.toString(), 'b');
    assert.equal(sub.tryRecv(), null);
  }
});

test('closing the subscription wakes a pending recv with ClosedError', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  const waiting = sub.recv();
  await sleep(10);
  sub.close();
  await assert.rejects(waiting, (error) => {
    assert.ok(error instanceof ClosedError);
    assert.equal(error.message, 'the subscription has ended');
    return true;
  });
});

test('closing the bus wakes pending receives with ClosedError', async () => {
  const bus = new Bus();
  const a = bus.subscribe('a');
  const b = bus.subscribe('b');
  const waits = [a.recv(), b.recv({ timeoutMs: 60_000 })];
  await sleep(10);
  bus.close();
  for (const outcome of await Promise.allSettled(waits)) {
    assert.equal(outcome.status, 'rejected');
    assert.ok(outcome.reason instanceof ClosedError);
  }
});

test('for await yields every message and ends when the subscription closes', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  for (let i = 0; i < 3; i++) bus.publish('t', String(i));
  setTimeout(() => {
    bus.publish('t', '3');
    setTimeout(() => sub.close(), 10);
  }, 10);
  const got = [];
  for await (const message of sub) {
    got.push(message.payload.toString());
  }
  assert.deepEqual(got, ['0', '1', '2', '3']);
});

test('for await ends when the bus closes; breaking out leaves the subscription open', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  bus.publish('t', 'one');
  bus.publish('t', 'two');
  for await (const message of sub) {
    assert.equal(message.payload.toString(), 'one');
    break;
  }
  assert.equal(sub.closed, false);
  const got = [];
  setTimeout(() => bus.close(), 20);
  for await (const message of sub) {
    got.push(message.payload.toString());
  }
  assert.deepEqual(got, ['two']);
});

test('a callback subscription has nothing to receive', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t', () => {});
  assert.throws(() => sub.tryRecv(), { name: 'InvalidArgumentError', message: /delivers to its handler/ });
  await assert.rejects(sub.recv(), InvalidArgumentError);
  await assert.rejects(async () => {
    for await (const message of sub) assert.fail(`unexpected ${message}`);
  }, InvalidArgumentError);
});

test('for await over sub.messages({ signal }) ends with an AbortError when the signal aborts, taking nothing', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  bus.publish('t', 'one');
  const controller = new AbortController();
  const seen = [];
  const looping = (async () => {
    for await (const m of sub.messages({ signal: controller.signal })) {
      seen.push(m.payload.toString());
    }
  })();
  await sleep(5);
  controller.abort(new Error('stop'));
  await assert.rejects(looping, (error) => isAbortError(error, controller.signal.reason));
  assert.deepEqual(seen, ['one']);
  bus.publish('t', 'two');
  assert.equal(sub.tryRecv().payload.toString(), 'two', 'the aborted step took nothing');
  await assert.rejects(async () => {
    for await (const m of sub.messages({ signal: AbortSignal.abort() })) {
      assert.fail(`nothing is taken: ${m.topic}`);
    }
  }, { name: 'AbortError' });
  assert.throws(() => sub.messages({ signl: controller.signal }), { name: 'InvalidArgumentError', message: /signl/ });
  assert.throws(() => sub.messages({ signal: 'x' }), InvalidArgumentError);
  bus.close();
  const ended = [];
  for await (const m of sub.messages({ signal: new AbortController().signal })) {
    ended.push(m);
  }
  assert.deepEqual(ended, [], 'a closed subscription ends the loop');
});

test('one AbortSignal shared by 1,000 receives and loops adds one listener and no warning', async () => {
  const warnings = [];
  const onWarning = (warning) => warnings.push(warning.name);
  process.on('warning', onWarning);
  try {
    const bus = new Bus();
    const controller = new AbortController();
    const { signal } = controller;
    const subs = Array.from({ length: 100 }, (_, i) => bus.subscribe(`t.${i}`));
    const receives = subs.flatMap((sub) => Array.from({ length: 9 }, () => sub.recv({ signal })));
    const loops = subs.map(async (sub) => {
      for await (const m of sub.messages({ signal })) {
        assert.fail(`unexpected ${m.topic}`);
      }
    });
    const { getEventListeners } = require('node:events');
    assert.equal(getEventListeners(signal, 'abort').length, 1);
    await sleep(5);
    controller.abort();
    const settled = await Promise.allSettled([...receives, ...loops]);
    assert.ok(settled.every((s) => s.status === 'rejected' && s.reason.name === 'AbortError'));
    assert.equal(getEventListeners(signal, 'abort').length, 0);
    bus.close();
    await sleep(5);
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
  }
});
