'use strict';

// Async at scale: N receives waiting at once, each on its own subscription,
// for N = 100, 1,000 and 10,000 (or the counts given as arguments). Prints,
// per N: OS threads above the process's baseline and RSS (/proc/self/status),
// idle CPU over a few seconds with everything waiting (process.cpuUsage),
// wake latency for one message (published on this thread, and from a pool
// thread with publishAsync), a burst of one message to every receiver,
// cancel latency, and loss (messages neither received nor still queued).
//
// Each N runs in a process of its own, so that its thread count and RSS
// start from a clean baseline.
//
// Usage: node scripts/scale.js [N ...] [--idle-seconds S] [--samples K]

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const { Bus } = require(path.join(__dirname, '..'));

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  if (at === -1) {
    return fallback;
  }
  const value = Number(process.argv[at + 1]);
  process.argv.splice(at, 2);
  return value;
}

const idleSeconds = option('--idle-seconds', 3);
const samples = option('--samples', 500);
const one = option('--one', 0);
const counts = process.argv.slice(2).map(Number);
const sizes = counts.length > 0 ? counts : [100, 1000, 10000];

function status(field) {
  const line = fs
    .readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(line.split(/\s+/)[1]);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function micros(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${(percentile(sorted, 50) * 1000).toFixed(1)} µs, p99 ${(percentile(sorted, 99) * 1000).toFixed(1)} µs`;
}

async function run(n, baselineThreads) {
  const bus = new Bus({ maxSubscriptions: n + 16 });
  const subs = Array.from({ length: n }, (_, i) => bus.subscribe(`s.${i}`, { capacity: 4 }));
  const waits = subs.map((sub) => sub.recv());
  let published = 0;
  let received = 0;

  const threads = status('Threads') - baselineThreads;
  const rssMiB = status('VmRSS') / 1024;

  // Idle: everything waits; a timer keeps the loop alive, nothing else
  // runs. The first second, when V8 collects what making the receives left
  // behind, is not counted.
  await sleep(1000);
  const cpuBefore = process.cpuUsage();
  const idleStarted = performance.now();
  await sleep(idleSeconds * 1000);
  const cpu = process.cpuUsage(cpuBefore);
  const idlePercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - idleStarted)) * 100;

  // Wake latency: one message to one waiting receiver while all the others
  // wait; the woken one waits again.
  const sameThread = [];
  const poolThread = [];
  for (let k = 0; k < samples; k++) {
    const i = k % n;
    let started = performance.now();
    bus.publish(`s.${i}`, 'x');
    published += 1;
    await waits[i];
    sameThread.push(performance.now() - started);
    received += 1;
    waits[i] = subs[i].recv();

    started = performance.now();
    const publishing = bus.publishAsync(`s.${i}`, 'x');
    published += 1;
    await waits[i];
    poolThread.push(performance.now() - started);
    received += 1;
    await publishing;
    waits[i] = subs[i].recv();
  }

  // Burst: one message to every receiver, then until all have it.
  let burstStarted = performance.now();
  for (let i = 0; i < n; i++) {
    bus.publish(`s.${i}`, 'burst');
  }
  published += n;
  await Promise.all(waits);
  received += n;
  const burstMs = performance.now() - burstStarted;

  // The same burst from pool threads: every wake-up crosses threads.
  for (let i = 0; i < n; i++) {
    waits[i] = subs[i].recv();
  }
  burstStarted = performance.now();
  const publishes = [];
  for (let i = 0; i < n; i++) {
    publishes.push(bus.publishAsync(`s.${i}`, 'burst'));
  }
  published += n;
  await Promise.all(waits);
  received += n;
  const poolBurstMs = performance.now() - burstStarted;
  await Promise.all(publishes);

  // Cancel: from abort() to the rejection seen by the awaiting code. The
  // message published next must stay queued (the loss count checks it).
  const cancels = [];
  for (let k = 0; k < samples; k++) {
    const i = k % n;
    while (subs[i].tryRecv() !== null) {
      received += 1;
    }
    const controller = new AbortController();
    const waiting = subs[i].recv({ signal: controller.signal });
    const started = performance.now();
    controller.abort();
    await waiting.catch(() => {});
    cancels.push(performance.now() - started);
    bus.publish(`s.${i}`, 'after abort');
    published += 1;
  }

  let queued = 0;
  for (const sub of subs) {
    queued += sub.stats().queued;
  }
  const dropped = bus.stats().subscriptions.dropped.total;
  const loss = published - received - queued - dropped;
  bus.close();
  return {
    n,
    threads,
    rssMiB,
    idlePercent,
    sameThread: micros(sameThread),
    poolThread: micros(poolThread),
    burstMs,
    poolBurstMs,
    cancel: micros(cancels),
    loss,
    dropped,
  };
}

/** One N, in this process: prints its line. */
async function measure(n) {
  // The baseline: Node's own threads, with the addon loaded.
  new Bus().close();
  await sleep(100);
  const r = await run(n, status('Threads'));
  console.log(
    [
      `waiters ${r.n}:`,
      `threads +${r.threads},`,
      `RSS ${r.rssMiB.toFixed(0)} MiB,`,
      `idle CPU ${r.idlePercent.toFixed(2)}% of a core;`,
      `wake (same thread) ${r.sameThread};`,
      `wake (pool thread) ${r.poolThread};`,
      `burst to all ${r.burstMs.toFixed(1)} ms (from pool threads ${r.poolBurstMs.toFixed(1)} ms);`,
      `cancel ${r.cancel};`,
      `lost ${r.loss} (dropped by policy ${r.dropped})`,
    ].join(' '),
  );
}

function main() {
  if (one > 0) {
    return measure(one);
  }
  console.log(`Node ${process.version}; idle over ${idleSeconds} s; ${samples} samples per latency`);
  for (const n of sizes) {
    const args = [__filename, '--one', String(n), '--idle-seconds', String(idleSeconds), '--samples', String(samples)];
    const child = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (child.status !== 0) {
      process.exitCode = 1;
      return undefined;
    }
  }
  return undefined;
}

main();
