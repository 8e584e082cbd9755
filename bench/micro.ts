/**
 * Micro benchmarks (tinybench), each next to its baseline in the same run:
 *   - mailbox: ns per descriptor through an SPSC ring, batches of 256 vs one at a time;
 *   - schedulers: ns per enqueue+dequeue pair for every registered scheduler at 1, 64, 4096
 *     and 65536 classes, FIFO as the floor: with every class backlogged, and with one
 *     packet per class, so every dequeue empties a class and every enqueue activates one
 *     (the path of classes that go idle and come back, as each does at 65536 classes);
 *   - arbiter: the demo's release rate (Mpps) with pacing far above what the machine can
 *     do, 4 generator clients, DRR vs FIFO.
 * Prints tables and writes JSON (default runs/bench-micro.json; `--out FILE`).
 *
 *   npm run bench:micro [-- --out FILE] [-- --seconds N]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Bench } from 'tinybench';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { findScheduler, schedulerKinds } from '../schedulers/registry.js';
import type { RootParams, Scheduler } from '../schedulers/types.js';
import { renderTable } from '../src/report/table.js';
import { runDemo } from '../src/demo.js';
import { Rng } from '../src/random.js';
import { SpscRing } from '../src/shm/spsc-ring.js';
import { benchOptions } from './options.js';

const options = benchOptions('npm run bench:micro -- [options]: the mailbox, the schedulers and the arbiter, each beside its baseline', {
  out: { default: 'runs/bench-micro.json', help: 'where the JSON goes' },
  seconds: { default: '3', help: 'seconds per measurement' },
});
const out = options.out;
const SCHEDULERS = schedulerKinds().map((k) => k.kind);
const CLASS_COUNTS = [1, 64, 4096, 65536];
const seconds = Number(options.seconds);

/** Mean time of one task iteration in ns (tinybench reports milliseconds). */
function meanNs(task: Bench['tasks'][number]): number {
  const r = task.result;
  if (!r || !('latency' in r)) throw new Error(`benchmark ${task.name} did not complete`);
  return r.latency.mean * 1e6;
}

async function ringBench(): Promise<Record<string, number>> {
  const per = 256 * 64;
  const results: Record<string, number> = {};
  const bench = new Bench({ time: 500 });
  for (const batch of [1, 256]) {
    const ring = new SpscRing(SpscRing.allocate(1024));
    const src = Int32Array.from({ length: batch }, (_, i) => i);
    const dst = new Int32Array(batch);
    bench.add(`batch ${batch}`, () => {
      for (let moved = 0; moved < per; moved += batch) {
        ring.push(src, 0, batch);
        ring.pop(dst, 0, batch);
      }
    });
  }
  await bench.run();
  for (const t of bench.tasks) results[t.name] = meanNs(t) / per;
  return results;
}

/** The bench's link: 1 Gbit/s, 8 ns a byte. */
const LINK_RATE = 1e9;
const NS_PER_BYTE = 8e9 / LINK_RATE;

/**
 * Classes 0..n−1 with weights 1–4; for htb, leaves sharing the link by rate under one
 * parent class (slot n) that lends them what the others leave, as a VM host configures it.
 */
function addBenchClasses(sched: Scheduler, kind: string, n: number): void {
  if (kind !== 'htb') {
    for (let c = 0; c < n; c++) sched.addClass(c, { weight: 1 + (c % 4), limitPackets: 1e6 });
    return;
  }
  sched.addClass(n, { rate: LINK_RATE });
  for (let c = 0; c < n; c++) sched.addClass(c, { parent: n, rate: LINK_RATE / n, ceil: LINK_RATE, limitPackets: 1e6 });
}

/**
 * Root parameters: sfq and fq_codel get one flow per class (as many as they allow) and
 * limits that never bind; fq_codel's CoDel target is set out of reach, so the figure is the
 * scheduling path, not AQM drops (the queue here is deliberately standing).
 */
function rootParamsFor(kind: string, classes: number): RootParams {
  if (kind === 'sfq') return { flows: Math.min(classes, 65408), divisor: 65536, limitPackets: 1e6 };
  if (kind === 'fq_codel') return { flows: Math.min(classes, 65536), limitPackets: 1e7, memoryLimit: 2 ** 40, targetUs: 2 ** 31 - 1 };
  return {};
}

/** Packets queued per class: every class backlogged, or each one's packet the class's last. */
const DEPTHS = {
  backlogged: { depth: 2, what: 'every class backlogged' },
  activating: { depth: 1, what: 'one packet per class: each enqueue activates its class' },
} as const;
type Depth = keyof typeof DEPTHS;
type KindResult = Record<Depth, Record<number, number>>;

