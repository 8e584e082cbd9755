/**
 * A min-heap of slots keyed by a Float64 value per slot, any member removable or re-keyed
 * in O(log n): a `HeapForest` of one heap, for WF2Q+'s eligible/ineligible sets and HTB's
 * wait queue. Ties break on the lower slot, so runs are deterministic. As in the forest,
 * a caller writes a slot's key into `key` before `push` or `rekey`.
 */
import { HeapForest } from './heap-forest.js';

const ONLY = 0;

export class IndexedHeap {
  private readonly forest: HeapForest;
  readonly key: Float64Array;

  constructor(capacity: number) {
    this.forest = new HeapForest(capacity, 1);
    this.forest.reserve(ONLY, capacity);
    this.key = this.forest.key;
  }

  get size(): number {
    return this.forest.size(ONLY);
  }

  has(slot: number): boolean {
    return this.forest.has(slot);
  }

  /** Smallest-key slot, or -1 when empty. */
  top(): number {
    return this.forest.top(ONLY);
  }

  /** Adds `slot`, keyed by `key[slot]`. */
  push(slot: number): void {
    this.forest.push(ONLY, slot);
  }

  pop(): number {
    return this.forest.pop(ONLY);
  }

  remove(slot: number): void {
    this.forest.remove(ONLY, slot);
  }

  /** Restores the order after the caller changed `key[slot]` of a member. */
  rekey(slot: number): void {
    this.forest.rekey(ONLY, slot);
  }
}
