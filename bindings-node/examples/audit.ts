// The audit log: an enforcing bus records what it refuses, an auditor reads
// the records back, and a signed checkpoint plus proofs let anyone check
// the log without trusting whoever keeps it.
//
//   npm run typecheck   (tsc --noEmit --strict on this directory)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  AuditLog,
  Authority,
  Bus,
  DeniedError,
  KeyPair,
  Token,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
  type AuditRecord,
  type VerifyReport,
} from 'charter';

async function main(dir: string): Promise<void> {
  const logKey = KeyPair.generate(); // signs checkpoints; publish log.verifierKey
  using log = await AuditLog.open(join(dir, 'audit.log'), {
    fsync: 'always',
    signer: logKey,
    origin: 'example.com/orders-audit',
  });

  const root = KeyPair.generate();
  const service = KeyPair.generate();
  const authority = new Authority([root.publicKey]);
  const now = Math.floor(Date.now() / 1000);
  const token = Token.mint(root, service.publicKey, ['publish orders.*.created'], {
    notBefore: now,
    notAfter: now + 3600,
  });
  const challenge = authority.challenge();
  const session = await authority.openSession(token, challenge, token.prove(service, challenge));

  // Refusals are recorded (auditScope 'all' would record every decision).
  using bus = new Bus({ authority, audit: log, auditScope: 'denials' });
  const client = bus.client(session);
  client.publish('orders.eu.created', 'order 17'); // allowed: not recorded
  try {
    client.publish('orders.eu.deleted', 'order 17');
  } catch (error) {
    if (!(error instanceof DeniedError)) throw error;
  }
  // Programs may record their own decisions too.
  const index: number = await log.append({
    time: new Date(),
    actor: session.principal,
    action: 'refund',
    resource: 'order/17',
    decision: 'allow',
    detail: 'approved by policy 4',
  });

  const denials: AuditRecord[] = [...log.records({ decision: 'deny' })];
  for (const record of denials) {
    const who = record.actor === session.principal ? 'the service' : record.actor;
    console.log(`#${record.index} ${record.decision} ${record.action} ${record.resource} by ${who}`);
  }
  console.log(`#${index} ${log.get(index).action} ${log.get(index).resource}`);

  // A checkpoint signs the tree's size and root; an auditor who trusts the
  // verifier key checks it, then checks proofs against its root.
  const note = await log.checkpoint();
  const checkpoint = verifyCheckpoint(note, log.verifierKey ?? '');
  const proof = log.proveInclusion(0, checkpoint.size);
  verifyInclusion(log.leafHash(0), 0, checkpoint.size, proof, checkpoint.root);
  console.log(`checkpoint of ${checkpoint.origin}: ${checkpoint.size} records, record 0 included`);

  const earlierRoot = log.root;
  const earlierSize = log.length;
  await log.append({ time: Date.now(), action: 'refund', resource: 'order/18', decision: 'deny' });
  const consistency = log.proveConsistency(earlierSize, log.length);
  verifyConsistency(earlierSize, log.length, earlierRoot, log.root, consistency);
  console.log(`the log of ${log.length} records extends the one of ${earlierSize}`);

  const report: VerifyReport = await log.verifyAgainst(note);
  console.log(`verify: ok=${report.ok}, ${report.records} records, checkpoint ${report.checkpoint}`);
}

const dir = mkdtempSync(join(tmpdir(), 'charter-audit-'));
main(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
