'use strict';

// Every public member of Registry: arguments, results, validation, close.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const v8 = require('node:v8');
const vm = require('node:vm');

const {
  Registry,
  ClosedError,
  InvalidArgumentError,
  NullArgumentError,
} = require('charter');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test('a new registry is empty, open, with the default bound', () => {
  const registry = new Registry();
  assert.equal(registry.size, 0);
  assert.equal(registry.maxDepth, 8);
  assert.equal(registry.closed, false);
  assert.equal(registry.onError, null);
  assert.deepEqual(registry.notify('nobody listens'), { delivered: 0, failed: 0, panicked: 0 });
});

test('maxDepth is validated', () => {
  assert.equal(new Registry({ maxDepth: 1 }).maxDepth, 1);
  assert.equal(new Registry({ maxDepth: 64 }).maxDepth, 64);
  // As everywhere in the API, null and undefined both mean "not given".
  assert.equal(new Registry({ maxDepth: undefined }).maxDepth, 8);
  assert.equal(new Registry({ maxDepth: null }).maxDepth, 8);
  for (const bad of [0, 65, -1, 2.5, NaN, Infinity, '3', 3n, {}]) {
    assert.throws(() => new Registry({ maxDepth: bad }), InvalidArgumentError, String(bad));
  }
  assert.throws(() => new Registry({ maxDepth: 0 }), {
    message: 'maxDepth must be an integer between 1 and 64',
  });
});

test('options must be an object', () => {
  for (const bad of [null, 3, 'x', true]) {
    assert.throws(() => new Registry(bad), InvalidArgumentError);
    assert.throws(() => new Registry().register(() => {}, bad), InvalidArgumentError);
  }
});

test('register returns distinct safe-integer ids that are never reused', () => {
  const registry = new Registry();
  const a = registry.register(() => {});
  const b = registry.register(() => {});
  assert.ok(Number.isSafeInteger(a) && a > 0 && Number.isSafeInteger(b) && b > 0);
  assert.notEqual(a, b);
  assert.equal(registry.size, 2);
  assert.equal(registry.unregister(b), true);
  const c = registry.register(() => {});
  assert.ok(c !== a && c !== b, 'an id is never handed out twice');
});

test("another registry's id, or a guessed one, matches nothing", () => {
  const a = new Registry();
  const b = new Registry();
  const theirs = a.register(() => {});
  const mine = b.register(() => {});
  assert.notEqual(theirs, mine);
  assert.equal(b.unregister(theirs), false);
  assert.equal(b.unregisterAndWait(theirs), false);
  assert.equal(b.contains(mine), true);
  for (let guess = 1; guess < 2000; guess++) {
    if (guess !== mine) assert.equal(b.contains(guess), false);
  }
});

test('registerOnce runs once, even if it throws, and is then released', () => {
  const registry = new Registry();
  const errors = [];
  registry.onError = (id) => errors.push(id);
  const seen = [];
  const id = registry.registerOnce((event) => {
    seen.push(event);
    throw new Error('once');
  });
  assert.equal(registry.contains(id), true);
  assert.deepEqual(registry.notify('a'), { delivered: 0, failed: 1, panicked: 0 });
  assert.deepEqual(registry.notify('b'), { delivered: 0, failed: 0, panicked: 0 });
  assert.deepEqual(seen, ['a']);
  assert.deepEqual(errors, [id]);
  assert.equal(registry.contains(id), false);
  // A nested round inside the once handler does not run it again.
  let calls = 0;
  registry.registerOnce(() => {
    calls++;
    registry.notify('nested');
  }, { priority: 3 });
  registry.notify('outer');
  assert.equal(calls, 1);
  assert.throws(() => registry.registerOnce(), NullArgumentError);
});

