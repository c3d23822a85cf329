'use strict';

// A bus with an authority: nothing but a session's client gets through,
// each call is checked against the session's grants, and revocation or
// expiry ends the session's client and subscriptions.

const assert = require('node:assert/strict');
const { test } = require('node:test');

const {
  Bus,
  Client,
  ClosedError,
  DeniedError,
  ExpiredError,
  InvalidArgumentError,
  KeyPair,
  NullArgumentError,
  RevokedError,
} = require('charter');
const { T0, holderWith, mint, open, setup } = require('./capability-setup.js');

/** An authority on a manual clock, a bus enforcing it, and `client(grants)`. */
function enforcing() {
  const env = setup();
  const bus = new Bus({ authority: env.authority });
  const client = (...grants) => {
    const held = holderWith(env, grants);
    return { ...held, client: bus.client(held.session) };
  };
  return { ...env, bus, client };
}

test('without a session, an enforcing bus refuses every publish, subscribe and request', async () => {
  const { bus } = enforcing();
  assert.throws(() => bus.publish('orders.eu.created', 'o-1'), DeniedError);
  assert.throws(() => bus.publish('orders.eu.created', 'o-1'), {
    message: 'publish on "orders.eu.created" refused: this bus requires a session',
  });
  await assert.rejects(bus.publishAsync('orders.eu.created', 'o-1'), DeniedError);
  assert.throws(() => bus.subscribe('orders.>'), /subscribe on "orders.>" refused/);
  assert.throws(() => bus.subscribe('orders.>', () => {}), DeniedError);
  await assert.rejects(bus.request('rpc.time', ''), DeniedError);
  const stats = bus.stats();
  assert.equal(stats.denied, 6);
  assert.equal(stats.published, 0);
  assert.equal(stats.liveSubscriptions, 0);
});

test("a client's calls are checked against its session's grants", async () => {
  const { bus, client } = enforcing();
  const { client: writer } = client('publish orders.*.created');
  const { client: reader, session } = client('subscribe orders.>');
  assert.ok(reader instanceof Client);
  assert.equal(reader.session, session);

  const sub = reader.subscribe('orders.>');
  const narrower = reader.subscribe('orders.eu.*');
  assert.deepEqual(writer.publish('orders.eu.created', 'o-2'), { matched: 2, delivered: 2, dropped: 0 });
  assert.deepEqual(await writer.publishAsync('orders.us.created', 'o-3'), {
    matched: 1,
    delivered: 1,
    dropped: 0,
  });
  assert.equal((await sub.recv()).payload.toString(), 'o-2');
  assert.equal((await sub.recv()).topic, 'orders.us.created');
  assert.equal(narrower.tryRecv().payload.toString(), 'o-2');

  assert.throws(() => writer.publish('orders.eu.deleted', 'x'), {
    name: 'DeniedError',
    code: 'CHARTER_E_DENIED',
    message: `no publish grant covers "orders.eu.deleted" for ${writer.session.principal}`,
  });
  await assert.rejects(writer.publishAsync('orders.eu.deleted', 'x'), DeniedError);
  assert.throws(() => writer.subscribe('orders.>'), /no subscribe grant covers "orders.>"/);
  assert.throws(() => reader.subscribe('>'), DeniedError, 'a wider pattern than granted');
  reader.subscribe('orders.>', () => {}, { dispatch: 'thread' }).close();
  assert.throws(() => reader.publish('orders.eu.created', 'x'), DeniedError);
  await assert.rejects(reader.request('orders.eu.created', 'x'), /no request grant covers/);
  assert.equal(bus.stats().denied, 6);
  sub.close();
  narrower.close();
});

