'use strict';

// Callback subscriptions: inline handlers (run inside publish) and thread
// handlers (queued, then run on the JS thread), failures and onError, and
// handlers that call back into the bus.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const v8 = require('node:v8');
const vm = require('node:vm');

const { Bus, LimitExceededError, Message, WouldBlockError } = require('charter');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `check()` is true; fails the test after `ms`. */
async function until(check, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail('timed out waiting');
    await sleep(2);
  }
}

test('an inline handler runs synchronously inside publish', () => {
  const bus = new Bus();
  const seen = [];
  const sub = bus.subscribe('orders.*', function (message) {
    seen.push([this, message]);
  });
  const report = bus.publish('orders.eu', 'x', { k: 'v' });
  assert.deepEqual(report, { matched: 1, delivered: 1, dropped: 0 });
  assert.equal(seen.length, 1, 'ran before publish returned');
  const [self, message] = seen[0];
  assert.equal(self, undefined);
  assert.ok(message instanceof Message);
  assert.equal(message.topic, 'orders.eu');
  assert.equal(message.header('k'), 'v');
  assert.equal(sub.stats().delivered, 1);
  assert.equal(sub.stats().queued, 0);
});

test('a throwing handler is counted, reported to onError, and never stops the others', () => {
  const errors = [];
  const bus = new Bus({ onError: (...args) => errors.push(args) });
  const ran = [];
  bus.subscribe('t', () => ran.push('first'));
  const boom = new TypeError('boom');
  const bad = bus.subscribe('t', () => {
    throw boom;
  });
  bus.subscribe('t', () => ran.push('last'));
  assert.deepEqual(bus.publish('t', 'x'), { matched: 3, delivered: 3, dropped: 0 });
  assert.deepEqual(ran, ['first', 'last']);
  assert.equal(errors.length, 1);
  const [id, error, message] = errors[0];
  assert.equal(id, bad.id);
  assert.equal(error, boom, 'the thrown value itself');
  assert.equal(message.payload.toString(), 'x');
  assert.equal(bad.stats().handlerFailures, 1);
  assert.equal(bad.stats().delivered, 1, 'a failed call still counts as delivered');
  assert.equal(bus.stats().subscriptions.handlerFailures, 1);
});

test('any thrown value reaches onError unchanged; a throwing hook is swallowed', () => {
  const seen = [];
  const bus = new Bus();
  bus.onError = (_, error) => {
    seen.push(error);
    throw new Error('the hook fails too');
  };
  const values = [42, 'text', null, undefined, { not: 'an Error' }];
  for (const value of values) {
    bus.subscribe('t', () => {
      throw value;
    });
  }
  assert.equal(bus.publish('t', 'x').delivered, values.length);
  assert.deepEqual(seen, values);
  bus.onError = null;
  assert.equal(bus.onError, null);
  assert.equal(bus.publish('t', 'x').delivered, values.length, 'without a hook, only counted');
  assert.throws(() => {
    bus.onError = 'not a function';
  }, /onError must be a function/);
});

test('inline handlers may publish, subscribe and unsubscribe themselves', () => {
  const bus = new Bus();
  const log = [];
  bus.subscribe('echo', (m) => log.push(`echo ${m.payload}`));
  let added = null;
  const self = bus.subscribe('ping', (m) => {
    log.push(`ping ${m.payload}`);
    const nested = bus.publish('echo', `from ${m.payload}`);
    log.push(`nested delivered ${nested.delivered}`);
    if (added === null) {
      added = bus.subscribe('ping', (n) => log.push(`added ${n.payload}`));
    } else {
      self.close();
    }
  });
  assert.equal(bus.publish('ping', '1').matched, 1, 'a subscription added meanwhile waits for the next publish');
  assert.equal(bus.publish('ping', '2').matched, 2);
  assert.equal(bus.publish('ping', '3').matched, 1, 'it unsubscribed itself');
  assert.deepEqual(log, [
    'ping 1',
    'echo from 1',
    'nested delivered 1',
    'ping 2',
    'echo from 2',
    'nested delivered 1',
    'added 2',
    'added 3',
  ]);
  assert.equal(self.closed, true);
});

test('an inline handler may close the bus; the publish counts the rest as dropped', () => {
  const bus = new Bus();
  const after = [];
  bus.subscribe('t', () => bus.close());
  const later = bus.subscribe('t', () => after.push('ran'));
  assert.deepEqual(bus.publish('t', 'x'), { matched: 2, delivered: 1, dropped: 1 });
  assert.deepEqual(after, []);
  assert.equal(bus.closed, true);
  assert.equal(later.stats().dropped.closed, 1);
});

