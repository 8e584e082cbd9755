/**
 * `pspat bench arbiter`: the arbiter alone — scheduling decisions per second (packets
 * enqueued, dequeued and completed) on the null backend, unpaced, as the number of
 * clients (mailboxes to drain) and of classes grows: PSPAT's headline figure. Every point
 * runs the chosen scheduler and, in the same run, the FIFO baseline (one queue, no
 * decision to make), so the cost of scheduling reads as a ratio.
 *
 * One feeder thread drives all the clients round-robin (clients/feeder.ts): clients here
 * are mailboxes, which is what the arbiter's cost depends on, and the machine has two
 * cores — one for the arbiter, one for everything that feeds it.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { ArbiterHost } from '../arbiter/host.js';
import { InvalidOptionError, WorkerFailedError } from '../errors.js';
import { withDefaults } from '../options.js';
import { workerUrl } from '../worker-url.js';
import { findScheduler } from '../../schedulers/registry.js';
import { slotsFor, weightedClasses } from '../../schedulers/weighted-classes.js';

export interface ArbiterBenchOptions {
  /** Client counts to try. @default [1, 2, 4, 16, 64, 256] */
  clients?: number[];
  /** Class counts to try. @default [1, 64, 4096, 65536] */
  classes?: number[];
  /** The scheduler measured beside the FIFO baseline. @default 'drr' */
  scheduler?: string;
  /** Seconds measured per point (after a 0.3 s warm-up). @default 1 */
  seconds?: number;
  /** Frames in the pool, shared out among the clients. @default 16384 */
  poolFrames?: number;
}

export const ARBITER_BENCH_DEFAULTS: Required<ArbiterBenchOptions> = {
  clients: [1, 2, 4, 16, 64, 256],
  classes: [1, 64, 4096, 65536],
  scheduler: 'drr',
  seconds: 1,
  poolFrames: 16384,
};

export const BASELINE = 'fifo';
const FRAME_LEN = 64;
const LINK_RATE = 1e15; // far above what the machine can release: unpaced

export interface ArbiterPoint {
  scheduler: string;
  clients: number;
  classes: number;
  /** Million decisions (packets scheduled and completed) per second. */
  mdps: number;
  /** Packets per release batch, mean; passes that moved packets, p50 duration (ns). */
  meanBatch: number;
  passP50Ns: number;
}

export interface ArbiterBenchResult {
  params: Required<ArbiterBenchOptions>;
  points: ArbiterPoint[];
}

async function measure(scheduler: string, clients: number, classes: number, o: Required<ArbiterBenchOptions>): Promise<ArbiterPoint> {
  const framesPerClient = Math.max(64, Math.floor(o.poolFrames / clients));
  const host = await ArbiterHost.start({ poolFrames: framesPerClient * clients });
  let feeder: Worker | undefined;
  try {
    const weights = new Array<number>(classes).fill(1);
    // Queue limits above the pool: every frame may wait in the arbiter, none is dropped,
    // so every decision is a packet scheduled and sent.
    const limit = framesPerClient * clients;
    const link = await host.addLink({
      rate: LINK_RATE, scheduler, backend: 'null', maxClasses: slotsFor(scheduler, classes),
      schedulerParams: scheduler === 'fifo' ? { limitPackets: limit } : {},
      classes: weightedClasses(scheduler, weights, LINK_RATE, { limitPackets: limit }),
    });
    const channels = [];
    for (let i = 0; i < clients; i++) channels.push(await link.connectClient({ frames: framesPerClient }));
    feeder = new Worker(workerUrl('../../clients/feeder-worker.js', import.meta.url), { workerData: { channels, spec: { classes, size: FRAME_LEN } } });
    const done = new Promise<void>((resolve, reject) => {
      feeder!.once('message', () => resolve());
      feeder!.once('error', (e) => reject(new WorkerFailedError(`feeder failed: ${e.message}`)));
    });
    await sleep(300);
    const before = await link.stats();
    const loop0 = host.loop.read();
    const t0 = performance.now();
    await sleep(o.seconds * 1000);
    const after = await link.stats();
    const elapsedMs = performance.now() - t0;
    const loop = host.loop.read();
    link.stopClients();
    await done;
    await host.close({ drain: false });
    const windowNs = after.nowNs - before.nowNs || elapsedMs * 1e6;
    return {
      scheduler, clients, classes,
      mdps: ((after.totals.sent - before.totals.sent) / windowNs) * 1e3,
      meanBatch: loop.batchSize.count > loop0.batchSize.count ? loop.meanBatch : 0,
      passP50Ns: loop.passTime.p50,
    };
  } catch (e) {
    await feeder?.terminate();
    await host.terminate();
    throw e;
  }
}

/** `onPoint(done, total)` after each point (a progress bar). */
export async function runArbiterBench(options: ArbiterBenchOptions = {}, onPoint?: (done: number, total: number) => void): Promise<ArbiterBenchResult> {
  const o = withDefaults(ARBITER_BENCH_DEFAULTS, options);
  findScheduler(o.scheduler);
  for (const c of o.clients) if (!Number.isInteger(c) || c < 1 || c > 1024) throw new InvalidOptionError('clients', `each must be an integer in [1, 1024], got ${c}`);
  for (const k of o.classes) if (!Number.isInteger(k) || k < 1 || k > 1 << 20) throw new InvalidOptionError('classes', `each must be an integer in [1, 1048576], got ${k}`);
  if (!(o.seconds > 0 && o.seconds <= 60)) throw new InvalidOptionError('seconds', `must be in (0, 60], got ${o.seconds}`);
  const kinds = o.scheduler === BASELINE ? [BASELINE] : [BASELINE, o.scheduler];
  const total = kinds.length * o.clients.length * o.classes.length;
  const points: ArbiterPoint[] = [];
  for (const classes of o.classes) {
    for (const clients of o.clients) {
      for (const kind of kinds) {
        points.push(await measure(kind, clients, classes, o));
        onPoint?.(points.length, total);
      }
    }
  }
  return { params: o, points };
}
