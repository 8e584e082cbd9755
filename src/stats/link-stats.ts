/**
 * Turns an arbiter snapshot plus the clients' own counters into the figures users read:
 * per class offered / arrived / sent / dropped (by reason) / queued, and link totals.
 *
 * Conservation, exact once the arbiter and clients have stopped:
 *   per class:  arrived = sent + dropped + backlog   (+ in transmit)
 *   in total:   offered = sent + dropped + queued, where queued = backlog + frames still
 *               in mailboxes + in transmit, and dropped includes frames refused before a
 *               class could be charged (badFrames).
 */
import type { LinkSnapshot } from './link-snapshot.js';
import { type ClientCounters, CLIENT_BACKPRESSURE, CLIENT_CAPTURE_DROPS, CLIENT_OVERSIZE, CLIENT_UNCLASSIFIED } from '../client/channel.js';
import type { LinkOptions } from '../options.js';
import type { ClassXstats, InnerClassStats } from '../../schedulers/types.js';
import { errnoName } from '../errno.js';
import { histogramsOf, type StageHistograms } from './class-histograms.js';
import {
  CLASS_ARRIVED_BYTES,
  CLASS_ARRIVED_PKTS,
  CLASS_BACKLOG_BYTES,
  CLASS_BACKLOG_PKTS,
  CLASS_DROPPED_BYTES,
  CLASS_SENT_BYTES,
  CLASS_SENT_PKTS,
  DROP_REASONS,
  LINK_DROP_BAD_FRAME,
  LINK_FIRST_RELEASE_NS,
  LINK_IDLE_NS,
  LINK_NOW_NS,
  LINK_PARKS,
  LINK_PASSES,
  LINK_PORT_FAULT,
  LINK_PORT_FAULTS,
  LINK_PORT_KICKS,
  LINK_MTU_SUSPECT,
  LINK_PORT_RETRIES,
  LINK_PORT_RING_FULL,
  LINK_TX_ERRORS,
  LINK_WIRE_BYTES,
  classWord,
  type DropReason,
} from './layout.js';

export interface ClassStats {
  slot: number;
  offeredPackets: number;
  offeredBytes: number;
  arrivedPackets: number;
  arrivedBytes: number;
  sentPackets: number;
  sentBytes: number;
  droppedPackets: number;
  droppedBytes: number;
  drops: Record<DropReason, number>;
  backlogPackets: number;
  backlogBytes: number;
  /** Delay histograms by stage (mailbox, queue, tx; class-histograms.ts); empty if the class has none of its own. */
  stages: StageHistograms;
  /** The scheduler's own counters for the class (htb: tokens, lends, borrows, overlimits). */
  xstats: ClassXstats | null;
  /** The classes of the inner qdisc attached to the class, with their counters; null if none. */
  inner: InnerClassStats[] | null;
}

export interface LinkStats {
  classes: ClassStats[];
  totals: { offered: number; sent: number; dropped: number; queued: number };
  /** Frames refused before any class was charged (bad index, double send, bad class). */
  badFrames: number;
  /** Histograms shared by the classes beyond the link's histogram capacity (class-histograms.ts); null if none. */
  otherStages: StageHistograms | null;
  /** The stage histograms hold one packet in this many of each class (LinkOptions.stageSample; 1: every packet). */
  stageSample: number;
  /** Packets the clients' classifiers put in no class: dropped before sending (counted in offered and dropped). */
  unclassified: number;
  /** Captured packets longer than a frame (GSO super-packets): dropped before sending (counted in offered and dropped). */
  oversize: number;
  /** Diverted packets the kernel dropped because a capture client fell behind (counted in offered and dropped). */
  captureDrops: number;
  /** Frames handed over but not yet drained by the arbiter, over all clients. */
  inMailboxes: number;
  inTransmit: number;
  /** Sends refused because a mailbox was full, over all clients. */
  backpressure: number;
  wireBytes: number;
  firstReleaseNs: number;
  linkIdleNs: number;
  nowNs: number;
  passes: number;
  parks: number;
  /** The transmit port: what it met (TxPort.counters), frames it failed, and its fault now. */
  port: {
    /** null while it transmits; else the errno name that stops it (ENETDOWN: down, ENODEV: gone, ETIMEDOUT: stalled). */
    fault: string | null;
    faults: number;
    retries: number;
    ringFull: number;
    kicks: number;
    /** Frames the port failed (each also a `txError` drop of its class). */
    txErrors: number;
    /** AF_PACKET: frames counted as sent that its kernel may have dropped unseen (released over an MTU lowered since: LINK_MTU_SUSPECT). */
    mtuSuspect: number;
  };
}

