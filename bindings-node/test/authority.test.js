'use strict';

// Authority and Session: verification against the injected clock, trust,
// revocation (and what it does to live sessions), challenges and proofs,
// and the session's checks.

const assert = require('node:assert/strict');
const { test } = require('node:test');

const {
  Authority,
  BadSignatureError,
  DeniedError,
  ExpiredError,
  InvalidArgumentError,
  KeyPair,
  MalformedError,
  ManualClock,
  NotYetValidError,
  NullArgumentError,
  RevokedError,
  Session,
  UntrustedRootError,
} = require('charter');
const { T0, holderWith, mint, open, setup } = require('./capability-setup.js');

test('verify resolves with what the token establishes; verifySync returns the same', async () => {
  const { root, authority } = setup();
  const alice = KeyPair.generate();
  const token = mint(root, alice, ['publish a.>', 'request rpc.*']);
  const pending = authority.verify(token);
  assert.ok(pending instanceof Promise);
  const verified = await pending;
  assert.ok(verified.subject.equals(alice.publicKey));
  assert.equal(verified.principal, alice.principal);
  assert.deepEqual(verified.grants, ['publish a.>', 'request rpc.*']);
  assert.equal(verified.notBefore, T0);
  assert.equal(verified.notAfter, T0 + 3600);
  assert.deepEqual(verified.links, [token.links[0].linkId]);
  const sync = authority.verifySync(token);
  assert.deepEqual({ ...sync, subject: sync.subject.toString() }, { ...verified, subject: `${alice.publicKey}` });
  await assert.rejects(authority.verify('token'), InvalidArgumentError);
  await assert.rejects(authority.verify(), NullArgumentError);
});

test('many verifications run at once', async () => {
  const { root, authority } = setup();
  const tokens = Array.from({ length: 50 }, () => mint(root, KeyPair.generate(), ['publish a']));
  const all = await Promise.all(tokens.map((t) => authority.verify(t)));
  assert.deepEqual(
    all.map((v) => v.principal),
    tokens.map((t) => t.subject.principal),
  );
});

test('the window is judged by the injected clock, with the skew on both sides', async () => {
  const { root, clock, authority } = setup({ clockSkewSeconds: 60 });
  const token = mint(root, KeyPair.generate(), ['publish a'], { notBefore: T0 + 1000, notAfter: T0 + 2000 });
  const at = async (now) => {
    clock.set(now);
    assert.equal(authority.now, now);
    return authority.verify(token).then(
      () => 'ok',
      (error) => error.constructor,
    );
  };
  assert.equal(await at(T0 + 939), NotYetValidError);
  assert.equal(await at(T0 + 940), 'ok');
  assert.equal(await at(T0 + 2059), 'ok');
  assert.equal(await at(T0 + 2060), ExpiredError);
  clock.set(T0);
  assert.throws(() => authority.verifySync(token), /the token is valid from/);
  clock.set(T0 + 5000);
  assert.throws(() => authority.verifySync(token), /the token expired at/);
});

test('without skew, the window is exact', () => {
  const { root, clock, authority } = setup({ clockSkewSeconds: 0 });
  const token = mint(root, KeyPair.generate(), ['publish a'], { notBefore: T0 + 10, notAfter: T0 + 20 });
  clock.set(T0 + 9);
  assert.throws(() => authority.verifySync(token), NotYetValidError);
  clock.advance(1);
  authority.verifySync(token);
  clock.advance(9);
  authority.verifySync(token);
  clock.advance(1);
  assert.throws(() => authority.verifySync(token), ExpiredError);
});

test('a link longer than the authority allows is DeniedError', () => {
  const { root, authority } = setup({ maxLifetimeSeconds: 600 });
  const token = mint(root, KeyPair.generate(), ['publish a']);
  assert.throws(() => authority.verifySync(token), DeniedError);
  assert.throws(() => authority.verifySync(token), /link 0 lasts 3600 s; this authority allows 600 s/);
  authority.verifySync(mint(root, KeyPair.generate(), ['publish a'], { notBefore: T0, notAfter: T0 + 600 }));
});

