/**
 * Single-producer single-consumer ring of Int32 entries over one SharedArrayBuffer.
 *
 * Every ring in pspat carries frame indices: the frame's descriptor (length, class,
 * timestamps) lives in the frame table row of that index (see frame-pool.ts), written by
 * whoever owns the frame, and ownership moves with the index through these rings. One
 * ring type therefore serves as client mailbox, free-frame ring, transmit ring and
 * completion ring.
 *
 * Byte layout of the buffer (indices are free-running int32 counters; the slot of index i
 * is `i & mask`, and `(tail - head) | 0` is the fill level, valid across int32 wrap):
 *
 * | bytes     | type        | writer   | reader   | field                                    |
 * |-----------|-------------|----------|----------|------------------------------------------|
 * | 0..3      | int32       | producer | consumer | prodTail: next index the producer fills  |
 * | 64..67    | int32       | consumer | producer | consHead: next index the consumer reads  |
 * | 128..135  | 2 × int32   | both     | both     | consumer's doorbell (see doorbell.ts)    |
 * | 192..     | int32[size] | producer | consumer | slots                                    |
 *
 * Producer and consumer fields sit on separate 64-byte cache lines so the two cores do not
 * bounce one line on every publication. Each side keeps a private cached copy of the
 * other side's index and reloads it only when the cached value says full / empty (as
 * libxdp's xsk rings do), so a batch costs one `Atomics.load` at most and one
 * `Atomics.store` to publish.
 *
 * Operations follow the batch pattern of libxdp: producer `reserve(n) → k`, write slots
 * at `prodIndex() + i`, `submit(k)`; consumer `peek(n) → k`, read slots at
 * `consIndex() + i`, `release(k)`. Nothing is visible to the other side until submit /
 * release publishes it. `push` and `pop` wrap these for whole Int32Array batches.
 */
import { Doorbell } from './doorbell.js';

const PROD_TAIL = 0; // int32 word index (byte 0)
const CONS_HEAD = 16; // byte 64
const DOORBELL = 32; // byte 128
const SLOTS_BYTE_OFFSET = 192;

/** The ring size (a power of two, at least 2) that holds `n` entries. */
export function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2, n)));
}

export class SpscRing {
  /** Allocates the shared memory for a ring of `size` slots (a power of two ≥ 2). */
  static allocate(size: number): SharedArrayBuffer {
    if (!Number.isInteger(size) || size < 2 || size > 1 << 24 || (size & (size - 1)) !== 0) {
      throw new RangeError(`ring size: must be a power of two in [2, 2^24], got ${size}`);
    }
    return new SharedArrayBuffer(SLOTS_BYTE_OFFSET + size * 4);
  }

  readonly size: number;
  readonly mask: number;
  /** The slots; entry for index i is `slots[i & mask]`. */
  readonly slots: Int32Array;
  /** The consumer's doorbell, unless the ring was built with an external one. */
  readonly doorbell: Doorbell;
  private readonly ctl: Int32Array;
  // Producer-private state.
  private prodLocal: number;
  private consCached: number;
  /** Producer: times a submit woke the parked consumer (its futex wake), for a producer that makes way for it (Arbiter.yieldOwed). */
  wakes = 0;
  // Consumer-private state.
  private consLocal: number;
  private prodCached: number;

  /**
   * @param wake Doorbell the producer rings on submit. Defaults to the ring's own (whose
   * consumer waits on this ring alone); a consumer serving many rings, like the arbiter,
   * passes its shared doorbell.
   */
  constructor(
    readonly buffer: SharedArrayBuffer,
    wake?: Doorbell,
  ) {
    this.size = (buffer.byteLength - SLOTS_BYTE_OFFSET) / 4;
    this.mask = this.size - 1;
    this.ctl = new Int32Array(buffer, 0, SLOTS_BYTE_OFFSET / 4);
    this.slots = new Int32Array(buffer, SLOTS_BYTE_OFFSET, this.size);
    this.doorbell = wake ?? new Doorbell(this.ctl, DOORBELL);
    // Acquire the current indices: a ring may be attached while in use (re-attach).
    this.prodLocal = Atomics.load(this.ctl, PROD_TAIL);
    this.consLocal = Atomics.load(this.ctl, CONS_HEAD);
    this.consCached = this.consLocal;
    this.prodCached = this.prodLocal;
  }

  // ---- producer side ----

