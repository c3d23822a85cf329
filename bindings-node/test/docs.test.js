'use strict';

// The documentation runs: the README's Node quickstart, the binding README's
// topic rules, capabilities and audit log usages, and the TypeScript
// examples (compiled by tsc, which also lowers `using` for Node 20).

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

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
  assert.equal(child.stderr, '');
  assert.equal(child.status, 0);
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

test('the README quickstart runs and prints what it promises', () => {
  const child = runInPackage('quickstart.cjs', jsBlock(readme, '## Quickstart: Node'));
  assert.equal(child.stderr, '');
  assert.equal(child.status, 0);
  assert.equal(
    child.stdout,
    [
      "audit { user: 'ada' }",
      'handler id failed: disk full',
      '{ delivered: 1, failed: 1, panicked: 0 }',
      'orders.eu order 17 abc',
      '',
    ].join('\n'),
  );
});

test("the binding README's capabilities usage runs and prints what it says", () => {
  const child = runInPackage('capabilities.cjs', jsBlock(bindingReadme, '## Usage: capabilities'));
  assert.equal(child.stderr, '');
  assert.equal(child.status, 0);
  assert.equal(
    child.stdout,
    [
      "[ 'publish orders.*.created', 'subscribe orders.>' ]",
      'order 17',
      'CHARTER_E_DENIED no publish grant covers "orders.eu.deleted"',
      'false',
      '',
    ].join('\n'),
  );
});

test("the binding README's audit log usage runs and prints what it says", () => {
  const child = runInPackage('audit.cjs', jsBlock(bindingReadme, '## Usage: the audit log'));
  assert.equal(child.stderr, '');
  assert.equal(child.status, 0);
  assert.equal(child.stdout, '0 publish orders.eu null\n2 true\n');
});

test("the binding README's auditor and witness usage runs and prints what it says", () => {
  const child = runInPackage('auditor.cjs', jsBlock(bindingReadme, "The auditor's path never opens"));
  assert.equal(child.stderr, '');
  assert.equal(child.status, 0);
  assert.equal(child.stdout, "true 2 [ 'witness.example' ]\n2\n");
});

test("the binding README's topic rules usage runs and prints what it says", () => {
  const child = runInPackage('topics.cjs', jsBlock(bindingReadme, 'The rules themselves'));
  assert.equal(child.stderr, '');
  assert.equal(child.status, 0);
  assert.equal(
    child.stdout,
    'true\ntrue\nCHARTER_E_INVALID_ARGUMENT topic "a..b" has an empty token at position 2\n',
  );
});

test("the binding README's waiting and async handlers usage runs and prints what it says", () => {
  const child = runInPackage('waiting.cjs', jsBlock(bindingReadme, '## Usage: waiting and async handlers'));
  assert.equal(child.stderr, '');
  assert.equal(child.status, 0);
  assert.equal(
    child.stdout,
    [
      'stored order 17',
      'failed: mailer down',
      '{ delivered: 1, failed: 1, panicked: 0 }',
      'stored order 18',
      'failed: mailer down',
      '{ delivered: 1, failed: 1, panicked: 0 }',
      "[ 'order 1', 'order 2', 'order 3' ]",
      'AbortError order 4',
      '',
    ].join('\n'),
  );
});

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
    assert.equal(registry.stderr, '');
    assert.equal(registry.status, 0);
    assert.match(registry.stdout, /\{ delivered: 1, failed: 1, panicked: 0 \}/);
    assert.match(registry.stdout, /nested 4 deep, then CHARTER_E_LIMIT_EXCEEDED \(maxDepth 4\)/);
    assert.match(registry.stdout, /ClosedError \(CHARTER_E_CLOSED, -19\)/);
    assert.match(registry.stdout, /async handler failed: empty value\nasync round: delivered 0, failed 1\n$/);

    const bus = run('bus_basics');
    assert.equal(bus.stderr, '');
    assert.equal(bus.status, 0);
    assert.match(bus.stdout, /^audit: orders\.eu\.created order 17\n\{ matched: 3, delivered: 3, dropped: 0 \}\n/);
    assert.match(bus.stdout, /\[ '#1 orders\.eu\.created', '#2 orders\.us\.created' \]/);
    assert.match(bus.stdout, /handler of subscription \d+ failed: Error: cannot rush an order/);
    assert.match(bus.stdout, /TimeoutError \(CHARTER_E_TIMEOUT\)\nAbortError after abort\(\)\n21 doubled is 42\n/);
    assert.match(bus.stdout, /orders: received 2 = delivered 2 \+ dropped 0 \+ queued 0\nhandler failures: 1\n$/);

    const batches = run('batches');
    assert.equal(batches.stderr, '');
    assert.equal(batches.status, 0);
    assert.equal(
      batches.stdout,
      'published 3\nLimitExceededError after 0 of the batch\n1 2 3\nAbortError after 4\nverified: true\n',
    );

    const capabilities = run('capabilities');
    assert.equal(capabilities.stderr, '');
    assert.equal(capabilities.status, 0);
    assert.equal(
      capabilities.stdout,
      [
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
        '',
      ].join('\n'),
    );

    const witness = run('witness');
    assert.equal(witness.stderr, '');
    assert.equal(witness.status, 0);
    assert.equal(
      witness.stdout,
      [
        'stale request: DeniedError, the witness holds size 1',
        'verified: true, 2 records, cosigned by witness.example',
        'cosigned checkpoint of size 2 at 1 time(s)',
        'no witnesses for a quorum of 1: InvalidArgumentError',
        'problem code when fine: null',
        '',
      ].join('\n'),
    );

    const audit = run('audit');
    assert.equal(audit.stderr, '');
    assert.equal(audit.status, 0);
    assert.equal(
      audit.stdout,
      [
        '#0 deny publish orders.eu.deleted by the service',
        '#1 refund order/17',
        'checkpoint of example.com/orders-audit: 2 records, record 0 included',
        'the log of 3 records extends the one of 2',
        'verify: ok=true, 3 records, checkpoint 2',
        '',
      ].join('\n'),
    );

    // The end-to-end demo: each verdict and the auditor's exact counts.
    const demo = run('demo');
    assert.equal(demo.stderr, '');
    assert.equal(demo.status, 0);
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

test("the binding README's batches usage runs and prints what it says", () => {
  const child = runInPackage('batches.cjs', jsBlock(bindingReadme, '## Usage: batches'));
  assert.equal(child.stderr, '');
  assert.equal(child.status, 0);
  assert.equal(
    child.stdout,
    ['{ matched: 3, delivered: 3, dropped: 0 }', 'LimitExceededError 1', "[ '1', '2', '3', '4' ]", ''].join('\n'),
  );
});

test("the binding README's KeyObject usage runs and prints what it says", () => {
  const child = runInPackage('keyobject.cjs', jsBlock(bindingReadme, 'Both interoperate with `node:crypto`'));
  assert.equal(child.stderr, '');
  assert.equal(child.status, 0);
  assert.equal(child.stdout, 'true\n');
});
