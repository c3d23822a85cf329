'use strict';

// Every rule is the core's: for each subscription and each set of bus
// limits the core refuses, and for a respond to a message that is not a
// request, the binding throws the
// core's error class with the core's exact message. The cases, with the
// core's status and words, come from the core itself
// (`vectors/rules/refusals.json`, written by `make vectors`), so a check
// added or re-worded in the binding fails here.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const charter = require('charter');
const { holderWith, setup } = require('./capability-setup.js');

const { Bus, CharterError } = charter;

const refusals = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'vectors', 'rules', 'refusals.json'), 'utf8'),
);

/** The vectors' neutral option names as `subscribe`'s options. */
function subscribeOptions(options) {
  const names = { capacity: 'capacity', max_bytes: 'maxBytes', ttl_ms: 'ttlMs', idle_ttl_ms: 'idleTtlMs', dispatch: 'dispatch' };
  return Object.fromEntries(
    Object.entries(options).map(([name, value]) => {
      assert.ok(name in names, `an option this runner does not know: ${name}`);
      return [names[name], value];
    }),
  );
}

/** The vectors' limit names (the core's `BusLimits` fields) as the Bus constructor's options. */
function busLimits(limits) {
  return Object.fromEntries(
    Object.entries(limits).map(([name, value]) => [name.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), value]),
  );
}

/** The error class of status name `code`. */
function errorClass(code) {
  const found = Object.values(charter).find(
    (value) => typeof value === 'function' && value.prototype instanceof CharterError && value.code === code,
  );
  assert.ok(found, code);
  return found;
}

test('the vectors hold every kind of refusal', () => {
  assert.ok(refusals.subscribe.length >= 9);
  const statuses = new Set(refusals.subscribe.map((c) => c.status));
  assert.deepEqual([...statuses].sort(), ['CHARTER_E_INVALID_ARGUMENT', 'CHARTER_E_LIMIT_EXCEEDED']);
});

for (const c of refusals.subscribe) {
  test(`subscribe: ${c.name} is refused with the core's error`, () => {
    const env = setup();
    const bus = new Bus();
    const enforcing = new Bus({ authority: env.authority });
    try {
      // The bus's own calls and a session's client: the same rules.
      const client = enforcing.client(holderWith(env, ['subscribe rules']).session);
      for (const caller of [bus, client]) {
        const options = subscribeOptions(c.options);
        const subscribe = c.handler
          ? () => caller.subscribe('rules', () => {}, options)
          : () => caller.subscribe('rules', options);
        assert.throws(subscribe, (error) => {
          assert.ok(error instanceof errorClass(c.status), `${error}`);
          assert.equal(error.code, c.status);
          assert.equal(error.message, c.message);
          return true;
        });
      }
      assert.equal(bus.stats().liveSubscriptions, 0);
    } finally {
      bus.close();
      enforcing.close();
    }
  });
}

for (const c of refusals.bus) {
  test(`bus limits: ${c.name} are refused with the core's error`, () => {
    assert.throws(() => new Bus(busLimits(c.limits)).close(), (error) => {
      assert.ok(error instanceof errorClass(c.status), `${error}`);
      assert.equal(error.message, c.message);
      return true;
    });
  });
}

for (const c of refusals.respond) {
  test(`respond: ${c.name} is refused with the core's error`, () => {
    const bus = new Bus();
    try {
      const sub = bus.subscribe('plain');
      bus.publish('plain', '');
      const message = sub.tryRecv();
      assert.equal(message.replyTo, null);
      assert.throws(() => bus.respond(message, ''), (error) => {
        assert.ok(error instanceof errorClass(c.status), `${error}`);
        assert.equal(error.message, c.message);
        return true;
      });
    } finally {
      bus.close();
    }
  });
}
