'use strict';

// Bus and Subscription basics: limits, topics and wildcards, payloads,
// headers, messages, stats, idle eviction, argument checks and close.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const v8 = require('node:v8');
const vm = require('node:vm');

const {
  Bus,
  Message,
  Subscription,
  ClosedError,
  InvalidArgumentError,
  LimitExceededError,
  NullArgumentError,
} = require('charter');

const { drain } = require('./drain.js');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('a new bus is open and empty', () => {
  const bus = new Bus();
  assert.equal(bus.closed, false);
  assert.equal(bus.onError, null);
  const stats = bus.stats();
  assert.equal(stats.published, 0);
  assert.equal(stats.liveSubscriptions, 0);
  assert.equal(stats.subscriptions.received, 0);
  assert.deepEqual(bus.publish('nobody.listens', 'x'), { matched: 0, delivered: 0, dropped: 0 });
  assert.equal(bus.stats().published, 1);
});

test('limits are checked here, then by the core', () => {
  for (const bad of [-1, 1.5, '3', NaN, 2 ** 53, {}]) {
    assert.throws(() => new Bus({ maxSubscriptions: bad }), InvalidArgumentError, String(bad));
  }
  assert.throws(() => new Bus({ maxPayload: -1 }), {
    message: 'maxPayload must be a non-negative integer, got -1',
  });
  assert.throws(() => new Bus({ maxTopicLen: 0 }), InvalidArgumentError);
  assert.throws(() => new Bus({ maxTopicTokens: 17 }), /topic token limit must be 1 to 16/);
  assert.throws(() => new Bus({ maxSubscriptions: 0 }), InvalidArgumentError);
  for (const bad of [null, 3, 'x']) {
    assert.throws(() => new Bus(bad), InvalidArgumentError);
  }
  assert.equal(new Bus({ maxPayload: null, onError: undefined }).closed, false);
});

test('each limit is enforced', () => {
  const bus = new Bus({
    maxSubscriptions: 2,
    maxPayload: 4,
    maxTopicLen: 8,
    maxTopicTokens: 2,
    maxHeaders: 1,
    maxHeaderBytes: 6,
  });
  const a = bus.subscribe('a');
  bus.subscribe('b');
  assert.throws(() => bus.subscribe('c'), LimitExceededError);
  a.close();
  bus.subscribe('c');
  assert.equal(bus.publish('a', 'four').matched, 0);
  assert.throws(() => bus.publish('a', 'fives'), { name: 'LimitExceededError', message: /payload is 5 bytes/ });
  assert.throws(() => bus.publish('abcdefghi', 'x'), InvalidArgumentError);
  assert.throws(() => bus.publish('a.b.c', 'x'), InvalidArgumentError);
  assert.throws(() => bus.publish('a', 'x', [['k', 'v'], ['l', 'w']]), LimitExceededError);
  assert.throws(() => bus.publish('a', 'x', { key: 'value' }), LimitExceededError);
  bus.publish('a', 'x', { key: 'val' });
  const queues = new Bus({ maxQueueMessages: 10, maxQueueBytes: 100 });
  // The default capacity (1024 messages, 16 MiB) is over these limits.
  assert.throws(() => queues.subscribe('a'), /capacity 1024 exceeds the bus limit of 10 messages/);
  assert.throws(() => queues.subscribe('a', { capacity: 11, maxBytes: 100 }), LimitExceededError);
  assert.throws(() => queues.subscribe('a', { capacity: 10, maxBytes: 101 }), LimitExceededError);
  assert.throws(() => queues.subscribe('a', { capacity: 0, maxBytes: 100 }), InvalidArgumentError);
  queues.subscribe('a', { capacity: 10, maxBytes: 100 });
});

