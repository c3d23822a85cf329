'use strict';

// Waiting without a thread (src/ready.rs, lib/receive.js): no lost
// wake-up against a producer on other threads, receives served first come
// first served, an abort that takes nothing, exact accounting through
// `for await`, a session's expiry noticed with nothing published, and
// dropped subscriptions collected.

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { test } = require('node:test');

const { Authority, Bus, ExpiredError, KeyPair, Token } = require('charter');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function isAbortError(error) {
  return error?.name === 'AbortError' && error.code === 'ABORT_ERR';
}

/** Whether `promise` has settled once the microtasks queued so far ran. */
async function settledNow(promise) {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 4; i++) {
    await null;
  }
  return settled;
}

test('no lost wake-up: a main-thread consumer races producers on pool threads for 10^6 messages', async () => {
  // A bus lives on one thread (a worker_thread cannot share it), so the
  // producers on other threads are `publishAsync` jobs on the binding's
  // pool threads. A `block` queue of 8 makes the consumer run dry and wait
  // again and again: each wait is a readiness edge the producers' notify
  // must not miss, or the loop would stall (and the test time out).
  const total = 1_000_000;
  const inFlight = 32;
  const bus = new Bus();
  const sub = bus.subscribe('race', { capacity: 8, overflow: { block: Infinity } });
  let published = 0;
  const producer = async () => {
    while (published < total) {
      published += 1;
      await bus.publishAsync('race', 'x');
    }
  };
  const producers = Array.from({ length: inFlight }, producer);
  let received = 0;
  let waits = 0;
  while (received < total) {
    if (sub.tryRecv() !== null) {
      received += 1;
      continue;
    }
    waits += 1;
    await sub.recv();
    received += 1;
  }
  await Promise.all(producers);
  const stats = sub.stats();
  assert.equal(stats.received, total);
  assert.equal(stats.delivered, total);
  assert.equal(stats.dropped.total, 0);
  assert.ok(waits > 1000, `the consumer waited ${waits} times`);
  bus.close();
});

test('concurrent receives on one subscription are served first come, first served', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  const waits = Array.from({ length: 100 }, () => sub.recv());
  for (let i = 0; i < 100; i++) {
    bus.publish('t', String(i));
  }
  const got = (await Promise.all(waits)).map((m) => m.payload.toString());
  assert.deepEqual(
    got,
    Array.from({ length: 100 }, (_, i) => String(i)),
  );
  // A receive made after others are waiting does not overtake them, even
  // when a message is queued by the time it is made.
  const first = sub.recv();
  bus.publish('t', 'a');
  const second = sub.recv();
  bus.publish('t', 'b');
  assert.equal((await first).payload.toString(), 'a');
  assert.equal((await second).payload.toString(), 'b');
});

test('abort is immediate and exact: a publish right after abort() goes to the next receive', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  const controller = new AbortController();
  const aborted = sub.recv({ signal: controller.signal });
  const later = sub.recv();
  controller.abort();
  bus.publish('t', 'after the abort');
  assert.ok(await settledNow(aborted), 'the aborted receive settled within the turn');
  await assert.rejects(aborted, isAbortError);
  assert.equal((await later).payload.toString(), 'after the abort');

  // Alone on the line: the message stays queued, undelivered.
  const alone = new AbortController();
  const waiting = sub.recv({ signal: alone.signal });
  alone.abort();
  bus.publish('t', 'kept');
  await assert.rejects(waiting, isAbortError);
  const stats = sub.stats();
  assert.equal(stats.queued, 1);
  assert.equal(stats.delivered, 1);
  assert.equal(sub.tryRecv().payload.toString(), 'kept');
});

test('cancellation consumes nothing: 1,000 aborted receives, then every message reaches the next ones', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t', { capacity: 2000 });
  const controllers = Array.from({ length: 1000 }, () => new AbortController());
  const aborted = Promise.allSettled(controllers.map((c) => sub.recv({ signal: c.signal })));
  const timedOut = Array.from({ length: 10 }, () => sub.recv({ timeoutMs: 1 }));
  for (const c of controllers) {
    c.abort();
  }
  await Promise.all(timedOut.map((p) => assert.rejects(p, { name: 'TimeoutError' })));
  for (let i = 0; i < 1000; i++) {
    bus.publish('t', String(i));
  }
  const results = await aborted;
  assert.ok(results.every((r) => r.status === 'rejected' && isAbortError(r.reason)));
  assert.equal(sub.stats().queued, 1000);
  assert.equal(sub.stats().delivered, 0);
  const got = [];
  for await (const m of sub) {
    got.push(Number(m.payload.toString()));
    if (got.length === 1000) break;
  }
  assert.deepEqual(
    got,
    Array.from({ length: 1000 }, (_, i) => i),
  );
});

