/**
 * Per-class FIFOs as intrusive singly linked lists through a `next[frame]` array: O(1)
 * append and pop, no allocation, one Int32 per frame in the pool (a frame is in at most
 * one queue at a time, because it has one owner). Every scheduler keeps its leaf queues
 * here, with their limits and backlog counters.
 *
 * A class may instead have a leaf discipline (sfq, fq_codel: ClassParams.leaf), as a tc
 * class may have a qdisc attached. Its head is then what the discipline would send next,
 * asked for once and *held* (as the kernel's qdisc_peek_dequeued does for a parent): a
 * discipline may drop packets when asked (CoDel), so "is this class empty?" is answered
 * by asking, and the answer stays true until the held frame is popped. Every scheduler
 * therefore reads a class's head with `headOf` and tests it with `isEmpty`. Packets a
 * discipline drops leave the class's counters and go to the `dropped` callback.
 *
 * Layout, one entry per class slot (or per frame for `next`):
 *   head, tail  first / last frame of the class's queue, -1 when empty
 *   packets, bytes  current backlog
 *   limitPackets, limitBytes  queue limits (Infinity: none)
 *   next[frame]  frame after `frame` in its queue, -1 at the tail
 */
import { InvalidOptionError } from '../src/errors.js';
import { DROP_QUEUE_LIMIT, ENQUEUED, type ClassParams, type FrameTable, type LeafSpec, type Verdict } from './types.js';

/** What a class's leaf discipline offers (a scheduler of its own, holding that class's packets). */
export interface LeafQueue {
  enqueue(frame: number): Verdict;
  dequeue(): number;
  reset(evict: (frame: number) => void): void;
  /** When a shaping leaf that holds packets back may send again (Infinity otherwise). */
  readonly wakeAt: number;
}

/** Builds the leaf discipline of class `slot` (and says whether it shapes); its drops go to `drop`. Throws on bad parameters. */
export type LeafFactory = (slot: number, spec: LeafSpec, drop: (frame: number, reason: number) => void) => { queue: LeafQueue; shapes: boolean };

/**
 * Validates an integer class or scheduler parameter, naming it in the error. Returns it as
 * a small integer where it fits 32 bits (`| 0`): a parameter that arrives boxed (a message
 * from the host, an object whose field once held a fraction) and is summed into a
 * scheduler's integer field would otherwise change that object's hidden class on a class
 * change, and V8 would throw away the optimised hot path (bench/deopt-check.ts).
 */
export function intParam(field: string, value: number, lo: number, hi: number, unit = ''): number {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new InvalidOptionError(field, `must be an integer in [${lo}, ${hi}]${unit}, got ${value}`);
  }
  return value === (value | 0) ? value | 0 : value;
}

/** Largest queue limit, in packets or bytes (tc's limits are u32). */
export const MAX_LIMIT = 2 ** 32 - 1;

/** tc's default queue length (txqueuelen) for a leaf FIFO. */
export const DEFAULT_LIMIT_PACKETS = 1000;

export class ClassQueues {
  readonly head: Int32Array;
  readonly tail: Int32Array;
  /** Int32 for the reason wf2q.ts gives its weights: the schedulers' backlog count subtracts them. */
  readonly packets: Int32Array;
  readonly bytes: Float64Array;
  readonly limitPackets: Float64Array;
  readonly limitBytes: Float64Array;
  private readonly next: Int32Array;
  /** Per class: its leaf discipline, or null for the FIFO. */
  private readonly leaf: (LeafQueue | null)[];
  /** Per class: 1 if its leaf discipline shapes (may hold packets back: htb, tbf). */
  private readonly leafShapes: Uint8Array;
  /** Per leaf class: the frame its discipline gave as head, not yet popped (−1: none). */
  private readonly held: Int32Array;
  /**
   * Classes whose shaping leaf holds packets it may not send yet: asleep until
   * `sleepUntil`, out of their scheduler's active set, woken by `wake`.
   */
  private readonly sleepUntil: Float64Array;
  private readonly sleepers: Int32Array;
  /** Classes asleep now (read on the hot path to skip `wake` when there are none). */
  sleeping = 0;

