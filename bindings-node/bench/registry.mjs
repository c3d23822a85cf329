// Registry.notify with one JS handler against EventEmitter.emit with one
// listener, measured in the same run, interleaved, median of several rounds.
//
//   node bench/registry.mjs [--rounds N] [--iterations N]
import { EventEmitter } from 'node:events';
import { parseArgs } from 'node:util';

import { Registry } from 'charter';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    iterations: { type: 'string', default: '2000000' },
  },
});
const rounds = Number(values.rounds);
const iterations = Number(values.iterations);

let sink = 0;
const handler = (n) => {
  sink += n;
};

const emitter = new EventEmitter();
emitter.on('event', handler);
const registry = new Registry();
registry.register(handler);
const empty = new Registry();

const cases = {
  'EventEmitter.emit, 1 listener': () => {
    for (let i = 0; i < iterations; i++) emitter.emit('event', i);
  },
  'Registry.notify, 1 handler': () => {
    for (let i = 0; i < iterations; i++) registry.notify(i);
  },
  'Registry.notify, no handler (JS -> Rust -> JS cost)': () => {
    for (let i = 0; i < iterations; i++) empty.notify(i);
  },
};

const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (const run of Object.values(cases)) run(); // warm-up: let the JIT settle
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(cases)) {
    const start = process.hrtime.bigint();
    run();
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
if (sink === 0) console.log('(unreachable: keeps the handler from being optimised away)');
