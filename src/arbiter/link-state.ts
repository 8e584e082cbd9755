/**
 * Arbiter-private state of one link: its scheduler, its pacing clock, its transmit port
 * and its stats. One arbiter holds many of these (PSPAT: one arbiter, many links); each
 * has its own virtual link clock, so links never share pacing.
 */
import { findScheduler } from '../../schedulers/registry.js';
import type { ClassXstats, FrameTable, RootParams, Scheduler } from '../../schedulers/types.js';
import { SizeTable } from '../../schedulers/size-table.js';
import type { LinkOptions } from '../options.js';
import type { FramePool } from '../shm/frame-pool.js';
import type { SpscRing } from '../shm/spsc-ring.js';
import { ClassHistograms, type ClassHistogramsLayout } from '../stats/class-histograms.js';
import {
  CLASS_BACKLOG_BYTES,
  CLASS_BACKLOG_PKTS,
  CLASS_FIELDS,
  LINK_FIELDS,
  LINK_PORT_FAULTS,
  LINK_PORT_KICKS,
  LINK_PORT_RETRIES,
  LINK_PORT_RING_FULL,
  LINK_NOW_NS,
  LINK_MTU_SUSPECT,
} from '../stats/layout.js';
import { deviceMtu, ETH_HEADER } from '../net/device.js';
import { isNativeBackend, openPort, type WallClock } from '../transmit/ports.js';
import type { TxPort } from '../transmit/port.js';
import type { LinkSnapshot } from '../stats/link-snapshot.js';
import { wireTimeNs } from './pacer.js';
import type { ThreadPlacement } from '../placement.js';
import { Policers } from './policers.js';

/** How often a link reads its device's MTU again. */
const MTU_LOOK_NS = 1e9;

/** A client attached to a link: its mailbox (arbiter consumes) and free ring (arbiter produces). */
export interface ClientSlot {
  id: number;
  mailbox: SpscRing;
  free: SpscRing;
  /** Entries taken from its mailbox so far (reclaimClient compares it with what the client counted). */
  drained: number;
  /** The client's frames are [firstFrame, firstFrame + 32 · returnBits.length); the bits, all clear, order their return (frame-order.ts). */
  firstFrame: number;
  returnBits: Int32Array;
}

/** The size table a scheduler's root parameters name (tc's stab), null for none. */
export function sizeTableOf(params: RootParams): SizeTable | null {
  return params.sizeTable ? new SizeTable(params.sizeTable) : null;
}

export class LinkState {
  /** Replaced only by `setScheduler`, between passes, with `sizeTable`. */
  scheduler: Scheduler;
  /** The root qdisc's size table: what admit charges each frame (frame table `charged`); null: its length. */
  sizeTable: SizeTable | null;
  /**
   * Nanoseconds a byte takes on the wire (8e9 / the link's bit rate): release multiplies
   * by it per packet, since a division there (≈ 15 cycles, and on the link clock's
   * dependency chain from one packet to the next) was its costliest line.
   */
  readonly wireNsPerByte: number;
  readonly maxClasses: number;
  /** Stats words in shared memory (layout.ts). */
  readonly stats: Float64Array;
  readonly port: TxPort;
  readonly clients: ClientSlot[] = [];
  /** Next client the drain starts from, rotated every pass for fairness. */
  rr = 0;
  /** tc police buckets the link's filters name (frame table `police`). */
  readonly policers = new Policers();
  /** Set by a removeLink command: the request to answer once nothing is in transmit. */
  removing: number | null = null;
  /** PSPAT's linkIdle: when the link finishes what was released (ns, shared clock). */
  linkIdle = 0;
  /** The scheduler's clock (SchedulerContext.clock): linkIdle, set before each dequeue. */
  readonly clock = new Float64Array(1);
  /** The most the link clock may lag the real clock (LinkOptions.maxLagNs, resolved). */
  readonly maxLagNs: number;
  /** True after a pass that left the scheduler empty: the next arrival restarts the clock. */
  dry = true;
  /** A shaper holds its queued packets until this time (0: it is not holding any). */
  heldUntil = 0;
  /**
   * The longest frame the device takes: its MTU plus the Ethernet header (plus 4 for a
   * VLAN tag, admit checks), at most a pool frame. Longer ones are bad frames: the kernel
   * would refuse them inside the port, where they could not be told apart. Read again
   * every MTU_LOOK_NS (lookAtDevice), as an operator may change the MTU at run time.
   */
  maxFrameLen: number;
  /**
   * AF_PACKET only (its kernel drops an over-MTU frame without a word): frames released
   * since the last MTU look, by length, so a lowered MTU can be charged to LINK_MTU_SUSPECT.
   */
  readonly releasedLens: Uint32Array | null;
  /** The device whose MTU bounds frames (native backends), else null. */
  private readonly mtuDev: string | null;
  /** When lookAtDevice is due (Infinity: no device to look at). */
  nextMtuLook = 0;
  /** Released frames; the first `txPending` still wait for the port to accept them. */
  readonly txBatch: Int32Array;
  txPending = 0;

  /** Frames released and not yet back from the port: waiting for it, or in it. */
  get inTransmit(): number {
    return this.txPending + this.port.inFlight;
  }
  /** Delay histograms per class and stage, in shared memory. */
  readonly histograms: ClassHistograms;

