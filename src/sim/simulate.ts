/**
 * The virtual-time simulator behind `pspat sim`: one scheduler from the registry, driven
 * exactly as the arbiter drives it (enqueue on arrival, `dequeue(now)` when the link is
 * free, `wakeAt` when a shaper holds packets), on a link that takes len·8/R to send a
 * packet — with no threads, no wall clock and no noise. Every scheduler compared on a
 * workload sees the same arrivals (arrivals.ts).
 *
 * Event loop: the clock t jumps from one decision to the next. At each decision, the
 * arrivals up to t join their queues in time order; then the link, if free, takes
 * `dequeue(t)` and is busy until t + len·8/R. With nothing to send, t jumps to the next
 * arrival or to the shaper's `wakeAt`. Saturating flows never arrive: each keeps
 * SATURATING_DEPTH packets queued (one is added whenever one leaves, at the same instant),
 * so it is backlogged from 0 to the end, as the fluid model assumes.
 *
 * What is measured, per flow:
 *   share         bytes sent·8 / (R·T), T = the run's length (its duration, or the end of
 *                 the last packet started before it);
 *   idealShare    the weighted max-min fair share of R for the flows' offered rates
 *                 (saturating = unbounded; on/off = rate·on/(on+off); for htb, capped at
 *                 the class's ceil);
 *   delay         arrival → end of transmission, over the packets sent (a saturating flow's
 *                 "arrival" is when its packet was added, so its delay is its standing
 *                 queue's); packets still queued at the end are not in it — see `queued`.
 *                 Kept as histograms by stage for `pspat report`: queue (arrival → start of
 *                 transmission), tx (its transmission time), e2e (arrival → its last bit
 *                 reaches the link's far end: the one-way delay, no propagation);
 *   series        bytes each flow started sending in each of SERIES_BINS equal intervals;
 *   maxLagBytes   max over t of W_i^GPS(t) − W_i(t), the fluid system's service (gps.ts,
 *                 fed the packets the scheduler accepted) minus what the link has sent,
 *                 counting a packet as it goes out. Between two of flow i's packets W_i is
 *                 flat while W_i^GPS can only grow, and while one goes out W_i grows at the
 *                 full link rate, so the maximum is reached when one of flow i's packets
 *                 starts, or at the end: exactly where it is sampled;
 *   maxLagPackets maxLagBytes / L_max, L_max the workload's largest packet;
 *   jain          Jain's index (Σx)²/(n·Σx²) over x_i = share_i / idealShare_i.
 * Every packet is accounted for: in = sent + dropped + queued, per flow.
 */
import { InvalidOptionError, PspatError } from '../errors.js';
import { Histogram } from '../stats/histogram.js';
import type { StageHistograms } from '../stats/class-histograms.js';
import { maxMinFairShares } from '../stats/fair-share.js';
import { IndexedHeap } from '../../schedulers/indexed-heap.js';
import { FQ_CODEL_DEFAULTS } from '../../schedulers/fq-codel.js';
import { QFQ_MIN_LMAX } from '../../schedulers/qfq.js';
import { SFQ_DEFAULTS } from '../../schedulers/sfq.js';
import { findScheduler } from '../../schedulers/registry.js';
import { ENQUEUED, type ClassParams } from '../../schedulers/types.js';
import { slotsFor, weightedClasses } from '../../schedulers/weighted-classes.js';
import { FlowArrivals } from './arrivals.js';
import { FluidGps } from './gps.js';
import { maxSize, offeredRate, type Workload } from './workload.js';

/** Packets a saturating flow keeps queued: more than one, so a flow never empties as its packet leaves. */
export const SATURATING_DEPTH = 8;
/** tc's default queue limit, which the schedulers apply when a flow sets none. */
const DEFAULT_LIMIT = 1000;
/** Frames the simulator will allocate for all queues together. */
const MAX_POOL_FRAMES = 4 << 20;

export interface SimFlowResult {
  id: string;
  weight: number;
  share: number;
  idealShare: number;
  throughputBps: number;
  maxLagBytes: number;
  maxLagPackets: number;
  delayNs: { p50: number; p99: number; max: number };
  /** Delay histograms by stage (not in --json output: `pspat report` reads them from RUN.json). */
  stages: StageHistograms;
  /** Bytes sent per interval of `SimResult.seriesIntervalNs`. */
  series: number[];
  in: number;
  sent: number;
  dropped: number;
  queued: number;
}

export interface SimResult {
  scheduler: string;
  jain: number;
  /** Simulated time the run covered, ns. */
  elapsedNs: number;
  seriesIntervalNs: number;
  flows: SimFlowResult[];
}

/** Intervals the throughput series cuts a run into. */
export const SERIES_BINS = 100;

