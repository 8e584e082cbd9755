/**
 * `pspat bench arbiter`: the arbiter alone — scheduling decisions per second (packets
 * enqueued, dequeued and completed) on the null backend, unpaced, as the number of
 * clients (mailboxes to drain) and of classes grows: PSPAT's headline figure. Every point
 * runs the chosen scheduler and, in the same run, the FIFO baseline (one queue, no
 * decision to make), so the cost of scheduling reads as a ratio.
 *
 * One feeder thread drives all the clients round-robin (traffic/feeder.ts): clients here
 * are mailboxes, which is what the arbiter's cost depends on, and the machine has two
 * cores — one for the arbiter, one for everything that feeds it. The arbiter polls on the
 * last CPU, the feeder runs on the others (arbiterBenchPlacement()): on the null backend
 * no kernel work shares the arbiter's CPU, so this measures the arbiter alone.
 *
 * Trust: each point is the median of REPEATS runs, each a fresh arbiter measured for one
 * window of `seconds` after a warm-up of WARMUP_MS (the JIT has compiled the loop by
 * then), with the spread across runs. A figure
 * counts as the arbiter's only when at least SATURATED of its passes found a full batch
 * waiting (LOOP_FULL_PASSES), in its mailboxes or already in its queues: otherwise the
 * feeder was the limit, and the point says so.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { ArbiterHost } from '../arbiter/host.js';
import { InvalidOptionError, WorkerFailedError } from '../errors.js';
import { withDefaults } from '../options.js';
import { workerUrl } from '../worker-url.js';
import { allowedCpus, arbiterPlacement, describePlan, planPlacement, type PlacementOptions, type PlacementPlan } from '../placement.js';
import { tryNativeAddon } from '../transmit/native.js';
import { findScheduler } from '../../schedulers/registry.js';
import { slotsFor, weightedClasses } from '../../schedulers/weighted-classes.js';

export interface ArbiterBenchOptions {
  /** Client counts to try. @default [1, 2, 4, 16, 64, 256] */
  clients?: number[];
  /** Class counts to try. @default [1, 64, 4096, 65536] */
  classes?: number[];
  /** The scheduler measured beside the FIFO baseline. @default 'drr' */
  scheduler?: string;
  /** Seconds measured per run (after a warm-up of WARMUP_MS); a point is REPEATS runs. @default 1 */
  seconds?: number;
  /**
   * Frames in the pool, shared out among the clients. Once the arbiter is the limit the
   * clients' frames wait in its queues (each client's mailbox holds at most 1024): how deep
   * its standing queue is, and so how much of the frame table its passes work over. @default 16384
   */
  poolFrames?: number;
  /** Stage delays recorded for one packet in this many of each class (LinkOptions.stageSample). @default 1 */
  stageSample?: number;
}

export const ARBITER_BENCH_DEFAULTS: Required<ArbiterBenchOptions> = {
  clients: [1, 2, 4, 16, 64, 256],
  classes: [1, 64, 4096, 65536],
  scheduler: 'drr',
  seconds: 1,
  poolFrames: 16384,
  stageSample: 1,
};

export const BASELINE = 'fifo';

/** The arbiter on the last allowed CPU (when there are two or more), the feeder elsewhere. */
export function arbiterBenchPlacement(): PlacementOptions {
  const cpus = allowedCpus();
  return tryNativeAddon() !== null && cpus.length >= 2 ? { arbiterCpus: [cpus[cpus.length - 1]] } : {};
}
const WARMUP_MS = 1000;
const REPEATS = 3;
/** Fraction of passes with a full batch waiting below which a point measured its feeder. */
export const SATURATED = 0.9;
const FRAME_LEN = 64;
const LINK_RATE = 1e15; // far above what the machine can release: unpaced

export interface ArbiterPoint {
  scheduler: string;
  clients: number;
  classes: number;
  /** Million decisions (packets scheduled and completed) per second: the median run. */
  mdps: number;
  /** 1000 / mdps. */
  nsPerDecision: number;
  /** (max − min) / median of the runs' mdps. */
  spread: number;
  /** Fraction of passes (in the median run's window) that found a full batch waiting. */
  fullPassFraction: number;
  /** fullPassFraction ≥ SATURATED: the figure is the arbiter's, not its feeder's. */
  saturated: boolean;
  /** Packets per release batch, mean; passes that moved packets, p50 duration (ns). */
  meanBatch: number;
  passP50Ns: number;
  /** The median run's arbiter isolate: its collections (start-up, warm-up, window) and the longest pause, ns. */
  gcs: number;
  gcMaxNs: number;
  /** Of those, the ones in the measured window, and their longest pause (ns): what the figure paid. */
  windowGcs: number;
  windowGcMaxNs: number;
}

export interface ArbiterBenchResult {
  params: Required<ArbiterBenchOptions> & { warmupMs: number; repeats: number; placement: string };
  points: ArbiterPoint[];
}

/** One run: a fresh arbiter (its own isolate, so its own JIT decisions) measured for one window after the warm-up. */
interface Run {
  mdps: number;
  fullPassFraction: number;
  meanBatch: number;
  passP50Ns: number;
  gcs: number;
  gcMaxNs: number;
  windowGcs: number;
  windowGcMaxNs: number;
}

