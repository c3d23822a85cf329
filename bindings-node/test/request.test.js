'use strict';

// Request and reply: responders of every kind, NotFoundError,
// TimeoutError, AbortSignal, and what respond accepts.

const assert = require('node:assert/strict');
const { test } = require('node:test');

const { Bus, InvalidArgumentError, Message, NotFoundError, TimeoutError } = require('charter');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const elapsedMs = (started) => Number(process.hrtime.bigint() - started) / 1e6;

test('an inline responder answers before request even waits', async () => {
  const bus = new Bus();
  let request;
  bus.subscribe('svc.echo', (m) => {
    request = m;
    bus.respond(m, `echo ${m.payload}`, { served: 'inline' });
  });
  const reply = await bus.request('svc.echo', 'hi', { headers: { trace: 't1' } });
  assert.ok(reply instanceof Message);
  assert.equal(reply.payload.toString(), 'echo hi');
  assert.equal(reply.header('served'), 'inline');
  assert.equal(request.header('trace'), 't1');
  assert.match(request.replyTo, /^_charter\.inbox\./);
  assert.equal(reply.topic, request.replyTo);
  assert.equal(bus.stats().liveSubscriptions, 1, 'the reply inbox is gone');
});

test('thread and pull responders answer too', async () => {
  const bus = new Bus();
  bus.subscribe('svc.thread', (m) => bus.respond(m, 'from a thread handler'), { dispatch: 'thread' });
  const pull = bus.subscribe('svc.pull');
  const server = (async () => {
    for await (const m of pull) {
      bus.respond(m, `pulled ${m.payload}`);
    }
  })();
  assert.equal((await bus.request('svc.thread', 'x')).payload.toString(), 'from a thread handler');
  const replies = await Promise.all([1, 2, 3].map((i) => bus.request('svc.pull', String(i))));
  assert.deepEqual(replies.map((r) => r.payload.toString()), ['pulled 1', 'pulled 2', 'pulled 3']);
  pull.close();
  await server;
});

test('a request nobody subscribes to fails at once with NotFoundError', async () => {
  const bus = new Bus();
  bus.subscribe('other', () => {});
  const started = process.hrtime.bigint();
  await assert.rejects(bus.request('svc.none', 'x', { timeoutMs: 10_000 }), (error) => {
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.message, 'no subscriber for "svc.none" to answer the request');
    return true;
  });
  assert.ok(elapsedMs(started) < 1000);
  assert.equal(bus.stats().liveSubscriptions, 1, 'no inbox left behind');
});

test('a request with no reply fails with TimeoutError; a late reply goes nowhere', async () => {
  const bus = new Bus();
  const requests = bus.subscribe('svc.slow');
  const started = process.hrtime.bigint();
  await assert.rejects(bus.request('svc.slow', 'x', { timeoutMs: 60 }), (error) => {
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.message, 'no reply to "svc.slow" within 60 ms');
    return true;
  });
  assert.ok(elapsedMs(started) >= 55);
  const late = requests.tryRecv();
  assert.deepEqual(bus.respond(late, 'too late'), { matched: 0, delivered: 0, dropped: 0 });
});

test("a request without timeoutMs waits the core's default, the 5000 ms the docs state", async () => {
  // The binding restates no default: it reads the core's.
  assert.equal(require('../lib/native.js').DEFAULT_REQUEST_TIMEOUT_MS, 5000);
  const bus = new Bus();
  bus.subscribe('svc.slow');
  const controller = new AbortController();
  const pending = bus.request('svc.slow', 'x', { signal: controller.signal });
  let settled = false;
  pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(100);
  assert.equal(settled, false, 'still waiting after 100 ms');
  controller.abort();
  await assert.rejects(pending, (error) => error.name === 'AbortError');
});

test('aborting a request rejects promptly with AbortError', async () => {
  const bus = new Bus();
  const requests = bus.subscribe('svc.slow');
  const controller = new AbortController();
  const pending = bus.request('svc.slow', 'x', { signal: controller.signal, timeoutMs: 60_000 });
  await sleep(10);
  const started = process.hrtime.bigint();
  controller.abort('changed my mind');
  await assert.rejects(pending, (error) => {
    assert.equal(error.name, 'AbortError');
    assert.equal(error.code, 'ABORT_ERR');
    assert.equal(error.cause, 'changed my mind');
    return true;
  });
  assert.ok(elapsedMs(started) < 1000, `rejected after ${elapsedMs(started)} ms, not the timeout`);
  assert.equal(requests.stats().received, 1, 'the request was published');
  assert.equal(bus.stats().liveSubscriptions, 1, 'its inbox is gone');
});

test('a request with an aborted signal is not published', async () => {
  const bus = new Bus();
  const requests = bus.subscribe('svc');
  await assert.rejects(bus.request('svc', 'x', { signal: AbortSignal.abort() }), { name: 'AbortError' });
  assert.equal(requests.stats().received, 0);
});

test('only the first reply counts; only the requester sees it', async () => {
  const bus = new Bus();
  const overhearing = bus.subscribe('>');
  bus.subscribe('svc', (m) => {
    bus.respond(m, 'first');
    bus.respond(m, 'second');
  });
  assert.equal((await bus.request('svc', 'x')).payload.toString(), 'first');
  const topics = [];
  for (let m = overhearing.tryRecv(); m !== null; m = overhearing.tryRecv()) topics.push(m.topic);
  assert.deepEqual(topics, ['svc'], 'a > subscriber does not overhear replies');
});

test('respond and request check their arguments', async () => {
  const bus = new Bus();
  const sub = bus.subscribe('t');
  bus.publish('t', 'not a request');
  const plain = sub.tryRecv();
  assert.throws(() => bus.respond(plain, 'x'), {
    name: 'InvalidArgumentError',
    message: 'the message is not a request: it has no reply inbox',
  });
  assert.throws(() => bus.respond({ replyTo: '_charter.inbox.1.1' }, 'x'), InvalidArgumentError);
  await assert.rejects(bus.request('t', 'x', { timeoutMs: -1 }), InvalidArgumentError);
  await assert.rejects(bus.request('t', 'x', { headers: 'h' }), InvalidArgumentError);
  await assert.rejects(bus.request('t', 'x', 5), InvalidArgumentError);
  await assert.rejects(bus.request('a..b', 'x'), InvalidArgumentError);
  await assert.rejects(bus.request('t'), { name: 'NullArgumentError' });
});
