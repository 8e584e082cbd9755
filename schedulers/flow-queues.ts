/**
 * What sfq and fq_codel share: packets queue by *flow* (the hash the client stamped in
 * the frame table), not by class. Classes only count, as under FIFO: the per-class
 * backlog that `show` prints, and a deleted class's packets evicted from whatever flows
 * hold them. A subclass supplies where a packet goes (`admit`), what goes next (`serve`)
 * and what happens when a flow empties outside `serve` (`flowEmptied`).
 *
 * Per-flow FIFOs are doubly linked through per-frame `next`/`prev` arrays, so a flow can
 * lose its head (dequeue, head drop) or its tail (sfq's tail drop of the longest flow) in
 * O(1). Frames a subclass drops after accepting them go to the context's `drop` sink with
 * the reason, and leave the class and total counters like a dequeued frame.
 */
import { ClassSet } from './class-queues.js';
import { PeekCache } from './peek-cache.js';
import { DROP_NO_CLASS, type Scheduler, type SchedulerContext, type Verdict } from './types.js';

/**
 * The per-frame links of flow FIFOs. Leaf disciplines of one scheduler share one pair (a
 * frame is in one queue at a time), so a thousand sfq leaves cost their slots, not a
 * thousand pool-sized arrays.
 */
export class FlowLinks {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  constructor(poolFrames: number) {
    this.next = new Int32Array(poolFrames);
    this.prev = new Int32Array(poolFrames);
  }
}

/** FIFOs of frames per flow slot. */
export class FlowFifos {
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly packets: Int32Array;
  readonly bytes: Float64Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;

  constructor(
    private readonly len: Uint32Array,
    links: FlowLinks,
    flows: number,
  ) {
    this.head = new Int32Array(flows).fill(-1);
    this.tail = new Int32Array(flows).fill(-1);
    this.packets = new Int32Array(flows);
    this.bytes = new Float64Array(flows);
    this.next = links.next;
    this.prev = links.prev;
  }

  push(q: number, f: number): void {
    const t = this.tail[q];
    this.prev[f] = t;
    this.next[f] = -1;
    if (t < 0) this.head[q] = f;
    else this.next[t] = f;
    this.tail[q] = f;
    this.packets[q]++;
    this.bytes[q] += this.len[f];
  }

  /** Removes and returns the head of a non-empty flow. */
  shift(q: number): number {
    const f = this.head[q];
    const n = this.next[f];
    this.head[q] = n;
    if (n < 0) this.tail[q] = -1;
    else this.prev[n] = -1;
    this.packets[q]--;
    this.bytes[q] -= this.len[f];
    return f;
  }

  /** Removes and returns the tail of a non-empty flow. */
  pop(q: number): number {
    const f = this.tail[q];
    const p = this.prev[f];
    this.tail[q] = p;
    if (p < 0) this.head[q] = -1;
    else this.next[p] = -1;
    this.packets[q]--;
    this.bytes[q] -= this.len[f];
    return f;
  }

  /** Removes every frame of flow `q` for which `drop` is true, keeping the others' order. */
  filter(q: number, drop: (f: number) => boolean, onDrop: (f: number) => void): void {
    const n = this.packets[q];
    for (let i = 0; i < n; i++) {
      const f = this.shift(q);
      if (drop(f)) onDrop(f);
      else this.push(q, f);
    }
  }
}

export abstract class FlowQueueScheduler implements Scheduler {
  abstract readonly kind: string;
  readonly wakeAt = Infinity;
  protected readonly fifos: FlowFifos;
  protected readonly len: Uint32Array;
  protected readonly cls: Int32Array;
  protected readonly flowHash: Uint32Array;
  private readonly classes: ClassSet;
  private readonly classPackets: Float64Array;
  private readonly classBytes: Float64Array;
  private readonly sink: (frame: number, reason: number) => void;
  private readonly peeked: PeekCache;
  /** The link clock (SchedulerContext.clock). */
  protected readonly clock: Float64Array;
  /** Packets in the flows (not counting a peeked one). */
  protected total = 0;
  protected totalBytes = 0;

