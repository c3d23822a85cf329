'use strict';

// The documentation runs: the README's Node quickstart, and the TypeScript
// example (compiled by tsc, which also lowers `using` for Node 20).

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const packageDir = path.join(__dirname, '..');
const readme = path.join(packageDir, '..', 'README.md');

/** The first ```js block after the "## Quickstart: Node" heading. */
function quickstart() {
  const text = fs.readFileSync(readme, 'utf8');
  const section = text.indexOf('## Quickstart: Node');
  assert.notEqual(section, -1, 'README has a Node quickstart');
  const block = /```js\n([\s\S]*?)```/.exec(text.slice(section));
  assert.ok(block, 'the quickstart has a js block');
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

test('the README quickstart runs and prints what it promises', () => {
  const child = runInPackage('quickstart.cjs', quickstart());
  assert.equal(child.stderr, '');
  assert.equal(child.status, 0);
  assert.equal(
    child.stdout,
    [
      "audit { user: 'ada' }",
      'handler 2 failed: disk full',
      '{ delivered: 1, failed: 1, panicked: 0 }',
      '',
    ].join('\n'),
  );
});

test('the TypeScript example compiles and runs', () => {
  const dir = fs.mkdtempSync(path.join(packageDir, '.tmp-'));
  try {
    const tsc = require.resolve('typescript/bin/tsc');
    const compiled = spawnSync(
      process.execPath,
      [tsc, '-p', 'examples', '--noEmit', 'false', '--outDir', dir],
      { cwd: packageDir, encoding: 'utf8' },
    );
    assert.equal(compiled.status, 0, compiled.stdout + compiled.stderr);
    const child = spawnSync(process.execPath, [path.join(dir, 'registry_basics.js')], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(child.stderr, '');
    assert.equal(child.status, 0);
    assert.match(child.stdout, /\{ delivered: 1, failed: 1, panicked: 0 \}/);
    assert.match(child.stdout, /nested 4 deep, then CHARTER_E_LIMIT_EXCEEDED \(maxDepth 4\)/);
    assert.match(child.stdout, /ClosedError \(CHARTER_E_CLOSED, -19\)/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