test('unregisterAndWait and clearAndWait remove at once, also from inside a handler', () => {
  const registry = new Registry();
  const order = [];
  let selfId = 0;
  const later = registry.register(() => order.push('later'), { priority: -1 });
  selfId = registry.register(() => {
    order.push('self');
    assert.equal(registry.unregisterAndWait(selfId), true);
    assert.equal(registry.unregisterAndWait(later), true);
    registry.clearAndWait();
  });
  assert.deepEqual(registry.notify(null), { delivered: 1, failed: 0, panicked: 0 });
  assert.deepEqual(order, ['self']);
  assert.equal(registry.size, 0);
  const id = registry.register(() => {});
  assert.equal(registry.unregisterAndWait(id), true);
  assert.equal(registry.unregisterAndWait(id), false);
  registry.register(() => {});
  registry.clearAndWait();
  assert.equal(registry.size, 0);
  registry.close();
  assert.throws(() => registry.unregisterAndWait(id), ClosedError);
  assert.throws(() => registry.clearAndWait(), ClosedError);
  assert.throws(() => registry.registerOnce(() => {}), ClosedError);
});

test('register refuses a missing or non-function handler', () => {
  const registry = new Registry();
  assert.throws(() => registry.register(), NullArgumentError);
  assert.throws(() => registry.register(null), NullArgumentError);
  for (const bad of [1, 'f', {}, [], Symbol('s')]) {
    assert.throws(() => registry.register(bad), InvalidArgumentError);
  }
  assert.throws(() => registry.register(42), { message: 'handler must be a function, got number' });
  assert.equal(registry.size, 0);
});

test('priority orders handlers: higher first, then registration order', () => {
  const registry = new Registry();
  const order = [];
  const add = (name, priority) =>
    registry.register(() => order.push(name), priority === undefined ? undefined : { priority });
  add('a');
  add('b', 10);
  add('c', 0);
  add('d', -5);
  add('e', 10);
  add('f', 2 ** 31 - 1);
  add('g', -(2 ** 31));
  registry.notify();
  assert.deepEqual(order, ['f', 'b', 'e', 'a', 'c', 'd', 'g']);
});

test('priority must be a 32-bit integer', () => {
  const registry = new Registry();
  for (const bad of [2 ** 31, -(2 ** 31) - 1, 0.5, '1', NaN]) {
    assert.throws(() => registry.register(() => {}, { priority: bad }), InvalidArgumentError);
  }
  assert.equal(registry.size, 0);
});

test('unregister and contains', () => {
  const registry = new Registry();
  const id = registry.register(() => {});
  assert.equal(registry.contains(id), true);
  assert.equal(registry.unregister(id), true);
  assert.equal(registry.contains(id), false);
  assert.equal(registry.unregister(id), false, 'a second unregister reports false');
  assert.equal(registry.unregister(999), false);
  assert.equal(registry.contains(999), false);
  for (const bad of [-1, 1.5, '1', undefined, null, 2 ** 53]) {
    assert.throws(() => registry.unregister(bad), InvalidArgumentError);
    assert.throws(() => registry.contains(bad), InvalidArgumentError);
  }
});

test('clear removes every handler', () => {
  const registry = new Registry();
  let calls = 0;
  const ids = [1, 2, 3].map(() => registry.register(() => calls++));
  registry.clear();
  assert.equal(registry.size, 0);
  assert.ok(ids.every((id) => !registry.contains(id)));
  assert.deepEqual(registry.notify(), { delivered: 0, failed: 0, panicked: 0 });
  assert.equal(calls, 0);
});

test('notify passes the event as is and reports deliveries', () => {
  const registry = new Registry();
  const seen = [];
  registry.register((event) => seen.push(event));
  registry.register(function (event) {
    seen.push(this, event);
  });
  const event = { nested: { value: 1 } };
  assert.deepEqual(registry.notify(event), { delivered: 2, failed: 0, panicked: 0 });
  assert.equal(seen[0], event, 'the very same object');
  assert.equal(seen[1], undefined, 'handlers are called with `this` undefined');
  assert.equal(seen[2], event);
  for (const value of [undefined, null, 0, 'text', 7n, Symbol.for('s')]) {
    seen.length = 0;
    registry.notify(value);
    assert.equal(seen[0], value);
  }
  seen.length = 0;
  registry.notify();
  assert.equal(seen[0], undefined);
});