test('for await keeps up with a producer on its own thread that yields only microtasks, and accounts exactly', async () => {
  const total = 100_000;
  const bus = new Bus();
  const sub = bus.subscribe('t'); // the default queue: 1024, dropOldest
  let got = 0;
  const consumer = (async () => {
    for await (const m of sub) {
      assert.equal(m.topic, 't');
      got += 1;
      if (got === total) break;
    }
  })();
  for (let i = 0; i < total; i++) {
    bus.publish('t', 'x');
    await null;
  }
  await consumer;
  const stats = sub.stats();
  assert.equal(got, total);
  assert.deepEqual(
    { received: stats.received, delivered: stats.delivered, dropped: stats.dropped.total },
    { received: total, delivered: total, dropped: 0 },
  );
});

test('for await takes one message per step: what a loop that stops leaves is still queued', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t', { capacity: 4, overflow: 'dropOldest' });
  for (let i = 0; i < 10; i++) {
    bus.publish('t', String(i));
  }
  const got = [];
  for await (const m of sub) {
    got.push(m.payload.toString());
    if (got.length === 2) break;
  }
  assert.deepEqual(got, ['6', '7']);
  const stats = sub.stats();
  // Every message is accounted for: 6 dropped by the queue's policy.
  assert.deepEqual(
    {
      received: stats.received,
      delivered: stats.delivered,
      queued: stats.queued,
      overflow: stats.dropped.overflow,
    },
    { received: 10, delivered: 2, queued: 2, overflow: 6 },
  );
  // A new loop picks up where the last one stopped.
  const rest = [];
  for await (const m of sub) {
    rest.push(m.payload.toString());
    if (rest.length === 2) break;
  }
  assert.deepEqual(rest, ['8', '9']);
});

test("a pending receive notices its session's expiry with nothing published", async () => {
  const root = KeyPair.generate();
  const authority = new Authority([root.publicKey], { clockSkewSeconds: 0 });
  const holder = KeyPair.generate();
  const now = Math.floor(Date.now() / 1000);
  const token = Token.mint(root, holder.publicKey, ['subscribe t'], {
    notBefore: now - 60,
    notAfter: now + 1,
  });
  const challenge = authority.challenge();
  const session = authority.openSessionSync(token, challenge, token.prove(holder, challenge));
  const bus = new Bus({ authority });
  const sub = bus.client(session).subscribe('t');
  // A pending receive does not keep the loop alive; this test must.
  const alive = setInterval(() => {}, 1000);
  try {
    await assert.rejects(sub.recv(), ExpiredError);
  } finally {
    clearInterval(alive);
  }
  assert.equal(sub.closed, true);
});

test('closing while 1,000 receives wait rejects every one, with no message taken', async () => {
  const bus = new Bus();
  const subs = Array.from({ length: 10 }, () => bus.subscribe('t'));
  const waits = subs.flatMap((sub) => Array.from({ length: 100 }, () => sub.recv()));
  bus.close();
  const results = await Promise.allSettled(waits);
  assert.ok(results.every((r) => r.status === 'rejected' && r.reason.name === 'ClosedError'));
});

test('dropped subscriptions are collected, including those whose receives gave up', () => {
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', path.join(__dirname, 'fixtures', 'collect-subscriptions.cjs')],
    { cwd: path.join(__dirname, '..'), encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(child.error, undefined);
  assert.equal(child.stderr, '');
  assert.equal(child.status, 0);
  assert.deepEqual(JSON.parse(child.stdout), { after: 0 });
});

test('a wait in flight when the loop would otherwise be idle still settles', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  const waiting = sub.recv();
  await sleep(5);
  bus.publish('t', 'late');
  assert.equal((await waiting).payload.toString(), 'late');
});

