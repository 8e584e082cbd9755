/**
 * What the daemon tells about itself: a consistent reading of every managed device
 * (counters and per-stage histograms from a link snapshot), turned into a RUN.json run
 * (`pspat stats --save`, SIGUSR1) or into Prometheus metrics (metrics.ts).
 */
import type { LinkHandle } from '../arbiter/host.js';
import type { PlacementPlan } from '../placement.js';
import type { LoopStats } from '../stats/loop-stats.js';
import { threadWaits } from '../stats/thread-waits.js';
import type { LinkStats } from '../stats/link-stats.js';
import { stagesJson, type Run } from '../report/run-file.js';
import { formatHandle } from '../tc/handles.js';
import type { LinkConfig, TcTree } from '../tc/tree.js';

export interface DeviceReading {
  dev: string;
  stats: LinkStats;
  /** Class slot → the name users know it by: its tc classid, else the root qdisc's handle. */
  labels: Map<number, string>;
  /** Taken over: packets the device sent on the kernel's path while the daemon's heartbeat was stale (fail open); else null. */
  bypassed: number | null;
  /** The root qdisc's kind (htb, tbf, …). */
  kind: string;
  /** Class slot → what tc configured for it (htb's rate and ceil, tbf's rate), bit/s. */
  configured: Map<number, { rate: number; ceil: number }>;
}

/** What tc configured per class slot: rate and ceil where the scheduler shapes (htb, and tbf as a one-class htb). */
export function configuredRates(config: LinkConfig): Map<number, { rate: number; ceil: number }> {
  const out = new Map<number, { rate: number; ceil: number }>();
  for (const [slot, p] of config.classes) if (p.rate !== undefined) out.set(slot, { rate: p.rate, ceil: p.ceil ?? p.rate });
  return out;
}

/**
 * A device's class labels: "1:10" for a tc class; a slot no classid names is the queue of
 * a classless root ("1:", its only slot) or htb's direct queue ("1: direct").
 */
export function classLabels(tree: TcTree, config: LinkConfig): Map<number, string> {
  const labels = new Map<number, string>();
  for (const [classid, slot] of config.slotOf) labels.set(slot, formatHandle(classid));
  const root = formatHandle(tree.root.handle);
  for (const slot of config.classes.keys()) if (!labels.has(slot)) labels.set(slot, config.classes.size === 1 ? root : `${root} direct`);
  return labels;
}

export async function readDevice(dev: string, link: LinkHandle, tree: TcTree, config: LinkConfig): Promise<Omit<DeviceReading, 'bypassed'>> {
  return { dev, stats: await link.stats(), labels: classLabels(tree, config), kind: tree.root.qdisc.kind, configured: configuredRates(config) };
}

export function labelOf(r: DeviceReading, slot: number): string {
  return r.labels.get(slot) ?? `slot ${slot}`;
}

export function daemonRun(readings: DeviceReading[], loops: LoopStats[], config: unknown, plan: PlacementPlan): Run {
  const counters: Record<string, number> = { offered: 0, sent: 0, dropped: 0, queued: 0 };
  for (const r of readings) for (const k of Object.keys(counters)) counters[k] += r.stats.totals[k as keyof LinkStats['totals']];
  // Dropped before any class: no filter matched, longer than a frame, or lost at capture.
  counters.unclassified = readings.reduce((a, r) => a + r.stats.unclassified, 0);
  counters.oversize = readings.reduce((a, r) => a + r.stats.oversize, 0);
  counters.captureDrops = readings.reduce((a, r) => a + r.stats.captureDrops, 0);
  // Not pspat's: sent on the kernel's path while the daemon was not there to take them (fail open).
  counters.bypassed = readings.reduce((a, r) => a + (r.bypassed ?? 0), 0);
  loops.forEach((l, i) => {
    const f = l.read();
    counters[`arbiter${i}.passes`] = f.passes;
    counters[`arbiter${i}.parkedNs`] = f.parkedNs;
    // Kept off its CPU (or paused) for STALL_NS or more while it had no reason to wait.
    counters[`arbiter${i}.stalls`] = f.stalls;
    counters[`arbiter${i}.stallNs`] = f.stallNs;
    counters[`arbiter${i}.yields`] = f.yields;
    // What the kernel's scheduler did to its thread: time runnable but not running, and how often another thread took its CPU.
    const waits = threadWaits(f.threadId);
    if (waits !== null) {
      counters[`arbiter${i}.runDelayNs`] = waits.runDelayNs;
      counters[`arbiter${i}.preemptions`] = waits.preemptions;
    }
    // How soon it ran again once a client rang it, parked (the host's wake-up latency).
    counters[`arbiter${i}.wakes`] = f.wake.count;
    counters[`arbiter${i}.wakeP99Ns`] = f.wake.p99;
    counters[`arbiter${i}.wakeMaxNs`] = f.wake.max;
    counters[`arbiter${i}.meanBatch`] = f.meanBatch;
    // Where it runs: its kernel thread id, its CPU (−1: not pinned), whether it polls, its SCHED_FIFO priority.
    counters[`arbiter${i}.threadId`] = f.threadId;
    counters[`arbiter${i}.cpu`] = plan.arbiters[i].cpus[0] ?? -1;
    counters[`arbiter${i}.polls`] = plan.arbiters[i].wait === 'poll' ? 1 : 0;
    counters[`arbiter${i}.priority`] = plan.arbiters[i].priority;
  });
  return {
    name: `daemon ${readings.map((r) => r.dev).join(',') || '(no devices)'}`,
    kind: 'daemon',
    createdAt: new Date().toISOString(),
    config,
    counters,
    stageSample: Math.max(1, ...readings.map((r) => r.stats.stageSample)),
    classes: readings.flatMap((r) => [
      ...r.stats.classes.map((c) => ({
        id: `${r.dev} ${labelOf(r, c.slot)}`,
        counters: { sentPackets: c.sentPackets, sentBytes: c.sentBytes, droppedPackets: c.droppedPackets, backlogPackets: c.backlogPackets, ...c.drops },
        stages: stagesJson(c.stages),
      })),
      ...(r.stats.otherStages ? [{ id: `${r.dev} other`, counters: {}, stages: stagesJson(r.stats.otherStages) }] : []),
    ]),
  };
}
