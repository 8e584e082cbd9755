/**
 * `pspat bench e2e`: the same veth, the same sink counter, two ways of sending.
 *   raw    the backend alone: one thread submits pre-built frames as fast as the port
 *          takes them (the physical limit of this path on this machine);
 *   pspat  N generator clients → mailboxes → the arbiter (scheduler S over K classes,
 *          pacing far above the machine) → the same backend.
 * Both count what the far end of the veth received (its kernel rx counter) over the
 * same length of time. The topology is a fresh network namespace, removed afterwards.
 */
import { performance } from 'node:perf_hooks';
import { validateSizes } from '../../clients/generators.js';
import { MIN_STAMPED_FRAME, writeStamp, writeTestFrame } from '../../clients/packet.js';
import { makeClock, newEpoch, type ClockEpoch } from '../clock.js';
import { Histogram } from '../stats/histogram.js';
import { StampSink } from './stamp-sink.js';
import { saturateLink } from '../../clients/saturate-link.js';
import { InvalidOptionError } from '../errors.js';
import { ARBITER_DEFAULTS, withDefaults } from '../options.js';
import { createSinkTopology, sinkPackets, type SinkTopology } from '../net/netns.js';
import { FramePool } from '../shm/frame-pool.js';
import { NativePort, type XdpMode } from '../transmit/native-port.js';
import { nativeAddon } from '../transmit/native.js';
import { isNativeBackend, type NativeBackend } from '../transmit/ports.js';
import { stagesJson, type Run } from '../report/run-file.js';
import type { LinkStats } from '../stats/link-stats.js';

/** Both modes use the arbiter's default frame size, so the same sizes are valid in each. */
const RAW_FRAME_SIZE = ARBITER_DEFAULTS.frameSize;

export interface E2eOptions {
  /** afxdp or afpacket. @default 'afxdp' */
  backend?: NativeBackend;
  /** Modes to run, in order. @default ['raw', 'pspat'] */
  modes?: ('raw' | 'pspat')[];
  /** Generator clients in pspat mode. @default 2 */
  clients?: number;
  /** Classes (DRR weight 1 each) in pspat mode. @default 4 */
  classes?: number;
  /** Scheduler in pspat mode. @default 'drr' */
  scheduler?: string;
  /** Frame size in bytes. @default 64 */
  size?: number;
  /** Seconds measured per mode. @default 3 */
  seconds?: number;
  /** AF_XDP bind mode (veth supports copy only). @default 'copy' */
  xdpMode?: XdpMode;
  /** Transmit workers in pspat mode. @default 0 */
  txWorkers?: number;
  /**
   * Stamp every frame and time its arrival at the sink (kernel timestamps): per-class
   * one-way delay (`e2e` in RUN.json) in each mode. The sink's socket costs the receiving
   * side some throughput, so rates are measured without it unless asked. @default false
   */
  latency?: boolean;
}

export const E2E_DEFAULTS: Required<E2eOptions> = {
  backend: 'afxdp', modes: ['raw', 'pspat'], clients: 2, classes: 4, scheduler: 'drr', size: 64, seconds: 3,
  xdpMode: 'copy', txWorkers: 0, latency: false,
};

export interface ModeResult {
  mpps: number;
  /** Frame bits per second received (without the 24 B of wire framing). */
  gbps: number;
  sinkPackets: number;
  sentPackets?: number;
  dropped?: number;
  /** With `latency`: one-way delay percentiles over every class (ns), and how many frames were timed. */
  latencyNs?: { p50: number; p90: number; p99: number; p999: number };
  timedPackets?: number;
}

export interface E2eResult {
  params: Required<E2eOptions>;
  modes: { raw?: ModeResult; pspat?: ModeResult };
  /** One RUN.json run per mode (`--save`): counters, and pspat's per-class stage histograms. */
  runs: Run[];
}

