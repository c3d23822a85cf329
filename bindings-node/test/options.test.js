'use strict';

// Options bags refuse keys they do not know (a misspelt option was silently
// ignored), naming the key; a missing required argument is a
// NullArgumentError, as the README says, and a wrong type an
// InvalidArgumentError.

const assert = require('node:assert/strict');
const { test } = require('node:test');

const {
  AuditLog,
  Authority,
  Bus,
  InvalidArgumentError,
  KeyPair,
  NullArgumentError,
  Registry,
  Token,
  verifyLog,
  verifyCheckpoint,
  validateTopic,
} = require('charter');

function unknownKey(fn, key) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof InvalidArgumentError, `${e}`);
    assert.match(e.message, new RegExp(`unknown key "${key}"`));
    return true;
  });
}

test('a misspelt option is an InvalidArgumentError naming it', async () => {
  unknownKey(() => new Bus({ maxPayLoad: 1 }), 'maxPayLoad');
  unknownKey(() => new Registry({ maxdepth: 2 }), 'maxdepth');
  const registry = new Registry();
  unknownKey(() => registry.register(() => {}, { prio: 1 }), 'prio');
  registry.close();
  const bus = new Bus();
  try {
    unknownKey(() => bus.subscribe('t', { capcity: 1 }), 'capcity');
    unknownKey(() => bus.subscribe('t', () => {}, { dispach: 'thread' }), 'dispach');
    await assert.rejects(bus.request('t', 'p', { timeout: 5 }), /unknown key "timeout"/);
    const sub = bus.subscribe('t');
    await assert.rejects(sub.recv({ timeout: 5 }), /unknown key "timeout"/);
  } finally {
    bus.close();
  }
  const root = KeyPair.generate();
  unknownKey(() => new Authority([root.publicKey], { maxLifetime: 5 }), 'maxLifetime');
  unknownKey(() => Token.mint(root, root.publicKey, ['publish a'], { notBefore: 1, notAfter: 2, nbf: 0 }), 'nbf');
  unknownKey(() => AuditLog.inMemory({ orign: 'x' }), 'orign');
  const log = AuditLog.inMemory();
  try {
    unknownKey(
      () => log.appendSync({ time: 0, action: 'a', resource: 'r', decision: 'allow', detail: 'd', acter: 'x' }),
      'acter',
    );
    unknownKey(() => [...log.records({ desicion: 'deny' })], 'desicion');
  } finally {
    log.close();
  }
  await assert.rejects(async () => verifyLog('/nonexistent', { logkey: 'k' }), /unknown key "logkey"/);
});

test('every missing required argument is a NullArgumentError', () => {
  const bus = new Bus();
  const registry = new Registry();
  const log = AuditLog.inMemory();
  try {
    const calls = {
      'bus.publish()': () => bus.publish(),
      'bus.publish(t)': () => bus.publish('t'),
      'bus.subscribe()': () => bus.subscribe(),
      'registry.register()': () => registry.register(),
      'validateTopic()': () => validateTopic(),
      'verifyCheckpoint()': () => verifyCheckpoint(),
      'KeyPair.fromPem()': () => KeyPair.fromPem(),
      'Token.fromText()': () => Token.fromText(),
      'Token.mint()': () => Token.mint(),
      'AuditLog.openSync()': () => AuditLog.openSync(),
      'log.appendSync()': () => log.appendSync(),
      'log.appendSync({})': () => log.appendSync({}),
      'log.verifyAgainstSync()': () => log.verifyAgainstSync(),
      'new Authority().trust()': () => new Authority().trust(),
    };
    for (const [name, call] of Object.entries(calls)) {
      assert.throws(call, NullArgumentError, name);
    }
    assert.throws(() => bus.publish(5, 'p'), InvalidArgumentError, 'a wrong type is not a missing argument');
  } finally {
    bus.close();
    registry.close();
    log.close();
  }
});
