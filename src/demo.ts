/**
 * The demo: the main job on an embedded default. N generator clients (worker threads)
 * saturate one link with 64–1500 B packets spread over classes weighted 1:2:3:4; the
 * arbiter schedules and paces them at the link rate on the null backend; the result is
 * a per-class account of shares, drops and queueing delay, and a RUN.json record
 * (src/report/run-file.ts) with every stage's histograms and throughput over time.
 */
import { validateSizes } from '../traffic/generators.js';
import { findScheduler } from '../schedulers/registry.js';
import { slotsFor, weightedClasses } from '../schedulers/weighted-classes.js';
import { saturateLink, TICK_MS } from '../traffic/saturate-link.js';
import { stagesJson, type Run } from './report/run-file.js';
import { InvalidOptionError } from './errors.js';
import { ARBITER_DEFAULTS, TRANSMIT_DEFAULTS, transmitOptionsOf, withDefaults, type TransmitOptions } from './options.js';
import { maxMinFairShares } from './stats/fair-share.js';
import type { LinkStats } from './stats/link-stats.js';
import type { Backend } from './transmit/ports.js';
import { arbiterPlacement, planPlacement, type PlacementOptions } from './placement.js';

/** The demo's own options, plus where it transmits (TransmitOptions, as for a link) and where its threads run. */
export interface DemoOptions extends TransmitOptions, PlacementOptions {
  /** Run time in seconds. @default 3 */
  seconds?: number;
  /** Link rate in bit/s. @default 1e9 */
  rate?: number;
  /** Generator client workers. @default 4 */
  clients?: number;
  /** Scheduler kind. @default 'drr' */
  scheduler?: string;
  /** One class per weight. @default [1, 2, 3, 4] */
  weights?: number[];
  /** Packet sizes, uniform in [minSize, maxSize] bytes. @default 64 and 1500 */
  minSize?: number;
  maxSize?: number;
  /** Per-class queue limit in packets. @default 256 */
  limit?: number;
  /** Frames each client owns. @default 512 */
  framesPerClient?: number;
  /** Generator seed. @default 1 */
  seed?: number;
  /** Seconds of traffic before the measurement window opens (queues fill, threads start). @default 0.2 */
  warmup?: number;
  /** Stage delays recorded for one packet in this many of each class (LinkOptions.stageSample). @default 1 */
  stageSample?: number;
}

/** Placement has no fixed defaults: what is left out follows the plan (src/placement.ts). */
export const DEMO_DEFAULTS: Required<Omit<DemoOptions, keyof PlacementOptions>> = {
  seconds: 3,
  rate: 1e9,
  clients: 4,
  scheduler: 'drr',
  weights: [1, 2, 3, 4],
  minSize: 64,
  maxSize: 1500,
  limit: 256,
  framesPerClient: 512,
  seed: 1,
  warmup: 0.2,
  stageSample: 1,
  ...TRANSMIT_DEFAULTS,
};

export interface DemoClassResult {
  id: number;
  weight: number;
  packets: number;
  bytes: number;
  share: number;
  expectedShare: number;
  drops: number;
  /** Queueing delay (drain → release), over the whole run. */
  delayNs: { p50: number; p99: number };
}

export interface DemoResult {
  scheduler: string;
  backend: Backend;
  rateBps: number;
  seconds: number;
  classes: DemoClassResult[];
  totals: { offered: number; sent: number; dropped: number; queued: number };
  /** Packets released per second of link time. */
  mpps: number;
  /** Wire bit rate achieved (incl. 24 B framing per packet). */
  achievedBps: number;
  /** The run for `pspat report`: counters, per-stage histograms, per-class bytes every TICK_MS. */
  run: Run;
}

/** `onProgress(fraction)` is called every TICK_MS of the run (a progress bar). */
export async function runDemo(options: DemoOptions = {}, onProgress?: (fraction: number) => void): Promise<DemoResult> {
  const o = withDefaults(DEMO_DEFAULTS, options);
  const plan = planPlacement(options, 1);
  if (!(o.seconds > 0 && o.seconds <= 3600)) throw new InvalidOptionError('seconds', `must be in (0, 3600], got ${o.seconds}`);
  if (!(o.warmup >= 0 && o.warmup <= 60)) throw new InvalidOptionError('warmup', `must be in [0, 60] seconds, got ${o.warmup}`);
  if (!Number.isInteger(o.clients) || o.clients < 1 || o.clients > 256) {
    throw new InvalidOptionError('clients', `must be an integer in [1, 256], got ${o.clients}`);
  }
  if (!Number.isInteger(o.framesPerClient) || o.framesPerClient < 1 || o.framesPerClient > 65536) {
    throw new InvalidOptionError('frames', `must be an integer in [1, 65536], got ${o.framesPerClient}`);
  }
  if (o.weights.length === 0) throw new InvalidOptionError('weights', 'at least one class is needed');
  validateSizes(o.minSize, o.maxSize, ARBITER_DEFAULTS.frameSize);
  const classes = o.weights.map((_, i) => i);
  const series: number[][] = classes.map(() => []);
  const last = classes.map(() => 0);
  const { before, after, final } = await saturateLink({
    arbiter: arbiterPlacement(plan, 0),
    link: {
      rate: o.rate,
      scheduler: o.scheduler,
      ...transmitOptionsOf(o),
      maxClasses: slotsFor(o.scheduler, o.weights.length),
      stageSample: o.stageSample,
      classes: weightedClasses(o.scheduler, o.weights, o.rate, { limitPackets: o.limit }),
    },
    clients: o.clients,
    framesPerClient: o.framesPerClient,
    spec: (i) => ({ classes, minSize: o.minSize, maxSize: o.maxSize, packets: Infinity, seed: o.seed + i }),
    warmupMs: o.warmup * 1000,
    windowMs: o.seconds * 1000,
    onTick: (link, elapsedMs) => {
      for (const c of classes) {
        const { bytes } = link.liveSent(c);
        if (elapsedMs > TICK_MS) series[c].push(bytes - last[c]);
        last[c] = bytes;
      }
      onProgress?.(elapsedMs / (o.seconds * 1000));
    },
  });
  return summarize(o, before, after, final, series);
}