function modeResult(received: number, ns: number, size: number): ModeResult {
  return { mpps: (received / ns) * 1e3, gbps: (received * size * 8) / ns, sinkPackets: received };
}

/** Opens the sink when the run measures latency; null otherwise. */
function openSink(topo: SinkTopology, o: Required<E2eOptions>, epoch: ClockEpoch): StampSink | null {
  if (!o.latency) return null;
  const sink = new StampSink(topo.ns, topo.peer, epoch);
  sink.recording = false;
  return sink;
}

/** Adds the sink's figures to a mode's result (all classes merged). */
function withLatency(r: ModeResult, sink: StampSink | null): ModeResult {
  if (sink === null) return r;
  const all = new Histogram();
  for (const h of sink.e2e.values()) all.merge(h);
  const s = all.summary();
  return { ...r, latencyNs: { p50: s.p50, p90: s.p90, p99: s.p99, p999: s.p999 }, timedPackets: sink.stamped };
}

function runRaw(topo: SinkTopology, o: Required<E2eOptions>): [ModeResult, StampSink | null] {
  const addon = nativeAddon();
  const epoch = newEpoch();
  const now = makeClock(epoch);
  const sink = openSink(topo, o, epoch);
  const frames = 4096;
  const pool = new FramePool(FramePool.allocate(frames, RAW_FRAME_SIZE, (u8) => addon.pageOffset(u8)));
  for (let f = 0; f < frames; f++) {
    writeTestFrame(pool.bytes, pool.offsetOf(f), o.size, 0, 0, f);
    pool.len[f] = o.size;
  }
  const batch = 256;
  const port = new NativePort({ backend: o.backend, dev: topo.dev, queue: 0, xdpMode: o.xdpMode }, pool, batch);
  const free = Int32Array.from({ length: frames }, (_, i) => i);
  let freeCount = frames;
  const out = new Int32Array(batch);
  const done = new Int32Array(batch);
  const status = new Int32Array(batch);
  const s0 = sinkPackets(topo);
  const t0 = performance.now();
  const end = t0 + o.seconds * 1000;
  if (sink) sink.recording = true;
  try {
    // The port is the limit: submit whatever it takes, recycle what it completed.
    for (let i = 0; ; i++) {
      const n = Math.min(batch, freeCount);
      for (let k = 0; k < n; k++) out[k] = free[freeCount - n + k];
      if (sink) {
        const t = now();
        for (let k = 0; k < n; k++) writeStamp(pool.bytes, pool.offsetOf(out[k]), t);
      }
      freeCount -= port.submit(out, n);
      const r = port.reap(done, status, batch);
      for (let k = 0; k < r; k++) free[freeCount++] = done[k];
      if ((i & 255) === 0) {
        sink?.poll(); // this loop holds the thread: drain the sink from here
        if (performance.now() >= end) break;
      }
    }
  } finally {
    port.close();
    sink?.close();
  }
  const t1 = performance.now();
  return [withLatency(modeResult(sinkPackets(topo) - s0, (t1 - t0) * 1e6, o.size), sink), sink];
}

async function runPspat(topo: SinkTopology, o: Required<E2eOptions>, onTick: (elapsedMs: number) => void): Promise<[ModeResult, LinkStats, StampSink | null]> {
  const classes = Array.from({ length: o.classes }, (_, i) => i);
  let sink: StampSink | null = null;
  const { before, after, probes } = await saturateLink(
    {
      link: {
        rate: 1e15, scheduler: o.scheduler, backend: o.backend, dev: topo.dev, xdpMode: o.xdpMode, txWorkers: o.txWorkers,
        maxClasses: o.classes, classes: classes.map(() => ({ weight: 1, limitPackets: 256 })),
      },
      clients: o.clients,
      framesPerClient: 1024,
      spec: (i) => ({ classes, minSize: o.size, maxSize: o.size, packets: Infinity, seed: i + 1, stamp: o.latency }),
      warmupMs: 300,
      windowMs: o.seconds * 1000,
      onStart: (host) => {
        sink = openSink(topo, o, host.epoch);
        sink?.start();
      },
      onTick: (_, elapsedMs) => onTick(elapsedMs),
    },
    () => {
      // Window start: delays count from here; window end: no more.
      if (sink) sink.recording = !sink.recording;
      return { sink: sinkPackets(topo), ms: performance.now() };
    },
  ).finally(() => (sink as StampSink | null)?.close());
  const [p0, p1] = probes;
  const result = {
    ...modeResult(p1.sink - p0.sink, (p1.ms - p0.ms) * 1e6, o.size),
    sentPackets: after.totals.sent - before.totals.sent,
    dropped: after.totals.dropped - before.totals.dropped,
  };
  return [withLatency(result, sink), after, sink];
}

