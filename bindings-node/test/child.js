'use strict';

// How a test checks the end of a child Node process it ran.

const assert = require('node:assert/strict');

/**
 * Asserts that `child`, a `spawnSync` result, exited with status 0 having
 * written nothing to stderr, and, when `lines` is given, that it printed
 * exactly those lines, each ended by a newline.
 */
function assertClean(child, lines) {
  assert.equal(child.stderr, '');
  assert.equal(child.status, 0);
  if (lines !== undefined) {
    assert.equal(child.stdout, lines.map((line) => `${line}\n`).join(''));
  }
}

module.exports = { assertClean };
