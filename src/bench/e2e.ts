/**
 * `pspat bench e2e`: one veth into a fresh sink namespace, three ways of sending on it
 * (e2e-modes.ts: raw, tc, pspat), measured the same way in the same run.
 *
 * Per mode, phases of `seconds` each after a warm-up:
 *   1. saturation: senders flat out. Mpps and Gbit/s from the far end's kernel rx counter;
 *      per-class share error from the scheduler's own counters (htb's, the arbiter's)
 *      against the configured weights (equal); with `--rate`, delivered / configured;
 *   2. one phase per load in `loads` (default 50% and 95%): senders paced to that fraction
 *      of the mode's own saturation rate, every frame stamped, its arrival timed by the
 *      sink's kernel (stamp-sink.ts): one-way delay percentiles, per class and overall.
 * With `clientsCurve`, then the senders curve: a saturation phase of tc and pspat at each
 * sender count (raw has one sender whatever the count), so whether a mode's rate holds as
 * senders are added reads from one table — pspat's clients never wait on each other, the
 * kernel's senders share the qdisc's lock.
 * The topology is removed afterwards, whatever happens.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { validateSizes } from '../../traffic/generators.js';
import { MIN_STAMPED_FRAME } from '../../traffic/packet.js';
import { InvalidOptionError } from '../errors.js';
import { WIRE_OVERHEAD_BYTES } from '../arbiter/pacer.js';
import { ARBITER_DEFAULTS, withDefaults } from '../options.js';
import { createSinkTopology, sinkPackets, type SinkTopology } from '../testbed/netns.js';
import { stagesJson, type Run, type RunClass } from '../report/run-file.js';
import { ARBITER_STAGES, type ArbiterStage, type StageHistograms } from '../stats/class-histograms.js';
import { describePlan, planPlacement, type PlacementOptions, type PlacementPlan } from '../placement.js';
import { startLoadHogs } from './load-hogs.js';
import { stealNs } from './cpu-time.js';
import type { ThreadWaits } from '../stats/thread-waits.js';

import { Histogram } from '../stats/histogram.js';
import type { XdpMode } from '../transmit/native-port.js';
import { nativeAddon } from '../transmit/native.js';
import { isNativeBackend, type NativeBackend } from '../transmit/ports.js';
import { findScheduler } from '../../schedulers/registry.js';
import { MODES, modeDriver, type ArbiterCollections, type ArbiterSoFar, type Mode, type ModeDriver, type ModeSetup } from './e2e-modes.js';
import { StampSink } from './stamp-sink.js';
import { makeClock } from '../clock.js';

/** Frames are pool frames: the arbiter's default size bounds every mode's packets. */
const FRAME_SIZE = ARBITER_DEFAULTS.frameSize;
/**
 * How long each phase runs before its window opens. pspat's arbiter collects garbage
 * 7–15 times in its first ~0.7 s — its loop runs interpreted and then in baseline code,
 * which boxes doubles, until the optimising compiler has it — and then not at all. With
 * 300 ms, one to five of those collections (up to 13 ms, each a stall every packet
 * waiting meanwhile sat through) fell in the window: the JIT's warm-up, which a daemon
 * pays once, measured as delay (BENCHMARKS.md).
 */
const WARMUP_MS = 1000;