test('wildcards: * is one token, > one or more trailing tokens', () => {
  const bus = new Bus();
  const patterns = ['orders.*', 'orders.>', 'orders.eu.created', '*.eu.*', '>', 'orders.*.created'];
  const subs = patterns.map((p) => bus.subscribe(p));
  const cases = [
    ['orders', ['>']],
    ['orders.eu', ['orders.*', 'orders.>', '>']],
    ['orders.eu.created', ['orders.>', 'orders.eu.created', '*.eu.*', '>', 'orders.*.created']],
    ['orders.us.created', ['orders.>', '>', 'orders.*.created']],
    ['billing.eu.paid', ['*.eu.*', '>']],
    ['orders.eu.created.late', ['orders.>', '>']],
  ];
  for (const [topic, expected] of cases) {
    const report = bus.publish(topic, topic);
    assert.equal(report.matched, expected.length, topic);
    const got = patterns.filter((_, i) => drain(subs[i]).some((m) => m.topic === topic));
    assert.deepEqual(got, expected, topic);
  }
});

test('bad topics and patterns say what is wrong', () => {
  const bus = new Bus();
  assert.throws(() => bus.publish('a..b', 'x'), {
    name: 'InvalidArgumentError',
    message: /empty token at position 2/,
  });
  assert.throws(() => bus.publish('a.*', 'x'), InvalidArgumentError);
  assert.throws(() => bus.publish('has space', 'x'), InvalidArgumentError);
  assert.throws(() => bus.subscribe('a.>.b'), /it may only be the last token/);
  assert.throws(() => bus.subscribe(''), InvalidArgumentError);
  assert.throws(() => bus.publish('x'.repeat(257), 'x'), InvalidArgumentError);
  // The reserved prefix belongs to the library.
  assert.throws(() => bus.publish('_charter.inbox.1.1', 'x'), /reserved/);
  assert.throws(() => bus.subscribe('_charter.>'), /reserved/);
  for (const bad of [undefined, null, 7, ['a']]) {
    const ErrorClass = bad === undefined || bad === null ? NullArgumentError : InvalidArgumentError;
    assert.throws(() => bus.publish(bad, 'x'), ErrorClass);
    assert.throws(() => bus.subscribe(bad), ErrorClass);
  }
});

test('payloads: strings as UTF-8, Buffers and Uint8Arrays as bytes', () => {
  const bus = new Bus();
  const sub = bus.subscribe('p');
  bus.publish('p', 'héllo ✓');
  bus.publish('p', Buffer.from([0, 1, 255]));
  bus.publish('p', new Uint8Array([7, 8]));
  bus.publish('p', new Uint8Array(new ArrayBuffer(8), 2, 3).fill(9));
  bus.publish('p', '');
  const payloads = drain(sub).map((m) => m.payload);
  assert.ok(payloads.every((p) => Buffer.isBuffer(p)));
  assert.equal(payloads[0].toString('utf8'), 'héllo ✓');
  assert.deepEqual([...payloads[1]], [0, 1, 255]);
  assert.deepEqual([...payloads[2]], [7, 8]);
  assert.deepEqual([...payloads[3]], [9, 9, 9], 'only the view, not its whole buffer');
  assert.equal(payloads[4].length, 0);
  assert.throws(() => bus.publish('p'), NullArgumentError);
  assert.throws(() => bus.publish('p', null), { message: 'payload is required' });
  for (const bad of [42, {}, [1, 2]]) {
    assert.throws(() => bus.publish('p', bad), InvalidArgumentError);
  }
});

test('payloads of every size arrive intact by every way of receiving', async () => {
  // Up to 4095 bytes they pass through a scratch buffer (src/message.rs).
  const bus = new Bus();
  const pull = bus.subscribe('p');
  const inline = [];
  bus.subscribe('p', (m) => inline.push(m.payload));
  const threaded = [];
  bus.subscribe('p', (m) => threaded.push(m.payload), { dispatch: 'thread' });
  const sizes = [0, 1, 4094, 4095, 4096, 100_000];
  const payloads = sizes.map((n, i) => Buffer.alloc(n, i + 1));
  const waited = pull.recv();
  await new Promise((resolve) => setTimeout(resolve, 10));
  for (const payload of payloads) {
    bus.publish('p', payload);
  }
  const pulled = [(await waited).payload];
  for (let m = pull.tryRecv(); m !== null; m = pull.tryRecv()) pulled.push(m.payload);
  while (threaded.length < sizes.length) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  for (const [how, got] of Object.entries({ pulled, inline, threaded })) {
    assert.equal(got.length, sizes.length, how);
    got.forEach((payload, i) => assert.ok(payload.equals(payloads[i]), `${how}, ${sizes[i]} bytes`));
  }
});