  constructor(
    ctx: SchedulerContext,
    /** Flow slots the subclass uses. */
    flowSlots: number,
    /** Per-frame links, shared when this is one of a scheduler's leaf disciplines. */
    links = new FlowLinks(ctx.poolFrames),
  ) {
    if (!ctx.frames.flow) throw new RangeError(`${new.target.name}: the frame table has no flow column`);
    if (!ctx.drop) throw new RangeError(`${new.target.name}: needs a drop sink in its context`);
    this.len = ctx.frames.len;
    this.cls = ctx.frames.cls;
    this.flowHash = ctx.frames.flow;
    this.fifos = new FlowFifos(ctx.frames.len, links, flowSlots);
    this.classes = new ClassSet(ctx.maxClasses);
    this.classPackets = new Float64Array(ctx.maxClasses);
    this.classBytes = new Float64Array(ctx.maxClasses);
    this.sink = ctx.drop;
    this.peeked = new PeekCache(ctx.frames);
    this.clock = ctx.clock;
  }

  /** Queues an accepted frame (class known); may drop others through `dropFrom`. Verdict for `frame`. */
  protected abstract admit(frame: number): Verdict;
  /** The next frame to send at the clock, taken off its flow with `take`; -1 when nothing is queued. */
  protected abstract serve(): number;
  /** Flow `q` lost packets to an eviction (class deletion, reset): it had `before`, has fifos.packets[q] now. */
  protected abstract flowShrunk(q: number, before: number): void;

  get backlog(): number {
    return this.total + (this.peeked.frame >= 0 ? 1 : 0);
  }

  addClass(slot: number): void {
    this.classes.checkNew(slot);
    this.classes.add(slot);
  }

  changeClass(slot: number): void {
    this.classes.checkExists(slot);
  }

  hasClass(slot: number): boolean {
    return this.classes.has(slot);
  }

  backlogPackets(slot: number): number {
    return this.classPackets[slot] + this.peeked.packets(slot);
  }

  backlogBytes(slot: number): number {
    return this.classBytes[slot] + this.peeked.bytes(slot);
  }

  enqueue(frame: number): Verdict {
    if (!this.classes.has(this.cls[frame])) return DROP_NO_CLASS;
    return this.admit(frame);
  }

  dequeue(): number {
    const held = this.peeked.take();
    return held >= 0 ? held : this.serve();
  }

  peek(): number {
    if (this.peeked.frame < 0) this.peeked.frame = this.serve();
    return this.peeked.frame;
  }

  /** Appends an accepted frame to flow `q`, counting it. */
  protected put(q: number, f: number): void {
    this.fifos.push(q, f);
    this.classPackets[this.cls[f]]++;
    this.classBytes[this.cls[f]] += this.len[f];
    this.total++;
    this.totalBytes += this.len[f];
  }

  /** Takes the head of flow `q` out for sending (or dropping), uncounting it. */
  protected take(q: number, fromTail = false): number {
    const f = fromTail ? this.fifos.pop(q) : this.fifos.shift(q);
    this.uncount(f);
    return f;
  }

  /** Hands a frame already taken out of its flow to the drop sink. */
  protected discard(f: number, reason: number): void {
    this.sink(f, reason);
  }

  /** Drops the head (or tail) of flow `q` through the sink. */
  protected dropFrom(q: number, reason: number, fromTail = false): number {
    const f = this.take(q, fromTail);
    this.sink(f, reason);
    return f;
  }

  private uncount(f: number): void {
    this.classPackets[this.cls[f]]--;
    this.classBytes[this.cls[f]] -= this.len[f];
    this.total--;
    this.totalBytes -= this.len[f];
  }

  deleteClass(slot: number, evict: (frame: number) => void): void {
    this.classes.checkExists(slot);
    if (this.peeked.packets(slot) === 1) evict(this.peeked.take());
    this.evictWhere((f) => this.cls[f] === slot, evict);
    this.classes.remove(slot);
  }

  reset(evict: (frame: number) => void): void {
    const held = this.peeked.take();
    if (held >= 0) evict(held);
    this.evictWhere(() => true, evict);
  }

  private evictWhere(which: (f: number) => boolean, evict: (frame: number) => void): void {
    const fifos = this.fifos;
    for (let q = 0; q < fifos.packets.length; q++) {
      const before = fifos.packets[q];
      if (before === 0) continue;
      fifos.filter(q, which, (f) => {
        this.uncount(f);
        evict(f);
      });
      if (fifos.packets[q] !== before) this.flowShrunk(q, before);
    }
  }
}

/** One murmur3 mixing round over (hash ^ seed): spreads a client's flow hash over a qdisc's buckets. */
export function seededHash(hash: number, seed: number): number {
  let h = Math.imul(hash ^ seed, 0xcc9e2d51);
  h = (h << 15) | (h >>> 17);
  h = Math.imul(h, 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
