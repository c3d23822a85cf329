// Witnessed checkpoints and the read-only auditor: a witness cosigns each
// checkpoint that extends the last one it saw, and an auditor verifies the
// log file without writing to it, requiring the witness's cosignature and
// remembering what it trusted. A rollback is then caught without a note
// kept by hand.
//
//   npm run typecheck   (tsc --noEmit --strict on this directory)

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  AuditLog,
  DeniedError,
  KeyPair,
  LogView,
  Witness,
  verifyCosigned,
  verifyInclusion,
  verifyLog,
  type Cosigned,
  type VerifyLogOptions,
  type VerifyReport,
} from 'charter';

async function main(dir: string): Promise<void> {
  const file = join(dir, 'audit.log');
  using log = await AuditLog.open(file, { signer: KeyPair.generate(), origin: 'example.com/orders-audit' });
  const logKey = log.verifierKey;
  if (logKey === null) throw new Error('a log with a signer has a verifier key');
  const witness = Witness.open(join(dir, 'witness.state'), {
    name: 'witness.example',
    key: KeyPair.generate(),
    logs: [logKey],
  });

  await log.append({ time: Date.now(), action: 'refund', resource: 'order/17', decision: 'allow' });
  await witness.addCheckpoint(0, [], await log.checkpoint());
  await log.append({ time: Date.now(), action: 'refund', resource: 'order/18', decision: 'deny' });
  const note = await log.checkpoint();
  try {
    await witness.addCheckpoint(0, [], note); // not from the size it holds
  } catch (error) {
    if (!(error instanceof DeniedError)) throw error;
    const held = witness.latest('example.com/orders-audit');
    console.log(`stale request: DeniedError, the witness holds size ${held?.size}`);
  }
  const cosignature = await witness.addCheckpoint(1, log.proveConsistency(1, 2), note);
  writeFileSync(`${file}.checkpoint`, note + cosignature);

  const trust: VerifyLogOptions = {
    logKey,
    witnesses: [witness.verifierKey],
    quorum: 1,
    state: join(dir, 'trusted'),
  };
  const report: VerifyReport = await verifyLog(file, trust);
  console.log(`verified: ${report.ok}, ${report.records} records, cosigned by ${report.witnesses.join(', ')}`);

  const view = await LogView.open(file);
  verifyInclusion(view.leafHash(0), 0, view.length, view.proveInclusion(0, view.length), view.root);
  const cosigned: Cosigned = verifyCosigned(note + cosignature, logKey, [witness.verifierKey], 1);
  console.log(`cosigned checkpoint of size ${cosigned.checkpoint.size} at ${cosigned.timestamps.length} time(s)`);

  const refused: VerifyReport = await verifyLog(file, { ...trust, quorum: 1, witnesses: [] }).catch((e: Error) => {
    console.log(`no witnesses for a quorum of 1: ${e.name}`);
    return report;
  });
  console.log(`problem code when fine: ${refused.problemCode}`);
}

const dir = mkdtempSync(join(tmpdir(), 'charter-witness-example-'));
main(dir)
  .finally(() => rmSync(dir, { recursive: true, force: true }))
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