test('a handler return value is ignored', () => {
  const registry = new Registry();
  registry.register(async () => 'a promise');
  registry.register(() => false);
  registry.register(() => new Error('returned, not thrown'));
  assert.deepEqual(registry.notify(), { delivered: 3, failed: 0, panicked: 0 });
});

test('onError can be given, read, replaced and removed', () => {
  const first = () => {};
  const registry = new Registry({ onError: first });
  assert.equal(registry.onError, first);
  const second = () => {};
  registry.onError = second;
  assert.equal(registry.onError, second);
  registry.onError = null;
  assert.equal(registry.onError, null);
  registry.onError = second;
  registry.onError = undefined;
  assert.equal(registry.onError, null);
  assert.throws(() => {
    registry.onError = 'not a function';
  }, InvalidArgumentError);
  assert.throws(() => new Registry({ onError: 5 }), InvalidArgumentError);
  assert.equal(new Registry({ onError: null }).onError, null);
});

test('close is idempotent and every other member then throws ClosedError', () => {
  const registry = new Registry({ onError: () => {} });
  const id = registry.register(() => {});
  registry.close();
  assert.equal(registry.closed, true);
  registry.close();
  registry[Symbol.dispose]();
  const uses = {
    register: () => registry.register(() => {}),
    unregister: () => registry.unregister(id),
    contains: () => registry.contains(id),
    size: () => registry.size,
    maxDepth: () => registry.maxDepth,
    clear: () => registry.clear(),
    notify: () => registry.notify('late'),
    'get onError': () => registry.onError,
    'set onError': () => {
      registry.onError = () => {};
    },
  };
  for (const [name, use] of Object.entries(uses)) {
    assert.throws(use, (error) => {
      assert.ok(error instanceof ClosedError, name);
      assert.equal(error.code, 'CHARTER_E_CLOSED');
      assert.equal(error.message, 'the registry is closed');
      return true;
    });
  }
});

test('Symbol.dispose closes the registry', () => {
  const registry = new Registry();
  registry.register(() => {});
  assert.equal(typeof registry[Symbol.dispose], 'function');
  registry[Symbol.dispose]();
  assert.equal(registry.closed, true);
  assert.throws(() => registry.notify(), ClosedError);
});

/** Registers a fresh closure and returns a WeakRef to it. */
function registerTracked(registry) {
  const handler = () => {};
  const ref = new WeakRef(handler);
  ref.id = registry.register(handler);
  return ref;
}

async function collected(ref) {
  await nextTurn();
  gc();
  return ref.deref() === undefined;
}

test('close releases the JS callbacks', async () => {
  const registry = new Registry();
  const handler = registerTracked(registry);
  const hook = new WeakRef((registry.onError = () => {}));
  assert.equal(await collected(handler), false, 'a registered handler is held');
  assert.equal(await collected(hook), false, 'the hook is held');
  registry.close();
  assert.equal(await collected(handler), true);
  assert.equal(await collected(hook), true);
});

test('unregister and clear release the JS callbacks', async () => {
  const registry = new Registry();
  const first = registerTracked(registry);
  assert.equal(await collected(first), false);
  registry.unregister(first.id);
  assert.equal(await collected(first), true);
  const second = registerTracked(registry);
  registry.clear();
  assert.equal(await collected(second), true);
  const third = registerTracked(registry);
  assert.equal(registry.unregisterAndWait(third.id), true);
  assert.equal(await collected(third), true);
  const fourth = registerTracked(registry);
  registry.clearAndWait();
  assert.equal(await collected(fourth), true);
});

test('a run-once handler is released once it ran', async () => {
  const registry = new Registry();
  let handler = () => {};
  const ref = new WeakRef(handler);
  registry.registerOnce(handler);
  handler = null;
  assert.equal(await collected(ref), false, 'held until it runs');
  registry.notify(null);
  assert.equal(await collected(ref), true);
});
