'use strict';

// The error classes: one per status, with stable names and codes that match
// the C ABI, built from the addon's table and mapped from native errors.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const charter = require('charter');
const { fromNative } = require('../lib/errors.js');

// Pinned by hand on purpose: these values are part of the ABI and must
// never change, whatever the addon's table says.
const EXPECTED = [
  ['NullArgumentError', 'CHARTER_E_NULL_ARGUMENT', -1],
  ['InvalidArgumentError', 'CHARTER_E_INVALID_ARGUMENT', -2],
  ['InvalidUtf8Error', 'CHARTER_E_INVALID_UTF8', -3],
  ['InvalidHandleError', 'CHARTER_E_INVALID_HANDLE', -4],
  ['WrongHandleTypeError', 'CHARTER_E_WRONG_HANDLE_TYPE', -5],
  ['HandleFreedError', 'CHARTER_E_HANDLE_FREED', -6],
  ['AlreadyFreedError', 'CHARTER_E_ALREADY_FREED', -7],
  ['LimitExceededError', 'CHARTER_E_LIMIT_EXCEEDED', -8],
  ['NotFoundError', 'CHARTER_E_NOT_FOUND', -9],
  ['DeniedError', 'CHARTER_E_DENIED', -10],
  ['ExpiredError', 'CHARTER_E_EXPIRED', -11],
  ['NotYetValidError', 'CHARTER_E_NOT_YET_VALID', -12],
  ['RevokedError', 'CHARTER_E_REVOKED', -13],
  ['BadSignatureError', 'CHARTER_E_BAD_SIGNATURE', -14],
  ['MalformedError', 'CHARTER_E_MALFORMED', -15],
  ['UntrustedRootError', 'CHARTER_E_UNTRUSTED_ROOT', -16],
  ['WouldBlockError', 'CHARTER_E_WOULD_BLOCK', -17],
  ['TimeoutError', 'CHARTER_E_TIMEOUT', -18],
  ['ClosedError', 'CHARTER_E_CLOSED', -19],
  ['IoError', 'CHARTER_E_IO', -20],
  ['CorruptError', 'CHARTER_E_CORRUPT', -21],
  ['PanicError', 'CHARTER_E_PANIC', -22],
  ['InternalError', 'CHARTER_E_INTERNAL', -23],
  ['CancelledError', 'CHARTER_E_CANCELLED', -24],
];

test('the package exports exactly its classes, its functions, CharterError and one class per status', () => {
  const names = Object.keys(charter).sort();
  const audit = [
    'AuditLog',
    'auditLimits',
    'encodeRecord',
    'leafHash',
    'verifyCheckpoint',
    'verifyConsistency',
    'verifyInclusion',
    'verifyLog',
    'verifyLogSync',
    'LogView',
    'Witness',
    'cosignerKey',
    'cosign',
    'verifyCosigned',
    'witnessRequest',
    'parseWitnessRequest',
  ];
  const topics = ['validateTopic', 'validatePattern', 'topicMatches', 'patternContains'];
  const classes = [
    'Registry',
    'Bus',
    'Client',
    'Bridge',
    'BridgeVerifier',
    'Subscription',
    'Message',
    'KeyPair',
    'PublicKey',
    'Token',
    'Authority',
    'ManualClock',
    'Session',
    'CharterError',
  ];
  const expected = [...classes, ...audit, ...topics, 'version', ...EXPECTED.map(([name]) => name)].sort();
  assert.deepEqual(names, expected);
});

test('version is the core version, the one package.json and the other bindings carry', () => {
  assert.match(charter.version, /^\d+\.\d+\.\d+/);
  assert.equal(charter.version, require('../package.json').version);
});

test('every error class has its stable name, code and status', () => {
  for (const [name, code, status] of EXPECTED) {
    const ErrorClass = charter[name];
    assert.equal(ErrorClass.name, name);
    assert.equal(ErrorClass.code, code);
    assert.equal(ErrorClass.status, status);
    const error = new ErrorClass('what went wrong', { cause: 'why' });
    assert.ok(error instanceof ErrorClass);
    assert.ok(error instanceof charter.CharterError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, name);
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    assert.equal(error.message, 'what went wrong');
    assert.equal(error.cause, 'why');
    assert.ok(error.stack.startsWith(`${name}: what went wrong\n`), error.stack);
    assert.deepEqual(Object.keys(error), ['code', 'status'], 'own, visible when logged');
  }
});

test('a native error is mapped to its class by status name, for every status', () => {
  for (const [name, code] of EXPECTED) {
    const native = Object.assign(new Error(`native ${code}`), { code });
    const mapped = fromNative(native);
    assert.ok(mapped instanceof charter[name], name);
    assert.equal(mapped.message, `native ${code}`);
    assert.equal(mapped.code, code);
  }
});

test('other errors pass through the mapping unchanged', () => {
  const foreign = Object.assign(new Error('x'), { code: 'ERR_SOMETHING' });
  assert.equal(fromNative(foreign), foreign);
  const plain = new RangeError('y');
  assert.equal(fromNative(plain), plain);
  assert.equal(fromNative(undefined), undefined);
  const already = new charter.DeniedError('z');
  assert.equal(fromNative(already), already);
});

test('errors thrown by the API start their stack at the caller', () => {
  const registry = new charter.Registry();
  let error;
  try {
    registry.register('not a function');
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof charter.InvalidArgumentError);
  const frames = error.stack.split('\n').slice(1);
  assert.match(frames[0], /errors\.test\.js/, error.stack);
});

test('ESM and CommonJS entry points export the same objects', async () => {
  const esm = await import('charter');
  assert.equal(esm.default, charter, "import charter from 'charter' is require('charter')");
  assert.deepEqual(
    Object.keys(esm)
      .filter((name) => name !== 'default')
      .sort(),
    Object.keys(charter).sort(),
  );
  for (const name of Object.keys(charter)) {
    assert.equal(esm[name], charter[name], name);
  }
});

test('the typings declare every error class with its code', () => {
  const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8');
  for (const [name, code] of EXPECTED) {
    const declaration = new RegExp(
      `export declare class ${name} extends StatusError<'${code}'> \\{ static readonly code: '${code}';`,
    );
    assert.match(dts, declaration, name);
    assert.ok(dts.includes(`| '${code}'`), `StatusName lists ${code}`);
  }
});
