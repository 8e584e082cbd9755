/**
 * Many binary min-heaps over one space of nodes, each node in at most one heap at a time,
 * with its position tracked so it can be removed or re-keyed in O(log n). Ties break on
 * the lower node, so runs are deterministic. HTB keeps one heap per (parent, priority);
 * WF2Q+ and HTB's wait queue use a forest of one heap (`IndexedHeap`).
 *
 * Storage: `key` and `pos` are per node; each heap's array is sized by `reserve`, which
 * only the control path calls (a parent gaining a child), so the hot path never allocates.
 * A caller writes a node's key into `key` before `push` or `rekey`: a key passed as an
 * argument is a double crossing a call, a new heap number wherever V8 leaves the call out
 * of line (test/arbiter-allocation.test.ts caught WF2Q+ collecting garbage that way).
 */
export class HeapForest {
  readonly key: Float64Array;
  private readonly pos: Int32Array;
  private readonly heaps: Int32Array[];
  private readonly sizes: Int32Array;

  constructor(nodes: number, heaps: number) {
    this.key = new Float64Array(nodes);
    this.pos = new Int32Array(nodes).fill(-1);
    this.heaps = new Array<Int32Array>(heaps).fill(new Int32Array(0));
    this.sizes = new Int32Array(heaps);
  }

  /** Makes room for `capacity` nodes in heap h (keeps what it holds). */
  reserve(h: number, capacity: number): void {
    const old = this.heaps[h];
    if (old.length >= capacity) return;
    const grown = new Int32Array(Math.max(capacity, 2 * old.length));
    grown.set(old.subarray(0, this.sizes[h]));
    this.heaps[h] = grown;
  }

  size(h: number): number {
    return this.sizes[h];
  }

  has(node: number): boolean {
    return this.pos[node] >= 0;
  }

  /** Smallest-key node of heap h, or -1 when it is empty. */
  top(h: number): number {
    return this.sizes[h] > 0 ? this.heaps[h][0] : -1;
  }

  /** Adds `node` to heap h, keyed by `key[node]`. */
  push(h: number, node: number): void {
    const i = this.sizes[h]++;
    this.heaps[h][i] = node;
    this.pos[node] = i;
    this.up(this.heaps[h], i);
  }

  pop(h: number): number {
    const top = this.heaps[h][0];
    this.remove(h, top);
    return top;
  }

  remove(h: number, node: number): void {
    const heap = this.heaps[h];
    const i = this.pos[node];
    const last = heap[--this.sizes[h]];
    this.pos[node] = -1;
    if (i === this.sizes[h]) return;
    heap[i] = last;
    this.pos[last] = i;
    this.down(heap, this.sizes[h], i);
    this.up(heap, this.pos[last]);
  }

  /** Restores heap h's order after the caller changed `key[node]` of a member. */
  rekey(h: number, node: number): void {
    const heap = this.heaps[h];
    this.down(heap, this.sizes[h], this.pos[node]);
    this.up(heap, this.pos[node]);
  }

  private less(a: number, b: number): boolean {
    const ka = this.key[a];
    const kb = this.key[b];
    return ka < kb || (ka === kb && a < b);
  }

  private up(heap: Int32Array, i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(heap[i], heap[p])) break;
      this.swap(heap, i, p);
      i = p;
    }
  }

  private down(heap: Int32Array, size: number, i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) return;
      const r = l + 1;
      const c = r < size && this.less(heap[r], heap[l]) ? r : l;
      if (!this.less(heap[c], heap[i])) return;
      this.swap(heap, i, c);
      i = c;
    }
  }

  private swap(heap: Int32Array, i: number, j: number): void {
    const a = heap[i];
    heap[i] = heap[j];
    heap[j] = a;
    this.pos[heap[i]] = i;
    this.pos[heap[j]] = j;
  }
}
