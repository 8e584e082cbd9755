/**
 * Round-robin rings with O(1) removal from anywhere: circular doubly linked lists through
 * shared `next`/`prev` arrays, each list with a rotating `current` pointer. HTB needs
 * removal from the middle on every mode change (a class leaves its parent's feed or its
 * row when it runs out of tokens), which `active-lists.ts` makes O(length).
 *
 *   next[n], prev[n]  neighbours of node n in its ring; -1 when n is in no ring
 *   current[l]        the node whose turn it is in ring l; -1 when l is empty
 *
 * A node is in at most one ring at a time (the caller's invariant).
 */
export class RoundRobinRings {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly current: Int32Array;

  constructor(nodes: number, rings: number) {
    this.next = new Int32Array(nodes).fill(-1);
    this.prev = new Int32Array(nodes).fill(-1);
    this.current = new Int32Array(rings).fill(-1);
  }

  isEmpty(ring: number): boolean {
    return this.current[ring] < 0;
  }

  isLinked(node: number): boolean {
    return this.next[node] >= 0;
  }

  /** The node whose turn it is; the ring must not be empty. */
  turn(ring: number): number {
    return this.current[ring];
  }

  /** Adds `node` last in turn order (just before the current node). */
  insert(ring: number, node: number): void {
    const cur = this.current[ring];
    if (cur < 0) {
      this.next[node] = node;
      this.prev[node] = node;
      this.current[ring] = node;
      return;
    }
    const last = this.prev[cur];
    this.next[last] = node;
    this.prev[node] = last;
    this.next[node] = cur;
    this.prev[cur] = node;
  }

  /** Unlinks `node`; if it had the turn, the turn passes to the node after it. */
  remove(ring: number, node: number): void {
    const n = this.next[node];
    if (n === node) {
      this.current[ring] = -1;
    } else {
      const p = this.prev[node];
      this.next[p] = n;
      this.prev[n] = p;
      if (this.current[ring] === node) this.current[ring] = n;
    }
    this.next[node] = -1;
    this.prev[node] = -1;
  }

  /** The current node's turn is over. */
  advance(ring: number): void {
    const cur = this.current[ring];
    if (cur >= 0) this.current[ring] = this.next[cur];
  }
}
