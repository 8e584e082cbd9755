/**
 * What the daemon keeps per managed device (its tree, its link, its traffic sources, its
 * rate estimates), and the device-watching job that needs nothing else: sampling every
 * class's counters for the estimators.
 */
import type { LinkHandle } from '../arbiter/host.js';
import type { ArbiterHost } from '../arbiter/host.js';
import type { AttachState } from '../attach/attach.js';
import type { DivertState } from '../attach/divert.js';
import type { ClientFleet } from '../client/workers.js';
import type { LinkStats } from '../stats/link-stats.js';
import type { LinkConfig, TcTree } from '../tc/tree.js';
import type { MessagePort } from 'node:worker_threads';
import type { DeviceLock } from './device-lock.js';
import type { RateEstimator } from './rate-estimator.js';

export interface ManagedDevice {
  tree: TcTree;
  arbiter: ArbiterHost;
  link: LinkHandle;
  config: LinkConfig;
  traffic?: ClientSource;
  /** Capture clients of a device whose egress pspat took over, and its attach state. */
  capture?: Capture;
  /** Rate estimates for `-s`, per class slot ("3") and inner class ("3/1"). */
  rates: RateEstimator;
  /** Its port's fault when the daemon last looked (0: transmitting). */
  portFault: number;
  /** port.mtuSuspect as last said on stderr. */
  mtuSuspect: number;
  /** The device's host-wide owner lock (native backends). */
  lock?: DeviceLock;
}

/** How a taken-over device's egress reaches pspat: the capture clients, the attach state, the diversion program's state (its bypass count) and liveness socket. */
export type Capture = ClientSource & { state: AttachState; divert: DivertState; alive: number };

/** A device's client threads (test-traffic generators, capture clients) and the ports their classifier updates go through. */
export interface ClientSource {
  fleet: ClientFleet<unknown>;
  updates: MessagePort[];
}

/**
 * Feeds every device's rate estimators. Root classes' counters are read lock-free from
 * the link's stats memory, so sampling costs the arbiter nothing; an inner qdisc's classes
 * count inside the arbiter, so a device that has any is also asked for a snapshot.
 */
export async function sampleRates(devices: Iterable<ManagedDevice>): Promise<void> {
  for (const d of [...devices]) {
    const t = Date.now();
    for (const slot of d.config.classes.keys()) {
      const live = d.link.liveSent(slot);
      d.rates.sample(String(slot), t, live.bytes, live.packets);
    }
    if (![...d.config.classes.values()].some((p) => p.leaf?.classes)) continue;
    let s: LinkStats;
    try {
      s = await d.link.stats({ histograms: false });
    } catch {
      continue; // removed meanwhile
    }
    for (const c of s.classes) for (const i of c.inner ?? []) d.rates.sample(`${c.slot}/${i.slot}`, Date.now(), i.bytes, i.packets);
  }
}