/** A mode as a RUN.json run: its counters; per class, pspat's stages and the sink's e2e. */
function modeRun(mode: string, o: Required<E2eOptions>, r: ModeResult, sink: StampSink | null, stats?: LinkStats): Run {
  const { sentPackets, dropped, latencyNs, timedPackets, ...counters } = r;
  const slots = new Set([...(stats?.classes ?? []).map((c) => c.slot), ...(sink?.e2e.keys() ?? [])]);
  return {
    name: `bench e2e ${mode}`,
    kind: 'bench',
    createdAt: new Date().toISOString(),
    config: { ...o, mode },
    counters: {
      ...counters,
      ...(sentPackets !== undefined && { sentPackets }),
      ...(dropped !== undefined && { dropped }),
      ...(timedPackets !== undefined && { timedPackets }),
    },
    classes: [...slots].sort((a, b) => a - b).map((slot) => {
      const c = stats?.classes.find((x) => x.slot === slot);
      const e2e = sink?.e2e.get(slot);
      const counters: Record<string, number> = c ? { sentPackets: c.sentPackets, sentBytes: c.sentBytes, droppedPackets: c.droppedPackets } : {};
      return {
        id: String(slot),
        counters,
        stages: stagesJson({ ...c?.stages, ...(e2e && { e2e }) }),
      };
    }),
  };
}

/** `onProgress(fraction)` follows the modes' measurement windows (a progress bar). */
export async function runE2e(options: E2eOptions = {}, onProgress?: (fraction: number) => void): Promise<E2eResult> {
  const o = withDefaults(E2E_DEFAULTS, options);
  if (!isNativeBackend(o.backend)) throw new InvalidOptionError('backend', `e2e runs afxdp or afpacket, got '${o.backend}'`);
  validateSizes(o.size, o.size, RAW_FRAME_SIZE, o.latency ? MIN_STAMPED_FRAME : undefined);
  if (!(o.seconds > 0 && o.seconds <= 600)) throw new InvalidOptionError('seconds', `must be in (0, 600], got ${o.seconds}`);
  for (const m of o.modes) if (m !== 'raw' && m !== 'pspat') throw new InvalidOptionError('modes', `unknown mode '${m}' (known: raw, pspat)`);
  nativeAddon(); // fail early, with the reason, when the addon is missing
  const topo = createSinkTopology('bench', false);
  try {
    const result: E2eResult = { params: o, modes: {}, runs: [] };
    for (const [i, m] of o.modes.entries()) {
      const progress = (ms: number) => onProgress?.((i + ms / (o.seconds * 1000)) / o.modes.length);
      if (m === 'raw') {
        const [r, sink] = runRaw(topo, o);
        result.modes.raw = r;
        result.runs.push(modeRun(m, o, r, sink));
      } else {
        const [r, stats, sink] = await runPspat(topo, o, progress);
        result.modes.pspat = r;
        result.runs.push(modeRun(m, o, r, sink, stats));
      }
      progress(o.seconds * 1000);
    }
    return result;
  } finally {
    topo.destroy();
  }
}
