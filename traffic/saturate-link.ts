/**
 * Runs saturating generator clients on one new link and measures a window: start an
 * arbiter and the link, start the generators, let queues fill for `warmupMs`, take a
 * snapshot (and the caller's probe) at the window's start and end, then stop everything
 * and return the exact final accounting. Workers are torn down on any failure. The demo
 * and the e2e benchmark both measure this way.
 */
import { ArbiterHost, type LinkHandle } from '../src/arbiter/host.js';
import { performance } from 'node:perf_hooks';
import type { ArbiterOptions, LinkOptions } from '../src/options.js';
import type { LinkStats } from '../src/stats/link-stats.js';
import type { GeneratorSpec } from './generator.js';
import { startGenerators, type GeneratorFleet } from './generators.js';

export interface SaturateOptions {
  link: LinkOptions;
  /** The arbiter's options (its placement, how it waits); the pool is sized here. @default {} */
  arbiter?: Omit<ArbiterOptions, 'poolFrames'>;
  clients: number;
  framesPerClient: number;
  spec: (client: number) => GeneratorSpec;
  warmupMs: number;
  windowMs: number;
  /** Called once the arbiter runs, before the generators start (a sink needs its clock epoch). */
  onStart?: (host: ArbiterHost) => void;
  /** Called every TICK_MS of the window with the link and the ms elapsed in it (throughput series, progress). */
  onTick?: (link: LinkHandle, elapsedMs: number) => void;
}

/** Tick period of `onTick`. */
export const TICK_MS = 100;

export interface SaturateResult<P> {
  before: LinkStats;
  after: LinkStats;
  /** After the arbiter stopped: conservation holds exactly. */
  final: LinkStats;
  /** The probe's readings at the window's start and end. */
  probes: [P, P];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

export async function saturateLink<P = undefined>(o: SaturateOptions, probe: () => P = () => undefined as P): Promise<SaturateResult<P>> {
  const host = await ArbiterHost.start({ ...o.arbiter, poolFrames: o.clients * o.framesPerClient });
  let fleet: GeneratorFleet | undefined;
  try {
    const link = await host.addLink(o.link);
    o.onStart?.(host);
    fleet = await startGenerators(link, o.clients, o.spec, o.framesPerClient);
    await fleet.started;
    await sleep(o.warmupMs);
    const before = await link.stats();
    const p0 = probe();
    if (o.onTick === undefined) await sleep(o.windowMs);
    else {
      const start = performance.now();
      for (let t = TICK_MS; t <= o.windowMs; t += TICK_MS) {
        await sleep(start + t - performance.now());
        o.onTick(link, t);
      }
      await sleep(start + o.windowMs - performance.now());
    }
    const p1 = probe();
    const after = await link.stats();
    await fleet.stop();
    const [final] = await host.close({ drain: false });
    return { before, after, final, probes: [p0, p1] };
  } catch (e) {
    await fleet?.terminate();
    await host.terminate();
    throw e;
  }
}