export function linkStatsFrom(snap: LinkSnapshot, options: Required<LinkOptions>, slots: number[], clients: ClientCounters[]): LinkStats {
  const s = snap.stats;
  // Every slot that was configured or saw traffic (a deleted class keeps its history).
  const seen = new Set(slots);
  for (let c = 0; c < options.maxClasses; c++) {
    if (s[classWord(c, CLASS_ARRIVED_PKTS)] > 0) seen.add(c);
    for (const cl of clients) if (cl.offeredPackets(c) > 0) seen.add(c);
  }
  const classes = [...seen]
    .sort((a, b) => a - b)
    .map((slot): ClassStats => {
      const drops = Object.fromEntries(Object.entries(DROP_REASONS).map(([reason, field]) => [reason, s[classWord(slot, field)]])) as Record<
        DropReason,
        number
      >;
      const stages = snap.stages[slot];
      return {
        slot,
        offeredPackets: clients.reduce((a, cl) => a + cl.offeredPackets(slot), 0),
        offeredBytes: clients.reduce((a, cl) => a + cl.offeredBytes(slot), 0),
        arrivedPackets: s[classWord(slot, CLASS_ARRIVED_PKTS)],
        arrivedBytes: s[classWord(slot, CLASS_ARRIVED_BYTES)],
        sentPackets: s[classWord(slot, CLASS_SENT_PKTS)],
        sentBytes: s[classWord(slot, CLASS_SENT_BYTES)],
        droppedPackets: Object.values(drops).reduce((a, b) => a + b, 0),
        droppedBytes: s[classWord(slot, CLASS_DROPPED_BYTES)],
        drops,
        backlogPackets: s[classWord(slot, CLASS_BACKLOG_PKTS)],
        backlogBytes: s[classWord(slot, CLASS_BACKLOG_BYTES)],
        stages: stages ? histogramsOf(stages) : {},
        xstats: snap.xstats[slot] ?? null,
        inner: snap.inner[slot] ?? null,
      };
    });
  const inMailboxes = snap.mailboxFill.reduce((a, b) => a + b, 0);
  const badFrames = s[LINK_DROP_BAD_FRAME];
  const sum = (f: (c: ClassStats) => number) => classes.reduce((a, c) => a + f(c), 0);
  const unclassified = clients.reduce((a, cl) => a + cl.totals[CLIENT_UNCLASSIFIED], 0);
  const oversize = clients.reduce((a, cl) => a + cl.totals[CLIENT_OVERSIZE], 0);
  const captureDrops = clients.reduce((a, cl) => a + cl.totals[CLIENT_CAPTURE_DROPS], 0);
  const beforeClasses = unclassified + oversize + captureDrops;
  return {
    classes,
    totals: {
      offered: sum((c) => c.offeredPackets) + beforeClasses,
      sent: sum((c) => c.sentPackets),
      dropped: sum((c) => c.droppedPackets) + badFrames + beforeClasses,
      queued: sum((c) => c.backlogPackets) + inMailboxes + snap.inFlight,
    },
    badFrames,
    otherStages: snap.otherStages ? histogramsOf(snap.otherStages) : null,
    stageSample: options.stageSample,
    unclassified,
    oversize,
    captureDrops,
    inMailboxes,
    inTransmit: snap.inFlight,
    backpressure: clients.reduce((a, cl) => a + cl.totals[CLIENT_BACKPRESSURE], 0),
    wireBytes: s[LINK_WIRE_BYTES],
    firstReleaseNs: s[LINK_FIRST_RELEASE_NS],
    linkIdleNs: s[LINK_IDLE_NS],
    nowNs: s[LINK_NOW_NS],
    passes: s[LINK_PASSES],
    parks: s[LINK_PARKS],
    port: {
      fault: s[LINK_PORT_FAULT] === 0 ? null : errnoName(s[LINK_PORT_FAULT]),
      faults: s[LINK_PORT_FAULTS],
      retries: s[LINK_PORT_RETRIES],
      ringFull: s[LINK_PORT_RING_FULL],
      kicks: s[LINK_PORT_KICKS],
      txErrors: s[LINK_TX_ERRORS],
      mtuSuspect: s[LINK_MTU_SUSPECT],
    },
  };
}