  constructor(
    readonly id: number,
    options: Required<LinkOptions>,
    statsBuffer: SharedArrayBuffer,
    histograms: ClassHistogramsLayout,
    pool: FramePool,
    releaseBatch: number,
    wallClock: WallClock,
    txPlacement: ThreadPlacement,
    /** Counts and recycles a frame the scheduler dropped after accepting it (see SchedulerContext.drop). */
    private readonly dropQueued: (frame: number, reason: number) => void,
  ) {
    this.wireNsPerByte = 8e9 / options.rate;
    this.maxClasses = options.maxClasses;
    this.stats = new Float64Array(statsBuffer);
    this.pool = pool;
    this.scheduler = this.newScheduler(options.scheduler, options.schedulerParams);
    this.sizeTable = sizeTableOf(options.schedulerParams);
    this.port = openPort(options, pool, releaseBatch, wallClock, txPlacement);
    this.maxLagNs = options.maxLagNs > 0 ? options.maxLagNs : Math.max(1e6, releaseBatch * wireTimeNs(pool.frameSize, options.rate));
    this.mtuDev = isNativeBackend(options.backend) ? options.dev : null;
    if (this.mtuDev === null) this.nextMtuLook = Infinity;
    this.maxFrameLen = this.frameLimit();
    this.releasedLens = options.backend === 'afpacket' ? new Uint32Array(pool.frameSize + 1) : null;
    this.txBatch = new Int32Array(releaseBatch);
    this.histograms = new ClassHistograms(histograms);
  }

  private readonly pool: FramePool;

  private frameLimit(): number {
    return this.mtuDev === null ? this.pool.frameSize : Math.min(this.pool.frameSize, deviceMtu(this.mtuDev) + ETH_HEADER);
  }

  /**
   * Reads the device's MTU again, at most every MTU_LOOK_NS (a sysfs read of a few µs):
   * within that time of a change, frames too long for it are refused as bad frames rather
   * than lost inside the port (AF_PACKET skips them silently, counted as sent). The
   * arbiter calls it once `nextMtuLook` has come, at the pass time it stamped in
   * LINK_NOW_NS (read there, not passed: see Arbiter.pass).
   */
  lookAtDevice(): void {
    const now = this.stats[LINK_NOW_NS];
    if (this.mtuDev === null || now < this.nextMtuLook) return;
    this.nextMtuLook = now + MTU_LOOK_NS;
    const limit = this.frameLimit();
    const released = this.releasedLens;
    if (released !== null) {
      // Lowered since the last look: what was released longer than the new limit may be lost unseen.
      for (let len = limit + 1; len <= this.maxFrameLen; len++) this.stats[LINK_MTU_SUSPECT] += released[len];
      released.fill(0);
    }
    this.maxFrameLen = limit;
  }

  /** A scheduler for this link; with a size table in `params` it reads each frame's charged length as its `len`. */
  newScheduler(kind: string, params: RootParams): Scheduler {
    const pool = this.pool;
    const frames: FrameTable = params.sizeTable
      ? { len: pool.charged, cls: pool.cls, flow: pool.flow, queuedAt: pool.queuedAt, sub: pool.sub, markCe: (f) => pool.markCe(f) }
      : pool;
    return findScheduler(kind).create({ frames, clock: this.clock, poolFrames: pool.frames, maxClasses: this.maxClasses, drop: this.dropQueued }, params);
  }

  /** The scheduler's own per-class counters (htb's tokens, lends, …), null where it keeps none. */
  xstats(): (ClassXstats | null)[] {
    return Array.from({ length: this.maxClasses }, (_, c) => (this.scheduler.classStats && this.scheduler.hasClass(c) ? this.scheduler.classStats(c) : null));
  }

  /**
   * How the delay histograms go with it: `words` copies each into the message (final
   * snapshots), `shared` copies the records into the link's shared copy area for the host
   * to read (a memory copy: copying each and posting the copies held the arbiter 3–9 ms at
   * 64 classes, 22 ms at 1024), `none` leaves them out.
   */
  snapshot(now: number, histograms: 'words' | 'shared' | 'none' = 'words'): LinkSnapshot {
    const s = this.stats;
    s[LINK_NOW_NS] = now;
    const port = this.port.counters();
    s[LINK_PORT_FAULTS] = port.faults;
    s[LINK_PORT_RETRIES] = port.retries;
    s[LINK_PORT_RING_FULL] = port.ringFull;
    s[LINK_PORT_KICKS] = port.kicks;
    for (let c = 0; c < this.maxClasses; c++) {
      const base = LINK_FIELDS + c * CLASS_FIELDS;
      s[base + CLASS_BACKLOG_PKTS] = this.scheduler.backlogPackets(c);
      s[base + CLASS_BACKLOG_BYTES] = this.scheduler.backlogBytes(c);
    }
    return {
      stats: s.slice(),
      stages: histograms === 'words' ? this.histograms.copy() : [],
      otherStages: histograms === 'words' ? this.histograms.copyOverflow() : null,
      ...(histograms === 'shared' ? { copiedRecords: this.histograms.copyRecords() } : {}),
      mailboxFill: this.clients.map((c) => c.mailbox.fill()),
      inFlight: this.inTransmit,
      xstats: this.xstats(),
      inner: Array.from({ length: this.maxClasses }, (_, c) => (this.scheduler.innerStats && this.scheduler.hasClass(c) ? this.scheduler.innerStats(c) : null)),
    };
  }
}
