// Bus.publish plus a receive against EventEmitter.emit with one listener,
// measured in the same run, interleaved, median of several rounds. Each
// bus case publishes one 16-byte Buffer on one topic with one subscription.
//
//   node bench/bus.mjs [--rounds N] [--iterations N]
import { EventEmitter } from 'node:events';

import { Bus } from 'charter';

import { compare, options } from './compare.mjs';

const { rounds, iterations } = options(200000);

const payload = Buffer.alloc(16, 1);
let sink = 0;

const emitter = new EventEmitter();
emitter.on('event', (p) => {
  sink += p.length;
});

const bus = new Bus();
const pull = bus.subscribe('bench.pull', { capacity: 16 });
bus.subscribe('bench.inline', (m) => {
  sink += m.payload.length;
});

const cases = {
  'EventEmitter.emit, 1 listener': async () => {
    for (let i = 0; i < iterations; i++) emitter.emit('event', payload);
  },
  'publish + tryRecv': async () => {
    for (let i = 0; i < iterations; i++) {
      bus.publish('bench.pull', payload);
      sink += pull.tryRecv().payload.length;
    }
  },
  'publish + await recv': async () => {
    for (let i = 0; i < iterations; i++) {
      bus.publish('bench.pull', payload);
      sink += (await pull.recv()).payload.length;
    }
  },
  'publish, 1 inline handler': async () => {
    for (let i = 0; i < iterations; i++) bus.publish('bench.inline', payload);
  },
  'publish, no subscriber (the JS -> Rust call)': async () => {
    for (let i = 0; i < iterations; i++) bus.publish('bench.none', payload);
  },
};

await compare(cases, { rounds, count: iterations, unit: 'call' });
bus.close();
if (sink === 0) console.log('(unreachable: keeps the work from being optimised away)');
