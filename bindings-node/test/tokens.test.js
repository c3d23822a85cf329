'use strict';

// Tokens: minting, delegation (which only narrows), the binary and text
// forms, links, proofs, and hostile bytes, which verification must refuse
// without ever accepting or crashing.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { inspect } = require('node:util');

const {
  BadSignatureError,
  CharterError,
  DeniedError,
  InvalidArgumentError,
  KeyPair,
  LimitExceededError,
  MalformedError,
  NullArgumentError,
  PublicKey,
  Token,
  UntrustedRootError,
} = require('charter');
const { T0, mint, setup } = require('./capability-setup.js');

const HOUR = { notBefore: T0, notAfter: T0 + 3600 };

test('mint: links, subject, root key and grants', () => {
  const { root } = setup();
  const alice = KeyPair.generate();
  const token = Token.mint(root, alice.publicKey, ['publish orders.*.created', 'subscribe orders.>'], HOUR);
  assert.ok(token.subject.equals(alice.publicKey));
  assert.ok(token.rootKey.equals(root.publicKey));
  const links = token.links;
  assert.equal(links.length, 1);
  const [link] = links;
  assert.ok(link.issuer.equals(root.publicKey));
  assert.ok(link.subject.equals(alice.publicKey));
  assert.deepEqual(link.grants, ['publish orders.*.created', 'subscribe orders.>']);
  assert.equal(link.notBefore, T0);
  assert.equal(link.notAfter, T0 + 3600);
  assert.match(link.linkId, /^[0-9a-f]{64}$/);
  assert.notEqual(token.links, links, 'a new array on every read');
});

test('mint takes the subject as text, times as Dates, and normalizes grants', () => {
  const { root } = setup();
  const alice = KeyPair.generate();
  const token = Token.mint(root, alice.publicKey.toString(), ['  request   rpc.time '], {
    notBefore: new Date(T0 * 1000 + 999),
    notAfter: new Date((T0 + 60) * 1000),
  });
  const [link] = token.links;
  assert.ok(link.subject.equals(alice.publicKey));
  assert.deepEqual(link.grants, ['request rpc.time']);
  assert.equal(link.notBefore, T0, 'rounded down to the second');
  assert.equal(link.notAfter, T0 + 60);
});

test('mint refuses bad arguments', () => {
  const { root } = setup();
  const key = KeyPair.generate().publicKey;
  const cases = [
    [['delete orders'], InvalidArgumentError, /unknown action/],
    [['publish'], InvalidArgumentError, /ACTION PATTERN/],
    [['publish a..b'], InvalidArgumentError, /empty token/],
    [['publish _charter.>'], InvalidArgumentError, /reserved/],
    [[], InvalidArgumentError, /1 to 64 grants/],
    [Array.from({ length: 65 }, (_, i) => `publish t${i}`), LimitExceededError, /1 to 64 grants, got 65/],
    [['publish a', 7], InvalidArgumentError, /each grant/],
    ['publish a', InvalidArgumentError, /grants must be an array/],
  ];
  for (const [grants, ErrorClass, message] of cases) {
    assert.throws(() => Token.mint(root, key, grants, HOUR), ErrorClass, String(grants));
    assert.throws(() => Token.mint(root, key, grants, HOUR), message, String(grants));
  }
  const grants = ['publish a'];
  assert.throws(() => Token.mint(root, key, grants, { notBefore: T0, notAfter: T0 }), /must start before it ends/);
  assert.throws(() => Token.mint(root, key, grants, { notBefore: T0 }), NullArgumentError);
  assert.throws(() => Token.mint(root, key, grants, { notBefore: -1, notAfter: T0 }), InvalidArgumentError);
  assert.throws(() => Token.mint(root, key, grants, { notBefore: 1.5, notAfter: T0 }), /whole number/);
  // Date.now() is milliseconds: as seconds it would start in the year 58896.
  const now = Date.now();
  assert.throws(() => Token.mint(root, key, grants, { notBefore: now, notAfter: now + 3600_000 }), {
    name: 'InvalidArgumentError',
    message: /^notBefore is \d+ seconds .* after the year 9999: milliseconds such as Date.now\(\)\?/,
  });
  const dates = { notBefore: new Date(now), notAfter: new Date(now + 3600_000) };
  assert.equal(Token.mint(root, key, grants, dates).links[0].notBefore, Math.floor(now / 1000));
  assert.throws(() => Token.mint(root, key, grants, { notBefore: new Date(NaN), notAfter: T0 }), /valid Date/);
  assert.throws(() => Token.mint(root, key, grants), NullArgumentError);
  assert.throws(() => Token.mint(root, key, null, HOUR), NullArgumentError);
  assert.throws(() => Token.mint(root, null, grants, HOUR), NullArgumentError);
  assert.throws(() => Token.mint(root, 'charter-pk1:nope', grants, HOUR), MalformedError);
  assert.throws(() => Token.mint(root, 5, grants, HOUR), InvalidArgumentError);
  assert.throws(() => Token.mint(root.publicKey, key, grants, HOUR), /root must be a KeyPair/);
  assert.throws(() => new Token(), TypeError);
});

