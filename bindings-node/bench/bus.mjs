// Bus.publish plus a receive against EventEmitter.emit with one listener,
// measured in the same run, interleaved, median of several rounds. Each
// bus case publishes one 16-byte Buffer on one topic with one subscription.
//
//   node bench/bus.mjs [--rounds N] [--iterations N]
import { EventEmitter } from 'node:events';
import { parseArgs } from 'node:util';

import { Bus } from 'charter';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    iterations: { type: 'string', default: '200000' },
  },
});
const rounds = Number(values.rounds);
const iterations = Number(values.iterations);

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

const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (const run of Object.values(cases)) await run(); // warm-up: let the JIT settle
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(cases)) {
    const start = process.hrtime.bigint();
    await run();
    samples[name].push(Number(process.hrtime.bigint() - start) / iterations);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const emit = median(samples['EventEmitter.emit, 1 listener']);
console.log(`node ${process.version}, ${rounds} rounds x ${iterations} calls, median ns/call`);
console.log('| case | ns/call | vs emit |');
console.log('|---|---:|---:|');
for (const name of Object.keys(cases)) {
  const ns = median(samples[name]);
  console.log(`| ${name} | ${ns.toFixed(1)} | ${(ns / emit).toFixed(2)}x |`);
}
bus.close();
if (sink === 0) console.log('(unreachable: keeps the work from being optimised away)');
