'use strict';

// The Node service of the cross-language bridge test
// (bridge_langs_test.go); service.c says what every service does.
//
// Usage: node service.js NATS_URL DIR PREFIX SELF PEER

const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

const charter = require(process.env.CHARTER_NODE ?? path.resolve(__dirname, '../../../bindings-node'));

async function main() {
  const [url, dir, prefix, self, peer] = process.argv.slice(2);
  const text = (name) => fs.readFileSync(path.join(dir, name), 'utf8').trim();
  const peerPrincipal = text(`${peer}.principal`);
  const token = charter.Token.fromText(text(`${self}.token`));
  const key = charter.KeyPair.readFile(path.join(dir, `${self}.key`), { allowOpenPermissions: true });
  const authority = new charter.Authority([text('root.pub')]);
  const [ownSvc, ownEvent] = [`${prefix}.${self}.svc`, `${prefix}.${self}.event`];
  const [peerSvc, peerEvent] = [`${prefix}.${peer}.svc`, `${prefix}.${peer}.event`];
  const proven = (m, payload) =>
    m.header('Charter-Principal') === peerPrincipal &&
    m.header('Charter-Status') === undefined &&
    m.payload.toString() === payload;

  const bus = new charter.Bus();
  bus.subscribe(ownSvc, (m) => {
    if (m.header('Charter-Principal') !== peerPrincipal) {
      bus.respond(m, `${self} refuses an unproven request`);
      return;
    }
    bus.respond(m, Buffer.concat([Buffer.from(`${self} answers `), m.payload]));
  });
  const events = bus.subscribe(peerEvent);
  const bridge = await charter.Bridge.start(bus, {
    servers: [url],
    exports: [ownEvent, peerSvc],
    imports: [peerEvent, ownSvc],
    token,
    key,
    authority,
  });
  await bridge.flush({ timeoutMs: 20000 });
  const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  console.log('ready');
  if ((await lines.next()).value?.trim() !== 'go') {
    throw new Error('no go');
  }
  bus.publish(ownEvent, `event from ${self}`);
  const reply = await bus.request(peerSvc, `ping from ${self}`, { timeoutMs: 20000 });
  if (!proven(reply, `${peer} answers ping from ${self}`)) {
    throw new Error(`the reply is ${reply.payload}`);
  }
  const event = await events.recv({ timeoutMs: 20000 });
  if (!proven(event, `event from ${peer}`)) {
    throw new Error(`the event is ${event.payload}`);
  }
  console.log('done');
  while (!(await lines.next()).done) {
    // Answers the peer until the driver closes stdin.
  }
  const refused = Object.values(bridge.refused()).reduce((a, b) => a + b, 0);
  console.log(`refused ${refused}`);
  await bridge.close();
  bus.close();
}

main().catch((error) => {
  console.error('node service:', error);
  process.exit(1);
});