test('delegate narrows: fewer grants, each within a parent grant, a window within the parent window', async () => {
  const { root, authority } = setup();
  const alice = KeyPair.generate();
  const bob = KeyPair.generate();
  const token = mint(root, alice, ['publish orders.>', 'subscribe orders.>']);
  const narrow = token.delegate(alice, bob.publicKey, ['publish orders.eu.*'], {
    notBefore: T0 + 60,
    notAfter: T0 + 600,
  });
  const links = narrow.links;
  assert.equal(links.length, 2);
  assert.equal(links[0].linkId, token.links[0].linkId, 'the parent link is kept as is');
  assert.ok(links[1].issuer.equals(alice.publicKey));
  assert.ok(links[1].subject.equals(bob.publicKey));
  assert.ok(narrow.subject.equals(bob.publicKey));
  assert.ok(narrow.rootKey.equals(root.publicKey));
  const verified = await authority.verify(narrow);
  assert.deepEqual(verified.grants, ['publish orders.eu.*']);
  assert.deepEqual(verified.links, [links[0].linkId, links[1].linkId]);
});

test('a widening delegation is DeniedError', () => {
  const { root } = setup();
  const alice = KeyPair.generate();
  const bob = KeyPair.generate().publicKey;
  const token = mint(root, alice, ['publish orders.eu.>']);
  const within = { notBefore: T0, notAfter: T0 + 60 };
  assert.throws(() => token.delegate(alice, bob, ['publish orders.>'], within), DeniedError);
  assert.throws(() => token.delegate(alice, bob, ['publish >'], within), /not within the parent's grants/);
  assert.throws(() => token.delegate(alice, bob, ['subscribe orders.eu.>'], within), DeniedError);
  assert.throws(
    () => token.delegate(alice, bob, ['publish orders.eu.x'], { notBefore: T0 - 1, notAfter: T0 + 60 }),
    DeniedError,
  );
  assert.throws(
    () => token.delegate(alice, bob, ['publish orders.eu.x'], { notBefore: T0, notAfter: T0 + 3601 }),
    /window .* is not within the parent's/,
  );
  // Only the subject can delegate.
  assert.throws(() => token.delegate(KeyPair.generate(), bob, ['publish orders.eu.x'], within), InvalidArgumentError);
  assert.throws(() => token.delegate(root, bob, ['publish orders.eu.x'], within), /only the token's subject/);
});

test('a token has at most 8 links', () => {
  const { root } = setup();
  let holder = KeyPair.generate();
  let token = mint(root, holder, ['publish a.>']);
  for (let i = 1; i < 8; i += 1) {
    const next = KeyPair.generate();
    token = token.delegate(holder, next.publicKey, ['publish a.>'], HOUR);
    holder = next;
  }
  assert.equal(token.links.length, 8);
  assert.throws(() => token.delegate(holder, holder.publicKey, ['publish a.>'], HOUR), LimitExceededError);
});

test('the binary and text forms round-trip', () => {
  const { root, authority } = setup();
  const alice = KeyPair.generate();
  const token = mint(root, alice, ['publish a.b']).delegate(alice, alice.publicKey, ['publish a.b'], HOUR);
  const bytes = token.toBytes();
  assert.ok(Buffer.isBuffer(bytes));
  const text = token.toString();
  assert.match(text, /^charter-tok1:[A-Za-z0-9_-]+$/);
  assert.equal(JSON.stringify([token]), JSON.stringify([text]));
  for (const copy of [Token.fromBytes(bytes), Token.fromBytes(new Uint8Array(bytes)), Token.fromText(text)]) {
    assert.deepEqual(copy.toBytes(), bytes);
    assert.equal(copy.toString(), text);
    assert.deepEqual(
      copy.links.map((l) => l.linkId),
      token.links.map((l) => l.linkId),
    );
    assert.equal(authority.verifySync(copy).principal, alice.principal);
  }
  assert.throws(() => Token.fromText(KeyPair.generate().publicKey.toString()), MalformedError);
  assert.throws(() => Token.fromText(text.replace('charter-tok1:', 'charter-tok2:')), MalformedError);
  assert.throws(() => Token.fromText(`${text}*`), MalformedError);
  assert.throws(() => Token.fromText(text.slice(0, -4)), MalformedError);
  assert.throws(() => Token.fromBytes('not bytes'), InvalidArgumentError);
  assert.throws(() => Token.fromText(null), NullArgumentError);
});

test('inspect gives an account of every link', () => {
  const { root } = setup();
  const alice = KeyPair.generate();
  const token = mint(root, alice, ['publish a.b', 'subscribe a.>']);
  const account = token.inspect();
  assert.match(account, /^token: 1 link\(s\), \d+ bytes\n/);
  assert.ok(account.includes(`issuer   ${root.publicKey}`));
  assert.ok(account.includes(`subject  ${alice.publicKey}`));
  assert.ok(account.includes('window   2026-01-01T00:00:00Z .. 2026-01-01T01:00:00Z'));
  assert.ok(account.includes('grant    subscribe a.>'));
  assert.ok(account.includes(token.links[0].linkId));
  assert.equal(inspect(token), `Token <1 link(s), subject ${alice.publicKey}>`);
});

test('prove: only the subject, only 32-byte challenges', () => {
  const { root, authority } = setup();
  const alice = KeyPair.generate();
  const token = mint(root, alice, ['publish a']);
  const challenge = authority.challenge();
  const proof = token.prove(alice, challenge);
  assert.ok(Buffer.isBuffer(proof));
  assert.equal(proof.length, 64);
  assert.throws(() => token.prove(KeyPair.generate(), challenge), /only the token's subject/);
  assert.throws(() => token.prove(alice, challenge.subarray(0, 31)), /a challenge is 32 bytes, got 31/);
  assert.throws(() => token.prove(alice, 'challenge'), InvalidArgumentError);
  assert.throws(() => token.prove(alice), NullArgumentError);
});

/** A two-link token, and an authority that trusts its root. */
function twoLinks() {
  const env = setup();
  const alice = KeyPair.generate();
  const bob = KeyPair.generate();
  const token = mint(env.root, alice, ['publish a.>']).delegate(alice, bob.publicKey, ['publish a.b'], HOUR);
  return { ...env, token };
}

/** What verifying `bytes` gives: `'ok'` or the error. */
function verdict(authority, bytes) {
  try {
    authority.verifySync(Token.fromBytes(bytes));
    return 'ok';
  } catch (error) {
    return error;
  }
}

test('every flipped byte of a token is refused', async () => {
  const { authority, token } = twoLinks();
  const bytes = token.toBytes();
  assert.equal(verdict(authority, bytes), 'ok');
  const seen = new Set();
  for (let i = 0; i < bytes.length; i += 1) {
    for (const mask of [0x01, 0x80]) {
      const hostile = Buffer.from(bytes);
      hostile[i] ^= mask;
      const outcome = verdict(authority, hostile);
      assert.ok(outcome instanceof CharterError, `byte ${i} ^ ${mask}: ${outcome}`);
      seen.add(outcome.name);
    }
  }
  for (const name of seen) {
    assert.ok(
      ['MalformedError', 'BadSignatureError', 'UntrustedRootError'].includes(name),
      `unexpected ${name}`,
    );
  }
  assert.ok(seen.has('BadSignatureError') && seen.has('MalformedError'), [...seen].join());
  // The async path refuses them too.
  const hostile = Buffer.from(bytes);
  hostile[bytes.length - 1] ^= 1;
  await assert.rejects(authority.verify(Token.fromBytes(hostile)), BadSignatureError);
});

test('every truncation of a token is MalformedError, and so is trailing garbage', () => {
  const { token } = twoLinks();
  const bytes = token.toBytes();
  for (let n = 0; n < bytes.length; n += 1) {
    assert.throws(() => Token.fromBytes(bytes.subarray(0, n)), MalformedError, `${n} bytes`);
  }
  assert.throws(() => Token.fromBytes(Buffer.concat([bytes, Buffer.of(0)])), MalformedError);
});

test('a root link signed by another key than the root it names is BadSignatureError', async () => {
  const { root, authority } = setup();
  const rogue = KeyPair.generate();
  const alice = KeyPair.generate();
  const forged = Token.mint(rogue, alice.publicKey, ['publish >'], HOUR).toBytes();
  // Untouched, the rogue's token names the rogue's key: an untrusted root.
  await assert.rejects(authority.verify(Token.fromBytes(forged)), UntrustedRootError);
  // Naming the trusted root instead, its signature does not verify.
  const at = forged.indexOf(rogue.publicKey.bytes);
  assert.ok(at >= 0);
  root.publicKey.bytes.copy(forged, at);
  const named = Token.fromBytes(forged);
  assert.ok(named.rootKey.equals(root.publicKey));
  await assert.rejects(authority.verify(named), BadSignatureError);
  assert.throws(() => authority.verifySync(named), /link 0: the signature does not verify/);
});

test('keys given as text must be public keys', () => {
  const { root } = setup();
  assert.throws(() => mint(root, { publicKey: root.principal }, ['publish a']), MalformedError);
  assert.ok(PublicKey.fromText(root.publicKey.toString()).equals(root.publicKey));
});
