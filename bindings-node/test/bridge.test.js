'use strict';

// Bridge against a real nats-server on a free loopback port: messages and
// requests carried between two buses, a queue group, a request nothing
// answers, sealed messages accepted with their proven sender and unsigned
// ones refused, counted and audited, signed replies, a durable import started from a committed
// position, an importing process SIGKILLed mid-stream and restarted from
// its committed position, the lifecycle, and a running bridge that does
// not keep Node alive. Skipped when nats-server is not installed
// (scripts/install-deps.sh installs it).

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { after, before, test } = require('node:test');
const v8 = require('node:v8');
const vm = require('node:vm');

const {
  AuditLog,
  Authority,
  Bridge,
  Bus,
  ClosedError,
  DeniedError,
  InvalidArgumentError,
  KeyPair,
  LimitExceededError,
  NotFoundError,
  TimeoutError,
  Token,
} = require('charter');

const NATS = ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'].find((p) =>
  fs.existsSync(p),
) ?? (spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).stdout.trim() || undefined);
const skip = NATS === undefined ? 'nats-server is not installed' : false;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

let server;
let url;
let store;

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

before(async () => {
  if (skip) {
    return;
  }
  const port = await freePort();
  store = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'charter-node-js-'));
  server = spawn(NATS, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error('nats-server did not become ready')), 10_000);
    server.stderr.on('data', (chunk) => {
      seen += chunk;
      if (seen.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  server.stderr.resume();
  url = `nats://127.0.0.1:${port}`;
});

after(() => {
  server?.kill();
  if (store) {
    fs.rmSync(store, { recursive: true, force: true });
  }
});

/** Waits for a counter the bridge updates on its own thread. */
async function eventually(condition) {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, 'timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('options are checked before anything starts', { skip }, async () => {
  const bus = new Bus();
  await assert.rejects(Bridge.start(bus, { servers: [url], exports: ['a..b'] }), InvalidArgumentError);
  await assert.rejects(Bridge.start(bus, { servers: [url], key: KeyPair.generate() }), InvalidArgumentError);
  await assert.rejects(Bridge.start(bus, { servers: [] }), InvalidArgumentError);
  await assert.rejects(Bridge.start(bus, { servers: [url], audit: AuditLog.inMemory() }), InvalidArgumentError);
  await assert.rejects(Bridge.start(bus, { servers: [url], bogus: 1 }), InvalidArgumentError);
  await assert.rejects(Bridge.start({}, { servers: [url] }), InvalidArgumentError);
  await assert.rejects(Bridge.start(bus, { servers: [url], bareExports: 'yes' }), InvalidArgumentError);
  const key = KeyPair.generate();
  const now = Math.floor(Date.now() / 1000);
  const token = Token.mint(key, key.publicKey, ['publish a'], { notBefore: now - 60, notAfter: now + 3600 });
  await assert.rejects(Bridge.start(bus, { servers: [url], token, key, bareExports: true }), {
    name: 'InvalidArgumentError',
    message: 'bare exports carry no seal: a bridge with credentials cannot send them',
  });
  assert.throws(() => new Bridge(), TypeError);
  bus.close();
});