  constructor(
    private readonly frames: FrameTable,
    poolFrames: number,
    readonly maxClasses: number,
    private readonly makeLeaf?: LeafFactory,
    /** A leaf discipline dropped one of its packets (counters already adjusted). */
    private readonly dropped?: (frame: number, reason: number) => void,
  ) {
    this.next = new Int32Array(poolFrames);
    this.head = new Int32Array(maxClasses).fill(-1);
    this.tail = new Int32Array(maxClasses).fill(-1);
    this.packets = new Int32Array(maxClasses);
    this.bytes = new Float64Array(maxClasses);
    this.limitPackets = new Float64Array(maxClasses);
    this.limitBytes = new Float64Array(maxClasses);
    this.leaf = new Array<LeafQueue | null>(maxClasses).fill(null);
    this.leafShapes = new Uint8Array(maxClasses);
    this.held = new Int32Array(maxClasses).fill(-1);
    this.sleepUntil = new Float64Array(maxClasses).fill(Infinity);
    this.sleepers = new Int32Array(maxClasses);
  }

  /** A class's head is missing though it has packets: its leaf shapes; sleep until it may send. */
  private fallAsleep(slot: number, until: number): void {
    if (this.sleepUntil[slot] === Infinity) this.sleepers[this.sleeping++] = slot;
    this.sleepUntil[slot] = until;
  }

  private stopSleeping(slot: number): void {
    if (this.sleepUntil[slot] === Infinity) return;
    this.sleepUntil[slot] = Infinity;
    const i = this.sleepers.subarray(0, this.sleeping).indexOf(slot);
    this.sleepers[i] = this.sleepers[--this.sleeping];
  }

  /** Class `slot`'s leaf discipline, or null for its FIFO (for stats). */
  leafOf(slot: number): LeafQueue | null {
    return this.leaf[slot];
  }

  /** The earliest time a sleeping class may send again; Infinity when none sleeps. */
  nextWake(): number {
    let t = Infinity;
    for (let i = 0; i < this.sleeping; i++) if (this.sleepUntil[this.sleepers[i]] < t) t = this.sleepUntil[this.sleepers[i]];
    return t;
  }

  /** Wakes the classes whose time has come and that can send now, through `activate`. */
  wake(now: number, activate: (slot: number) => void): void {
    for (let i = 0; i < this.sleeping; ) {
      const slot = this.sleepers[i];
      if (this.sleepUntil[slot] > now) {
        i++;
        continue;
      }
      this.sleepers[i] = this.sleepers[--this.sleeping];
      this.sleepUntil[slot] = Infinity;
      // Asking may put it back to sleep (a later wake-up time): then it stays out.
      if (this.headOf(slot) >= 0) activate(slot);
    }
  }

  /** False when the class's shaping leaf cannot send now (it then sleeps); asks only a shaping leaf. */
  canSend(slot: number): boolean {
    const leaf = this.leaf[slot];
    if (leaf === null || this.leafShapes[slot] === 0) return true;
    return this.headOf(slot) >= 0;
  }

  /**
   * Sets a class's limits and leaf discipline from its parameters, all validated before
   * anything changes. A new discipline takes over the class's queued packets in order.
   */
  setLimits(slot: number, params: ClassParams): void {
    const lp = intParam('limitPackets', params.limitPackets ?? DEFAULT_LIMIT_PACKETS, 1, MAX_LIMIT);
    const lb = params.limitBytes === undefined ? Infinity : intParam('limitBytes', params.limitBytes, 1, MAX_LIMIT, ' bytes');
    let next: { queue: LeafQueue; shapes: boolean } | null | undefined;
    if (params.leaf !== undefined && params.leaf !== null) {
      if (!this.makeLeaf || !this.dropped) throw new InvalidOptionError('leaf', 'this scheduler takes no leaf qdiscs');
      next = this.makeLeaf(slot, params.leaf, (f, reason) => this.leafDropped(slot, f, reason));
    } else next = params.leaf;
    this.limitPackets[slot] = lp;
    this.limitBytes[slot] = lb;
    if (next !== undefined) this.replaceLeaf(slot, next);
  }

  private replaceLeaf(slot: number, next: { queue: LeafQueue; shapes: boolean } | null): void {
    // A class asleep behind a shaping leaf is out of its scheduler's active set: after the
    // change, the next dequeue must wake it (if it still has packets), not wait for the old time.
    const wasAsleep = this.sleepUntil[slot] !== Infinity;
    const queued: number[] = [];
    this.flush(slot, (f) => queued.push(f));
    this.leaf[slot] = next === null ? null : next.queue;
    this.leafShapes[slot] = next?.shapes ? 1 : 0;
    for (const f of queued) {
      if (!this.append(slot, f)) this.dropped!(f, DROP_QUEUE_LIMIT);
    }
    if (wasAsleep && this.packets[slot] > 0) this.fallAsleep(slot, 0);
  }

  private leafDropped(slot: number, f: number, reason: number): void {
    this.packets[slot]--;
    this.bytes[slot] -= this.frames.len[f];
    this.dropped!(f, reason);
  }