export interface SimReport {
  workload: Workload;
  results: SimResult[];
}

/**
 * The class each flow becomes under `kind` (flow i is slot i), with the flow's own
 * parameters on top; a scheduler that queues by flow hash (sfq, fq_codel) gets one class
 * for all, and tells the flows apart by their hashes.
 */
function flowClasses(kind: string, hashes: boolean, w: Workload): (ClassParams & { slot: number })[] {
  if (hashes) return [{ slot: 0 }];
  const base = weightedClasses(
    kind,
    w.flows.map((f) => f.weight),
    w.linkRate,
  );
  return base.map((c) => {
    const f = w.flows[c.slot];
    if (f === undefined) return c; // htb's parent
    // QFQ's group comes from the flow's largest packet unless the flow says otherwise.
    return { ...c, maxpkt: Math.max(QFQ_MIN_LMAX, maxSize(f.size)), ...f.params };
  });
}

function jainIndex(x: number[]): number {
  if (x.length === 0) return 1;
  const sum = x.reduce((a, b) => a + b, 0);
  const sq = x.reduce((a, b) => a + b * b, 0);
  return sq === 0 ? 1 : (sum * sum) / (x.length * sq);
}

export function simulate(w: Workload, kind: string): SimResult {
  const n = w.flows.length;
  const flows = w.flows;
  const saturating = flows.map((f) => f.arrival.type === 'saturating');
  const scheduler = findScheduler(kind);
  const hashes = scheduler.hashesFlows === true;
  const classes = flowClasses(kind, hashes, w);

  const perFlowFrames = flows.map((f, i) => (saturating[i] ? SATURATING_DEPTH : (f.params.limitPackets ?? DEFAULT_LIMIT)));
  // sfq and fq_codel hold packets up to their own total limit, not the flows' class limits.
  const poolFrames = perFlowFrames.reduce((a, b) => a + b, 0) + (hashes ? Math.max(SFQ_DEFAULTS.limit, FQ_CODEL_DEFAULTS.limit) : 0);
  if (poolFrames > MAX_POOL_FRAMES) {
    throw new InvalidOptionError('flows', `queue limits add up to ${poolFrames} packets; the simulator holds at most ${MAX_POOL_FRAMES} (lower 'limit')`);
  }
  const frames = {
    len: new Uint32Array(poolFrames),
    cls: new Int32Array(poolFrames),
    flow: new Uint32Array(poolFrames),
    queuedAt: new Float64Array(poolFrames),
  };
  /** The workload flow of each frame (its class is 0 for a flow-hashing scheduler). */
  const flowOf = new Int32Array(poolFrames);
  const dropped = new Float64Array(n);
  const free = Int32Array.from({ length: poolFrames }, (_, k) => k);
  let freeTop = poolFrames;
  // Frames the scheduler drops after taking them (sfq's longest flow, CoDel): counted, freed.
  const drop = (f: number): void => {
    dropped[flowOf[f]]++;
    free[freeTop++] = f;
  };
  const clock = new Float64Array(1);
  const sched = scheduler.create({ frames, clock, poolFrames, maxClasses: hashes ? 1 : slotsFor(kind, n), drop });
  for (const c of classes) {
    try {
      sched.addClass(c.slot, c);
    } catch (e) {
      if (e instanceof PspatError || e instanceof RangeError) {
        throw new InvalidOptionError(c.slot < n ? `flow '${flows[c.slot].id}'` : 'htb parent', `${kind}: ${e.message}`);
      }
      throw e;
    }
  }

  const arrivedAt = new Float64Array(poolFrames);
  const nsPerByte = 8e9 / w.linkRate;
  const gps = new FluidGps(
    flows.map((f) => f.weight),
    saturating,
    w.linkRate / 8e9,
  );
  const sources = flows.map((f, i) => new FlowArrivals(f.arrival, f.size, w.seed, i));
  const pending = new IndexedHeap(n);
  sources.forEach((s, i) => {
    if (s.nextTime >= w.durationNs) return;
    pending.key[i] = s.nextTime;
    pending.push(i);
  });

  const inCount = new Float64Array(n);
  const sent = new Float64Array(n);
  const sentBytes = new Float64Array(n);
  const maxLag = new Float64Array(n);
  const stages = flows.map(() => ({ queue: new Histogram(), tx: new Histogram(), e2e: new Histogram() }));
  const binNs = w.durationNs / SERIES_BINS;
  const series = flows.map(() => new Array<number>(SERIES_BINS).fill(0));

  const admit = (i: number, len: number, at: number): void => {
    // The pool holds every queue at its limit, so a frame is always free here.
    if (freeTop === 0) throw new Error(`sim: frame pool of ${poolFrames} exhausted under ${kind}`);
    const f = free[--freeTop];
    frames.len[f] = len;
    frames.cls[f] = hashes ? 0 : i;
    frames.flow[f] = i + 1;
    frames.queuedAt[f] = at;
    flowOf[f] = i;
    arrivedAt[f] = at;
    inCount[i]++;
    if (sched.enqueue(f) !== ENQUEUED) {
      dropped[i]++;
      free[freeTop++] = f;
    } else if (!saturating[i]) gps.arrive(i, len, at);
  };

  for (let i = 0; i < n; i++) {
    if (saturating[i]) for (let k = 0; k < SATURATING_DEPTH; k++) admit(i, sources[i].drawSize(), 0);
  }

  let t = 0;
  for (;;) {
    for (let i = pending.top(); i >= 0 && pending.key[i] <= t; i = pending.top()) {
      const s = sources[i];
      admit(i, s.nextSize, s.nextTime);
      s.advance();
      if (s.nextTime < w.durationNs) {
        pending.key[i] = s.nextTime;
        pending.rekey(i);
      } else {
        pending.remove(i);
      }
    }
    if (t >= w.durationNs) break;
    clock[0] = t;
    const f = sched.dequeue();
    if (f >= 0) {
      const i = flowOf[f];
      const len = frames.len[f];
      gps.advanceTo(t);
      maxLag[i] = Math.max(maxLag[i], gps.served(i) - sentBytes[i]);
      const end = t + len * nsPerByte;
      const st = stages[i];
      st.queue.record(t - arrivedAt[f]);
      st.tx.record(end - t);
      st.e2e.record(end - arrivedAt[f]);
      series[i][Math.min(SERIES_BINS - 1, Math.floor(t / binNs))] += len;
      sentBytes[i] += len;
      sent[i]++;
      free[freeTop++] = f;
      if (saturating[i]) admit(i, sources[i].drawSize(), t);
      t = end;
      continue;
    }
    // Nothing to send now: on to the next arrival, or to when the shaper lets a packet go.
    const wake = sched.backlog > 0 && sched.wakeAt > t ? sched.wakeAt : Infinity;
    const next = Math.min(pending.size > 0 ? pending.key[pending.top()] : Infinity, wake);
    if (next >= w.durationNs) break;
    t = next;
  }

  const elapsedNs = Math.max(t, w.durationNs);
  gps.advanceTo(elapsedNs);
  const lMax = Math.max(...flows.map((f) => maxSize(f.size)));
  const demands = flows.map((f) => Math.min(offeredRate(f.arrival), kind === 'htb' ? (f.params.ceil ?? Infinity) : Infinity));
  const ideal = maxMinFairShares(
    demands,
    flows.map((f) => f.weight),
    w.linkRate,
  );
  // Per flow, what is still queued; a flow-hashing scheduler counts only per class, so its
  // flows' figures come from what went in and out — checked against its total backlog.
  const queued = flows.map((_, i) => (hashes ? inCount[i] - sent[i] - dropped[i] : sched.backlogPackets(i)));
  if (queued.reduce((a, b) => a + b, 0) !== sched.backlog) {
    throw new Error(`sim: ${kind} holds ${sched.backlog} packets, the flows account for ${queued.reduce((a, b) => a + b, 0)}`);
  }
  const results = flows.map((f, i): SimFlowResult => {
    const lag = Math.max(maxLag[i], gps.served(i) - sentBytes[i]);
    const throughputBps = (sentBytes[i] * 8e9) / elapsedNs;
    return {
      id: f.id,
      weight: f.weight,
      share: throughputBps / w.linkRate,
      idealShare: ideal[i] / w.linkRate,
      throughputBps,
      maxLagBytes: lag,
      maxLagPackets: lag / lMax,
      delayNs: { p50: stages[i].e2e.quantile(0.5), p99: stages[i].e2e.quantile(0.99), max: stages[i].e2e.max },
      stages: stages[i],
      series: series[i],
      in: inCount[i],
      sent: sent[i],
      dropped: dropped[i],
      queued: queued[i],
    };
  });
  const normalised = results.filter((r) => r.idealShare > 0).map((r) => r.share / r.idealShare);
  return { scheduler: kind, jain: jainIndex(normalised), elapsedNs, seriesIntervalNs: binNs, flows: results };
}

/** Runs each scheduler on the same workload; `onDone` after each (progress). */
export function simulateAll(w: Workload, kinds: readonly string[], onDone?: () => void): SimReport {
  return {
    workload: w,
    results: kinds.map((k) => {
      const r = simulate(w, k);
      onDone?.();
      return r;
    }),
  };
}