test('messages, a queue group and requests cross between two buses', { skip }, async () => {
  const [a, b] = [new Bus(), new Bus()];
  b.subscribe('svc.upper', (m) => b.respond(m, m.payload.toString().toUpperCase()));
  const orders = b.subscribe('orders.>');
  const ba = await Bridge.start(a, { server: url, exports: ['orders.>', 'svc.>'] });
  const bb = await Bridge.start(b, {
    servers: [url],
    imports: [{ pattern: 'orders.>', queueGroup: 'workers' }, 'svc.>'],
  });
  await ba.flush({ timeoutMs: 10_000 });
  await bb.flush();
  assert.equal(ba.connected, true);
  assert.match(ba.origin, /^[0-9a-f]{32}$/);
  a.publish('orders.eu', 'hello', { kind: 'created' });
  const m = await orders.recv({ timeoutMs: 10_000 });
  assert.equal(m.payload.toString(), 'hello');
  assert.equal(m.header('kind'), 'created');
  assert.equal(m.header('Charter-Origin'), ba.origin);
  const reply = await a.request('svc.upper', 'ping', { timeoutMs: 10_000 });
  assert.equal(reply.payload.toString(), 'PING');
  await eventually(() => ba.stats().exported === 1 && ba.stats().requestsOut === 1);
  await eventually(() => bb.stats().imported === 1);
  assert.equal(bb.refused().unsigned, 0);
  await ba.close();
  assert.equal(ba.closed, true);
  await ba.close();
  assert.throws(() => ba.stats(), ClosedError);
  assert.throws(() => ba.connected, ClosedError);
  assert.throws(() => ba.refused(), ClosedError);
  await assert.rejects(ba.flush(), ClosedError);
  await bb[Symbol.asyncDispose]();
  a.close();
  b.close();
});

test('a bare export is imported as a plain NATS client\'s', { skip }, async () => {
  const [a, b] = [new Bus(), new Bus()];
  const seen = b.subscribe('bare.>');
  const bb = await Bridge.start(b, { server: url, imports: ['bare.>'] });
  const ba = await Bridge.start(a, { server: url, exports: ['bare.>'], bareExports: true });
  await bb.flush();
  await ba.flush();
  a.publish('bare.one', '1');
  const m = await seen.recv({ timeoutMs: 10_000 });
  assert.equal(m.topic, 'bare.one');
  assert.equal(m.header('Charter-Origin'), 'nats');
  await ba.close();
  await bb.close();
  a.close();
  b.close();
});

test('a request nothing answers rejects with NotFoundError long before its timeout', { skip }, async () => {
  // NATS's no-responders status (void.x), and a far bridge whose bus has no
  // responder (svc.nobody), both end the request with the core's error.
  const timeoutMs = 10_000;
  const [a, b] = [new Bus(), new Bus()];
  const ba = await Bridge.start(a, { server: url, exports: ['void.>', 'svc.>'] });
  const bb = await Bridge.start(b, { server: url, imports: ['svc.>'] });
  await ba.flush();
  await bb.flush();
  for (const topic of ['void.x', 'svc.nobody']) {
    for (const signal of [undefined, new AbortController().signal]) {
      const began = Date.now();
      await assert.rejects(a.request(topic, '?', { timeoutMs, signal }), (e) => {
        assert.ok(e instanceof NotFoundError, `${topic}: ${e}`);
        assert.equal(e.message, 'no responder on NATS for the request');
        return true;
      });
      assert.ok(Date.now() - began < timeoutMs / 2, `${topic} took ${Date.now() - began} ms`);
    }
  }
  await eventually(() => ba.stats().noResponders === 2 && ba.stats().requestsOut === 2);
  await ba.close();
  await bb.close();
  a.close();
  b.close();
});

test('a bridge and a subscription keep their bus: handlers of a bus nothing else holds still run', { skip }, async () => {
  const a = new Bus();
  const exporter = await Bridge.start(a, { server: url, exports: ['kept.>'] });
  let calls = 0;
  // Only the importing bridge and the subscription stay reachable. A
  // collected bus ends its handlers, and the bridge would then import (and,
  // durably, acknowledge) what no handler saw.
  const [importer, subscription] = await (async () => {
    const b = new Bus();
    const sub = b.subscribe('kept.>', () => calls++, { dispatch: 'thread' });
    return [await Bridge.start(b, { server: url, imports: ['kept.>'] }), sub];
  })();
  await exporter.flush();
  await importer.flush();
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  for (let i = 0; i < 100; i++) {
    a.publish('kept.x', String(i));
  }
  await eventually(() => calls === 100);
  assert.equal(subscription.stats().delivered, 100);
  await importer.close();
  await exporter.close();
  a.close();
});

