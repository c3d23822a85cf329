// What the benchmarks share: their command line, and the measurement of
// named cases against EventEmitter.emit with one listener, in the same
// run, interleaved, median of several rounds, printed as a Markdown table.
import { parseArgs } from 'node:util';

/** `--rounds N` (default 7) and `--iterations N` (default `iterations`). */
export function options(iterations) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '7' },
      iterations: { type: 'string', default: String(iterations) },
    },
  });
  return { rounds: Number(values.rounds), iterations: Number(values.iterations) };
}

/**
 * Runs every case of `cases` (name -> function moving `count` units, maybe
 * async) once to let the JIT settle, then `rounds` times interleaved, and
 * prints the median ns per `unit` of each against the case named
 * `baseline`.
 */
export async function compare(cases, { rounds, count, unit, baseline = 'EventEmitter.emit, 1 listener' }) {
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (const run of Object.values(cases)) await run();
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of Object.entries(cases)) {
      const start = process.hrtime.bigint();
      await run();
      samples[name].push(Number(process.hrtime.bigint() - start) / count);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(samples[baseline]);
  console.log(`node ${process.version}, ${rounds} rounds x ${count} ${unit}s, median ns/${unit}`);
  console.log(`| case | ns/${unit} | vs emit |`);
  console.log('|---|---:|---:|');
  for (const name of Object.keys(cases)) {
    const ns = median(samples[name]);
    console.log(`| ${name} | ${ns.toFixed(1)} | ${(ns / base).toFixed(2)}x |`);
  }
}
