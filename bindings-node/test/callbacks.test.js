'use strict';

// Handlers that throw, and handlers that call back into the library.

const assert = require('node:assert/strict');
const { test } = require('node:test');

const { Registry, ClosedError, LimitExceededError } = require('charter');

test('a throwing handler is counted, reported, and never stops its siblings', () => {
  const errors = [];
  const registry = new Registry({ onError: (id, error) => errors.push([id, error]) });
  const ran = [];
  registry.register(() => ran.push('first'));
  const boom = new TypeError('boom');
  const bad = registry.register(() => {
    throw boom;
  });
  registry.register(() => ran.push('last'));
  assert.deepEqual(registry.notify('e'), { delivered: 2, failed: 1, panicked: 0 });
  assert.deepEqual(ran, ['first', 'last']);
  assert.equal(errors.length, 1);
  assert.equal(errors[0][0], bad);
  assert.equal(errors[0][1], boom, 'the hook gets the thrown value itself');
});

test('any thrown value reaches onError unchanged', () => {
  const seen = [];
  const registry = new Registry({ onError: (_, error) => seen.push(error) });
  const values = [42, 'text', null, undefined, { not: 'an Error' }];
  for (const value of values) {
    registry.register(() => {
      throw value;
    });
  }
  assert.deepEqual(registry.notify(), { delivered: 0, failed: values.length, panicked: 0 });
  assert.deepEqual(seen, values);
});

test('an exception thrown by onError is swallowed', () => {
  let hookCalls = 0;
  const registry = new Registry({
    onError: () => {
      hookCalls += 1;
      throw new Error('the hook fails too');
    },
  });
  registry.register(() => {
    throw new Error('first');
  });
  registry.register(() => {});
  assert.deepEqual(registry.notify(), { delivered: 1, failed: 1, panicked: 0 });
  assert.deepEqual(registry.notify(), { delivered: 1, failed: 1, panicked: 0 });
  assert.equal(hookCalls, 2);
});

test('without a hook, failures are only counted', () => {
  const registry = new Registry();
  registry.register(() => {
    throw new Error('nobody listens');
  });
  assert.deepEqual(registry.notify(), { delivered: 0, failed: 1, panicked: 0 });
});

test('onError may replace itself while it runs', () => {
  const calls = [];
  const registry = new Registry();
  registry.onError = function first(id) {
    calls.push(['first', id]);
    registry.onError = (later) => calls.push(['second', later]);
  };
  const a = registry.register(() => {
    throw new Error('a');
  });
  const b = registry.register(() => {
    throw new Error('b');
  });
  registry.notify();
  assert.deepEqual(calls, [
    ['first', a],
    ['second', b],
  ]);
});

test('a handler can register another; it first runs in the next round', () => {
  const registry = new Registry();
  const calls = [];
  let added;
  registry.register(() => {
    calls.push('outer');
    if (added === undefined) {
      added = registry.register(() => calls.push('inner'));
    }
  });
  assert.deepEqual(registry.notify(), { delivered: 1, failed: 0, panicked: 0 });
  assert.deepEqual(calls, ['outer']);
  assert.equal(registry.contains(added), true);
  assert.deepEqual(registry.notify(), { delivered: 2, failed: 0, panicked: 0 });
  assert.deepEqual(calls, ['outer', 'outer', 'inner']);
});

test('a handler can unregister itself and a later sibling mid-round', () => {
  const registry = new Registry();
  const calls = [];
  const ids = [];
  ids.push(
    registry.register(() => {
      calls.push(0);
      assert.equal(registry.unregister(ids[0]), true, 'unregister self');
      assert.equal(registry.unregister(ids[2]), true, 'unregister a later sibling');
    }),
  );
  ids.push(registry.register(() => calls.push(1)));
  ids.push(registry.register(() => calls.push(2)));
  assert.deepEqual(registry.notify(), { delivered: 2, failed: 0, panicked: 0 });
  assert.deepEqual(calls, [0, 1], 'the unregistered sibling was skipped this round');
  assert.equal(registry.size, 1);
  assert.deepEqual(registry.notify(), { delivered: 1, failed: 0, panicked: 0 });
});

test('a handler can notify its own registry; the nested report is exact', () => {
  const registry = new Registry();
  const nested = [];
  registry.register((depth) => {
    if (depth < 3) {
      nested.push(registry.notify(depth + 1));
    }
  });
  registry.register(() => {
    throw new Error('always');
  });
  assert.deepEqual(registry.notify(0), { delivered: 1, failed: 1, panicked: 0 });
  assert.equal(nested.length, 3);
  for (const report of nested) {
    assert.deepEqual(report, { delivered: 1, failed: 1, panicked: 0 });
  }
});

test('nesting past maxDepth throws LimitExceededError to the nested caller', () => {
  const registry = new Registry({ maxDepth: 3 });
  let deepest = 0;
  let refused;
  registry.register((depth) => {
    deepest = Math.max(deepest, depth);
    try {
      registry.notify(depth + 1);
    } catch (error) {
      refused = error;
    }
  });
  assert.deepEqual(registry.notify(1), { delivered: 1, failed: 0, panicked: 0 });
  assert.equal(deepest, 3, 'exactly maxDepth levels ran');
  assert.ok(refused instanceof LimitExceededError);
  assert.equal(refused.code, 'CHARTER_E_LIMIT_EXCEEDED');
  assert.match(refused.message, /nested more than 3 levels/);
  assert.deepEqual(registry.notify(1), { delivered: 1, failed: 0, panicked: 0 }, 'usable after');
});

test('an uncaught LimitExceededError fails the handler and reaches onError', () => {
  const errors = [];
  const registry = new Registry({ maxDepth: 1, onError: (_, error) => errors.push(error) });
  registry.register(() => registry.notify());
  assert.deepEqual(registry.notify(), { delivered: 0, failed: 1, panicked: 0 });
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof LimitExceededError);
});

test('registries nest inside each other independently', () => {
  const outer = new Registry({ maxDepth: 1 });
  const inner = new Registry({ maxDepth: 1 });
  let innerReport;
  inner.register(() => {});
  outer.register(() => {
    innerReport = inner.notify();
  });
  assert.deepEqual(outer.notify(), { delivered: 1, failed: 0, panicked: 0 });
  assert.deepEqual(innerReport, { delivered: 1, failed: 0, panicked: 0 });
});

test('a handler can close its registry; the round stops there', () => {
  const registry = new Registry();
  const calls = [];
  let lateError;
  registry.register(() => {
    calls.push('closer');
    registry.close();
    registry.close();
    try {
      registry.register(() => {});
    } catch (error) {
      lateError = error;
    }
  });
  registry.register(() => calls.push('skipped'));
  assert.deepEqual(registry.notify(), { delivered: 1, failed: 0, panicked: 0 });
  assert.deepEqual(calls, ['closer']);
  assert.ok(lateError instanceof ClosedError);
  assert.equal(registry.closed, true);
  assert.throws(() => registry.notify(), ClosedError);
});

test('a handler can clear its registry mid-round', () => {
  const registry = new Registry();
  const calls = [];
  registry.register(() => {
    calls.push('clearer');
    registry.clear();
  });
  registry.register(() => calls.push('skipped'));
  assert.deepEqual(registry.notify(), { delivered: 1, failed: 0, panicked: 0 });
  assert.deepEqual(calls, ['clearer']);
  assert.equal(registry.size, 0);
});