test('sealed messages and signed replies are proven; unsigned ones are refused and audited', { skip }, async () => {
  const root = KeyPair.generate();
  const [alice, bob] = [KeyPair.generate(), KeyPair.generate()];
  const now = Math.floor(Date.now() / 1000);
  const window = { notBefore: now - 60, notAfter: now + 3600 };
  const aliceToken = Token.mint(root, alice.publicKey, ['publish alerts.>', 'request svc.time'], window);
  const bobToken = Token.mint(root, bob.publicKey, ['subscribe svc.time'], window);
  const authority = new Authority([root.publicKey]);
  const log = AuditLog.inMemory();
  const [sealed, plain, receiver] = [new Bus(), new Bus(), new Bus()];
  const alerts = receiver.subscribe('alerts.>');
  receiver.subscribe('svc.time', (m) => receiver.respond(m, `noon for ${m.header('Charter-Principal')}`));
  const verifying = await Bridge.start(receiver, {
    servers: [url],
    imports: ['alerts.>', 'svc.time'],
    token: bobToken,
    key: bob,
    authority,
    audit: log,
  });
  const sealing = await Bridge.start(sealed, {
    servers: [url],
    exports: ['alerts.>', 'svc.time'],
    token: aliceToken,
    key: alice,
    authority,
  });
  const unsigned = await Bridge.start(plain, { servers: [url], exports: ['alerts.>'] });
  for (const bridge of [verifying, sealing, unsigned]) {
    await bridge.flush({ timeoutMs: 10_000 });
  }
  sealed.publish('alerts.fire', 'sealed');
  const m = await alerts.recv({ timeoutMs: 10_000 });
  assert.equal(m.payload.toString(), 'sealed');
  assert.equal(m.header('Charter-Principal'), alice.principal);
  const reply = await sealed.request('svc.time', 'when?', { timeoutMs: 10_000 });
  assert.equal(reply.payload.toString(), `noon for ${alice.principal}`);
  assert.equal(reply.header('Charter-Principal'), bob.principal);
  assert.equal(reply.header('Charter-Status'), undefined);
  plain.publish('alerts.fire', 'forged');
  await eventually(() => verifying.refused().unsigned === 1);
  assert.equal(log.length, 1);
  await assert.rejects(alerts.recv({ timeoutMs: 0 }), TimeoutError);
  for (const bridge of [verifying, sealing, unsigned]) {
    await bridge.close();
  }
  for (const bus of [sealed, plain, receiver]) {
    bus.close();
  }
});