test('a maximum lifetime of 0 is for the core to judge: every link is too long', () => {
  const { root, authority } = setup({ maxLifetimeSeconds: 0 });
  const token = mint(root, KeyPair.generate(), ['publish a'], { notBefore: T0, notAfter: T0 + 1 });
  assert.throws(() => authority.verifySync(token), /link 0 lasts 1 s; this authority allows 0 s/);
});

test('trust and distrust; roots may be given as text', async () => {
  const { root } = setup();
  const other = KeyPair.generate();
  const clock = new ManualClock(new Date(T0 * 1000));
  const authority = new Authority([root.publicKey.toString()], { clock });
  const token = mint(other, KeyPair.generate(), ['publish a']);
  await assert.rejects(authority.verify(token), UntrustedRootError);
  authority.trust(other.publicKey);
  await authority.verify(token);
  assert.equal(authority.distrust(other.publicKey.toString()), true);
  assert.equal(authority.distrust(other.publicKey), false);
  await assert.rejects(authority.verify(token), /is not trusted/);
  authority.verifySync(mint(root, KeyPair.generate(), ['publish a']));
  const none = new Authority([], { clock });
  assert.throws(() => none.verifySync(mint(root, KeyPair.generate(), ['publish a'])), UntrustedRootError);
  assert.throws(() => authority.trust('charter-pk1:AAAA'), MalformedError);
  assert.throws(() => authority.trust(), NullArgumentError);
});

test('authority options are checked', () => {
  const root = KeyPair.generate().publicKey;
  assert.throws(() => new Authority([root], { maxLifetimeSeconds: -1 }), InvalidArgumentError);
  assert.throws(() => new Authority([root], { clockSkewSeconds: 1.5 }), InvalidArgumentError);
  assert.throws(() => new Authority([root], { clock: { now: 5 } }), /clock must be a ManualClock/);
  assert.throws(() => new Authority([root], 'options'), InvalidArgumentError);
  assert.throws(() => new Authority(root.toString()), /roots must be an array/);
  assert.throws(() => new Authority([root, 7]), InvalidArgumentError);
  assert.throws(() => new Authority([null]), NullArgumentError);
  const now = Math.floor(Date.now() / 1000);
  const systemClock = new Authority(null, { maxLifetimeSeconds: null, clockSkewSeconds: null, clock: null });
  assert.ok(Math.abs(systemClock.now - now) <= 2, 'the system clock by default');
});

test('ManualClock: set, advance, Dates and bad times', () => {
  const clock = new ManualClock(T0);
  assert.equal(clock.now, T0);
  clock.advance(30);
  assert.equal(clock.now, T0 + 30);
  clock.set(new Date((T0 + 90) * 1000 + 500));
  assert.equal(clock.now, T0 + 90);
  clock.set(5);
  assert.equal(clock.now, 5, 'it may go back');
  assert.throws(() => clock.advance(-1), InvalidArgumentError);
  assert.throws(() => clock.advance(), InvalidArgumentError);
  assert.throws(() => clock.set('2026-01-01'), InvalidArgumentError);
  assert.throws(() => new ManualClock(), NullArgumentError);
  assert.throws(() => new ManualClock(new Date('1969-12-31T00:00:00Z')), /not before 1970/);
});

test('revoke and unrevoke, by link', async () => {
  const { root, authority } = setup();
  const alice = KeyPair.generate();
  const bob = KeyPair.generate();
  const token = mint(root, alice, ['publish a.>']);
  const delegated = token.delegate(alice, bob.publicKey, ['publish a.b'], { notBefore: T0, notAfter: T0 + 60 });
  const [rootLink, delegation] = delegated.links.map((l) => l.linkId);

  assert.equal(authority.revoke(delegation), true);
  assert.equal(authority.revoke(delegation), false, 'already revoked');
  await assert.rejects(authority.verify(delegated), RevokedError);
  await assert.rejects(authority.verify(delegated), /link 1 \([0-9a-f]{64}\) is revoked/);
  await authority.verify(token);

  assert.equal(authority.revoke(rootLink.toUpperCase()), true, 'hex in either case');
  assert.throws(() => authority.verifySync(token), RevokedError);
  assert.deepEqual(authority.revocations(), [rootLink, delegation].sort());

  assert.equal(authority.unrevoke(rootLink), true);
  assert.equal(authority.unrevoke(rootLink), false);
  authority.verifySync(token);
  assert.throws(() => authority.revoke('abc'), MalformedError);
  assert.throws(() => authority.revoke(7), InvalidArgumentError);
  assert.throws(() => authority.unrevoke('z'.repeat(64)), MalformedError);
});

