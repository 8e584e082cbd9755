/**
 * The options of an arbiter and of each link it serves: one declaration, with defaults and
 * validation, shared by the library API and the CLI (which maps flags onto these fields).
 */
import { InvalidOptionError } from './errors.js';
import { FRAME_SIZES } from './shm/frame-pool.js';
import { findScheduler } from '../schedulers/registry.js';
import type { ClassParams, RootParams } from '../schedulers/types.js';
import { BACKENDS, isNativeBackend, type Backend } from './transmit/ports.js';
import { isXdpMode, type XdpMode } from './transmit/native-port.js';
import { ARBITER_WAITS, MAX_PRIORITY, UNPLACED, type ArbiterWait, type ThreadPlacement } from './placement.js';

export interface ArbiterOptions {
  /** Frames in the shared pool (all links and clients draw from it). @default 16384 */
  poolFrames?: number;
  /** Bytes per frame; the largest packet a client may send. @default 2048 */
  frameSize?: number;
  /** Most entries the arbiter drains from one mailbox per pass. @default 64 */
  drainBatch?: number;
  /** Most packets one link releases per pass (PSPAT caps this so no burst passes the link). @default 256 */
  releaseBatch?: number;
  /**
   * Idle passes spent spinning before parking on Atomics.wait (`wait: 'adaptive'`). At
   * real-time priority (placement.priority > 0) the default is 0, park at once: the
   * doorbell's wake-up preempts ordinary work within microseconds, while a spinning
   * real-time thread takes its CPU from the senders and the softirq it waits on, until
   * the kernel's real-time throttling stops it for tens of milliseconds (BENCHMARKS.md,
   * "A real-time arbiter parks at once").
   * @default 200 (0 at real-time priority)
   */
  spinPasses?: number;
  /**
   * How the idle arbiter waits: `adaptive` spins `spinPasses`, then parks on its doorbell;
   * `poll` never parks — only for an arbiter placed on a CPU of its own (placement.ts).
   * @default 'adaptive'
   */
  wait?: ArbiterWait;
  /** The arbiter thread's CPUs and real-time priority. @default UNPLACED (inherited, normal policy) */
  placement?: ThreadPlacement;
  /** Placement of the client threads started for this arbiter's links (generators, capture). @default UNPLACED */
  clientPlacement?: ThreadPlacement;
  /** Placement of the transmit workers this arbiter's links start. @default UNPLACED */
  txPlacement?: ThreadPlacement;
}

export interface ClassSpec extends ClassParams {
  /** Class slot (dense index stamped by clients). @default its position in `classes` */
  slot?: number;
}

/** Where a link's released packets go. */
export interface TransmitOptions {
  /** Transmit backend: null, pcap (file `out`), afxdp or afpacket (device `dev`). @default 'null' */
  backend?: Backend;
  /** pcap backend: the file to write. @default '' (required with pcap) */
  out?: string;
  /** afxdp / afpacket: the interface to transmit on. @default '' (required with them) */
  dev?: string;
  /** afxdp: the device queue to bind. @default 0 */
  queue?: number;
  /** afxdp: bind mode; `auto` tries zero-copy, then copy. @default 'auto' */
  xdpMode?: XdpMode;
  /**
   * Transmit workers: 0 sends inline from the arbiter (right on small machines); M ≥ 1
   * runs M afxdp / afpacket ports on their own threads, worker i on queue `queue + i`, fed
   * by rings from the arbiter. @default 0
   */
  txWorkers?: number;
}

export const TRANSMIT_DEFAULTS: Required<TransmitOptions> = {
  backend: 'null',
  out: '',
  dev: '',
  queue: 0,
  xdpMode: 'auto',
  txWorkers: 0,
};

/** The transmit fields of `o` (which may carry others). */
export function transmitOptionsOf(o: Required<TransmitOptions>): Required<TransmitOptions> {
  const { backend, out, dev, queue, xdpMode, txWorkers } = o;
  return { backend, out, dev, queue, xdpMode, txWorkers };
}

export interface LinkOptions extends TransmitOptions {
  /** Link rate in bit/s; packets are paced to it including 24 B of framing each. @default 1e9 */
  rate?: number;
  /** Scheduler kind from the registry. @default 'drr' */
  scheduler?: string;
  /** Parameters of the scheduler itself (FIFO limits, DRR base quantum). @default {} */
  schedulerParams?: RootParams;
  /**
   * The most link time the link clock may lag the real clock, in ns: after the arbiter
   * was held up (descheduled, a GC pause, a long command) it releases at most this much
   * at once, and the rest of the time it missed is forgotten, not sent as a burst (as
   * htb's burst bounds a class). 0 picks max(1 ms, one release batch of full frames).
   * @default 0
   */
  maxLagNs?: number;
  /**
   * Stage delays (mailbox, queue, tx) are recorded for one packet in this many of each
   * class: 1 records every packet. A histogram record is a third of an arbiter decision's
   * cost (BENCHMARKS.md), so at millions of packets a second a sample is the cheaper way
   * to keep every class's delay percentiles; counters stay exact, and every report that
   * shows stage delays says the rate. @default 1
   */
  stageSample?: number;
  /** Class slots this link can hold. @default 64 */
  maxClasses?: number;
  /** Classes created with the link. @default [] */
  classes?: ClassSpec[];
}

/** `spinPasses` of an arbiter at real-time priority, unless given (see ArbiterOptions). */
export const REAL_TIME_SPIN_PASSES = 0;

