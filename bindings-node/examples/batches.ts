// Batches and keys from TypeScript: publishMany and recvMany, a loop ended
// by an AbortSignal, and keys shared with node:crypto as KeyObjects.
import { generateKeyPairSync, sign, verify } from 'node:crypto';

import { Bus, CharterError, KeyPair, type BatchFailure, type Message, type PublishReport } from 'charter';

async function main(): Promise<void> {
  using bus = new Bus();
  using ticks = bus.subscribe('ticks', { capacity: 3, overflow: 'error' });

  const report: PublishReport = bus.publishMany('ticks', ['1', '2', Buffer.from('3')]);
  console.log(`published ${report.delivered}`);
  try {
    bus.publishMany('ticks', ['4']);
  } catch (error) {
    if (error instanceof CharterError && 'published' in error) {
      const failed = error as BatchFailure;
      console.log(`${failed.name} after ${failed.published} of the batch`);
    }
  }
  const batch: Message[] = await ticks.recvMany(64);
  console.log(batch.map((m) => m.payload.toString()).join(' '));

  bus.publish('ticks', '4');
  const controller = new AbortController();
  const seen: string[] = [];
  try {
    for await (const m of ticks.messages({ signal: controller.signal })) {
      seen.push(m.payload.toString());
      controller.abort();
    }
  } catch (error) {
    console.log(`${(error as Error).name} after ${seen.join(' ')}`);
  }

  const { privateKey } = generateKeyPairSync('ed25519');
  const pair = KeyPair.fromKeyObject(privateKey);
  const data = Buffer.from(pair.principal);
  console.log(`verified: ${verify(null, data, pair.publicKey.toKeyObject(), sign(null, data, pair.toKeyObject()))}`);
}

main();