test('workers with waiting receives end cleanly, while pool threads still publish to them', async () => {
  const { Worker } = require('node:worker_threads');
  const source = `
    const { Bus } = require(${JSON.stringify(path.join(__dirname, '..'))});
    const { parentPort } = require('node:worker_threads');
    const bus = new Bus();
    const subs = Array.from({ length: 1000 }, (_, i) => bus.subscribe('t.' + i));
    for (const sub of subs) sub.recv().catch(() => {});
    // Publishes from pool threads, racing the worker's end.
    for (let i = 0; i < 1000; i++) bus.publishAsync('t.' + i, 'x').catch(() => {});
    subs[0].recv().then(() => parentPort.postMessage('woken'));
    bus.publish('t.0', 'first');
    bus.publish('t.0', 'second');
  `;
  const exits = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const worker = new Worker(source, { eval: true });
      const messages = [];
      worker.on('message', (m) => messages.push(m));
      const code = await new Promise((resolve, reject) => {
        worker.on('exit', resolve);
        worker.on('error', reject);
      });
      return { code, messages };
    }),
  );
  for (const { code, messages } of exits) {
    assert.equal(code, 0);
    assert.deepEqual(messages, ['woken']);
  }
});

test('a receive whose signal aborted takes nothing, even when an earlier abort listener publishes', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  const controller = new AbortController();
  controller.signal.addEventListener('abort', () => bus.publish('t', 'from a listener'));
  const waiting = sub.recv({ signal: controller.signal });
  controller.abort();
  await assert.rejects(waiting, isAbortError);
  assert.equal(sub.tryRecv().payload.toString(), 'from a listener');
});

test('receives woken from pool threads all settle before the process may exit', () => {
  // Before the fix, about one run in five ended early: libuv settled the
  // last publishAsync, found nothing ref'd and ended the loop before the
  // waker's call, queued earlier, ran.
  for (let run = 0; run < 6; run++) {
    const child = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'pool-wakeups.cjs')], {
      cwd: path.join(__dirname, '..'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.error, undefined);
    assert.equal(child.stderr, '');
    assert.equal(child.stdout, 'settled 10000\n', `run ${run}`);
  }
});

test('terminating workers mid-traffic, with receives waiting and pool threads publishing, is clean', async () => {
  const { Worker } = require('node:worker_threads');
  const source = `
    const { Bus } = require(${JSON.stringify(path.join(__dirname, '..'))});
    const { parentPort } = require('node:worker_threads');
    const bus = new Bus();
    const subs = Array.from({ length: 500 }, (_, i) => bus.subscribe('t.' + i));
    const again = () => {
      for (const sub of subs) sub.recv().catch(() => {});
      for (let i = 0; i < 500; i++) bus.publishAsync('t.' + i, 'x').catch(() => {});
    };
    again();
    setInterval(again, 1);
    parentPort.postMessage('busy');
  `;
  for (let k = 0; k < 5; k++) {
    const worker = new Worker(source, { eval: true });
    await new Promise((resolve) => worker.once('message', resolve));
    await sleep(10 + 7 * k);
    assert.equal(await worker.terminate(), 1);
  }
});

test('many receives sharing one signal add one abort listener, warn nothing, and all reject with its reason', async () => {
  const { getEventListeners } = require('node:events');
  const warnings = [];
  const onWarning = (warning) => warnings.push(warning);
  process.on('warning', onWarning);
  try {
    const bus = new Bus();
    const subs = [bus.subscribe('a'), bus.subscribe('b')];
    const controller = new AbortController();
    const waiting = [];
    for (let i = 0; i < 1_000; i++) {
      waiting.push(subs[i % 2].recv({ signal: controller.signal }));
    }
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    // Receives that settle leave the signal, and the last one takes the listener.
    bus.publish('a', 'one');
    assert.equal((await waiting[0]).payload.toString(), 'one');
    const reason = new Error('mine');
    controller.abort(reason);
    for (const w of waiting.slice(1)) {
      await assert.rejects(w, (error) => isAbortError(error) && error.cause === reason);
    }
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    const later = new AbortController();
    bus.publish('b', 'two');
    assert.equal((await subs[1].recv({ signal: later.signal })).payload.toString(), 'two');
    assert.equal(getEventListeners(later.signal, 'abort').length, 0);
    await sleep(10);
    assert.deepEqual(warnings.map((w) => w.name), []);
    bus.close();
  } finally {
    process.off('warning', onWarning);
  }
});