test('revocations export and import, all or nothing', () => {
  const { root, authority } = setup();
  const tokens = Array.from({ length: 3 }, () => mint(root, KeyPair.generate(), ['publish a']));
  const ids = tokens.map((t) => t.links[0].linkId);
  for (const id of ids) authority.revoke(id);
  const text = authority.exportRevocations();
  assert.equal(text, [...ids].sort().map((id) => `${id}\n`).join(''));

  const { authority: other } = setup();
  assert.equal(other.exportRevocations(), '');
  assert.equal(other.importRevocations(`# revoked\n\n${text}`), 3);
  assert.equal(other.importRevocations(text), 0, 'none new');
  assert.deepEqual(other.revocations(), [...ids].sort());
  for (const t of tokens) assert.throws(() => other.verifySync(t), RevokedError);

  const { authority: third } = setup();
  const fresh = mint(root, KeyPair.generate(), ['publish a']).links[0].linkId;
  assert.throws(() => third.importRevocations(`${fresh}\nnot an id\n`), /line 2/);
  assert.throws(() => third.importRevocations('nope'), MalformedError);
  assert.deepEqual(third.revocations(), [], 'a bad line adds none');
  assert.throws(() => third.importRevocations(), NullArgumentError);
});

test('opening a session: the holder proves possession by signing a single-use challenge', async () => {
  const { root, authority } = setup();
  const alice = KeyPair.generate();
  const token = mint(root, alice, ['publish a']);
  const challenge = authority.challenge();
  assert.ok(Buffer.isBuffer(challenge));
  assert.equal(challenge.length, 32);
  assert.notDeepEqual(authority.challenge(), challenge);
  const proof = token.prove(alice, challenge);
  const session = await authority.openSession(token, challenge, proof);
  assert.ok(session instanceof Session);
  await assert.rejects(authority.openSession(token, challenge, proof), /unknown, used or expired challenge/);
  assert.throws(() => authority.openSessionSync(token, challenge, proof), DeniedError);
  assert.throws(() => authority.openSessionSync(token, Buffer.alloc(32, 7), proof), DeniedError);
});

test('a wrong proof is BadSignatureError, and a challenge expires after 120 seconds', async () => {
  const { root, clock, authority } = setup();
  const alice = KeyPair.generate();
  const token = mint(root, alice, ['publish a']);
  const first = authority.challenge();
  const second = authority.challenge();
  await assert.rejects(authority.openSession(token, second, token.prove(alice, first)), BadSignatureError);
  const flipped = token.prove(alice, first);
  flipped[0] ^= 1;
  assert.throws(() => authority.openSessionSync(token, first, flipped), /proof of possession does not verify/);
  // Another holder's token proves nothing for this one.
  const bob = KeyPair.generate();
  const bobs = mint(root, bob, ['publish a']);
  const third = authority.challenge();
  assert.throws(() => authority.openSessionSync(token, third, bobs.prove(bob, third)), BadSignatureError);

  const late = authority.challenge();
  clock.advance(120);
  assert.throws(() => authority.openSessionSync(token, late, token.prove(alice, late)), DeniedError);
  const timely = authority.challenge();
  clock.advance(119);
  open(authority, token, alice);
  authority.openSessionSync(token, timely, token.prove(alice, timely));

  assert.throws(() => authority.openSessionSync(token, Buffer.alloc(31), flipped), /32 bytes, got 31/);
  await assert.rejects(authority.openSession(token, first, 'proof'), InvalidArgumentError);
  assert.throws(() => authority.openSessionSync(null, first, flipped), NullArgumentError);
});

