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
 * `baseline`, twice: by the clock, and by the process's CPU time, which
 * leaves out the time other processes of a shared machine held the cores
 * (the clock's ratios move with their load). Returns the medians,
 * `{ name: { wall, cpu } }`.
 */
export async function compare(cases, { rounds, count, unit, baseline = 'EventEmitter.emit, 1 listener' }) {
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, { wall: [], cpu: [] }]));
  for (const run of Object.values(cases)) await run();
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of Object.entries(cases)) {
      const start = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      await run();
      const used = process.cpuUsage(cpu);
      samples[name].wall.push(Number(process.hrtime.bigint() - start) / count);
      samples[name].cpu.push(((used.user + used.system) * 1000) / count);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const medians = Object.fromEntries(
    Object.entries(samples).map(([name, s]) => [name, { wall: median(s.wall), cpu: median(s.cpu) }]),
  );
  const base = medians[baseline];
  console.log(`node ${process.version}, ${rounds} rounds x ${count} ${unit}s, median ns/${unit}`);
  console.log(`| case | ns/${unit} (clock) | vs emit | ns/${unit} (CPU time) | vs emit |`);
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, m] of Object.entries(medians)) {
    const ratios = [(m.wall / base.wall).toFixed(2), (m.cpu / base.cpu).toFixed(2)];
    console.log(`| ${name} | ${m.wall.toFixed(1)} | ${ratios[0]}x | ${m.cpu.toFixed(1)} | ${ratios[1]}x |`);
  }
  return medians;
}