export interface E2eOptions extends PlacementOptions {
  /** afxdp or afpacket: the raw and pspat modes' port (tc is AF_PACKET through the qdisc). @default 'afxdp' */
  backend?: NativeBackend;
  /** Modes to run, in order. @default ['raw', 'tc', 'pspat'] */
  modes?: Mode[];
  /** Sender threads in tc mode, generator clients in pspat mode. @default 2 */
  clients?: number;
  /** Classes (equal weights) in tc and pspat modes. @default 64 */
  classes?: number;
  /** Scheduler in pspat mode. @default 'drr' */
  scheduler?: string;
  /** Frame size in bytes. @default 64 */
  size?: number;
  /** Seconds measured per phase. @default 3 */
  seconds?: number;
  /** AF_XDP bind mode (veth supports copy only). @default 'copy' */
  xdpMode?: XdpMode;
  /** Transmit workers in pspat mode. @default 0 */
  txWorkers?: number;
  /** Link rate, bit/s, shaped by htb (tc) and the arbiter (pspat); 0: unshaped. @default 0 */
  rate?: number;
  /** Loads, as fractions of each mode's saturation rate, at which one-way delay is measured; [] for none. @default [0.5, 0.95] */
  loads?: number[];
  /** Busy CPU hogs (normal priority, unpinned) running through every mode: a busy host. @default 0 */
  loadHogs?: number;
  /** Sender counts at which tc and pspat are saturated again after the main run (the senders curve); [] for none. @default [] */
  clientsCurve?: number[];
  /**
   * Whose saturation the loads are fractions of: 'own' (each mode's), or a mode listed
   * first in `modes`, so every mode is timed at the same packet rate — a mode that
   * saturates higher is otherwise timed at a higher rate. @default 'own'
   */
  loadsOf?: Mode | 'own';
}

type E2eSettings = Required<Omit<E2eOptions, keyof PlacementOptions>>;

/** Placement has no fixed defaults: what is left out follows the plan (src/placement.ts). */
export const E2E_DEFAULTS: E2eSettings = {
  backend: 'afxdp',
  modes: ['raw', 'tc', 'pspat'],
  clients: 2,
  classes: 64,
  scheduler: 'drr',
  size: 64,
  seconds: 3,
  xdpMode: 'copy',
  txWorkers: 0,
  rate: 0,
  loads: [0.5, 0.95],
  loadHogs: 0,
  clientsCurve: [],
  loadsOf: 'own',
};

/** The settings a run used: the options resolved, and where each thread ran. */
export type E2eParams = E2eSettings & { plan: PlacementPlan; placement: string };

