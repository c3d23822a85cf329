// Charter's end-to-end scenario (the one `make demo` runs in C), in
// TypeScript: an operator grants the billing service the right to publish
// order events, billing hands a narrower right to a worker, an enforcing bus
// checks every call against sessions opened with proof of possession, the
// operator revokes the worker, and every decision lands in a signed audit
// log that an auditor then checks.
//
//   node demo.js [DIR]   (once compiled; `npm run typecheck` checks it)
//
// It writes DIR/audit.log, its checkpoint DIR/audit.log.checkpoint and the
// verifier key DIR/audit.vkey; without DIR it uses a temporary directory.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  AuditLog,
  Authority,
  Bus,
  CharterError,
  KeyPair,
  Token,
  verifyCheckpoint,
  type Client,
} from 'charter';

const ORIGIN = 'demo.charter.local/audit';
const HOUR = 3600;

/** A principal of the scenario: its key, its token and, once it has
 * proven the key, its view of the bus. */
interface Party {
  name: string;
  key: KeyPair;
  token?: Token;
  client?: Client;
}

function party(name: string): Party {
  return { name, key: KeyPair.generate() };
}

/** The party's view of the bus, once it has a session. */
function clientOf(p: Party): Client {
  if (p.client === undefined) throw new Error(`${p.name} has no session`);
  return p.client;
}

/**
 * Runs `attempt` and prints its outcome. A refusal is an expected result
 * here, so it is shown with its status and message rather than thrown; any
 * other error stops the demo.
 */
async function verdict(who: string, action: string, resource: string, attempt: () => unknown): Promise<void> {
  try {
    await attempt();
  } catch (error) {
    const refusals = ['CHARTER_E_DENIED', 'CHARTER_E_REVOKED', 'CHARTER_E_EXPIRED'];
    if (!(error instanceof CharterError) || !refusals.includes(error.code)) throw error;
    console.log(`   denied   ${who.padEnd(8)} ${action.padEnd(10)} ${resource}`);
    console.log(`            ${error.code}: ${error.message}`);
    return;
  }
  console.log(`   allowed  ${who.padEnd(8)} ${action.padEnd(10)} ${resource}`);
}

/** Proof of possession: the holder signs a fresh challenge from the
 * authority with its key, so a token copied off the wire opens nothing. */
function openSession(authority: Authority, bus: Bus, p: Party, token: Token): Promise<void> {
  return verdict(p.name, 'open', 'session (key proven)', async () => {
    const challenge = authority.challenge();
    p.client = bus.client(await authority.openSession(token, challenge, token.prove(p.key, challenge)));
  });
}

function publish(p: Party, topic: string, order: string): Promise<void> {
  return verdict(p.name, 'publish', topic, () => clientOf(p).publish(topic, order));
}

