// Registry.notify with one JS handler against EventEmitter.emit with one
// listener, measured in the same run, interleaved, median of several rounds.
//
//   node bench/registry.mjs [--rounds N] [--iterations N]
import { EventEmitter } from 'node:events';

import { Registry } from 'charter';

import { compare, options } from './compare.mjs';

const { rounds, iterations } = options(2000000);

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

await compare(cases, { rounds, count: iterations, unit: 'call' });
if (sink === 0) console.log('(unreachable: keeps the handler from being optimised away)');