async function measureRun(scheduler: string, clients: number, classes: number, o: Required<ArbiterBenchOptions>, plan: PlacementPlan): Promise<Run> {
  const framesPerClient = Math.max(64, Math.floor(o.poolFrames / clients));
  const host = await ArbiterHost.start({ poolFrames: framesPerClient * clients, ...arbiterPlacement(plan, 0) });
  let feeder: Worker | undefined;
  try {
    const weights = new Array<number>(classes).fill(1);
    // Queue limits above the pool: every frame may wait in the arbiter, none is dropped,
    // so every decision is a packet scheduled and sent.
    const limit = framesPerClient * clients;
    const link = await host.addLink({
      rate: LINK_RATE,
      scheduler,
      backend: 'null',
      maxClasses: slotsFor(scheduler, classes),
      stageSample: o.stageSample,
      schedulerParams: scheduler === 'fifo' ? { limitPackets: limit } : {},
      classes: weightedClasses(scheduler, weights, LINK_RATE, { limitPackets: limit }),
    });
    const channels = [];
    for (let i = 0; i < clients; i++) channels.push(await link.connectClient({ frames: framesPerClient }));
    feeder = new Worker(workerUrl('../../traffic/feeder-worker.js', import.meta.url), { workerData: { channels, spec: { classes, size: FRAME_LEN } } });
    const done = new Promise<void>((resolve, reject) => {
      feeder!.once('message', () => resolve());
      feeder!.once('error', (e) => reject(new WorkerFailedError(`feeder failed: ${e.message}`)));
    });
    await sleep(WARMUP_MS);
    const before = await link.stats({ histograms: false });
    host.loop.markWindow(false);
    const loop0 = host.loop.read();
    const t0 = performance.now();
    await sleep(o.seconds * 1000);
    const after = await link.stats({ histograms: false });
    host.loop.markWindow(true);
    const elapsedMs = performance.now() - t0;
    const loop1 = host.loop.read();
    link.stopClients();
    await done;
    await host.close({ drain: false });
    const loop = host.loop.read();
    const windowNs = after.nowNs - before.nowNs || elapsedMs * 1e6;
    const passes = loop1.busyPasses - loop0.busyPasses;
    return {
      mdps: ((after.totals.sent - before.totals.sent) / windowNs) * 1e3,
      // Lock-free reads of two counters may be a pass apart at either end of the window.
      fullPassFraction: passes > 0 ? Math.min(1, (loop1.fullPasses - loop0.fullPasses) / passes) : 0,
      meanBatch: loop.meanBatch,
      passP50Ns: loop.passTime.p50,
      gcs: loop.gcs,
      gcMaxNs: loop.gcMaxNs,
      windowGcs: loop.windowGcs,
      windowGcMaxNs: loop.windowGcMaxNs,
    };
  } catch (e) {
    await feeder?.terminate();
    await host.terminate();
    throw e;
  }
}

/**
 * REPEATS runs of a point, each a fresh arbiter: the same point differs far more between
 * isolates (up to 2×: which calls V8 inlines into the pass depends on the order functions
 * got hot) than between windows of one, so the spread is taken across runs.
 */
async function measure(scheduler: string, clients: number, classes: number, o: Required<ArbiterBenchOptions>, plan: PlacementPlan): Promise<ArbiterPoint> {
  const runs: Run[] = [];
  for (let r = 0; r < REPEATS; r++) runs.push(await measureRun(scheduler, clients, classes, o, plan));
  const sorted = [...runs].sort((a, b) => a.mdps - b.mdps);
  const median = sorted[Math.floor(REPEATS / 2)];
  return {
    scheduler,
    clients,
    classes,
    mdps: median.mdps,
    nsPerDecision: median.mdps > 0 ? 1e3 / median.mdps : Infinity,
    spread: median.mdps > 0 ? (sorted[REPEATS - 1].mdps - sorted[0].mdps) / median.mdps : 0,
    fullPassFraction: median.fullPassFraction,
    saturated: median.fullPassFraction >= SATURATED,
    meanBatch: median.meanBatch,
    passP50Ns: median.passP50Ns,
    gcs: median.gcs,
    gcMaxNs: median.gcMaxNs,
    windowGcs: median.windowGcs,
    windowGcMaxNs: median.windowGcMaxNs,
  };
}

/** `onPoint(done, total)` after each point (a progress bar). */
export async function runArbiterBench(options: ArbiterBenchOptions = {}, onPoint?: (done: number, total: number) => void): Promise<ArbiterBenchResult> {
  const o = withDefaults(ARBITER_BENCH_DEFAULTS, options);
  findScheduler(o.scheduler);
  for (const c of o.clients)
    if (!Number.isInteger(c) || c < 1 || c > 1024) throw new InvalidOptionError('clients', `each must be an integer in [1, 1024], got ${c}`);
  for (const k of o.classes)
    if (!Number.isInteger(k) || k < 1 || k > 1 << 20) throw new InvalidOptionError('classes', `each must be an integer in [1, 1048576], got ${k}`);
  if (!(o.seconds > 0 && o.seconds <= 60)) throw new InvalidOptionError('seconds', `must be in (0, 60], got ${o.seconds}`);
  if (!Number.isInteger(o.poolFrames) || o.poolFrames < 64 || o.poolFrames > 1 << 22) {
    throw new InvalidOptionError('pool-frames', `must be an integer in [64, 4194304], got ${o.poolFrames}`);
  }
  const plan = planPlacement(arbiterBenchPlacement(), 1);
  const kinds = o.scheduler === BASELINE ? [BASELINE] : [BASELINE, o.scheduler];
  const total = kinds.length * o.clients.length * o.classes.length;
  const points: ArbiterPoint[] = [];
  for (const classes of o.classes) {
    for (const clients of o.clients) {
      for (const kind of kinds) {
        points.push(await measure(kind, clients, classes, o, plan));
        onPoint?.(points.length, total);
      }
    }
  }
  return { params: { ...o, warmupMs: WARMUP_MS, repeats: REPEATS, placement: describePlan(plan) }, points };
}