test('clients subscribe with handlers, request, and are answered through a client', async () => {
  const { bus, client } = enforcing();
  const { client: server } = client('subscribe rpc.>');
  const { client: caller } = client('request rpc.time');
  const seen = [];
  const refused = [];
  server.subscribe('rpc.>', (m) => {
    seen.push(m.topic);
    try {
      bus.respond(m, 'anonymous');
    } catch (error) {
      refused.push(error);
    }
    server.respond(m, 'noon');
  });
  const threaded = [];
  const worker = server.subscribe('rpc.>', (m) => threaded.push(m.topic), { dispatch: 'thread' });
  const reply = await caller.request('rpc.time', '', { timeoutMs: 5000 });
  assert.equal(reply.payload.toString(), 'noon');
  assert.deepEqual(seen, ['rpc.time']);
  assert.equal(refused.length, 1, 'the bus itself may not answer on a bus with an authority');
  assert.ok(refused[0] instanceof DeniedError);
  await assert.rejects(caller.request('rpc.date', ''), DeniedError);
  await assert.rejects(server.request('rpc.time', ''), DeniedError);
  for (let i = 0; i < 100 && threaded.length === 0; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.deepEqual(threaded, ['rpc.time']);
  worker.close();
  bus.close();
});

test('revocation ends a live session, its client and its subscriptions', async () => {
  const { bus, client, authority } = enforcing();
  const { client: reader, token } = client('subscribe news.>');
  const { client: writer } = client('publish news.>');
  const pull = reader.subscribe('news.>');
  const handled = [];
  reader.subscribe('news.>', (m) => handled.push(m.payload.toString()));
  writer.publish('news.a', '1');
  assert.equal((await pull.recv()).payload.toString(), '1');
  assert.deepEqual(handled, ['1']);

  writer.publish('news.a', 'queued');
  const pending = reader.subscribe('news.waiting').recv();
  authority.revoke(token.links[0].linkId);
  assert.equal(reader.session.active, false);
  // Revocation ended every subscription of the session at once: the
  // pending receive rejects, the queued message counts as dropped, and
  // nothing more reaches them.
  await assert.rejects(pending, RevokedError);
  assert.equal(pull.closed, true);
  assert.equal(bus.stats().subscriptions.dropped.sessionEnded, 1);
  await assert.rejects(pull.recv(), RevokedError);
  assert.deepEqual(writer.publish('news.a', '2'), { matched: 0, delivered: 0, dropped: 0 });
  assert.deepEqual(handled, ['1', 'queued'], 'the handler never ran again');
  assert.equal(bus.stats().liveSubscriptions, 0);
  assert.throws(() => reader.subscribe('news.>'), RevokedError);
  assert.throws(() => reader.subscribe('news.>'), /revoked/);
  assert.deepEqual(writer.publish('news.a', '3'), { matched: 0, delivered: 0, dropped: 0 });
});

test("expiry ends a client's calls and subscriptions", async () => {
  const env = enforcing();
  const { client: reader } = env.client('subscribe t');
  const { client: expiring } = env.client('publish t');
  const lasting = KeyPair.generate();
  const twoHours = mint(env.root, lasting, ['publish t'], { notBefore: T0, notAfter: T0 + 7200 });
  const writer = env.bus.client(open(env.authority, twoHours, lasting));
  const sub = reader.subscribe('t');
  writer.publish('t', 'in time');
  const pending = env.client('subscribe w').client.subscribe('w').recv();
  env.clock.set(T0 + 3600 + 60);
  assert.throws(() => expiring.publish('t', 'late'), ExpiredError);
  await assert.rejects(expiring.publishAsync('t', 'late'), /expired at/);
  assert.throws(() => reader.subscribe('t'), ExpiredError);
  // A manual clock tells no one it moved: a receive waiting on an expired
  // session's subscription wakes when the authority sweeps.
  assert.ok(env.authority.sweep() >= 2);
  await assert.rejects(pending, ExpiredError);
  // A receive after expiry fails, and ends the subscription: what was
  // queued counts as dropped, and a later publish finds nothing.
  await assert.rejects(sub.recv(), ExpiredError);
  assert.equal(sub.stats().dropped.sessionEnded, 1);
  assert.deepEqual(writer.publish('t', 'late'), { matched: 0, delivered: 0, dropped: 0 });
});

test("closing a session's thread subscription drops what it held and counts no denial", () => {
  const queued = 30;
  for (const closeWith of ['subscription', 'bus']) {
    for (let round = 0; round < 20; round++) {
      const { bus, client } = enforcing();
      const { client: reader } = client('subscribe t');
      const { client: writer } = client('publish t');
      let calls = 0;
      const sub = reader.subscribe('t', () => calls++, { dispatch: 'thread' });
      for (let i = 0; i < queued; i++) writer.publish('t', 'x');
      if (closeWith === 'bus') bus.close();
      else sub.close();
      const stats = sub.stats();
      const what = `${closeWith}, round ${round}`;
      assert.ok(stats.delivered <= 1, `${what}: delivered ${stats.delivered}`);
      assert.equal(stats.dropped.closed, queued - stats.delivered, what);
      assert.equal(bus.stats().denied, 0, what);
      assert.equal(calls, 0, what);
      bus.close();
    }
  }
});

test("closing an expired session's thread subscription counts one denial, the close's own", () => {
  const { bus, client, clock } = enforcing();
  const { client: reader } = client('subscribe t');
  const { client: writer } = client('publish t');
  let calls = 0;
  const sub = reader.subscribe('t', () => calls++, { dispatch: 'thread' });
  for (let i = 0; i < 5; i++) writer.publish('t', 'x');
  clock.set(T0 + 3600 + 60);
  // The close's unsubscribe is refused (the session has expired); its
  // thread, finding the subscription ending, leaves the end to the core.
  sub.close();
  assert.equal(bus.stats().denied, 1);
  const stats = sub.stats();
  assert.ok(stats.delivered <= 1, `delivered ${stats.delivered}`);
  assert.equal(stats.received, stats.delivered + stats.dropped.total);
  assert.equal(calls, 0);
  bus.close();
});

test('a session of another authority is refused', () => {
  const { bus } = enforcing();
  const other = enforcing();
  const { session } = holderWith(other, ['publish >']);
  assert.throws(() => bus.client(session).publish('a', 'x'), {
    name: 'DeniedError',
    message: "the session was opened by another authority than this bus's",
  });
  other.bus.client(session).publish('a', 'x');
});

test('client misuse: no session, not a session, a closed bus', () => {
  const { bus, client } = enforcing();
  assert.throws(() => bus.client(), NullArgumentError);
  assert.throws(() => bus.client(null), NullArgumentError);
  assert.throws(() => bus.client({}), /session must be a Session/);
  assert.throws(() => new Bus({ authority: {} }), /authority must be an Authority/);
  assert.throws(() => new Client(), TypeError);
  const { client: writer, session } = client('publish a');
  assert.throws(() => writer.publish('a'), NullArgumentError);
  assert.throws(() => writer.publish(5, 'x'), InvalidArgumentError);
  bus.close();
  assert.throws(() => writer.publish('a', 'x'), ClosedError);
  assert.throws(() => writer.subscribe('a'), ClosedError);
  assert.throws(() => bus.client(session), ClosedError);
});

test('on a bus without an authority, anyone may call, and a client is still held to its grants', () => {
  const env = setup();
  const bus = new Bus({ authority: null });
  const { session } = holderWith(env, ['publish a']);
  const client = bus.client(session);
  const sub = bus.subscribe('>');
  assert.equal(client.publish('a', 'x').delivered, 1);
  assert.throws(() => client.publish('b', 'x'), DeniedError);
  assert.equal(bus.publish('b', 'x').delivered, 1);
  assert.equal(bus.stats().denied, 1);
  sub.close();
  bus.close();
});