test('a thread handler runs later on the JS thread, in publish order', async () => {
  const bus = new Bus();
  const seen = [];
  const sub = bus.subscribe('t', (m) => seen.push(Number(m.payload)), { dispatch: 'thread' });
  for (let i = 0; i < 200; i++) {
    bus.publish('t', String(i));
  }
  assert.ok(seen.length < 200, 'publish did not wait for the handler');
  await until(() => seen.length === 200);
  assert.deepEqual(seen, Array.from({ length: 200 }, (_, i) => i));
  assert.equal(sub.stats().delivered, 200);
});

test('a thread subscription queues while its handler waits for the JS thread', async () => {
  const bus = new Bus();
  let calls = 0;
  const sub = bus.subscribe('t', () => calls++, { dispatch: 'thread', capacity: 2, overflow: 'dropNewest' });
  let delivered = 0;
  let dropped = 0;
  // The JS thread stays busy publishing: at most one message is handed over
  // to it, and the queue holds two more.
  for (let i = 0; i < 10; i++) {
    const report = bus.publish('t', String(i));
    delivered += report.delivered;
    dropped += report.dropped;
  }
  assert.equal(delivered + dropped, 10);
  assert.ok(dropped >= 7, `dropped ${dropped}`);
  await until(() => calls === delivered);
  await sleep(20);
  assert.equal(calls, delivered, 'nothing beyond what the queue accepted');
  assert.equal(sub.stats().dropped.overflow, dropped);
});

test('thread handler failures are counted and reported', async () => {
  const errors = [];
  const bus = new Bus({ onError: (id, error) => errors.push([id, error.message]) });
  const sub = bus.subscribe(
    't',
    (m) => {
      if (m.payload.toString() === 'bad') throw new Error('bad one');
    },
    { dispatch: 'thread' },
  );
  bus.publish('t', 'good');
  bus.publish('t', 'bad');
  bus.publish('t', 'good');
  await until(() => sub.stats().delivered === 3);
  await until(() => sub.stats().handlerFailures === 1);
  assert.deepEqual(errors, [[sub.id, 'bad one']]);
});

test('thread handlers may publish, close themselves and close the bus', async () => {
  const bus = new Bus();
  const echoes = [];
  bus.subscribe('echo', (m) => echoes.push(m.payload.toString()));
  const seen = [];
  const self = bus.subscribe(
    't',
    (m) => {
      seen.push(m.payload.toString());
      bus.publish('echo', `re ${m.payload}`);
      if (seen.length === 2) self.close();
    },
    { dispatch: 'thread' },
  );
  for (let i = 0; i < 5; i++) bus.publish('t', String(i));
  await until(() => self.closed);
  await sleep(20);
  assert.deepEqual(seen, ['0', '1']);
  assert.deepEqual(echoes, ['re 0', 're 1']);
  const stats = self.stats();
  assert.equal(stats.delivered, 2, 'the rest were dropped when it closed, not delivered');
  assert.equal(stats.dropped.closed, 3);

  let closedInside = false;
  bus.subscribe(
    'end',
    () => {
      bus.close();
      closedInside = bus.closed;
    },
    { dispatch: 'thread' },
  );
  bus.publish('end', 'x');
  await until(() => closedInside);
});

test('after close, no handler runs, even for deliveries in flight', async () => {
  for (const closeWith of ['subscription', 'bus']) {
    const bus = new Bus();
    let calls = 0;
    const sub = bus.subscribe('t', () => calls++, { dispatch: 'thread' });
    for (let i = 0; i < 5; i++) bus.publish('t', 'x');
    if (closeWith === 'bus') bus.close();
    else sub.close();
    await sleep(50);
    assert.equal(calls, 0, closeWith);
    const stats = sub.stats();
    assert.equal(stats.received, stats.delivered + stats.dropped.total, closeWith);
    assert.ok(stats.delivered <= 1, 'at most the one handed over to the JS thread');
  }
});

test('once close returns, at most the one message in flight counted as delivered; the rest were dropped', () => {
  // Each worker wakes for its first message while the JS thread publishes
  // and closes; one that is between messages as the close begins must end
  // its subscription before it takes another (each would return at once
  // without calling JS, counted as delivered). A bus's close ends its
  // subscriptions one after another, which gives a worker whose turn
  // comes later the most time to drain its queue: the race shows there
  // within a few rounds when it is lost.
  const queued = 50;
  let calls = 0;
  const check = (sub, what) => {
    const stats = sub.stats();
    assert.ok(stats.delivered <= 1, `${what}: delivered ${stats.delivered}`);
    assert.equal(stats.dropped.closed, queued - stats.delivered, what);
    assert.equal(stats.queued, 0, what);
  };
  for (let round = 0; round < 60; round++) {
    const bus = new Bus();
    const subs = Array.from({ length: 8 }, () => bus.subscribe('t', () => calls++, { dispatch: 'thread' }));
    for (let i = 0; i < queued; i++) bus.publish('t', 'x');
    bus.close();
    for (const sub of subs) check(sub, `bus close, round ${round}`);
  }
  const bus = new Bus();
  for (let round = 0; round < 200; round++) {
    const sub = bus.subscribe('t', () => calls++, { dispatch: 'thread' });
    for (let i = 0; i < queued; i++) bus.publish('t', 'x');
    sub.close();
    check(sub, `subscription close, round ${round}`);
  }
  assert.equal(calls, 0, 'the JS thread never got to run a handler');
});