test('a handler receiving inside itself keeps its own payload', () => {
  const bus = new Bus();
  const inner = bus.subscribe('inner');
  let outer;
  let nested;
  bus.subscribe('outer', (m) => {
    bus.publish('inner', 'the nested message');
    nested = inner.tryRecv().payload.toString();
    outer = m.payload.toString();
  });
  bus.publish('outer', 'the outer message');
  assert.equal(outer, 'the outer message');
  assert.equal(nested, 'the nested message');
});

test('each subscriber gets its own copy of the payload', () => {
  const bus = new Bus();
  const [a, b] = [bus.subscribe('t'), bus.subscribe('t')];
  const sent = Buffer.from('abc');
  bus.publish('t', sent);
  sent[0] = 0x7a;
  const [ma, mb] = [a.tryRecv(), b.tryRecv()];
  assert.equal(ma.payload.toString(), 'abc', 'published bytes were copied');
  ma.payload[1] = 0x7a;
  assert.equal(mb.payload.toString(), 'abc');
});

test('headers: objects, pairs and Maps; order and duplicates kept', () => {
  const bus = new Bus();
  const sub = bus.subscribe('h');
  bus.publish('h', 'x', { trace: 'abc', user: 'ada' });
  bus.publish('h', 'x', [['dup', '1'], ['other', 'o'], ['dup', '2']]);
  bus.publish('h', 'x', new Map([['m', 'v']]));
  bus.publish('h', 'x', {});
  bus.publish('h', 'x', null);
  const [obj, pairs, map, empty, none] = drain(sub);
  assert.deepEqual(obj.headers, [['trace', 'abc'], ['user', 'ada']]);
  assert.equal(obj.header('user'), 'ada');
  assert.equal(obj.header('missing'), undefined);
  assert.deepEqual(pairs.headers, [['dup', '1'], ['other', 'o'], ['dup', '2']]);
  assert.equal(pairs.header('dup'), '1', 'the first of duplicates');
  assert.deepEqual(map.headers, [['m', 'v']]);
  assert.deepEqual(empty.headers, []);
  assert.deepEqual(none.headers, []);
  assert.equal(pairs.header('DUP'), undefined, 'names are case-sensitive');
});

test('bad headers are refused before anything is delivered', () => {
  const bus = new Bus();
  const sub = bus.subscribe('h');
  const bad = [
    'text',
    [['only-name']],
    [['k', 1]],
    { k: 2 },
    [['has space', 'v']],
    [['colon:', 'v']],
    [['', 'v']],
    [['k', 'line\nbreak']],
  ];
  for (const headers of bad) {
    assert.throws(() => bus.publish('h', 'x', headers), InvalidArgumentError, JSON.stringify(headers));
  }
  assert.equal(sub.tryRecv(), null);
  bus.publish('h', 'x', [['tab', 'a\tb']]);
  assert.equal(sub.tryRecv().header('tab'), 'a\tb');
});

test('messages carry increasing sequence numbers, topic and no reply inbox', () => {
  const bus = new Bus();
  const sub = bus.subscribe('>');
  bus.publish('a', '1');
  bus.publish('b.c', '2');
  bus.publish('a', '3');
  const messages = drain(sub);
  assert.ok(messages.every((m) => m instanceof Message));
  assert.deepEqual(messages.map((m) => m.seq), [1, 2, 3]);
  assert.deepEqual(messages.map((m) => m.topic), ['a', 'b.c', 'a']);
  assert.ok(messages.every((m) => m.replyTo === null));
  assert.equal(typeof messages[0].seq, 'number');
});

test('Message and Subscription are not constructible by users', () => {
  assert.throws(() => new Message(), TypeError);
  assert.throws(() => new Message(Symbol('fromBus'), {}), TypeError);
  assert.throws(() => new Subscription(), TypeError);
});