export interface LatencyNs {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

export interface LoadResult {
  load: number;
  /** What the sink received while paced, Mpps. */
  mpps: number;
  latencyNs: LatencyNs;
  /** Frames the sink timed. */
  timedPackets: number;
  /** How the sink stamped arrivals: its XDP program, or an AF_PACKET socket (where XDP would not load). */
  sink: 'xdp' | 'packet';
  /** pspat: the same window's delay by stage inside pspat (mailbox, queue, tx), over every class; null elsewhere. */
  stagesNs: Partial<Record<ArbiterStage, LatencyNs>> | null;
  /**
   * pspat: times in the window its arbiter went STALL_NS or more without a pass (off its CPU:
   * preempted, its virtual CPU stopped by the host, or a collection), and their total;
   * every packet waiting meanwhile waited that long. null elsewhere.
   */
  arbiterStalls: ArbiterStalls | null;
  /**
   * pspat: how long its arbiter, parked, took to run again after a client rang it (the
   * host's scheduler, or its VM's virtual CPU), and how often that happened. null elsewhere.
   */
  arbiterWakeNs: (LatencyNs & { wakes: number }) | null;
  /**
   * pspat: what the kernel's scheduler did to its arbiter thread in the window — how long
   * it was runnable and not running (preempted, or woken and waiting for a CPU), how often
   * it was preempted, how often it blocked itself. Where its stalls came from: a polling
   * arbiter that was never preempted nor blocked stalled in its own code (a collection).
   * null elsewhere, or where the kernel keeps no schedstat.
   */
  arbiterWaits: ThreadWaits | null;
  /** pspat: the collections its arbiter's isolate made in the window, and the longest (ns): a stall that was neither preemption nor a block. null elsewhere. */
  arbiterCollections: ArbiterCollections | null;
  /**
   * CPU time the hypervisor took from this virtual machine in the window (its steal time,
   * all CPUs, to 10 ms): a thread that had work and did not run meanwhile, whatever its
   * priority. 0 on bare metal.
   */
  hostStealNs: number;
}

export interface ModeResult {
  mpps: number;
  /** Frame bits per second received (without the 24 B of wire framing). */
  gbps: number;
  sinkPackets: number;
  /** The saturated window as measured (a busy host overshoots the asked `seconds`). */
  seconds: number;
  /** max over classes of |share − weight share| / weight share; null where nothing schedules (raw). */
  shareError: number | null;
  /** With `rate`: delivered wire bits / configured (both counting 24 B framing per packet). */
  rateAccuracy: number | null;
  /** One-way delay at the first load (50% by default); null without loads. */
  latencyNs: LatencyNs | null;
  loads: LoadResult[];
}

/** One point of the senders curve: each mode's saturation with `clients` senders. */
export interface CurvePoint {
  clients: number;
  mpps: Partial<Record<Mode, number>>;
}

export interface E2eResult {
  params: E2eParams;
  modes: Partial<Record<Mode, ModeResult>>;
  /** The senders curve (`clientsCurve`), in its order; [] without one. */
  clientsCurve: CurvePoint[];
  /** One RUN.json run per mode (`--save`): counters, per-class stages and e2e, delay vs load. */
  runs: Run[];
}

interface Phase {
  sinkPackets: number;
  ns: number;
  /** Per class, packets the scheduler sent in the window (null: no scheduler). */
  classSent: number[] | null;
  /** Per class, the sink's one-way delays (paced phases). */
  e2e: Map<number, Histogram>;
  timed: number;
  sink: 'xdp' | 'packet';
  /** pspat's per-class stage histograms over the window (not its warm-up or shutdown), as the e2e delay. */
  stages: Map<number, StageHistograms> | null;
  /** pspat: its arbiter's stalls in the window (LOOP_STALLS): count and total time, ns. */
  arbiterStalls: ArbiterStalls | null;
  /** pspat: its parked arbiter's wake-up latencies in the window (LoopStats.wake). */
  arbiterWake: Histogram | null;
  /** pspat: its arbiter thread's scheduler counts over the window (LoadResult.arbiterWaits). */
  arbiterWaits: ThreadWaits | null;
  /** pspat: its arbiter's collections in the window (LoadResult.arbiterCollections). */
  arbiterCollections: ArbiterCollections | null;
  /** The host's steal time in the window (LoadResult.hostStealNs). */
  hostStealNs: number;
}

/** Arbiter loop iterations that took STALL_NS or more without parking, and their total time (ns). */
export interface ArbiterStalls {
  count: number;
  ns: number;
}

/**
 * One phase: start the senders, warm up, measure a window, stop. The XDP sink counts what
 * arrives in every phase (a map read); only where it is an AF_PACKET socket (XDP would not
 * load) does a saturated phase go without it and count with `ip`, which forks: a fork
 * stops every thread of this process that touches memory meanwhile, milliseconds that a
 * window would measure as delay.
 */
async function runPhase(topo: SinkTopology, driver: ModeDriver, o: E2eParams, pps: number, tick: (ms: number) => void): Promise<Phase> {
  const timing = pps > 0;
  await driver.start(pps, timing);
  const now = makeClock(driver.epoch);
  let sink: StampSink | null = null;
  let window: Omit<Phase, 'e2e' | 'timed' | 'sink' | 'arbiterCollections'>;
  try {
    sink = new StampSink(topo.ns, topo.peer, driver.epoch);
    sink.from = Infinity; // nothing is timed until the window opens
    if (!timing && sink.kind !== 'xdp') {
      sink.close();
      sink = null;
    } else {
      sink.start();
    }
    await sleep(WARMUP_MS);
    const c0 = await driver.classSent();
    const a0 = await driver.arbiterSoFar('start');
    const [p0, t0] = sinkPacketsAt(topo, sink);
    const steal0 = stealNs();
    if (sink && timing) sink.from = now();
    for (let ms = 100; ms < o.seconds * 1000; ms += 100) {
      await sleep(t0 + ms - performance.now());
      tick(ms);
    }
    await sleep(t0 + o.seconds * 1000 - performance.now());
    if (sink) sink.until = now();
    const [p1, t1] = sinkPacketsAt(topo, sink);
    const steal1 = stealNs();
    const c1 = await driver.classSent();
    const a1 = await driver.arbiterSoFar('end');
    window = {
      sinkPackets: p1 - p0,
      ns: (t1 - t0) * 1e6,
      classSent: c0 && c1 ? c1.map((v, i) => v - c0[i]) : null,
      hostStealNs: steal1 - steal0,
      ...(a0 && a1 ? arbiterBetween(a0, a1) : { stages: null, arbiterStalls: null, arbiterWake: null, arbiterWaits: null }),
    };
  } finally {
    sink?.close();
    await driver.stop();
  }
  return {
    ...window,
    arbiterCollections: driver.arbiterCollections(),
    e2e: sink?.e2e ?? new Map(),
    timed: sink?.stamped ?? 0,
    sink: sink?.kind ?? 'packet',
  };
}

/** What pspat's arbiter recorded between two reads: the window's stages, stalls and wake-ups. */
function arbiterBetween(before: ArbiterSoFar, after: ArbiterSoFar): Pick<Phase, 'stages' | 'arbiterStalls' | 'arbiterWake' | 'arbiterWaits'> {
  const [w0, w1] = [before.waits, after.waits];
  return {
    stages: stagesBetween(before.stages, after.stages),
    arbiterStalls: { count: after.stalls - before.stalls, ns: after.stallNs - before.stallNs },
    arbiterWake: after.wake.subtract(before.wake),
    arbiterWaits: w0 && w1 ? { runDelayNs: w1.runDelayNs - w0.runDelayNs, preemptions: w1.preemptions - w0.preemptions, blocks: w1.blocks - w0.blocks } : null,
  };
}

/**
 * Per class, what its stage histograms recorded between two reads: the window's, as its
 * e2e delay is, rather than the phase's with its warm-up and shutdown.
 */
function stagesBetween(before: Map<number, StageHistograms>, after: Map<number, StageHistograms>): Map<number, StageHistograms> {
  const out = new Map<number, StageHistograms>();
  for (const [cls, stages] of after) {
    const window: StageHistograms = {};
    for (const stage of ARBITER_STAGES) {
      const h = stages[stage];
      if (h === undefined) continue;
      const earlier = before.get(cls)?.[stage];
      const recorded = earlier === undefined ? h : h.subtract(earlier);
      if (recorded.count > 0) window[stage] = recorded;
    }
    out.set(cls, window);
  }
  return out;
}

/**
 * Frames at the far end so far, and when they were counted: the XDP sink's own count, or
 * the device's from `ip` — then the middle of the read, which on a busy host takes tens of
 * milliseconds (stamping either end would skew the window by that).
 */
function sinkPacketsAt(topo: SinkTopology, sink: StampSink | null): [packets: number, ms: number] {
  if (sink?.kind === 'xdp') return [sink.received, performance.now()];
  const before = performance.now();
  const packets = sinkPackets(topo);
  return [packets, (before + performance.now()) / 2];
}

const mppsOf = (p: Phase): number => (p.sinkPackets / p.ns) * 1e3;

function shareError(sent: number[] | null): number | null {
  if (sent === null) return null;
  const total = sent.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const fair = 1 / sent.length; // equal weights
  return Math.max(...sent.map((s) => Math.abs(s / total - fair) / fair));
}

/** p50, p90, p99 and p99.9 of `hists` merged. */
export function percentiles(hists: Iterable<Histogram>): LatencyNs {
  const all = new Histogram();
  for (const h of hists) all.merge(h);
  const s = all.summary();
  return { p50: s.p50, p90: s.p90, p99: s.p99, p999: s.p999 };
}

/** Each arbiter stage's percentiles over every class of a pspat phase (`stages`: one per class). */
export function stagePercentiles(stages: StageHistograms[]): Partial<Record<ArbiterStage, LatencyNs>> {
  const out: Partial<Record<ArbiterStage, LatencyNs>> = {};
  for (const stage of ARBITER_STAGES) {
    const hs = stages.map((s) => s[stage]).filter((h): h is Histogram => h !== undefined);
    if (hs.length > 0) out[stage] = percentiles(hs);
  }
  return out;
}

/** `paceOf`: the saturation (Mpps) the loads are fractions of, when not the mode's own. */
async function runMode(
  mode: Mode,
  topo: SinkTopology,
  o: E2eParams,
  paceOf: number | undefined,
  progress: (phase: number, ms: number) => void,
): Promise<[ModeResult, Run]> {
  const setup: ModeSetup = { ...o, dev: topo.dev };
  const driver = modeDriver(mode, setup);
  try {
    const sat = await runPhase(topo, driver, o, 0, (ms) => progress(0, ms));
    const mpps = mppsOf(sat);
    const loads: LoadResult[] = [];
    const paced: Phase[] = [];
    for (const [i, load] of o.loads.entries()) {
      const p = await runPhase(topo, driver, o, load * (paceOf ?? mpps) * 1e6, (ms) => progress(i + 1, ms));
      paced.push(p);
      loads.push({
        load,
        mpps: mppsOf(p),
        latencyNs: percentiles(p.e2e.values()),
        timedPackets: p.timed,
        sink: p.sink,
        stagesNs: p.stages && stagePercentiles([...p.stages.values()]),
        arbiterStalls: p.arbiterStalls,
        arbiterWakeNs: p.arbiterWake && { wakes: p.arbiterWake.count, ...percentiles([p.arbiterWake]) },
        arbiterWaits: p.arbiterWaits,
        arbiterCollections: p.arbiterCollections,
        hostStealNs: p.hostStealNs,
      });
    }
    const result: ModeResult = {
      mpps,
      gbps: (sat.sinkPackets * o.size * 8) / sat.ns,
      sinkPackets: sat.sinkPackets,
      seconds: sat.ns / 1e9,
      shareError: shareError(sat.classSent),
      rateAccuracy: o.rate > 0 && mode !== 'raw' ? (sat.sinkPackets * (o.size + WIRE_OVERHEAD_BYTES) * 8e9) / sat.ns / o.rate : null,
      latencyNs: loads[0]?.latencyNs ?? null,
      loads,
    };
    return [result, modeRun(mode, o, result, sat, paced)];
  } finally {
    driver.teardown();
  }
}

/** Modes whose sender count the curve varies: raw always sends from one thread. */
const curveModes = (o: E2eParams): Mode[] => o.modes.filter((m) => m !== 'raw');

/** The senders curve: `mode` saturated with `clients` senders, the rest of the run's settings the same. */
async function saturationWith(mode: Mode, clients: number, topo: SinkTopology, o: E2eParams, progress: (ms: number) => void): Promise<number> {
  const driver = modeDriver(mode, { ...o, clients, dev: topo.dev });
  try {
    return mppsOf(await runPhase(topo, driver, o, 0, progress));
  } finally {
    driver.teardown();
  }
}

/** A mode as a RUN.json run: counters; per class its saturation counts, and stages and e2e from the first load; delay vs load. */
function modeRun(mode: Mode, o: E2eParams, r: ModeResult, sat: Phase, paced: Phase[]): Run {
  const counters: Record<string, number> = { mpps: r.mpps, gbps: r.gbps, sinkPackets: r.sinkPackets };
  if (r.shareError !== null) counters.shareError = r.shareError;
  if (r.rateAccuracy !== null) counters.rateAccuracy = r.rateAccuracy;
  for (const l of r.loads) for (const [k, v] of Object.entries(l.latencyNs)) counters[`load${l.load}.${k}Ns`] = v;
  const classes: RunClass[] = Array.from({ length: o.classes }, (_, c) => {
    const e2e = paced[0]?.e2e.get(c);
    const classCounters: Record<string, number> = sat.classSent ? { sentPackets: sat.classSent[c] } : {};
    return {
      id: String(c),
      counters: classCounters,
      // Stages and e2e from the same phase: the first load's, where delay is the point.
      stages: stagesJson({ ...(paced[0] ?? sat).stages?.get(c), ...(e2e && { e2e }) }),
    };
  });
  return {
    name: `bench e2e ${mode}`,
    kind: 'bench',
    createdAt: new Date().toISOString(),
    config: { ...o, mode },
    counters,
    classes,
    ...(paced.length > 0 && {
      sweep: paced.map((p, i) => ({ load: o.loads[i], classes: [...p.e2e].map(([c, h]) => ({ id: String(c), stages: stagesJson({ e2e: h }) })) })),
    }),
  };
}

function validate(o: E2eSettings): void {
  if (!isNativeBackend(o.backend)) throw new InvalidOptionError('backend', `e2e runs afxdp or afpacket, got '${o.backend}'`);
  validateSizes(o.size, o.size, FRAME_SIZE, o.loads.length > 0 ? MIN_STAMPED_FRAME : undefined);
  if (!(o.seconds > 0 && o.seconds <= 600)) throw new InvalidOptionError('seconds', `must be in (0, 600], got ${o.seconds}`);
  for (const m of o.modes) if (!MODES.includes(m)) throw new InvalidOptionError('modes', `unknown mode '${m}' (known: ${MODES.join(', ')})`);
  if (!Number.isInteger(o.classes) || o.classes < 1 || o.classes > 4096)
    throw new InvalidOptionError('classes', `must be an integer in [1, 4096], got ${o.classes}`);
  if (!(o.rate === 0 || (o.rate >= 1e6 && o.rate <= 1e11)))
    throw new InvalidOptionError('rate', `must be 0 (unshaped) or in [1mbit, 100gbit], got ${o.rate} bit/s`);
  for (const l of o.loads) if (!(l > 0 && l <= 1)) throw new InvalidOptionError('loads', `each must be a fraction in (0, 1], got ${l}`);
  if (o.loadsOf !== 'own' && o.modes[0] !== o.loadsOf) {
    throw new InvalidOptionError('loads-of', `'${o.loadsOf}' must be the first of the modes (it is measured first), got ${o.modes.join(',')}`);
  }
  for (const n of [o.clients, ...o.clientsCurve]) {
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidOptionError('clients', `must be an integer in [1, 64], got ${n}`);
  }
  if (!Number.isInteger(o.loadHogs) || o.loadHogs < 0 || o.loadHogs > 64)
    throw new InvalidOptionError('load-hogs', `must be an integer in [0, 64], got ${o.loadHogs}`);
  findScheduler(o.scheduler);
}

/** `onProgress(fraction)` follows the phases (a progress bar). */
export async function runE2e(options: E2eOptions = {}, onProgress?: (fraction: number) => void): Promise<E2eResult> {
  const settings = withDefaults(E2E_DEFAULTS, options);
  validate(settings);
  nativeAddon(); // fail early, with the reason, when the addon is missing
  const plan = planPlacement(options, 1);
  const o: E2eParams = { ...settings, plan, placement: describePlan(plan) };
  const topo = createSinkTopology('bench', false, Math.max(1, o.txWorkers));
  const hogs = startLoadHogs(o.loadHogs);
  // The curve re-measures no count the main run measured.
  const curveCounts = o.clientsCurve.filter((n) => n !== o.clients);
  const phases = 1 + o.loads.length;
  const total = o.modes.length * phases + curveCounts.length * curveModes(o).length;
  let done = 0;
  const progress = (ms: number) => onProgress?.((done + ms / (o.seconds * 1000)) / total);
  try {
    const result: E2eResult = { params: o, modes: {}, clientsCurve: [], runs: [] };
    for (const m of o.modes) {
      const paceOf = o.loadsOf === 'own' ? undefined : result.modes[o.loadsOf]?.mpps;
      const [r, run] = await runMode(m, topo, o, paceOf, (phase, ms) => progress(phase * o.seconds * 1000 + ms));
      done += phases;
      result.modes[m] = r;
      result.runs.push(run);
    }
    for (const clients of o.clientsCurve) {
      const mpps: CurvePoint['mpps'] = {};
      for (const m of curveModes(o)) {
        if (clients === o.clients) {
          mpps[m] = result.modes[m]!.mpps;
          continue;
        }
        mpps[m] = await saturationWith(m, clients, topo, o, progress);
        done++;
      }
      result.clientsCurve.push({ clients, mpps });
    }
    return result;
  } finally {
    hogs.stop();
    topo.destroy();
  }
}
