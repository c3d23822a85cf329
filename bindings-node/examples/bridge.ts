// The NATS bridge from TypeScript: a bus carried onto NATS with sealing and
// verification, and a received message checked on its own. Run it with a
// nats-server URL to start the bridge; without one it only checks a message.
import {
  Authority,
  Bridge,
  type BridgeRefusal,
  BridgeVerifier,
  Bus,
  CharterError,
  KeyPair,
  Token,
} from 'charter';

async function carry(url: string, authority: Authority, token: Token, key: KeyPair): Promise<void> {
  const bus = new Bus();
  await using bridge = await Bridge.start(bus, {
    servers: [url],
    exports: ['alerts.>'],
    imports: [{ pattern: 'jobs.>', queueGroup: 'workers' }],
    token,
    key,
    authority,
    maxSkewMs: 10_000,
  });
  await bridge.flush({ timeoutMs: 5000 });
  bus.publish('alerts.fire', 'sealed by the bridge');
  const { exported } = bridge.stats();
  console.log(`exported ${exported}, refused ${bridge.refused().bad_proof} forgeries`);
  bus.close();
}

async function main(): Promise<void> {
  const [root, holder] = [KeyPair.generate(), KeyPair.generate()];
  const now = Math.floor(Date.now() / 1000);
  const token = Token.mint(root, holder.publicKey, ['publish alerts.>'], { notBefore: now - 60, notAfter: now + 3600 });
  const authority = new Authority([root.publicKey]);
  const verifier = new BridgeVerifier(authority, { maxSkewMs: 30_000 });
  try {
    verifier.check({ subject: 'alerts.fire', headers: [['trace', 'abc']], payload: 'not sealed' }, 'publish');
  } catch (error) {
    if (!(error instanceof CharterError)) {
      throw error;
    }
    const refusal = error as BridgeRefusal;
    console.log(`refused: ${refusal.reason} (${refusal.code})`);
  }
  const url = process.argv[2];
  if (url !== undefined) {
    await carry(url, authority, token, holder);
  }
}

void main();
