/**
 * The order the arbiter returns a client's frames in. A client reuses its frames in the
 * order of its free ring, and the frame table keeps each column (length, class, policer,
 * stamp …) as an array, so neighbouring frames share cache lines. Returned in the order
 * the scheduler released them, some runs of the arbiter bench settled into an order that
 * spread each packet over more lines and doubled the cost of admit's first reads of a
 * frame (BENCHMARKS.md); in index order, any scheduler's order costs the same.
 */

/**
 * Puts frames[0..n) in index order: each is a distinct frame of the client whose frames
 * are [first, first + 32 · bits.length), and `bits` is all clear (and is left so). A bit
 * per frame, then the set bits read back lowest first: O(n + frames / 32), nothing
 * allocated, whatever order they came in.
 */
export function inIndexOrder(frames: Int32Array, n: number, first: number, bits: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const k = frames[i] - first;
    bits[k >>> 5] |= 1 << (k & 31);
  }
  let out = 0;
  for (let w = 0; w < bits.length && out < n; w++) {
    let word = bits[w];
    if (word === 0) continue;
    bits[w] = 0;
    while (word !== 0) {
      const low = word & -word;
      frames[out++] = first + w * 32 + 31 - Math.clz32(low);
      word ^= low;
    }
  }
}