/** ns per enqueue+dequeue pair of one scheduler kind at each class count and depth. */
async function schedulerKindBench(kind: string): Promise<KindResult> {
  const pairs = 100_000;
  const bench = new Bench({ time: 500 });
  for (const [depthName, { depth }] of Object.entries(DEPTHS)) {
    for (const classes of CLASS_COUNTS) {
      const poolFrames = classes * 4 + 1024;
      const len = new Uint32Array(poolFrames);
      const cls = new Int32Array(poolFrames);
      const flow = new Uint32Array(poolFrames);
      const queuedAt = new Float64Array(poolFrames);
      const frames = { len, cls, flow, queuedAt };
      const clock = new Float64Array(1);
      const sched = findScheduler(kind).create({ frames, clock, poolFrames, maxClasses: classes + 1, drop: () => {} }, rootParamsFor(kind, classes));
      const rng = new Rng(classes);
      addBenchClasses(sched, kind, classes);
      // `depth` packets per class are queued in steady state; each pair re-enqueues the
      // frame just dequeued: at 2 every class stays backlogged, at 1 each dequeue empties its
      // class and the enqueue activates it again.
      for (let f = 0; f < depth * classes; f++) {
        len[f] = rng.int(64, 1500);
        cls[f] = f % classes;
        flow[f] = (f % classes) + 1;
        sched.enqueue(f);
      }
      // The clock runs at the link's rate; a shaper that holds back moves it to its wakeAt.
      // The time lives in the clock cell, not in a variable the task captures: a captured
      // variable holding a double is a new heap number at every assignment, and the bench
      // timed its own garbage with every kind's pair.
      bench.add(`${depthName} ${classes}`, () => {
        for (let i = 0; i < pairs; i++) {
          const f = sched.dequeue();
          if (f < 0) {
            clock[0] = sched.wakeAt;
            continue;
          }
          clock[0] += len[f] * NS_PER_BYTE;
          queuedAt[f] = clock[0];
          sched.enqueue(f);
        }
      });
    }
  }
  await bench.run();
  const result = Object.fromEntries(Object.keys(DEPTHS).map((d) => [d, {}])) as KindResult;
  for (const t of bench.tasks) {
    const [depthName, classes] = t.name.split(' ');
    result[depthName as Depth][Number(classes)] = meanNs(t) / pairs;
  }
  return result;
}

/**
 * Each scheduler kind runs in its own worker thread: an arbiter runs one kind, so its JIT
 * sees one class shape; measuring all kinds in one isolate would make the shared base
 * class's call sites polymorphic and slow every kind down.
 */
async function schedulerBench(): Promise<Record<string, KindResult>> {
  const results: Record<string, KindResult> = {};
  for (const kind of SCHEDULERS) {
    const w = new Worker(new URL(import.meta.url), { workerData: { schedulerKind: kind }, argv: process.argv.slice(2) });
    results[kind] = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  }
  return results;
}

async function arbiterBench(): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  for (const scheduler of ['fifo', 'drr']) {
    const r = await runDemo({ seconds, rate: 1e15, clients: 4, scheduler, minSize: 64, maxSize: 64 });
    results[scheduler] = r.mpps;
  }
  return results;
}

if (!isMainThread) {
  parentPort!.postMessage(await schedulerKindBench((workerData as { schedulerKind: string }).schedulerKind));
  process.exit(0);
}

const ring = await ringBench();
console.log('\nmailbox (SPSC ring), ns per descriptor pushed and popped');
console.log(
  renderTable(
    ['publication', 'ns/desc', 'vs batch 1'],
    Object.entries(ring).map(([k, v]) => [k, v.toFixed(2), `${(ring['batch 1'] / v).toFixed(1)}×`]),
  ),
);

const sched = await schedulerBench();
for (const depth of Object.keys(DEPTHS) as Depth[]) {
  console.log(`\nschedulers, ns per enqueue+dequeue pair, ${DEPTHS[depth].what} (× = vs fifo, the baseline)`);
  const ns = (k: string, c: number) => sched[k][depth][c];
  console.log(
    renderTable(
      ['classes', ...SCHEDULERS],
      CLASS_COUNTS.map((c) => [
        c,
        ...SCHEDULERS.map((k) => (k === 'fifo' ? ns(k, c).toFixed(1) : `${ns(k, c).toFixed(1)} (${(ns(k, c) / ns('fifo', c)).toFixed(2)}×)`)),
      ]),
    ),
  );
}

const arb = await arbiterBench();
console.log(`\narbiter, null backend, 4 generator clients, 64 B, unpaced, ${seconds}s each`);
console.log(
  renderTable(
    ['scheduler', 'Mpps', 'vs fifo'],
    Object.entries(arb).map(([k, v]) => [k, v.toFixed(2), `${(v / arb.fifo).toFixed(2)}×`]),
  ),
);

mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, ringNsPerDesc: ring, schedulerNsPerPair: sched, arbiterMpps: arb }, null, 2)}\n`,
);
console.log(`\nwrote ${out}`);
