/**
 * Control protocol between the main thread (host.ts) and the arbiter worker.
 *
 * Commands travel on a MessagePort (they carry SharedArrayBuffers, which a ring cannot),
 * and the arbiter reads them synchronously with `receiveMessageOnPort` between passes,
 * so its loop never returns to the event loop. To make a busy or parked arbiter look, the
 * host sets CTL_PENDING after posting and rings the arbiter's doorbell. Every command
 * gets exactly one reply with the same `seq`.
 *
 * Control buffer (Int32 words), shared by host, arbiter and every mailbox producer:
 *
 * | word | writer       | reader  | meaning                                          |
 * |------|--------------|---------|--------------------------------------------------|
 * | 0    | host         | arbiter | CTL_PENDING: commands are waiting on the port    |
 * | 16–21 | see doorbell | arbiter | the arbiter's doorbell with wake times (rung by mailboxes, host) |
 */
import type { FramePoolLayout } from '../shm/frame-pool.js';
import type { ClockEpoch } from '../clock.js';
import type { ArbiterOptions, ClassSpec, LinkOptions } from '../options.js';
import type { ClassParams, ClassXstats, RootParams } from '../../schedulers/types.js';
import type { PoliceSpec } from '../tc/model.js';
import type { ClassHistogramsLayout } from '../stats/class-histograms.js';
import type { LinkSnapshot } from '../stats/link-snapshot.js';

export const CTL_PENDING = 0;
export const CTL_DOORBELL = 16;
export const CTL_WORDS = 32;

/** The one message an arbiter worker starts with. */
export interface ArbiterStart {
  epoch: ClockEpoch;
  pool: FramePoolLayout;
  control: SharedArrayBuffer;
  options: Required<ArbiterOptions>;
  /** The loop's own figures (src/stats/loop-stats.ts). */
  loopStats: SharedArrayBuffer;
}

export type Command =
  | { op: 'addLink'; linkId: number; stats: SharedArrayBuffer; histograms: ClassHistogramsLayout; options: Required<LinkOptions> }
  /** The client owns frames [first, first + frames): the arbiter returns them in index order. */
  | { op: 'attachClient'; linkId: number; clientId: number; mailbox: SharedArrayBuffer; free: SharedArrayBuffer; first: number; frames: number }
  | { op: 'addClass'; linkId: number; spec: ClassSpec & { slot: number } }
  | { op: 'changeClass'; linkId: number; slot: number; params: ClassParams }
  | { op: 'deleteClass'; linkId: number; slot: number }
  /** A new scheduler for the link (tc's `qdisc replace` with another kind): what was queued is dropped as 'class deleted'. */
  | { op: 'setScheduler'; linkId: number; scheduler: string; params: RootParams; classes: (ClassSpec & { slot: number })[] }
  /** The link's policers, in the order its filters name them (a filter change). */
  | { op: 'setPolicers'; linkId: number; policers: PoliceSpec[] }
  /**
   * A client's thread died: what its mailbox holds is admitted, and its free ring is
   * refilled with every frame it owns that the arbiter does not hold (the ones it had in
   * hand are recovered too), for a new thread to take its place. Replies `reclaimed`, and
   * `drained`: the entries ever taken from its mailbox.
   */
  | { op: 'reclaimClient'; linkId: number; clientId: number }
  /** Forgets the link's clients (their threads have finished): what their mailboxes hold is admitted first. */
  | { op: 'detachClients'; linkId: number }
  /** Drops what is queued, waits for what is in transmit, closes the port; answered with the final snapshot. */
  | { op: 'removeLink'; linkId: number }
  /** `histograms` false: counters only; true: the histograms go through the shared copy area. */
  | { op: 'snapshot'; linkId: number; histograms: boolean }
  /** Only the scheduler's own per-class counters: what live reads of shared memory cannot give (metrics). */
  | { op: 'xstats'; linkId: number }
  /**
   * Holds the arbiter thread for `ms`, as a descheduled thread, a GC pause or a long
   * command would: a fault drill (what is released after a stall is bounded by maxLagNs).
   */
  | { op: 'stall'; ms: number }
  /**
   * From now on the arbiter stamps the egress diversion heartbeat behind `fd` (a device
   * the link's daemon took over: src/attach/divert.ts) every BEAT_NS, parked or not; -1 stops.
   */
  | { op: 'heartbeat'; linkId: number; fd: number }
  | { op: 'stop'; drain: boolean; timeoutMs: number };

export type Request = Command & { seq: number };

/** A consistent copy of a link's stats, taken by the arbiter between passes. */
export type Reply =
  | {
      seq: number;
      ok: true;
      snapshot?: LinkSnapshot;
      snapshots?: (LinkSnapshot | null)[];
      reclaimed?: number;
      drained?: number;
      xstats?: (ClassXstats | null)[];
    }
  | { seq: number; ok: false; error: { name: string; code?: string; message: string } };
