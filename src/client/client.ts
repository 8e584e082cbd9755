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
 */
import { makeClock, type ClockEpoch } from '../clock.js';
import { FramePool } from '../shm/frame-pool.js';
import { SpscRing } from '../shm/spsc-ring.js';
import { Doorbell } from '../shm/doorbell.js';
import {
  ClientCounters,
  CLIENT_BACKPRESSURE,
  CLIENT_CAPTURE_DROPS,
  CLIENT_INVALID,
  CLIENT_OVERSIZE,
  CLIENT_STOP,
  CLIENT_UNCLASSIFIED,
  MIN_FRAME_LEN,
  type ClientChannel,
} from './channel.js';

export class Client {
  readonly id: number;
  readonly pool: FramePool;
  /** Nanoseconds on the clock shared with the arbiter. */
  readonly now: () => number;
  /** The shared clock's epoch, for sources that stamp in CLOCK_MONOTONIC's terms (ring capture). */
  readonly epoch: ClockEpoch;
  private readonly mailbox: SpscRing;
  private readonly free: SpscRing;
  private readonly counters: ClientCounters;
  private readonly staged: Int32Array;
  private stagedCount = 0;
  /** Per staged frame: the time its delay in pspat began, if it began before `send` (a diverted packet's), else −1. */
  private readonly stagedAt: Float64Array;
  private readonly maxClasses: number;

  constructor(channel: ClientChannel, batch = 64) {
    this.id = channel.clientId;
    this.pool = new FramePool(channel.pool);
    this.now = makeClock(channel.epoch);
    // Stamping its rings lets the arbiter measure how long it took to run again (doorbell.ts).
    this.mailbox = new SpscRing(channel.mailbox, new Doorbell(new Int32Array(channel.arbiterControl), channel.doorbellWord, this.now));
    this.free = new SpscRing(channel.free);
    this.counters = new ClientCounters(channel.counters, channel.maxClasses);
    this.maxClasses = channel.maxClasses;
    this.staged = new Int32Array(Math.min(batch, this.mailbox.size));
    this.stagedAt = new Float64Array(this.staged.length);
    this.epoch = channel.epoch;
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
   * qdisc; `at`: when its delay began, on the shared clock, if before now (a diverted
   * packet's capture), else −1: the mailbox stage starts there rather than at the flush.
   * False (the client keeps the frame) when the length or class is invalid, or when the
   * staging batch is full and the mailbox has no room for it (backpressure).
   */
  send(f: number, len: number, cls: number, flow = 0, police = -1, sub = 0, at = -1): boolean {
    const t = this.counters.totals;
    if (
      len < MIN_FRAME_LEN ||
      len > this.pool.frameSize ||
      cls < 0 ||
      cls >= this.maxClasses ||
      f < 0 ||
      f >= this.pool.frames ||
      this.pool.owner[f] !== this.id
    ) {
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
    this.stagedAt[this.stagedCount] = at;
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
    for (let i = 0; i < count; i++) this.pool.sentAt[this.staged[i]] = this.stagedAt[i] >= 0 ? this.stagedAt[i] : stamp;
    const n = this.mailbox.push(this.staged, 0, count);
    if (n === 0) return 0;
    for (let i = 0; i < n; i++) {
      const f = this.staged[i];
      this.counters.countOffered(this.pool.cls[f], this.pool.len[f]);
    }
    // Keep the refused tail staged, in order, for the next flush.
    this.staged.copyWithin(0, n, count);
    this.stagedAt.copyWithin(0, n, count);
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