/** Per-class figures over the measurement window (before → after). */
function windowOf(before: LinkStats, after: LinkStats, leaves: number) {
  // Slots from `leaves` on are inner classes (htb's parent): they carry no traffic of their own.
  return after.classes
    .filter((c) => c.slot < leaves)
    .map((c) => {
      const b = before.classes.find((x) => x.slot === c.slot);
      return {
        slot: c.slot,
        sentPackets: c.sentPackets - (b?.sentPackets ?? 0),
        sentBytes: c.sentBytes - (b?.sentBytes ?? 0),
        offeredBytes: c.offeredBytes - (b?.offeredBytes ?? 0),
        droppedPackets: c.droppedPackets - (b?.droppedPackets ?? 0),
        queue: c.stages.queue,
      };
    });
}

/**
 * What each class should have sent of `sent` bytes, given what it offered:
 *   fifo   serves in arrival order: in proportion to what was offered;
 *   prio   class i is band i: each band takes what it offered from what the higher
 *          bands left;
 *   sfq, fq_codel  share by flow, whatever the weights: each class's packets are one
 *          flow (their own UDP port), so the max-min fair split with equal weights;
 *   others (fair queueing, and htb as `weightedClasses` sets it up) the weighted
 *          max-min fair split: by weight on a saturated link, by demand when it keeps up.
 */
function expectedBytes(scheduler: string, offered: number[], weights: number[], sent: number): number[] {
  const offeredTotal = offered.reduce((a, b) => a + b, 0);
  if (scheduler === 'fifo') return offered.map((b) => (offeredTotal > 0 ? (b / offeredTotal) * sent : 0));
  if (findScheduler(scheduler).hashesFlows)
    return maxMinFairShares(
      offered,
      offered.map(() => 1),
      sent,
    );
  if (scheduler === 'prio') {
    let left = sent;
    return offered.map((b) => {
      const got = Math.min(b, left);
      left -= got;
      return got;
    });
  }
  return maxMinFairShares(offered, weights, sent);
}

/**
 * Shares, rates and drops come from the measurement window; delay percentiles from the
 * whole run; totals from the final accounting after the arbiter stopped (exact).
 */
function summarize(o: typeof DEMO_DEFAULTS, before: LinkStats, after: LinkStats, final: LinkStats, series: number[][]): DemoResult {
  const win = windowOf(before, after, o.weights.length);
  const sentBytes = win.reduce((a, c) => a + c.sentBytes, 0);
  const expected = expectedBytes(
    o.scheduler,
    win.map((c) => c.offeredBytes),
    win.map((c) => o.weights[c.slot]),
    sentBytes,
  );
  const classes = win.map((c, i) => ({
    id: c.slot,
    weight: o.weights[c.slot],
    packets: c.sentPackets,
    bytes: c.sentBytes,
    share: sentBytes > 0 ? c.sentBytes / sentBytes : 0,
    expectedShare: sentBytes === 0 ? 0 : expected[i] / sentBytes,
    drops: c.droppedPackets,
    delayNs: { p50: c.queue?.quantile(0.5) ?? 0, p99: c.queue?.quantile(0.99) ?? 0 },
  }));
  const windowNs = after.nowNs - before.nowNs;
  const result = {
    scheduler: o.scheduler,
    backend: o.backend,
    rateBps: o.rate,
    seconds: o.seconds,
    classes,
    totals: final.totals,
    mpps: ((after.totals.sent - before.totals.sent) / windowNs) * 1e3,
    achievedBps: ((after.wireBytes - before.wireBytes) * 8e9) / windowNs,
  };
  return { ...result, run: demoRun(o, result, final, series) };
}

function demoRun(o: typeof DEMO_DEFAULTS, r: Omit<DemoResult, 'run'>, final: LinkStats, series: number[][]): Run {
  return {
    name: `demo ${o.scheduler}`,
    kind: 'demo',
    createdAt: new Date().toISOString(),
    config: o,
    counters: { ...r.totals, mpps: r.mpps, achievedBps: r.achievedBps },
    stageSample: final.stageSample,
    classes: r.classes.map((c) => ({
      id: String(c.id),
      counters: { weight: c.weight, packets: c.packets, bytes: c.bytes, share: c.share, expectedShare: c.expectedShare, drops: c.drops },
      stages: stagesJson(final.classes.find((f) => f.slot === c.id)?.stages ?? {}),
    })),
    series: { intervalNs: TICK_MS * 1e6, classes: r.classes.map((c) => ({ id: String(c.id), bytes: series[c.id] })) },
  };
}