test("closing while a thread handler's Promise is pending returns at once; its settling later changes nothing", async () => {
  const bus = new Bus();
  let calls = 0;
  let settle = () => {};
  const sub = bus.subscribe(
    't',
    () => {
      calls++;
      return new Promise((resolve) => {
        settle = resolve;
      });
    },
    { dispatch: 'thread' },
  );
  for (let i = 0; i < 10; i++) bus.publish('t', 'x');
  await until(() => calls === 1);
  sub.close();
  const at = sub.stats();
  assert.deepEqual([at.delivered, at.dropped.closed, at.queued], [1, 9, 0]);
  settle();
  await sleep(20);
  assert.equal(calls, 1);
  assert.deepEqual(sub.stats(), at);
  bus.close();
});

test('a thread handler publishing to a full block queue waits out the timeout', async () => {
  // The core answers WouldBlockError only on the thread running a handler;
  // a thread handler runs on the JS thread, relayed (see the README).
  const bus = new Bus();
  // Kept until the end: a pull subscription ends when collected.
  const full = bus.subscribe('full', { capacity: 1, overflow: { block: 30 } });
  bus.publish('full', 'fills it');
  let outcome;
  bus.subscribe(
    'trigger',
    () => {
      try {
        bus.publish('full', 'x');
      } catch (error) {
        outcome = error;
      }
    },
    { dispatch: 'thread' },
  );
  bus.publish('trigger', 'x');
  await until(() => outcome !== undefined);
  assert.equal(outcome.name, 'TimeoutError');
  assert.ok(!(outcome instanceof WouldBlockError));
  assert.equal(full.stats().dropped.timeout, 1);
});

test('a dropped callback subscription handle keeps delivering', async () => {
  const bus = new Bus();
  let calls = 0;
  bus.subscribe('t', () => calls++);
  bus.subscribe('t', () => calls++, { dispatch: 'thread' });
  // Several turns and collections: the handles' native side must be gone
  // (a collected handle once took its handler's JS side with it).
  for (let i = 0; i < 3; i++) {
    await sleep(0);
    gc();
  }
  bus.publish('t', 'x');
  await until(() => calls === 2);
  assert.equal(bus.stats().liveSubscriptions, 2);
});

test('publishAsync runs inline handlers on the JS thread before it resolves', async () => {
  const bus = new Bus();
  const seen = [];
  let failing = true;
  const errors = [];
  bus.onError = (_, error) => errors.push(error.message);
  const sub = bus.subscribe('t', (m) => {
    seen.push(m.payload.toString());
    if (failing) throw new Error('inline failure');
  });
  const report = await bus.publishAsync('t', 'a');
  assert.deepEqual(report, { matched: 1, delivered: 1, dropped: 0 });
  assert.deepEqual(seen, ['a']);
  assert.deepEqual(errors, ['inline failure']);
  assert.equal(sub.stats().handlerFailures, 1);
  failing = false;
  await Promise.all([bus.publishAsync('t', 'b'), bus.publishAsync('t', 'c')]);
  assert.deepEqual(seen.slice(1).sort(), ['b', 'c']);
  assert.equal(sub.stats().handlerFailures, 1);
});

test('a handler publishing to its own topic stops at the nesting bound, reported to onError', () => {
  const errors = [];
  const bus = new Bus({ onError: (_, error) => errors.push(error) });
  let calls = 0;
  bus.subscribe('loop', () => {
    calls += 1;
    bus.publish('loop', '');
  });
  bus.publish('loop', '');
  assert.equal(calls, 16, 'the core allows 16 nested publishes per bus');
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof LimitExceededError);
  assert.match(errors[0].message, /nested more than 16 levels/);
  const stats = bus.stats();
  assert.equal(stats.depthExceeded, 1);
  assert.equal(stats.subscriptions.handlerFailures, 1);
  bus.close();
});

test('two buses ping-ponging are bounded', () => {
  const errors = [];
  const onError = (_, error) => errors.push(error);
  const a = new Bus({ onError });
  const b = new Bus({ onError });
  let calls = 0;
  a.subscribe('ping', () => {
    calls += 1;
    b.publish('ping', '');
  });
  b.subscribe('ping', () => {
    calls += 1;
    a.publish('ping', '');
  });
  a.publish('ping', '');
  assert.ok(calls <= 32, `${calls} nested calls`);
  assert.equal(a.stats().depthExceeded + b.stats().depthExceeded, 1);
  assert.ok(errors.some((e) => e instanceof LimitExceededError));
  a.close();
  b.close();
});