test('a subscription has an id, a pattern and its own accounting', () => {
  const bus = new Bus();
  const a = bus.subscribe('a.*');
  const b = bus.subscribe('a.b', () => {});
  assert.ok(a instanceof Subscription && b instanceof Subscription);
  // Ids are random (not a counter): distinct, positive, exact as JS numbers.
  assert.ok(a.id !== b.id && [a.id, b.id].every((id) => id > 0 && Number.isSafeInteger(id)));
  assert.equal(a.pattern, 'a.*');
  assert.equal(b.pattern, 'a.b');
  bus.publish('a.b', 'x');
  bus.publish('a.c', 'y');
  assert.equal(a.stats().received, 2);
  assert.equal(a.stats().queued, 2);
  assert.equal(b.stats().received, 1);
  assert.equal(b.stats().delivered, 1);
  assert.equal(bus.stats().liveSubscriptions, 2);
  a.close();
  assert.equal(bus.stats().liveSubscriptions, 1);
  const after = a.stats();
  assert.equal(after.dropped.closed, 2, 'queued messages are dropped when it closes');
  assert.equal(after.received, after.delivered + after.dropped.total + after.queued);
});

test('subscribe checks its options', () => {
  const bus = new Bus();
  assert.throws(() => bus.subscribe('a', { capacity: -1 }), InvalidArgumentError);
  assert.throws(() => bus.subscribe('a', { ttlMs: 'soon' }), { message: /ttlMs must be a number/ });
  assert.throws(() => bus.subscribe('a', { ttlMs: 0 }), /longer than zero/);
  assert.throws(() => bus.subscribe('a', { overflow: 'dropAll' }), { message: /overflow must be/ });
  assert.throws(() => bus.subscribe('a', { overflow: { block: -5 } }), InvalidArgumentError);
  assert.throws(() => bus.subscribe('a', { overflow: { block: null } }), /overflow\.block must be/);
  assert.throws(() => bus.subscribe('a', { dispatch: 'thread' }), /thread dispatch applies to subscriptions with a handler only/);
  assert.throws(() => bus.subscribe('a', () => {}, { dispatch: 'elsewhere' }), InvalidArgumentError);
  assert.throws(() => bus.subscribe('a', () => {}, { idleTtlMs: 5 }), /idle_ttl applies to pull subscriptions only/);
  assert.throws(() => bus.subscribe('a', 'handler?'), { message: 'options must be an object' });
  assert.throws(() => bus.subscribe('a', null, { capacity: 1 }), { message: 'handler must be a function' });
  assert.throws(() => bus.subscribe('a', () => {}, 5), InvalidArgumentError);
  assert.equal(bus.stats().liveSubscriptions, 0, 'nothing was subscribed');
  // null means "not given", as everywhere.
  bus.subscribe('a', { dispatch: null, capacity: null, overflow: null, ttlMs: null });
  bus.subscribe('a', () => {}, { dispatch: null, idleTtlMs: null });
  assert.equal(bus.stats().liveSubscriptions, 2);
});

test('evictIdle ends pull subscriptions idle past idleTtlMs', async () => {
  const bus = new Bus();
  const idle = bus.subscribe('t', { idleTtlMs: 30 });
  const busy = bus.subscribe('t', { idleTtlMs: 30 });
  const forever = bus.subscribe('t');
  bus.publish('t', 'x');
  assert.equal(bus.evictIdle(), 0);
  await sleep(20);
  busy.tryRecv();
  await sleep(20);
  assert.equal(bus.evictIdle(), 1);
  assert.equal(idle.closed, true);
  assert.equal(busy.closed, false);
  assert.equal(forever.closed, false);
  assert.throws(() => idle.tryRecv(), ClosedError);
  assert.equal(idle.stats().dropped.closed, 1);
});

test('a pull subscription ends when its handle is collected; a callback one does not', async () => {
  const bus = new Bus();
  (() => {
    bus.subscribe('dropped');
    bus.subscribe('kept', () => {});
  })();
  assert.equal(bus.stats().liveSubscriptions, 2);
  for (let i = 0; i < 50 && bus.stats().liveSubscriptions > 1; i++) {
    gc();
    await sleep(10);
  }
  assert.equal(bus.stats().liveSubscriptions, 1);
  assert.equal(bus.publish('dropped', 'x').matched, 0);
  assert.equal(bus.publish('kept', 'x').matched, 1);
});

