// Per-message cost of batches (publishMany + recvMany, 64 messages a
// call) against EventEmitter.emit with one listener, a single publish +
// tryRecv, and two in-process peers with an asynchronous consumer: an
// `events.on` async iterator, and a `MessageChannel` (what a worker would
// be sent messages through). The `nats` package has no in-process mode
// without a server, so it cannot be measured on the same footing.
// Measured in the same run, interleaved, median of several rounds; every
// case moves one 16-byte Buffer per message on one topic (one listener,
// one subscription). Each case is timed twice: by the clock, and by the
// process's CPU time, which leaves out the time other processes of a
// shared machine held the cores (the clock's ratios move with their load).
// The figures also go to target/bench-results/node-batch.json at the
// repository root, for benches/report.py.
//
//   node bench/batch.mjs [--rounds N] [--iterations N]
import { EventEmitter, on } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';

import { Bus } from 'charter';

import { compare, options } from './compare.mjs';

const { rounds, iterations } = options(200000);
const BATCH = 64;
// Whole batches, so every case moves the same number of messages.
const batches = Math.max(1, Math.round(iterations / BATCH));
const messages = batches * BATCH;

const payload = Buffer.alloc(16, 1);
const payloads = Array.from({ length: BATCH }, () => payload);
let sink = 0;

const emitter = new EventEmitter();
emitter.on('event', (p) => {
  sink += p.length;
});

const bus = new Bus();
const pull = bus.subscribe('bench.pull', { capacity: BATCH });

// An `events.on` iterator over an emitter of its own, left open across
// rounds (its queue is drained by every round).
const iterated = new EventEmitter();
const iterator = on(iterated, 'event');

const { port1, port2 } = new MessageChannel();
let portWaiter = null;
let portCount = 0;
port2.on('message', (p) => {
  sink += p.length;
  portCount += 1;
  if (portCount === BATCH) {
    portCount = 0;
    portWaiter();
  }
});

const cases = {
  'EventEmitter.emit, 1 listener': async () => {
    for (let i = 0; i < messages; i++) emitter.emit('event', payload);
  },
  'publish + tryRecv, one at a time': async () => {
    for (let i = 0; i < messages; i++) {
      bus.publish('bench.pull', payload);
      sink += pull.tryRecv().payload.length;
    }
  },
  'publishMany + recvMany, 64 a call': async () => {
    for (let b = 0; b < batches; b++) {
      bus.publishMany('bench.pull', payloads);
      for (const m of await pull.recvMany(BATCH)) sink += m.payload.length;
    }
  },
  'publish x64 + recvMany(64)': async () => {
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < BATCH; i++) bus.publish('bench.pull', payload);
      for (const m of await pull.recvMany(BATCH)) sink += m.payload.length;
    }
  },
  'peer: emit x64 + events.on async iterator': async () => {
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < BATCH; i++) iterated.emit('event', payload);
      for (let i = 0; i < BATCH; i++) sink += (await iterator.next()).value[0].length;
    }
  },
  'peer: MessageChannel postMessage x64, received': async () => {
    for (let b = 0; b < batches; b++) {
      const received = new Promise((resolve) => {
        portWaiter = resolve;
      });
      for (let i = 0; i < BATCH; i++) port1.postMessage(payload);
      await received;
    }
  },
};

const medians = await compare(cases, { rounds, count: messages, unit: 'message' });
const results = new URL('../../target/bench-results/', import.meta.url);
mkdirSync(results, { recursive: true });
writeFileSync(
  new URL('node-batch.json', results),
  `${JSON.stringify({ node: process.version, unit: 'ns/message, median of the rounds', cases: medians }, null, 1)}\n`,
);
bus.close();
port1.close();
await iterator.return();
if (sink === 0) console.log('(unreachable: keeps the work from being optimised away)');