async function main(dir: string): Promise<void> {
  const logPath = join(dir, 'audit.log');
  const vkeyPath = join(dir, 'audit.vkey');
  console.log('Charter end-to-end demo (Node)\n');

  console.log('1. The operator creates a root key and opens the audit log');
  const operator = party('operator');
  console.log(`   root     ${operator.key.publicKey}`);
  // The log signs its checkpoints with a key of its own: auditors then
  // trust the log's key without being able to mint tokens.
  // A fresh log: one that exists was signed with another run's key, and the
  // log refuses to mix histories (a new key is a new history).
  if (existsSync(logPath)) throw new Error(`${logPath} already exists; give an empty directory`);
  using log = await AuditLog.open(logPath, { signer: KeyPair.generate(), origin: ORIGIN });
  // 'all': allowed calls are evidence too, not only refusals. The authority
  // records session openings, the bus every publish and subscribe.
  const authority = new Authority([operator.key.publicKey], { audit: log, auditScope: 'all' });
  using bus = new Bus({ authority, audit: log, auditScope: 'all' });
  console.log(`   log      ${logPath}: the authority's and the bus's every decision`);

  const now = Math.floor(Date.now() / 1000);
  console.log('\n2. The operator issues billing a token for one hour');
  const billing = party('billing');
  const billingGrants = ['publish orders.*.created', 'subscribe payments.>'];
  const billingToken = Token.mint(operator.key, billing.key.publicKey, billingGrants, {
    notBefore: now,
    notAfter: now + HOUR,
  });
  console.log(`   billing  ${billing.key.principal}`);
  console.log(`   grants   ${billingGrants.join(', ')}`);

  console.log('\n3. billing delegates a narrower token to a worker for 15 minutes');
  const worker = party('worker');
  const workerGrants = ['publish orders.eu.created'];
  const workerToken = billingToken.delegate(billing.key, worker.key.publicKey, workerGrants, {
    notBefore: now,
    notAfter: now + 15 * 60,
  });
  console.log(`   worker   ${worker.key.principal}`);
  console.log(`   grants   ${workerGrants.join(', ')} (a delegation can only narrow)`);

  console.log('\n4. Both prove their keys, open sessions and use the enforcing bus');
  await openSession(authority, bus, billing, billingToken);
  await openSession(authority, bus, worker, workerToken);
  for (const p of [billing, worker]) {
    await verdict(p.name, 'subscribe', 'payments.>', () => clientOf(p).subscribe('payments.>'));
  }
  await publish(billing, 'orders.eu.created', 'order 1001');
  await publish(billing, 'orders.us.created', 'order 1002');
  await publish(billing, 'orders.eu.deleted', 'order 1001');
  await publish(billing, 'payments.eu.settled', 'order 1001');
  await publish(worker, 'orders.eu.created', 'order 1003');
  await publish(worker, 'orders.us.created', 'order 1004');

  // Link 0 is the operator's grant to billing, link 1 billing's grant to the
  // worker: revoking link 1 cuts off the worker and no one else.
  console.log("\n5. The operator revokes the worker's delegation");
  const link = workerToken.links[1].linkId;
  authority.revoke(link);
  // The revocation is the operator's act, not a bus or authority decision,
  // so it is appended to the log by hand.
  await log.append({
    time: new Date(),
    actor: operator.key.principal,
    action: 'revoke',
    resource: link,
    decision: 'allow',
    detail: "the worker's delegation",
  });
  console.log(`   revoked  link ${link.slice(0, 16)}...`);
  console.log(`   worker's session active: ${clientOf(worker).session.active ? 'yes' : 'no'}`);
  await publish(worker, 'orders.eu.created', 'order 1005');
  await openSession(authority, bus, worker, workerToken);
  console.log("   billing's own token is untouched:");
  await publish(billing, 'orders.eu.created', 'order 1006');

  console.log('\n6. The log signs a checkpoint; auditors get it and the verifier key');
  await log.checkpoint(); // kept in <log>.checkpoint
  writeFileSync(vkeyPath, `${log.verifierKey}\n`);
  console.log(`   checkpoint    ${logPath}.checkpoint`);
  console.log(`   verifier key  ${vkeyPath}`);

  // The auditor trusts only the verifier key and reads the checkpoint from
  // its file. The records are reread from the file through this handle: an
  // Authority cannot be closed from Node, so it keeps the log (and its file
  // lock) open until it is garbage collected, and a second open of the
  // file in this process would be refused.
  console.log('\n7. An auditor checks the files');
  const vkey = readFileSync(vkeyPath, 'utf8').trim();
  const checkpoint = verifyCheckpoint(readFileSync(`${logPath}.checkpoint`, 'utf8'), vkey);
  if (checkpoint.origin !== ORIGIN) throw new Error(`checkpoint of ${checkpoint.origin}, expected ${ORIGIN}`);
  console.log(`   checkpoint  signature valid, size ${checkpoint.size} of ${checkpoint.origin}`);
  const report = await log.verify();
  if (!report.ok) throw new Error(`${logPath}: ${report.problem}`);
  if (!log.rootAt(checkpoint.size).equals(checkpoint.root)) {
    throw new Error(`${logPath}: the first ${checkpoint.size} records do not match the checkpoint`);
  }
  console.log(`   log         ${report.records} records intact, the first ${checkpoint.size} match the checkpoint`);

  const counts = { allow: 0, deny: 0, error: 0 };
  for (const record of log) counts[record.decision]++;
  console.log(
    `\nSummary: ${report.records} records (${counts.allow} allowed, ${counts.deny} denied),` +
      ' verified against the signed checkpoint.',
  );
}

const given = process.argv[2];
const dir = given ?? mkdtempSync(join(tmpdir(), 'charter-demo-'));
main(dir).finally(() => {
  if (given === undefined) rmSync(dir, { recursive: true, force: true });
});
