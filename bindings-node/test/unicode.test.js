'use strict';

// Strings with a lone UTF-16 surrogate have no UTF-8 form. Node's own
// conversion replaces one with U+FFFD, so without a check 'x.\ud800' and
// 'x.\udfff' became the same topic. Every string argument refuses them
// with InvalidUtf8Error instead.

const assert = require('node:assert/strict');
const { test } = require('node:test');

const { AuditLog, Bus, InvalidUtf8Error, KeyPair, PublicKey, Token, validateTopic } = require('charter');

const LONE = ['x.\ud800', 'x.\udfff', 'x.\udfff\ud800', '\ud800'];

test('topics and patterns with a lone surrogate are InvalidUtf8Error, never collapsed', () => {
  const bus = new Bus();
  try {
    const sub = bus.subscribe('x.*');
    for (const topic of LONE) {
      assert.throws(() => bus.publish(topic, 'p'), InvalidUtf8Error, JSON.stringify(topic));
      assert.throws(() => bus.subscribe(topic), InvalidUtf8Error, JSON.stringify(topic));
      assert.throws(() => validateTopic(topic), InvalidUtf8Error);
    }
    assert.equal(sub.tryRecv(), null, 'nothing was published');
    // A well-formed pair is fine.
    assert.equal(bus.publish('x.\ud83d\ude00', 'p').delivered, 1);
    assert.equal(sub.tryRecv().topic, 'x.\ud83d\ude00');
  } finally {
    bus.close();
  }
});

test('payloads, headers, grants, keys and audit fields refuse a lone surrogate', async () => {
  const bus = new Bus();
  try {
    bus.subscribe('t');
    assert.throws(() => bus.publish('t', 'a\ud800'), InvalidUtf8Error);
    assert.throws(() => bus.publish('t', 'p', { h: 'v\udc00' }), InvalidUtf8Error);
    assert.throws(() => bus.publish('t', 'p', { ['h\udc00']: 'v' }), InvalidUtf8Error);
  } finally {
    bus.close();
  }
  const root = KeyPair.generate();
  const window = { notBefore: 1_700_000_000, notAfter: 1_700_003_600 };
  assert.throws(() => Token.mint(root, root.publicKey, ['publish a.\ud800'], window), InvalidUtf8Error);
  assert.throws(() => Token.fromText('charter-tok1:\ud800'), InvalidUtf8Error);
  assert.throws(() => PublicKey.fromText('charter-pk1:\ud800'), InvalidUtf8Error);
  const log = AuditLog.inMemory();
  try {
    const record = { time: 0, action: 'publish', resource: 'r', decision: 'allow', detail: 'd' };
    await assert.rejects(log.append({ ...record, action: 'pub\ud800' }), InvalidUtf8Error);
    await assert.rejects(log.append({ ...record, actor: '\udfff' }), InvalidUtf8Error);
  } finally {
    log.close();
  }
});

test('the error names the argument and where the surrogate is', () => {
  const bus = new Bus();
  try {
    assert.throws(() => bus.publish('ab\ud800cd', 'p'), {
      name: 'InvalidUtf8Error',
      code: 'CHARTER_E_INVALID_UTF8',
      message: /^topic .*index 2/,
    });
  } finally {
    bus.close();
  }
});
