'use strict';

// Calling Charter with a nearly full JS stack gives a catchable error, as
// plain JS does, never a crash (issue 14, item 2). Each case runs in a
// child process, which calls Charter at every depth from a full stack back
// up, several times over.

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { test } = require('node:test');

const fixture = path.join(__dirname, 'fixtures', 'full-stack.cjs');

for (const where of ['main', 'worker', 'small-worker']) {
  for (const mode of ['publish', 'notify', 'request', 'tryRecv']) {
    test(`${mode} on the ${where} thread with a nearly full stack never crashes`, () => {
      const child = spawnSync(process.execPath, [fixture, mode, where], {
        cwd: path.join(__dirname, '..'),
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(child.signal, null, `killed by ${child.signal}; stderr: ${child.stderr.slice(0, 500)}`);
      assert.equal(child.status, 0, child.stderr.slice(0, 500));
      if (mode !== 'request') {
        // `request` is an async function: at a full stack, Node itself
        // reports "Exception in PromiseRejectCallback" on stderr, as it
        // does for any async function of plain JS there.
        assert.equal(child.stderr, '');
      }
      const outcome = JSON.parse(child.stdout);
      assert.equal(outcome.mode, mode);
      // Every call returned or threw a catchable error (the fixture rethrows
      // anything else); a few thousand of them were made near the limit.
      assert.ok(outcome.returned > 1000, `${outcome.returned} calls returned`);
      assert.ok(outcome.rangeErrors + outcome.charterErrors > 0, 'some calls met the full stack');
      // A handler that could not run because the stack was full counts as
      // a failed delivery, in the report and the stats.
      if (mode === 'publish') {
        assert.ok(outcome.handlerFailures > 0, 'handler failures counted');
      }
      if (mode === 'notify') {
        assert.ok(outcome.unrun > 0, 'failed handlers reported by notify');
      }
    });
  }
}
