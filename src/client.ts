/**
 * The client side of a link: what a worker thread uses to send packets zero-copy.
 *
 *   const client = new Client(channel);           // channel from link.connectClient()
 *   const n = client.takeFrames(frames, 64);      // frames the client owns now
 *   client.pool.bytes.set(payload, client.pool.offsetOf(f));   // write the packet
 *   client.send(f, len, classSlot);               // staged privately…
 *   client.flush();                               // …published to the mailbox in one batch
 *
 * A frame handed to `send` belongs to the link until the arbiter returns it through the
 * free ring (`takeFrames`). When the mailbox is full, `send`/`flush` take nothing more:
 * the client keeps ownership, the refusal is counted as backpressure, and the client may
 * retry or `waitForFrames`. Nothing here throws or allocates after construction.
 *
 * Channel counters buffer (client-written unless noted):
 *
 * | bytes   | type         | writer | field                                          |
 * |---------|--------------|--------|------------------------------------------------|
 * | 0..3    | int32        | host   | stop: 1 asks the client's loop to finish        |
 * | 64..    | float64[5]   | client | offered pkts, offered bytes, backpressure, invalid, unclassified |
 * | 104..   | float64[2·C] | client | per class slot c: offered pkts, offered bytes  |
 */
import { makeClock, type ClockEpoch } from './clock.js';
import { FramePool, type FramePoolLayout } from './shm/frame-pool.js';
import { SpscRing } from './shm/spsc-ring.js';
import { Doorbell } from './shm/doorbell.js';
import { CTL_DOORBELL } from './arbiter/control.js';
import type { ThreadPlacement } from './placement.js';

/** Smallest frame a client may send: an Ethernet header. */
export const MIN_FRAME_LEN = 14;

export const CLIENT_STOP = 0; // int32 word
const COUNTERS_BYTE_OFFSET = 64;
export const CLIENT_OFFERED_PKTS = 0; // float64 words from COUNTERS_BYTE_OFFSET
export const CLIENT_OFFERED_BYTES = 1;
export const CLIENT_BACKPRESSURE = 2;
export const CLIENT_INVALID = 3;
/** Packets the client's classifier put in no class (tc: drr/qfq drop them), never sent. */
export const CLIENT_UNCLASSIFIED = 4;
export const CLIENT_OVERSIZE = 5; // captured packets longer than a frame (a GSO super-packet): dropped before sending
export const CLIENT_CAPTURE_DROPS = 6; // diverted packets the kernel dropped before a capture client read them (its socket buffer full)
const CLIENT_HEADER_FIELDS = 7;

/** Everything a client worker needs, as plain cloneable data. */
export interface ClientChannel {
  clientId: number;
  linkId: number;
  maxClasses: number;
  epoch: ClockEpoch;
  pool: FramePoolLayout;
  mailbox: SharedArrayBuffer;
  free: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  /** The arbiter's control buffer, whose doorbell the mailbox rings (arbiter/control.ts). */
  arbiterControl: SharedArrayBuffer;
  /** Where a worker running this client places itself (placement.ts); the Client itself ignores it. */
  placement: ThreadPlacement;
}

export function allocateClientCounters(maxClasses: number): SharedArrayBuffer {
  return new SharedArrayBuffer(COUNTERS_BYTE_OFFSET + 8 * (CLIENT_HEADER_FIELDS + 2 * maxClasses));
}

/** Read-side view of a client's counters (for the host). */
export class ClientCounters {
  readonly control: Int32Array;
  readonly totals: Float64Array;
  readonly perClass: Float64Array;
  constructor(buffer: SharedArrayBuffer, maxClasses: number) {
    this.control = new Int32Array(buffer, 0, 1);
    this.totals = new Float64Array(buffer, COUNTERS_BYTE_OFFSET, CLIENT_HEADER_FIELDS);
    this.perClass = new Float64Array(buffer, COUNTERS_BYTE_OFFSET + 8 * CLIENT_HEADER_FIELDS, 2 * maxClasses);
  }
  offeredPackets(slot: number): number {
    return this.perClass[2 * slot];
  }
  offeredBytes(slot: number): number {
    return this.perClass[2 * slot + 1];
  }
  /**
   * Counts one packet handed to the arbiter. The total packet count goes last: a thread
   * that dies mid-count leaves it short by whole packets, which reclaimClient tops up.
   */
  countOffered(cls: number, len: number): void {
    this.perClass[2 * cls]++;
    this.perClass[2 * cls + 1] += len;
    this.totals[CLIENT_OFFERED_BYTES] += len;
    this.totals[CLIENT_OFFERED_PKTS]++;
  }
}

