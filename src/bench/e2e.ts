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
import { writeTestFrame } from '../../clients/packet.js';
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
}

export const E2E_DEFAULTS: Required<E2eOptions> = {
  backend: 'afxdp', modes: ['raw', 'pspat'], clients: 2, classes: 4, scheduler: 'drr', size: 64, seconds: 3,
  xdpMode: 'copy', txWorkers: 0,
};

export interface ModeResult {
  mpps: number;
  /** Frame bits per second received (without the 24 B of wire framing). */
  gbps: number;
  sinkPackets: number;
  sentPackets?: number;
  dropped?: number;
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

function runRaw(topo: SinkTopology, o: Required<E2eOptions>): ModeResult {
  const addon = nativeAddon();
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
  try {
    // The port is the limit: submit whatever it takes, recycle what it completed.
    for (let i = 0; ; i++) {
      const n = Math.min(batch, freeCount);
      for (let k = 0; k < n; k++) out[k] = free[freeCount - n + k];
      freeCount -= port.submit(out, n);
      const r = port.reap(done, status, batch);
      for (let k = 0; k < r; k++) free[freeCount++] = done[k];
      if ((i & 255) === 0 && performance.now() >= end) break;
    }
  } finally {
    port.close();
  }
  const t1 = performance.now();
  return modeResult(sinkPackets(topo) - s0, (t1 - t0) * 1e6, o.size);
}

async function runPspat(topo: SinkTopology, o: Required<E2eOptions>, onTick: (elapsedMs: number) => void): Promise<[ModeResult, LinkStats]> {
  const classes = Array.from({ length: o.classes }, (_, i) => i);
  const { before, after, probes } = await saturateLink(
    {
      link: {
        rate: 1e15, scheduler: o.scheduler, backend: o.backend, dev: topo.dev, xdpMode: o.xdpMode, txWorkers: o.txWorkers,
        maxClasses: o.classes, classes: classes.map(() => ({ weight: 1, limitPackets: 256 })),
      },
      clients: o.clients,
      framesPerClient: 1024,
      spec: (i) => ({ classes, minSize: o.size, maxSize: o.size, packets: Infinity, seed: i + 1 }),
      warmupMs: 300,
      windowMs: o.seconds * 1000,
      onTick: (_, elapsedMs) => onTick(elapsedMs),
    },
    () => ({ sink: sinkPackets(topo), ms: performance.now() }),
  );
  const [p0, p1] = probes;
  const result = {
    ...modeResult(p1.sink - p0.sink, (p1.ms - p0.ms) * 1e6, o.size),
    sentPackets: after.totals.sent - before.totals.sent,
    dropped: after.totals.dropped - before.totals.dropped,
  };
  return [result, after];
}

function modeRun(mode: string, o: Required<E2eOptions>, r: ModeResult, stats?: LinkStats): Run {
  const { sentPackets, dropped, ...counters } = r;
  return {
    name: `bench e2e ${mode}`,
    kind: 'bench',
    createdAt: new Date().toISOString(),
    config: { ...o, mode },
    counters: { ...counters, ...(sentPackets !== undefined && { sentPackets }), ...(dropped !== undefined && { dropped }) },
    classes: (stats?.classes ?? []).map((c) => ({
      id: String(c.slot),
      counters: { sentPackets: c.sentPackets, sentBytes: c.sentBytes, droppedPackets: c.droppedPackets },
      stages: stagesJson(c.stages),
    })),
  };
}

/** `onProgress(fraction)` follows the modes' measurement windows (a progress bar). */
export async function runE2e(options: E2eOptions = {}, onProgress?: (fraction: number) => void): Promise<E2eResult> {
  const o = withDefaults(E2E_DEFAULTS, options);
  if (!isNativeBackend(o.backend)) throw new InvalidOptionError('backend', `e2e runs afxdp or afpacket, got '${o.backend}'`);
  validateSizes(o.size, o.size, RAW_FRAME_SIZE);
  if (!(o.seconds > 0 && o.seconds <= 600)) throw new InvalidOptionError('seconds', `must be in (0, 600], got ${o.seconds}`);
  for (const m of o.modes) if (m !== 'raw' && m !== 'pspat') throw new InvalidOptionError('modes', `unknown mode '${m}' (known: raw, pspat)`);
  nativeAddon(); // fail early, with the reason, when the addon is missing
  const topo = createSinkTopology('bench', false);
  try {
    const result: E2eResult = { params: o, modes: {}, runs: [] };
    for (const [i, m] of o.modes.entries()) {
      const progress = (ms: number) => onProgress?.((i + ms / (o.seconds * 1000)) / o.modes.length);
      if (m === 'raw') {
        result.modes.raw = runRaw(topo, o);
        result.runs.push(modeRun(m, o, result.modes.raw));
      } else {
        const [r, stats] = await runPspat(topo, o, progress);
        result.modes.pspat = r;
        result.runs.push(modeRun(m, o, r, stats));
      }
      progress(o.seconds * 1000);
    }
    return result;
  } finally {
    topo.destroy();
  }
}
