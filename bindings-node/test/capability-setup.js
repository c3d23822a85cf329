'use strict';

// What the capability suites share: keys, an authority on a manual clock,
// tokens minted at its time, and sessions opened with them.

const { Authority, KeyPair, ManualClock, Token } = require('charter');

/** The manual clock's start: 2026-01-01T00:00:00Z, in Unix seconds. */
const T0 = 1_767_225_600;

/** A root key, an authority trusting it on a manual clock at `T0`. */
function setup(authorityOptions) {
  const root = KeyPair.generate();
  const clock = new ManualClock(T0);
  const authority = new Authority([root.publicKey], { clock, ...authorityOptions });
  return { root, clock, authority };
}

/** A token from `root` to `holder` with `grants`, valid for an hour from `T0`. */
function mint(root, holder, grants, window = { notBefore: T0, notAfter: T0 + 3600 }) {
  return Token.mint(root, holder.publicKey, grants, window);
}

/** A session of `authority` for `token`, held by `holder`. */
function open(authority, token, holder) {
  const challenge = authority.challenge();
  return authority.openSessionSync(token, challenge, token.prove(holder, challenge));
}

/** A new holder with a session of `grants`; returns `{ holder, token, session }`. */
function holderWith(env, grants) {
  const holder = KeyPair.generate();
  const token = mint(env.root, holder, grants);
  return { holder, token, session: open(env.authority, token, holder) };
}

module.exports = { T0, holderWith, mint, open, setup };