export class Client {
  readonly id: number;
  readonly pool: FramePool;
  /** Nanoseconds on the clock shared with the arbiter. */
  readonly now: () => number;
  private readonly mailbox: SpscRing;
  private readonly free: SpscRing;
  private readonly counters: ClientCounters;
  private readonly staged: Int32Array;
  private stagedCount = 0;
  private readonly maxClasses: number;

  constructor(channel: ClientChannel, batch = 64) {
    this.id = channel.clientId;
    this.pool = new FramePool(channel.pool);
    this.now = makeClock(channel.epoch);
    this.mailbox = new SpscRing(channel.mailbox, new Doorbell(new Int32Array(channel.arbiterControl), CTL_DOORBELL));
    this.free = new SpscRing(channel.free);
    this.counters = new ClientCounters(channel.counters, channel.maxClasses);
    this.maxClasses = channel.maxClasses;
    this.staged = new Int32Array(Math.min(batch, this.mailbox.size));
  }

  /** True once the host asked this client to stop. */
  get stopRequested(): boolean {
    // Acquires the host's stop request.
    return Atomics.load(this.counters.control, CLIENT_STOP) !== 0;
  }

  /** Frames staged by `send` and not yet published. */
  get pending(): number {
    return this.stagedCount;
  }

  /**
   * Frames worth parking for when it has none (`waitForFrames`): an eighth of its free
   * ring, which holds every frame it owns (F ≤ size < 2F), so between F/8 and F/4.
   */
  get wakeBatch(): number {
    return Math.max(1, this.free.size >> 3);
  }

  /** Packets `send` can still stage before a flush must make room. */
  get stageRoom(): number {
    return this.staged.length - this.stagedCount;
  }

  /** Moves up to `max` frames the arbiter returned into `out`; returns how many. */
  takeFrames(out: Int32Array, max: number): number {
    return this.free.pop(out, 0, Math.min(max, out.length));
  }

  /**
   * Stages frame `f`: `len` bytes, class slot `cls`, flow hash `flow` (sfq, fq_codel),
   * policer `police` its filter names (−1 none), class slot `sub` inside the class's inner
   * qdisc. False (the client keeps the frame) when the length or class is invalid, or
   * when the staging batch is full and the mailbox has no room for it (backpressure).
   */
  send(f: number, len: number, cls: number, flow = 0, police = -1, sub = 0): boolean {
    const t = this.counters.totals;
    if (len < MIN_FRAME_LEN || len > this.pool.frameSize || cls < 0 || cls >= this.maxClasses ||
        f < 0 || f >= this.pool.frames || this.pool.owner[f] !== this.id) {
      t[CLIENT_INVALID]++;
      return false;
    }
    if (this.stagedCount === this.staged.length && this.flush() === 0) {
      t[CLIENT_BACKPRESSURE]++;
      return false;
    }
    this.pool.len[f] = len;
    this.pool.cls[f] = cls;
    this.pool.flow[f] = flow;
    this.pool.police[f] = police;
    this.pool.sub[f] = sub;
    this.staged[this.stagedCount++] = f;
    return true;
  }

  /** Counts a packet dropped before sending because no class took it; the frame stays the client's. */
  dropUnclassified(): void {
    this.counters.totals[CLIENT_UNCLASSIFIED]++;
  }

  /** Counts a captured packet dropped before sending because it is longer than a frame. */
  dropOversize(): void {
    this.counters.totals[CLIENT_OVERSIZE]++;
  }

  /** Counts `n` diverted packets the kernel dropped before this capture client could read them. */
  dropCaptured(n: number): void {
    this.counters.totals[CLIENT_CAPTURE_DROPS] += n;
  }

  /** Publishes staged frames to the mailbox (one batch); returns how many went. */
  flush(): number {
    const count = this.stagedCount;
    if (count === 0) return 0;
    const stamp = this.now();
    for (let i = 0; i < count; i++) this.pool.sentAt[this.staged[i]] = stamp;
    const n = this.mailbox.push(this.staged, 0, count);
    if (n === 0) return 0;
    for (let i = 0; i < n; i++) {
      const f = this.staged[i];
      this.counters.countOffered(this.pool.cls[f], this.pool.len[f]);
    }
    // Keep the refused tail staged, in order, for the next flush.
    this.staged.copyWithin(0, n, count);
    this.stagedCount = count - n;
    return n;
  }

  /**
   * Parks until the arbiter has returned `atLeast` frames (or `timeoutMs` passes). Returns
   * at once if they are already there. Asking for a batch rather than one frame spares
   * the arbiter a wake-up (a system call on its CPU) per pass per parked client.
   */
  waitForFrames(timeoutMs: number, atLeast = 1): void {
    const token = this.free.doorbell.arm(atLeast);
    if (this.free.peek(atLeast) >= atLeast || this.stopRequested) {
      this.free.doorbell.disarm();
      return;
    }
    this.free.doorbell.park(token, timeoutMs);
  }
}