  /** `params` with its missing limits filled from the class's current ones (for change); `leaf` passes through. */
  limitsWith(slot: number, params: ClassParams): ClassParams {
    const bytes = this.limitBytes[slot];
    return {
      limitPackets: params.limitPackets ?? this.limitPackets[slot],
      limitBytes: params.limitBytes ?? (bytes === Infinity ? undefined : bytes),
      ...(params.leaf !== undefined ? { leaf: params.leaf } : {}),
    };
  }

  /** True when one more frame of `len` bytes would exceed the class's limits (a leaf discipline keeps its own). */
  wouldOverflow(slot: number, len: number): boolean {
    if (this.leaf[slot] !== null) return false;
    return this.packets[slot] + 1 > this.limitPackets[slot] || this.bytes[slot] + len > this.limitBytes[slot];
  }

  /** Queues `frame` in class `slot`; false if its leaf discipline refused it. */
  append(slot: number, frame: number): boolean {
    const leaf = this.leaf[slot];
    if (leaf !== null) {
      if (leaf.enqueue(frame) !== ENQUEUED) return false;
      this.packets[slot]++;
      this.bytes[slot] += this.frames.len[frame];
      return true;
    }
    this.next[frame] = -1;
    if (this.tail[slot] < 0) this.head[slot] = frame;
    else this.next[this.tail[slot]] = frame;
    this.tail[slot] = frame;
    this.packets[slot]++;
    this.bytes[slot] += this.frames.len[frame];
    return true;
  }

  /** The frame the class sends next, or −1 when it has none (a leaf's is asked for and held). */
  headOf(slot: number): number {
    const leaf = this.leaf[slot];
    if (leaf === null) return this.head[slot];
    if (this.held[slot] < 0) {
      this.held[slot] = leaf.dequeue();
      if (this.held[slot] < 0 && this.packets[slot] > 0 && leaf.wakeAt < Infinity) this.fallAsleep(slot, leaf.wakeAt);
    }
    return this.held[slot];
  }

  /**
   * Removes and returns the head frame; the caller knows the queue is not empty — except
   * that a leaf discipline may have dropped everything when asked: then −1.
   */
  pop(slot: number): number {
    if (this.leaf[slot] !== null) {
      const h = this.headOf(slot);
      if (h < 0) return -1;
      this.held[slot] = -1;
      this.packets[slot]--;
      this.bytes[slot] -= this.frames.len[h];
      return h;
    }
    const f = this.head[slot];
    const n = this.next[f];
    this.head[slot] = n;
    if (n < 0) this.tail[slot] = -1;
    this.packets[slot]--;
    this.bytes[slot] -= this.frames.len[f];
    return f;
  }

  isEmpty(slot: number): boolean {
    return this.headOf(slot) < 0;
  }

  /** Hands every queued frame of `slot` to `evict`, in order, leaving the queue empty. */
  flush(slot: number, evict: (frame: number) => void): void {
    const leaf = this.leaf[slot];
    if (leaf === null) {
      while (this.head[slot] >= 0) evict(this.pop(slot));
      return;
    }
    if (this.held[slot] >= 0) evict(this.held[slot]);
    this.held[slot] = -1;
    this.stopSleeping(slot);
    leaf.reset(evict);
    this.packets[slot] = 0;
    this.bytes[slot] = 0;
  }
}

/** Which class slots exist, with the checks every scheduler's class management makes. */
export class ClassSet {
  private readonly exists: Uint8Array;

  constructor(readonly maxClasses: number) {
    this.exists = new Uint8Array(maxClasses);
  }

  /** Hot path: true if `slot` is a created class (any number is safe to pass). */
  has(slot: number): boolean {
    return slot >= 0 && slot < this.maxClasses && this.exists[slot] === 1;
  }

  /** Throws unless `slot` is a valid slot that does not exist yet. */
  checkNew(slot: number): void {
    this.checkRange(slot);
    if (this.exists[slot]) throw new RangeError(`class: slot ${slot} already exists`);
  }

  /** Throws unless class `slot` exists. */
  checkExists(slot: number): void {
    this.checkRange(slot);
    if (!this.exists[slot]) throw new RangeError(`class: slot ${slot} does not exist`);
  }

  add(slot: number): void {
    this.exists[slot] = 1;
  }

  remove(slot: number): void {
    this.exists[slot] = 0;
  }

  private checkRange(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.maxClasses) {
      throw new InvalidOptionError('class', `slot must be an integer in [0, ${this.maxClasses - 1}], got ${slot}`);
    }
  }
}