test('opening a session fails as verify does', async () => {
  const { root, clock, authority } = setup();
  const alice = KeyPair.generate();
  const untrusted = mint(KeyPair.generate(), alice, ['publish a']);
  let challenge = authority.challenge();
  await assert.rejects(authority.openSession(untrusted, challenge, untrusted.prove(alice, challenge)), UntrustedRootError);
  const token = mint(root, alice, ['publish a']);
  authority.revoke(token.links[0].linkId);
  challenge = authority.challenge();
  assert.throws(() => authority.openSessionSync(token, challenge, token.prove(alice, challenge)), RevokedError);
  const later = mint(root, alice, ['publish b']); // not the revoked link: minting is deterministic
  clock.advance(3600 + 60);
  challenge = authority.challenge();
  await assert.rejects(authority.openSession(later, challenge, later.prove(alice, challenge)), ExpiredError);
});

test('session: check, principal, subject, grants, expiresAt', () => {
  const env = setup();
  const { holder, session } = holderWith(env, ['publish orders.*.created', 'subscribe orders.>']);
  assert.equal(session.active, true);
  assert.equal(session.principal, holder.principal);
  assert.ok(session.subject.equals(holder.publicKey));
  assert.deepEqual(session.grants, ['publish orders.*.created', 'subscribe orders.>']);
  assert.equal(session.expiresAt, T0 + 3600);

  session.check('publish', 'orders.eu.created');
  session.check('subscribe', 'orders.eu.*');
  assert.throws(() => session.check('publish', 'orders.eu.deleted'), DeniedError);
  assert.throws(
    () => session.check('publish', 'orders.eu.deleted'),
    { message: `no publish grant covers "orders.eu.deleted" for ${holder.principal}` },
  );
  assert.throws(() => session.check('subscribe', '>'), /no subscribe grant covers ">"/);
  assert.throws(() => session.check('request', 'orders.eu.created'), DeniedError);
  assert.throws(() => session.check('delete', 'orders'), InvalidArgumentError);
  assert.throws(() => session.check('publish'), NullArgumentError);
  assert.throws(() => new Session(), TypeError);
});

test('revocation ends a live session, and unrevoking does not reopen it', () => {
  const env = setup();
  const { token, session } = holderWith(env, ['publish a']);
  session.check('publish', 'a');
  env.authority.revoke(token.links[0].linkId);
  assert.equal(session.active, false);
  assert.throws(() => session.check('publish', 'a'), RevokedError);
  env.authority.unrevoke(token.links[0].linkId);
  assert.throws(() => session.check('publish', 'a'), /revoked/);
  assert.equal(session.active, false);
});

test('revoking a delegation ends only the sessions it reached', () => {
  const env = setup();
  const alice = KeyPair.generate();
  const bob = KeyPair.generate();
  const token = mint(env.root, alice, ['publish a.>']);
  const delegated = token.delegate(alice, bob.publicKey, ['publish a.b'], { notBefore: T0, notAfter: T0 + 60 });
  const aliceSession = open(env.authority, token, alice);
  const bobSession = open(env.authority, delegated, bob);
  env.authority.revoke(delegated.links[1].linkId);
  assert.equal(bobSession.active, false);
  assert.equal(aliceSession.active, true);
});

test('a session expires with the clock', () => {
  const env = setup({ clockSkewSeconds: 60 });
  const { session } = holderWith(env, ['publish a']);
  env.clock.set(T0 + 3600 + 59);
  session.check('publish', 'a');
  env.clock.advance(1);
  assert.equal(session.active, false);
  assert.throws(() => session.check('publish', 'a'), ExpiredError);
  assert.throws(() => session.check('publish', 'a'), /expired at/);
  env.clock.set(T0);
  assert.throws(() => session.check('publish', 'a'), ExpiredError, 'an ended session stays ended');
});
