// Capabilities from TypeScript: keys, tokens minted and delegated, an
// authority that verifies them, sessions, and a bus that enforces them.
import {
  Authority,
  Bus,
  DeniedError,
  ExpiredError,
  KeyPair,
  ManualClock,
  RevokedError,
  Token,
  type Verified,
} from 'charter';

/** Runs `f` and prints the name of the Charter error it throws. */
function refused(what: string, f: () => unknown): void {
  try {
    f();
    console.log(`${what}: allowed`);
  } catch (error) {
    if (error instanceof DeniedError || error instanceof RevokedError || error instanceof ExpiredError) {
      console.log(`${what}: ${error.name}`);
    } else {
      throw error;
    }
  }
}

async function main(): Promise<void> {
  const root = KeyPair.generate(); // the operator's key: the authority trusts it
  const billing = KeyPair.generate(); // a service
  const worker = KeyPair.generate(); // a worker the service hands work to

  // A clock the example moves by hand; without one, the system clock.
  const clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
  const authority = new Authority([root.publicKey], { clock });
  const now = clock.now; // Unix seconds

  const token = Token.mint(root, billing.publicKey, ['publish orders.*.created', 'subscribe orders.>'], {
    notBefore: now,
    notAfter: now + 3600,
  });
  // Delegation only narrows: fewer grants, a window within the parent's.
  const delegated = token.delegate(billing, worker.publicKey, ['subscribe orders.eu.>'], {
    notBefore: now,
    notAfter: now + 600,
  });
  const verified: Verified = await authority.verify(delegated);
  console.log(`${delegated.links.length} links; the worker may: ${verified.grants.join(', ')}`);
  refused('widening a delegation', () =>
    token.delegate(billing, worker.publicKey, ['publish >'], { notBefore: now, notAfter: now + 60 }),
  );

  // Tokens travel as text; opening a session also takes proof that the
  // holder has the subject's key: its signature of a fresh challenge.
  const received = Token.fromText(token.toString());
  const challenge = authority.challenge();
  const session = await authority.openSession(received, challenge, received.prove(billing, challenge));
  const workerChallenge = authority.challenge();
  const workerSession = authority.openSessionSync(
    delegated,
    workerChallenge,
    delegated.prove(worker, workerChallenge),
  );

  // A bus with an authority: every call goes through a session's client.
  using bus = new Bus({ authority });
  const service = bus.client(session);
  const reader = bus.client(workerSession);
  using eu = reader.subscribe('orders.eu.>');
  service.publish('orders.eu.created', 'order 17');
  console.log(`the worker got ${eu.tryRecv()?.payload.toString()}`);
  refused('publishing outside the grants', () => service.publish('orders.eu.deleted', 'order 17'));
  refused('publishing without a session', () => bus.publish('orders.eu.created', 'order 18'));

  // Revoking the delegation's link ends the worker's session and its
  // subscription at once: nothing more reaches it.
  authority.revoke(delegated.links[1].linkId);
  console.log(`worker session active: ${workerSession.active}`);
  service.publish('orders.eu.created', 'order 19');
  try {
    await eu.recv({ timeoutMs: 1000 });
  } catch (error) {
    if (error instanceof RevokedError) console.log(`the worker's subscription: ${error.name}`);
  }
  refused('the worker subscribing again', () => reader.subscribe('orders.eu.>'));

  // Past its window (plus the allowed clock skew), the service's session ends too.
  clock.advance(3600 + 60);
  refused('the service publishing an hour later', () => service.publish('orders.eu.created', 'order 20'));
  console.log(`refused calls: ${bus.stats().denied}`);
}

main();