  /** Producer: index of the first slot `reserve` handed out. */
  prodIndex(): number {
    return this.prodLocal;
  }

  /** Producer: number of slots (≤ n) that may be written now; 0 when full. */
  reserve(n: number): number {
    let free = this.size - ((this.prodLocal - this.consCached) | 0);
    if (free < n) {
      // Acquires the consumer's release; pairs with the store in `release`.
      this.consCached = Atomics.load(this.ctl, CONS_HEAD);
      free = this.size - ((this.prodLocal - this.consCached) | 0);
      // A head outside [tail - size, tail] is corruption by the other side: take nothing.
      if (free < 0 || free > this.size) {
        this.consCached = (this.prodLocal - this.size) | 0; // "full" until a sane head
        return 0;
      }
    }
    return free < n ? free : n;
  }

  /**
   * Producer: publish `n` written slots to the consumer and ring its doorbell if it parks
   * for no more than the ring now holds. Its fill level can only grow while it is parked,
   * so the submit that brings it to what the consumer wants is the one that rings.
   */
  submit(n: number): void {
    this.prodLocal = (this.prodLocal + n) | 0;
    // Publishes the slot writes above; pairs with the load in `peek`.
    Atomics.store(this.ctl, PROD_TAIL, this.prodLocal);
    const want = this.doorbell.wanted();
    // Acquires the consumer's head only when it asked for more than one entry.
    if (want === 0 || (want > 1 && ((this.prodLocal - Atomics.load(this.ctl, CONS_HEAD)) | 0) < want)) return;
    if (this.doorbell.wake()) this.wakes++;
  }

  /** Producer: copy up to `count` entries from `src[start..]`; returns how many went in. */
  push(src: Int32Array, start: number, count: number): number {
    const n = this.reserve(count);
    if (n === 0) return 0;
    // A plain indexed loop: `set(subarray())` would allocate a view per batch.
    const base = this.prodLocal;
    for (let i = 0; i < n; i++) this.slots[(base + i) & this.mask] = src[start + i];
    this.submit(n);
    return n;
  }

  /**
   * Producer, once the consumer is known dead (its thread gone): empties the ring by
   * moving the consumer's head to the tail, then pushes `src`. A new consumer built on
   * the buffer afterwards starts from there.
   */
  resetForNewConsumer(src: Int32Array): number {
    // Publishes the empty ring; no consumer reads it concurrently (it is dead).
    Atomics.store(this.ctl, CONS_HEAD, this.prodLocal);
    this.consCached = this.prodLocal;
    return this.push(src, 0, src.length);
  }

  // ---- consumer side ----

  /** Consumer: index of the first slot `peek` handed out. */
  consIndex(): number {
    return this.consLocal;
  }

  /** Consumer: number of entries (≤ n) ready to read; 0 when empty. */
  peek(n: number): number {
    let ready = (this.prodCached - this.consLocal) | 0;
    if (ready < n) {
      // Acquires the producer's slot writes; pairs with the store in `submit`.
      this.prodCached = Atomics.load(this.ctl, PROD_TAIL);
      ready = (this.prodCached - this.consLocal) | 0;
      // A tail behind the head or over a full ring ahead is a buggy (or hostile)
      // producer: read nothing rather than walk the index backwards or past the slots.
      if (ready < 0 || ready > this.size) {
        this.prodCached = this.consLocal; // "empty" until a sane tail
        return 0;
      }
    }
    return ready < n ? ready : n;
  }

  /** Consumer: hand `n` read slots back to the producer. */
  release(n: number): void {
    this.consLocal = (this.consLocal + n) | 0;
    // Publishes that the slots may be reused; pairs with the load in `reserve`.
    Atomics.store(this.ctl, CONS_HEAD, this.consLocal);
  }

  /** Consumer: move up to `max` entries into `dst[start..]`; returns how many. */
  pop(dst: Int32Array, start: number, max: number): number {
    const n = this.peek(max);
    if (n === 0) return 0;
    const base = this.consLocal;
    for (let i = 0; i < n; i++) dst[start + i] = this.slots[(base + i) & this.mask];
    this.release(n);
    return n;
  }

  /**
   * Entries published and not yet released, as seen now by either side. Stale the moment
   * it returns while the other side runs; exact once both sides have stopped.
   */
  fill(): number {
    return (Atomics.load(this.ctl, PROD_TAIL) - Atomics.load(this.ctl, CONS_HEAD)) | 0;
  }
}