test('close is idempotent; later calls throw ClosedError, stats still work', async () => {
  const bus = new Bus({ onError: () => {} });
  const sub = bus.subscribe('t');
  const handled = bus.subscribe('t', () => {});
  bus.publish('t', 'x');
  bus.close();
  bus.close();
  bus[Symbol.dispose]();
  assert.equal(bus.closed, true);
  assert.equal(sub.closed, true, 'its subscriptions ended');
  assert.equal(handled.closed, true);
  const uses = {
    subscribe: () => bus.subscribe('t'),
    publish: () => bus.publish('t', 'x'),
    respond: () => bus.respond(null, 'x'),
    evictIdle: () => bus.evictIdle(),
    'get onError': () => bus.onError,
    'set onError': () => {
      bus.onError = null;
    },
  };
  for (const [name, use] of Object.entries(uses)) {
    assert.throws(use, { name: 'ClosedError', code: 'CHARTER_E_CLOSED', message: 'the bus is closed' }, name);
  }
  await assert.rejects(bus.request('t', 'x'), ClosedError);
  await assert.rejects(bus.publishAsync('t', 'x'), ClosedError);
  assert.throws(() => sub.tryRecv(), { name: 'ClosedError', message: 'the subscription has ended' });
  const stats = bus.stats();
  assert.equal(stats.published, 1);
  assert.equal(stats.liveSubscriptions, 0);
  assert.equal(stats.subscriptions.dropped.closed, 1, 'the queued message');
  assert.equal(stats.subscriptions.received, 2);
});

test('Symbol.dispose closes subscriptions and buses', () => {
  // Node 20 has no `using`; the TypeScript example covers the syntax.
  const bus = new Bus();
  const sub = bus.subscribe('t');
  assert.equal(bus.stats().liveSubscriptions, 1);
  sub[Symbol.dispose]();
  assert.equal(sub.closed, true);
  assert.equal(bus.stats().liveSubscriptions, 0);
  bus[Symbol.dispose]();
  assert.equal(bus.closed, true);
});

test('a closed subscription refuses to receive; closing again does nothing', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  sub.close();
  sub.close();
  assert.equal(sub.closed, true);
  assert.throws(() => sub.tryRecv(), { name: 'ClosedError', message: 'the subscription is closed' });
  await assert.rejects(sub.recv(), ClosedError);
  assert.equal(bus.publish('t', 'x').matched, 0);
});

test('errors thrown by the bus start their stack at the caller', () => {
  const bus = new Bus();
  for (const call of [() => bus.publish('a..b', 'x'), () => bus.subscribe(5), () => bus.publish('t', 5)]) {
    let error;
    try {
      call();
    } catch (e) {
      error = e;
    }
    assert.match(error.stack.split('\n')[1], /bus\.test\.js/, error.stack);
  }
});

test('payloads: any ArrayBufferView or ArrayBuffer is sent as its bytes', () => {
  const bus = new Bus();
  const sub = bus.subscribe('p');
  const bytes = [1, 2, 3, 4, 5, 6, 7, 8];
  const backing = new Uint8Array(bytes).buffer;
  const views = [
    new DataView(backing, 2, 3),
    new Uint16Array(backing, 2, 1),
    new Float64Array(backing),
    backing,
    new SharedArrayBuffer(2),
  ];
  const expected = [[3, 4, 5], [3, 4], bytes, bytes, [0, 0]];
  for (const view of views) {
    bus.publish('p', view);
  }
  for (const want of expected) {
    assert.deepEqual([...sub.tryRecv().payload], want);
  }
  assert.throws(() => bus.publish('p', 42), InvalidArgumentError);
  bus.close();
});

test('util.inspect shows a bus and a registry as they are', () => {
  const { inspect } = require('node:util');
  const { Registry } = require('charter');
  const bus = new Bus();
  bus.subscribe('t');
  bus.publish('t', 'p');
  assert.equal(inspect(bus), 'Bus { closed: false, liveSubscriptions: 1, published: 1, denied: 0 }');
  bus.close();
  assert.equal(inspect(bus), 'Bus { closed: true, liveSubscriptions: 0, published: 1, denied: 0 }');
  const registry = new Registry({ maxDepth: 4 });
  registry.register(() => {});
  assert.equal(inspect(registry), 'Registry { closed: false, size: 1, maxDepth: 4 }');
  registry.close();
  assert.equal(inspect(registry), 'Registry { closed: true }');
});