export const ARBITER_DEFAULTS: Required<ArbiterOptions> = {
  poolFrames: 16384,
  frameSize: 2048,
  drainBatch: 64,
  releaseBatch: 256,
  spinPasses: 200,
  wait: 'adaptive',
  placement: UNPLACED,
  clientPlacement: UNPLACED,
  txPlacement: UNPLACED,
};

export const LINK_DEFAULTS: Required<LinkOptions> = {
  rate: 1e9,
  scheduler: 'drr',
  schedulerParams: {},
  maxLagNs: 0,
  stageSample: 1,
  maxClasses: 64,
  classes: [],
  ...TRANSMIT_DEFAULTS,
};

/** Sparsest stage sampling accepted: one packet in this many per class. */
export const MAX_STAGE_SAMPLE = 65536;

/** Most rate accepted: 1 Pbit/s (far beyond any port, so it means "unpaced"). */
export const MAX_RATE = 1e15;

function intIn(field: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new InvalidOptionError(field, `must be an integer in [${lo}, ${hi}], got ${v}`);
  }
}

export function resolveArbiterOptions(o: ArbiterOptions = {}): Required<ArbiterOptions> {
  const r = withDefaults(ARBITER_DEFAULTS, o);
  if (o.spinPasses === undefined && r.placement.priority > 0) r.spinPasses = REAL_TIME_SPIN_PASSES;
  intIn('poolFrames', r.poolFrames, 1, 1 << 22);
  if (!(FRAME_SIZES as readonly number[]).includes(r.frameSize)) {
    throw new InvalidOptionError('frameSize', `must be one of ${FRAME_SIZES.join(', ')}, got ${r.frameSize}`);
  }
  intIn('drainBatch', r.drainBatch, 1, 4096);
  intIn('releaseBatch', r.releaseBatch, 1, 4096);
  intIn('spinPasses', r.spinPasses, 0, 1e7);
  if (!(ARBITER_WAITS as readonly string[]).includes(r.wait)) {
    throw new InvalidOptionError('wait', `must be ${ARBITER_WAITS.join(' or ')}, got '${String(r.wait)}'`);
  }
  for (const [field, p] of [
    ['placement', r.placement],
    ['clientPlacement', r.clientPlacement],
    ['txPlacement', r.txPlacement],
  ] as const) {
    for (const c of p.cpus) intIn(`${field}.cpus`, c, 0, 4095);
    intIn(`${field}.priority`, p.priority, 0, MAX_PRIORITY);
    if (p.nice !== undefined) intIn(`${field}.nice`, p.nice, -20, 19);
  }
  return r;
}

export function resolveLinkOptions(o: LinkOptions = {}): Required<LinkOptions> {
  const r = withDefaults(LINK_DEFAULTS, o);
  if (typeof r.rate !== 'number' || !Number.isFinite(r.rate) || r.rate <= 0 || r.rate > MAX_RATE) {
    throw new InvalidOptionError('rate', `must be a positive number of bit/s up to ${MAX_RATE}, got ${r.rate}`);
  }
  findScheduler(r.scheduler);
  if (!(r.maxLagNs >= 0 && r.maxLagNs <= 10e9)) throw new InvalidOptionError('maxLagNs', `must be in [0, 1e10] ns (0: automatic), got ${r.maxLagNs}`);
  intIn('stageSample', r.stageSample, 1, MAX_STAGE_SAMPLE);
  intIn('maxClasses', r.maxClasses, 1, 1 << 20);
  checkTransmitOptions(r, true);
  const seen = new Set<number>();
  r.classes = r.classes.map((c, i) => {
    const slot = c.slot ?? i;
    intIn(`classes[${i}].slot`, slot, 0, r.maxClasses - 1);
    if (seen.has(slot)) throw new InvalidOptionError(`classes[${i}].slot`, `duplicate slot ${slot}`);
    seen.add(slot);
    return { ...c, slot };
  });
  return r;
}

/**
 * The transmit fields' own checks; with `target`, also that the backend has what it
 * writes to (a link's file or device; a daemon's devices come later, one per link).
 */
export function checkTransmitOptions(r: Required<TransmitOptions>, target: boolean): void {
  if (!(BACKENDS as readonly string[]).includes(r.backend)) {
    throw new InvalidOptionError('backend', `unknown backend '${String(r.backend)}' (known: ${BACKENDS.join(', ')})`);
  }
  if (target && r.backend === 'pcap' && !r.out) throw new InvalidOptionError('out', 'the pcap backend needs a file to write (--out FILE)');
  if (target && isNativeBackend(r.backend) && !r.dev) {
    throw new InvalidOptionError('dev', `the ${r.backend} backend needs an interface (--dev IF)`);
  }
  intIn('queue', r.queue, 0, 65535);
  intIn('txWorkers', r.txWorkers, 0, 16);
  if (r.txWorkers > 0 && !isNativeBackend(r.backend)) {
    throw new InvalidOptionError('txWorkers', `transmit workers run the afxdp and afpacket backends, not '${r.backend}'`);
  }
  if (!isXdpMode(r.xdpMode)) {
    throw new InvalidOptionError('xdpMode', `must be copy, zerocopy or auto, got '${r.xdpMode}'`);
  }
}

/** `defaults` overridden by the fields of `o` that are set (undefined means "default"). */
export function withDefaults<T extends object>(defaults: Required<T>, o: T): Required<T> {
  return { ...defaults, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
}
