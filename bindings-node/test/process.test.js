'use strict';

// Whole-process behaviour, checked in child processes: an open registry,
// bus, authority or audit log never keeps Node alive, the library prints
// nothing, and both module systems load it.

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, test } = require('node:test');

const { AuditLog } = require('charter');
const { assertClean } = require('./child.js');

const packageDir = path.join(__dirname, '..');

function runNode(args) {
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, args, {
    cwd: packageDir,
    encoding: 'utf8',
    timeout: 20_000,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { ...child, seconds };
}

/**
 * Asserts that `child` ended by itself (no timeout), cleanly (`assertClean`
 * with `lines`), and in a few seconds.
 */
function assertExited(child, lines) {
  assert.equal(child.error, undefined, 'did not time out');
  assertClean(child, lines);
  assert.ok(child.seconds < 10, `exited after ${child.seconds}s`);
}

/** Fixtures that leave things open: each process must still exit at once, having printed nothing. */
const silentExits = [
  ['open-registry.cjs', 'open-registry.cjs: an open registry with handlers lets the process exit, silently'],
  ['open-registry.mjs', 'open-registry.mjs: an open registry with handlers lets the process exit, silently'],
  ['open-bus.cjs', 'an open bus with subscriptions of every kind lets the process exit, silently'],
  ['open-authority.cjs', 'open authorities, sessions and an enforcing bus let the process exit, silently'],
];

for (const [fixture, name] of silentExits) {
  test(name, () => {
    assertExited(runNode([path.join('test', 'fixtures', fixture)]), []);
  });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'charter-process-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('open audit logs, a sync thread, a bus and an authority recording let the process exit', async () => {
  const file = path.join(tmp, 'open.audit');
  assertExited(runNode([path.join('test', 'fixtures', 'open-audit.cjs'), file]), []);
  const log = await AuditLog.open(file);
  assert.deepEqual(
    [...log].map((r) => [r.action, r.decision]),
    [
      ['boot', 'allow'],
      ['publish', 'deny'],
    ],
  );
  log.close();
});

test('pending appends, syncs, checkpoints and verifications keep the process alive until done', async () => {
  const file = path.join(tmp, 'pending.audit');
  const child = runNode([path.join('test', 'fixtures', 'pending-audit.cjs'), file]);
  assertExited(child);
  assert.deepEqual(child.stdout.split('\n').sort(), [
    '',
    'appended 3',
    'checkpoint of charter.local/audit',
    'synced',
    'verified true',
  ]);
  const log = await AuditLog.open(file);
  assert.equal(log.length, 3);
  assert.equal((await log.verify()).ok, true);
  log.close();
});

test('a receive keeps the process alive only until its timeout; one without never does', () => {
  const child = runNode([path.join('test', 'fixtures', 'pending-recv.cjs')]);
  assert.equal(child.error, undefined, 'did not time out');
  assertClean(child, [
    'CHARTER_E_TIMEOUT after the timeout',
    'woken by a publish on this thread',
    'CHARTER_E_CLOSED when the subscription closed',
    'exited with receives pending',
  ]);
});

test('require and import of "charter" give the same classes in one process', () => {
  const script = `
    import { createRequire } from 'node:module';
    import * as esm from 'charter';
    const cjs = createRequire(import.meta.url)('charter');
    const same = Object.keys(cjs).every((k) => esm[k] === cjs[k]);
    const r = new esm.Registry();
    r.register(() => {});
    process.stdout.write(JSON.stringify({ same, report: r.notify(), isCjs: r instanceof cjs.Registry }));
  `;
  const child = runNode(['--input-type=module', '-e', script]);
  assertClean(child);
  assert.deepEqual(JSON.parse(child.stdout), {
    same: true,
    isCjs: true,
    report: { delivered: 1, failed: 0, panicked: 0 },
  });
});

test('a handler failure with no onError is a process warning, not silence', () => {
  const script = `
    const { Bus, Registry } = require('charter');
    const registry = new Registry();
    registry.register(() => { throw new TypeError('registry handler broke'); });
    registry.notify(1);
    const bus = new Bus();
    bus.subscribe('t', () => { throw new RangeError('bus handler broke'); });
    const report = bus.publish('t', 'p');
    bus.close();
    const hooked = new Bus({ onError: () => { throw new Error('the hook broke'); } });
    hooked.subscribe('t', () => { throw new Error('hooked'); });
    hooked.publish('t', 'p');
    hooked.close();
    process.on('warning', (w) => {
      if (w.code === 'CHARTER_HANDLER_ERROR') process.stdout.write(w.cause.message + ';');
    });
    process.stdout.write(report.delivered + ';');
  `;
  const child = runNode(['-e', script]);
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, '1;registry handler broke;bus handler broke;the hook broke;');
  assert.match(child.stderr, /CharterHandlerWarning: registry handler \d+ threw TypeError: registry handler broke/);
  assert.match(child.stderr, /CharterHandlerWarning: the handler of subscription \d+ threw RangeError/);
  assert.match(child.stderr, /CharterHandlerWarning: the bus's onError hook threw Error: the hook broke/);
  assert.doesNotMatch(child.stderr, /hooked/, 'a failure the hook took is not a warning');
});
