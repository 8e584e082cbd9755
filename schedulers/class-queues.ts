/**
 * Per-class FIFOs as intrusive singly linked lists through a `next[frame]` array: O(1)
 * append and pop, no allocation, one Int32 per frame in the pool (a frame is in at most
 * one queue at a time, because it has one owner). Every scheduler keeps its leaf queues
 * here, with their limits and backlog counters.
 *
 * Layout, one entry per class slot (or per frame for `next`):
 *   head, tail  first / last frame of the class's queue, -1 when empty
 *   packets, bytes  current backlog
 *   limitPackets, limitBytes  queue limits (Infinity: none)
 *   next[frame]  frame after `frame` in its queue, -1 at the tail
 */
import { InvalidOptionError } from '../src/errors.js';
import type { ClassParams, FrameTable } from './types.js';

/** Validates an integer class or scheduler parameter, naming it in the error. */
export function intParam(field: string, value: number, lo: number, hi: number, unit = ''): number {
  if (!Number.isInteger(value) || value < lo || value > hi) {
    throw new InvalidOptionError(field, `must be an integer in [${lo}, ${hi}]${unit}, got ${value}`);
  }
  return value;
}

/** Largest queue limit, in packets or bytes (tc's limits are u32). */
export const MAX_LIMIT = 2 ** 32 - 1;

/** tc's default queue length (txqueuelen) for a leaf FIFO. */
export const DEFAULT_LIMIT_PACKETS = 1000;

export class ClassQueues {
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly packets: Float64Array;
  readonly bytes: Float64Array;
  readonly limitPackets: Float64Array;
  readonly limitBytes: Float64Array;
  private readonly next: Int32Array;

  constructor(
    private readonly frames: FrameTable,
    poolFrames: number,
    readonly maxClasses: number,
  ) {
    this.next = new Int32Array(poolFrames);
    this.head = new Int32Array(maxClasses).fill(-1);
    this.tail = new Int32Array(maxClasses).fill(-1);
    this.packets = new Float64Array(maxClasses);
    this.bytes = new Float64Array(maxClasses);
    this.limitPackets = new Float64Array(maxClasses);
    this.limitBytes = new Float64Array(maxClasses);
  }

  /** Sets a class's limits from its parameters (validated: positive integers). */
  setLimits(slot: number, params: ClassParams): void {
    const lp = intParam('limitPackets', params.limitPackets ?? DEFAULT_LIMIT_PACKETS, 1, MAX_LIMIT);
    const lb = params.limitBytes === undefined ? Infinity : intParam('limitBytes', params.limitBytes, 1, MAX_LIMIT, ' bytes');
    this.limitPackets[slot] = lp;
    this.limitBytes[slot] = lb;
  }

  /** `params` with its missing limits filled from the class's current ones (for change). */
  limitsWith(slot: number, params: ClassParams): ClassParams {
    const bytes = this.limitBytes[slot];
    return {
      limitPackets: params.limitPackets ?? this.limitPackets[slot],
      limitBytes: params.limitBytes ?? (bytes === Infinity ? undefined : bytes),
    };
  }

  /** True when one more frame of `len` bytes would exceed the class's limits. */
  wouldOverflow(slot: number, len: number): boolean {
    return this.packets[slot] + 1 > this.limitPackets[slot] || this.bytes[slot] + len > this.limitBytes[slot];
  }

  append(slot: number, frame: number): void {
    this.next[frame] = -1;
    if (this.tail[slot] < 0) this.head[slot] = frame;
    else this.next[this.tail[slot]] = frame;
    this.tail[slot] = frame;
    this.packets[slot]++;
    this.bytes[slot] += this.frames.len[frame];
  }

  /** Removes and returns the head frame; the caller knows the queue is not empty. */
  pop(slot: number): number {
    const f = this.head[slot];
    const n = this.next[f];
    this.head[slot] = n;
    if (n < 0) this.tail[slot] = -1;
    this.packets[slot]--;
    this.bytes[slot] -= this.frames.len[f];
    return f;
  }

  isEmpty(slot: number): boolean {
    return this.head[slot] < 0;
  }

  /** Hands every queued frame of `slot` to `evict`, in order, leaving the queue empty. */
  flush(slot: number, evict: (frame: number) => void): void {
    while (this.head[slot] >= 0) evict(this.pop(slot));
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
