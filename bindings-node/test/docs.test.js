'use strict';

// The documentation runs: the README's Node quickstart, the binding README's
// topic rules, capabilities and audit log usages, and the TypeScript
// examples (compiled by tsc, which also lowers `using` for Node 20).

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { assertClean } = require('./child.js');

const packageDir = path.join(__dirname, '..');
const readme = path.join(packageDir, '..', 'README.md');
const bindingReadme = path.join(packageDir, 'README.md');

/** The first ```js block after `heading` in the markdown file `file`. */
function jsBlock(file, heading) {
  const text = fs.readFileSync(file, 'utf8');
  const section = text.indexOf(heading);
  assert.notEqual(section, -1, `${file} has ${heading}`);
  const block = /```js\n([\s\S]*?)```/.exec(text.slice(section));
  assert.ok(block, `${heading} has a js block`);
  return block[1];
}

/** Runs `source` as a file inside the package, so `charter` resolves to it. */
function runInPackage(fileName, source) {
  const dir = fs.mkdtempSync(path.join(packageDir, '.tmp-'));
  try {
    const file = path.join(dir, fileName);
    fs.writeFileSync(file, source);
    return spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every ```js block of the markdown file `file`. */
function jsBlocks(file) {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** An ES module (it imports) runs as .mjs, the rest as .cjs. */
function moduleName(source, i) {
  return /^import /m.test(source) ? `block-${i}.mjs` : `block-${i}.cjs`;
}

test("every js block of the binding's README runs, exits 0 and warns about nothing", () => {
  const blocks = jsBlocks(bindingReadme);
  assert.ok(blocks.length >= 6, `found ${blocks.length} blocks`);
  blocks.forEach((source, i) => {
    const child = runInPackage(moduleName(source, i), source);
    // Some blocks show an onError hook writing to stderr on purpose.
    assert.doesNotMatch(child.stderr, /Warning|SyntaxError|Uncaught/, `block ${i}:\n${source}`);
    assert.equal(child.status, 0, `block ${i}:\n${child.stderr}`);
  });
});

test("the binding README's bus usage prints what its comments say", () => {
  const source = jsBlock(bindingReadme, '## Usage: the bus');
  const child = runInPackage('bus.mjs', source);
  assertClean(child);
  const lines = child.stdout.split('\n').filter(Boolean);
  // The thread handler prints whenever its thread gets to it: maybe not
  // before close() drops what it has not started.
  const audit = lines.filter((line) => line.startsWith('audit '));
  assert.ok(audit.every((line) => line === 'audit orders.us.created'), String(audit));
  assert.deepEqual(
    lines.filter((line) => !line.startsWith('audit ')),
    ['order 17 abc', '42', 'queued orders.us.created', 'queued orders.done'],
  );
});

/**
 * The README blocks that print exactly what they say: each runs inside the
 * package, exits 0, writes nothing to stderr and prints these lines.
 */
const printing = [
  {
    name: 'the README quickstart runs and prints what it promises',
    file: 'quickstart.cjs',
    markdown: readme,
    heading: '## Quickstart: Node',
    prints: [
      "audit { user: 'ada' }",
      'handler id failed: disk full',
      '{ delivered: 1, failed: 1, panicked: 0 }',
      'orders.eu order 17 abc',
    ],
  },
  {
    name: "the binding README's capabilities usage runs and prints what it says",
    file: 'capabilities.cjs',
    markdown: bindingReadme,
    heading: '## Usage: capabilities',
    prints: [
      "[ 'publish orders.*.created', 'subscribe orders.>' ]",
      'order 17',
      'CHARTER_E_DENIED no publish grant covers "orders.eu.deleted"',
      'false',
    ],
  },
  {
    name: "the binding README's audit log usage runs and prints what it says",
    file: 'audit.cjs',
    markdown: bindingReadme,
    heading: '## Usage: the audit log',
    prints: ['0 publish orders.eu null', '2 true'],
  },
  {
    name: "the binding README's auditor and witness usage runs and prints what it says",
    file: 'auditor.cjs',
    markdown: bindingReadme,
    heading: "The auditor's path never opens",
    prints: ["true 2 [ 'witness.example' ]", '2'],
  },
  {
    name: "the binding README's topic rules usage runs and prints what it says",
    file: 'topics.cjs',
    markdown: bindingReadme,
    heading: 'The rules themselves',
    prints: ['true', 'true', 'CHARTER_E_INVALID_ARGUMENT topic "a..b" has an empty token at position 2'],
  },
  {
    name: "the binding README's waiting and async handlers usage runs and prints what it says",
    file: 'waiting.cjs',
    markdown: bindingReadme,
    heading: '## Usage: waiting and async handlers',
    prints: [
      'stored order 17',
      'failed: mailer down',
      '{ delivered: 1, failed: 1, panicked: 0 }',
      'stored order 18',
      'failed: mailer down',
      '{ delivered: 1, failed: 1, panicked: 0 }',
      "[ 'order 1', 'order 2', 'order 3' ]",
      'AbortError order 4',
    ],
  },
  {
    name: "the binding README's batches usage runs and prints what it says",
    file: 'batches.cjs',
    markdown: bindingReadme,
    heading: '## Usage: batches',
    prints: ['{ matched: 3, delivered: 3, dropped: 0 }', 'LimitExceededError 1', "[ '1', '2', '3', '4' ]"],
  },
  {
    name: "the binding README's KeyObject usage runs and prints what it says",
    file: 'keyobject.cjs',
    markdown: bindingReadme,
    heading: 'Both interoperate with `node:crypto`',
    prints: ['true'],
  },
];

for (const c of printing) {
  test(c.name, () => {
    assertClean(runInPackage(c.file, jsBlock(c.markdown, c.heading)), c.prints);
  });
}

test('the TypeScript examples compile and run', () => {
  const dir = fs.mkdtempSync(path.join(packageDir, '.tmp-'));
  const run = (example) =>
    spawnSync(process.execPath, [path.join(dir, `${example}.js`)], { encoding: 'utf8', timeout: 20_000 });
  try {
    const tsc = require.resolve('typescript/bin/tsc');
    const compiled = spawnSync(
      process.execPath,
      [tsc, '-p', 'examples', '--noEmit', 'false', '--outDir', dir],
      { cwd: packageDir, encoding: 'utf8' },
    );
    assert.equal(compiled.status, 0, compiled.stdout + compiled.stderr);

    const registry = run('registry_basics');
    assertClean(registry);
    assert.match(registry.stdout, /\{ delivered: 1, failed: 1, panicked: 0 \}/);
    assert.match(registry.stdout, /nested 4 deep, then CHARTER_E_LIMIT_EXCEEDED \(maxDepth 4\)/);
    assert.match(registry.stdout, /ClosedError \(CHARTER_E_CLOSED, -19\)/);
    assert.match(registry.stdout, /async handler failed: empty value\nasync round: delivered 0, failed 1\n$/);

    const bus = run('bus_basics');
    assertClean(bus);
    assert.match(bus.stdout, /^audit: orders\.eu\.created order 17\n\{ matched: 3, delivered: 3, dropped: 0 \}\n/);
    assert.match(bus.stdout, /\[ '#1 orders\.eu\.created', '#2 orders\.us\.created' \]/);
    assert.match(bus.stdout, /handler of subscription \d+ failed: Error: cannot rush an order/);
    assert.match(bus.stdout, /TimeoutError \(CHARTER_E_TIMEOUT\)\nAbortError after abort\(\)\n21 doubled is 42\n/);
    assert.match(bus.stdout, /orders: received 2 = delivered 2 \+ dropped 0 \+ queued 0\nhandler failures: 1\n$/);

    assertClean(run('batches'), [
      'published 3',
      'LimitExceededError after 0 of the batch',
      '1 2 3',
      'AbortError after 4',
      'verified: true',
    ]);

    assertClean(run('capabilities'), [
      '2 links; the worker may: subscribe orders.eu.>',
      'widening a delegation: DeniedError',
      'the worker got order 17',
      'publishing outside the grants: DeniedError',
      'publishing without a session: DeniedError',
      'worker session active: false',
      "the worker's subscription: RevokedError",
      'the worker subscribing again: RevokedError',
      'the service publishing an hour later: ExpiredError',
      'refused calls: 4',
    ]);

    assertClean(run('witness'), [
      'stale request: DeniedError, the witness holds size 1',
      'verified: true, 2 records, cosigned by witness.example',
      'cosigned checkpoint of size 2 at 1 time(s)',
      'no witnesses for a quorum of 1: InvalidArgumentError',
      'problem code when fine: null',
    ]);

    assertClean(run('audit'), [
      '#0 deny publish orders.eu.deleted by the service',
      '#1 refund order/17',
      'checkpoint of example.com/orders-audit: 2 records, record 0 included',
      'the log of 3 records extends the one of 2',
      'verify: ok=true, 3 records, checkpoint 2',
    ]);

    // The end-to-end demo: each verdict and the auditor's exact counts.
    const demo = run('demo');
    assertClean(demo);
    const lines = demo.stdout.split('\n');
    assert.equal(lines.filter((line) => line.startsWith('   allowed  ')).length, 7);
    assert.equal(lines.filter((line) => line.startsWith('   denied   ')).length, 6);
    for (const line of [
      '   allowed  worker   publish    orders.eu.created',
      '   denied   worker   publish    orders.us.created',
      '   denied   billing  publish    orders.eu.deleted',
      "   worker's session active: no",
      "            CHARTER_E_REVOKED: the session's token was revoked",
      '   checkpoint  signature valid, size 14 of demo.charter.local/audit',
      'Summary: 14 records (8 allowed, 6 denied), verified against the signed checkpoint.',
    ]) {
      assert.ok(lines.includes(line), `demo prints ${line}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