test('a running bridge does not keep Node alive', { skip }, () => {
  const script = `
    const { Bus, Bridge } = require('charter');
    const bus = new Bus();
    Bridge.start(bus, { servers: [${JSON.stringify(url)}], imports: ['keep.>'], exports: ['out.>'] })
      .then((bridge) => bridge.flush())
      .then(() => process.stdout.write('started'));
  `;
  const child = spawnSync(process.execPath, ['-e', script], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(child.error, undefined, 'did not time out');
  assert.equal(child.stdout, 'started');
  assert.equal(child.stderr, '');
  assert.equal(child.status, 0);
});

// Everything through stream sequence 2, and 4, was handled before: the
// bridge acknowledges those and never delivers them. It creates the stream
// when it binds, so the exporter publishes until sequence 5 is in.
test('a durable import skips what the committed position covers', { skip }, async () => {
  const [a, b] = [new Bus(), new Bus()];
  const jobs = b.subscribe('jobs.>');
  const durable = { pattern: 'jobs.>', stream: 'JOBS', durable: 'node-importer' };
  await assert.rejects(
    Bridge.start(b, { server: url, durableImports: [{ ...durable, handled: [-1] }] }),
    InvalidArgumentError,
  );
  await assert.rejects(
    Bridge.start(b, { server: url, durableImports: [{ ...durable, handled: new Array(2 ** 20 + 1).fill(7) }] }),
    LimitExceededError,
  );
  for (const sealed of [[7], [-1n], [2n ** 64n], 7n]) {
    await assert.rejects(Bridge.start(b, { server: url, durableImports: [{ ...durable, sealed }] }), InvalidArgumentError);
  }
  const importer = await Bridge.start(b, {
    server: url,
    durableImports: [{ ...durable, handledThrough: 2, handled: [4], sealedThrough: 9, sealed: [2n ** 64n - 1n] }],
  });
  const exporter = await Bridge.start(a, { server: url, exports: ['jobs.>'] });
  await exporter.flush();
  const seen = new Map();
  const deadline = Date.now() + 10_000;
  while (!seen.has(5)) {
    assert.ok(Date.now() < deadline, `only ${[...seen.keys()]} delivered`);
    a.publish('jobs.one', 'x');
    for (;;) {
      let m;
      try {
        m = await jobs.recv({ timeoutMs: 100 });
      } catch (e) {
        assert.ok(e instanceof TimeoutError, e);
        break;
      }
      const seq = Number(m.header('Charter-Stream-Seq'));
      assert.ok(!seen.has(seq), `${seq} delivered twice`);
      seen.set(seq, Number(m.header('Charter-Stream-Floor')));
    }
  }
  assert.ok(seen.has(3) && ![1, 2, 4].some((seq) => seen.has(seq)), [...seen.keys()].join());
  for (const [seq, floor] of seen) {
    assert.ok(floor >= 2 && floor < seq, `${seq} at floor ${floor}`);
  }
  await eventually(() => importer.stats().duplicateSuppressed === 3);
  await exporter.close();
  await importer.close();
  a.close();
  b.close();
});

/** The store's complete lines: [payload, stream sequence, floor]. */
function handledLines(store) {
  const text = fs.readFileSync(store, 'utf8');
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split(' ').map(Number));
}

/** test/fixtures/durable-importer.cjs, running until killed. */
class Importer {
  constructor(store) {
    this.child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'durable-importer.cjs'), url, store], {
      cwd: path.join(__dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.stderr = '';
    this.child.stderr.setEncoding('utf8').on('data', (chunk) => {
      this.stderr += chunk;
    });
    this.child.stdout.resume();
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
  }

  /** Waits until `condition` holds (on the store the importer writes). */
  async until(condition) {
    const deadline = Date.now() + 10_000;
    while (!condition()) {
      assert.ok(Date.now() < deadline, `the importer handled nothing more: ${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async kill() {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

// docs/bridge.md's exactly-once promise, across processes: the importing
// process (test/fixtures/durable-importer.cjs) commits each message with
// its position, is SIGKILLed mid-stream twice and restarted from what it
// committed; in the end every message was handled exactly once.
test('a killed importer restarted from its position handles each message once', { skip }, async () => {
  const messages = 300;
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'charter-node-kill-'));
  const store = path.join(dir, 'handled');
  fs.writeFileSync(store, '');
  const bus = new Bus();
  const exporter = await Bridge.start(bus, { server: url, exports: ['kill.>'] });
  await exporter.flush();
  // Its own message id: the stream stores a resend once.
  const publish = (i) => bus.publish('kill.order', String(i), { 'Nats-Msg-Id': `order-${i}` });
  const runs = [];
  const start = () => {
    runs.push(new Importer(store));
    return runs.at(-1);
  };
  try {
    let run = start();
    // The importer creates the stream when it binds: message 0 is sent
    // again until it comes through, then the others once.
    const deadline = Date.now() + 10_000;
    while (handledLines(store).length === 0) {
      assert.ok(Date.now() < deadline, `the stream never bound: ${run.stderr}`);
      publish(0);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (let i = 1; i < messages; i++) {
      publish(i);
    }
    await exporter.flush();
    for (const killAt of [messages / 4, messages / 2]) {
      await run.until(() => handledLines(store).length >= killAt);
      await run.kill();
      assert.ok(handledLines(store).length < messages, 'killed mid-stream');
      run = start();
    }
    await run.until(() => new Set(handledLines(store).map(([payload]) => payload)).size === messages);
    // A redelivery of what a killed run took and did not acknowledge comes
    // after the ack wait (1 s): give one time to show up.
    await new Promise((resolve) => setTimeout(resolve, 1500));
  } finally {
    await Promise.all(runs.map((run) => run.kill()));
    await exporter.close();
    bus.close();
  }
  const handled = handledLines(store);
  const payloads = handled.map(([payload]) => payload).sort((a, b) => a - b);
  assert.deepEqual(payloads, [...Array(messages).keys()], 'nothing lost, nothing twice');
  for (const [payload, seq, floor] of handled) {
    assert.ok(floor < seq, `${payload} at ${seq} carries floor ${floor}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

// The README's bridge example needs a nats-server, so it is fenced as
// `javascript` (docs.test.js runs the `js` blocks without one) and run here.
/** Runs a README example against this file's server; returns the child. */
function runExample(code) {
  return spawnSync(process.execPath, ['-e', code.replaceAll('nats://127.0.0.1:4222', url)], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
    timeout: 20_000,
  });
}

test('the README example runs', { skip }, () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const section = readme.split('## NATS bridge')[1];
  assert.ok(section, "no '## NATS bridge' section");
  const block = /```javascript\n([\s\S]*?)```/.exec(section);
  assert.ok(block, "no ```javascript block after '## NATS bridge'");
  const child = runExample(block[1]);
  assert.equal(child.error, undefined, 'did not time out');
  assert.equal(child.stderr, '');
  assert.equal(child.stdout, 'proven charter-id1\nrefused { unsigned: 1 }\n');
  assert.equal(child.status, 0);
});

test('the README durable import example runs', { skip }, () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```javascript\n([\s\S]*?)```/g)].find((b) => b[1].includes('durableImports'));
  assert.ok(block, 'no ```javascript block with durableImports');
  const child = runExample(block[1]);
  assert.equal(child.error, undefined, 'did not time out');
  assert.equal(child.stderr, '');
  assert.equal(child.stdout, 'durable 0\n');
  assert.equal(child.status, 0);
});

