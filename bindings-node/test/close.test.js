'use strict';

// close() releases at once what it promises: after bus.close() and
// log.close(), the audit file's lock is free, with no garbage collection in
// between (the closed objects are still referenced here).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');

const { AuditLog, Bus, WouldBlockError } = require('charter');

test('closing a recording bus and its log frees the file lock at once', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'charter-close-test-'));
  try {
    const file = path.join(dir, 'audit.log');
    const log = AuditLog.openSync(file);
    const bus = new Bus({ audit: log, auditScope: 'all' });
    const sub = bus.subscribe('t');
    bus.publish('t', 'p');
    assert.throws(() => AuditLog.openSync(file), WouldBlockError, 'held while open');
    bus.close();
    log.close();
    const again = AuditLog.openSync(file);
    assert.equal(again.length, 2, 'subscribe and publish were recorded');
    again.close();
    assert.ok(sub.closed && bus.closed && log.closed, 'all still referenced');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
