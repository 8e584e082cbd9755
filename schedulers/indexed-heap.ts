/**
 * A binary min-heap of class slots keyed by a Float64 value per slot, with each slot's
 * position tracked so any member can be removed or re-keyed in O(log n). Ties break on
 * the lower slot, so runs are deterministic. No allocation after construction.
 */
export class IndexedHeap {
  private readonly heap: Int32Array;
  private readonly pos: Int32Array;
  readonly key: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.heap = new Int32Array(capacity);
    this.pos = new Int32Array(capacity).fill(-1);
    this.key = new Float64Array(capacity);
  }

  has(slot: number): boolean {
    return this.pos[slot] >= 0;
  }

  /** Smallest-key slot, or -1 when empty. */
  top(): number {
    return this.size > 0 ? this.heap[0] : -1;
  }

  push(slot: number, key: number): void {
    this.key[slot] = key;
    this.heap[this.size] = slot;
    this.pos[slot] = this.size++;
    this.up(this.size - 1);
  }

  pop(): number {
    const top = this.heap[0];
    this.remove(top);
    return top;
  }

  remove(slot: number): void {
    const i = this.pos[slot];
    const last = this.heap[--this.size];
    this.pos[slot] = -1;
    if (i === this.size) return;
    this.heap[i] = last;
    this.pos[last] = i;
    this.down(i);
    this.up(this.pos[last]);
  }

  private less(a: number, b: number): boolean {
    const ka = this.key[a];
    const kb = this.key[b];
    return ka < kb || (ka === kb && a < b);
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) return;
      const r = l + 1;
      const c = r < this.size && this.less(h[r], h[l]) ? r : l;
      if (!this.less(h[c], h[i])) return;
      this.swap(i, c);
      i = c;
    }
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    const a = h[i];
    h[i] = h[j];
    h[j] = a;
    this.pos[h[i]] = i;
    this.pos[h[j]] = j;
  }
}