test('a server that does not answer: start succeeds, flush times out, close waits for it, then everything is closed', async () => {
  const port = await freePort();
  const bus = new Bus();
  const bridge = await Bridge.start(bus, { servers: [`nats://127.0.0.1:${port}`], exports: ['a.>'], imports: ['b.>'] });
  assert.equal(bridge.connected, false);
  const flushing = bridge.flush({ timeoutMs: 300 });
  const closing = Promise.all([bridge.close(), bridge.close(), bridge[Symbol.asyncDispose]()]);
  await assert.rejects(flushing, (error) => error instanceof TimeoutError || error instanceof ClosedError);
  await closing;
  assert.equal(bridge.closed, true);
  await assert.rejects(bridge.flush(), ClosedError);
  bus.publish('a.x', 'after close');
  bus.close();
  await assert.rejects(Bridge.start(bus, { servers: [`nats://127.0.0.1:${port}`], exports: ['a.>'] }), ClosedError);
});

test('on a bus that enforces an authority, the bridge acts as its session', { skip }, async () => {
  const root = KeyPair.generate();
  const holder = KeyPair.generate();
  const now = Math.floor(Date.now() / 1000);
  const token = Token.mint(root, holder.publicKey, ['subscribe out.>', 'publish in.>'], {
    notBefore: now - 60,
    notAfter: now + 3600,
  });
  const authority = new Authority([root.publicKey]);
  const bus = new Bus({ authority });
  await assert.rejects(Bridge.start(bus, { servers: [url], exports: ['out.>'] }), DeniedError);
  const challenge = authority.challenge();
  const session = authority.openSessionSync(token, challenge, token.prove(holder, challenge));
  await assert.rejects(Bridge.start(bus, { servers: [url], exports: ['elsewhere.>'], session }), DeniedError);
  const bridge = await Bridge.start(bus, { servers: [url], exports: ['out.>'], imports: ['in.>'], session });
  await bridge.flush();
  await bridge.close();
  bus.close();
});
