/**
 * SFQ — Stochastic Fairness Queueing.
 *
 * Sources:
 *  [1] P. E. McKenney, "Stochastic Fairness Queuing", IEEE INFOCOM 1990.
 *  [2] Linux net/sched/sch_sfq.c and tc-sfq(8): slots, the divisor-sized hash table,
 *      per-flow depth, allotments of `quantum` bytes, drop from the longest flow.
 *
 * Algorithm. A packet's flow hash (stamped by the client), mixed with a seed, picks one of
 * `divisor` buckets; a bucket in use owns one of `flows` slots, each a FIFO. Active slots
 * form a ring served round robin: the slot at the front sends while its allotment is
 * positive, paying each packet's length, and when it is not it gets another `quantum` and
 * the turn passes — DRR over flows, so each active flow gets an equal share of bytes.
 * Distinct flows that hash to one bucket share a slot (the "stochastic"); `perturb N`
 * changes the seed every N seconds so no two flows share a fate for long, re-hashing the
 * queued packets as the kernel does (in their per-flow order).
 *
 * Limits. A slot holds at most `depth` packets: beyond it the arriving packet is dropped
 * (or, with `headdrop`, the slot's oldest). Over `limit` packets in all, a packet is
 * dropped from the longest slot — the arriving one when its own flow is the longest and
 * there is no headdrop. The longest slot is found in O(1): slots sit in lists by queue
 * length, and `maxDepth` is the highest non-empty one ([2]'s dep[] lists).
 *
 * Layout: bucketSlot[divisor] (−1: none) and slotBucket[flows]; per slot: allot, ring
 * `ringNext` (circular, `tail` the last served), depth-list links depNext/depPrev; free
 * slots on a stack.
 */
import { intParam } from './class-queues.js';
import { FlowQueueScheduler, seededHash, type FlowLinks } from './flow-queues.js';
import { DROP_QUEUE_LIMIT, ENQUEUED, type RootParams, type SchedulerContext, type SchedulerKind, type Verdict } from './types.js';

export const SFQ_DEFAULTS = { limit: 127, quantum: 1514, divisor: 1024, flows: 128, depth: 127 } as const;
const SFQ_MAX_FLOWS = 65408;
const SFQ_MAX_DEPTH = 127;

class SfqScheduler extends FlowQueueScheduler {
  readonly kind = 'sfq';
  private readonly limit: number;
  private readonly quantum: number;
  private readonly divisor: number;
  private readonly depth: number;
  private readonly headdrop: boolean;
  private readonly perturbNs: number;
  private readonly queuedAt: Float64Array | undefined;
  private seed = 0x5f3759df;
  private nextPerturb: number;
  private readonly bucketSlot: Int32Array;
  private readonly slotBucket: Int32Array;
  private readonly allot: Float64Array;
  private readonly ringNext: Int32Array;
  private tail = -1;
  private readonly free: Int32Array;
  private freeTop: number;
  /** Depth lists: depHead[d] is a slot with d packets; depNext/depPrev link the others. */
  private readonly depHead: Int32Array;
  private readonly depNext: Int32Array;
  private readonly depPrev: Int32Array;
  private maxDepth = 0;

  constructor(ctx: SchedulerContext, p: RootParams, links?: FlowLinks) {
    const flows = intParam('flows', p.flows ?? SFQ_DEFAULTS.flows, 1, SFQ_MAX_FLOWS);
    super(ctx, flows, links);
    this.limit = intParam('limitPackets', p.limitPackets ?? SFQ_DEFAULTS.limit, 1, 2 ** 31 - 1);
    this.quantum = intParam('quantum', p.quantum ?? SFQ_DEFAULTS.quantum, 1, 2 ** 31 - 1, ' bytes');
    this.divisor = intParam('divisor', p.divisor ?? SFQ_DEFAULTS.divisor, 1, 65536);
    if ((this.divisor & (this.divisor - 1)) !== 0) throw new RangeError(`divisor: must be a power of two, got ${this.divisor}`);
    this.depth = intParam('depth', p.depth ?? SFQ_DEFAULTS.depth, 1, SFQ_MAX_DEPTH);
    this.headdrop = p.headdrop ?? false;
    this.perturbNs = intParam('perturb', p.perturbS ?? 0, 0, 2 ** 31 - 1, ' s') * 1e9;
    this.queuedAt = ctx.frames.queuedAt;
    this.nextPerturb = this.perturbNs;
    this.bucketSlot = new Int32Array(this.divisor).fill(-1);
    this.slotBucket = new Int32Array(flows).fill(-1);
    this.allot = new Float64Array(flows);
    this.ringNext = new Int32Array(flows).fill(-1);
    this.free = Int32Array.from({ length: flows }, (_, i) => flows - 1 - i);
    this.freeTop = flows;
    this.depHead = new Int32Array(SFQ_MAX_DEPTH + 2).fill(-1);
    this.depNext = new Int32Array(flows).fill(-1);
    this.depPrev = new Int32Array(flows).fill(-1);
  }

  private bucketOf(f: number): number {
    return seededHash(this.flowHash[f], this.seed) & (this.divisor - 1);
  }

  // ---- depth lists ----

  private depUnlink(x: number, d: number): void {
    const n = this.depNext[x];
    const p = this.depPrev[x];
    if (p >= 0) this.depNext[p] = n;
    else this.depHead[d] = n;
    if (n >= 0) this.depPrev[n] = p;
  }

  private depLink(x: number, d: number): void {
    const h = this.depHead[d];
    this.depNext[x] = h;
    this.depPrev[x] = -1;
    if (h >= 0) this.depPrev[h] = x;
    this.depHead[d] = x;
  }

  /** Slot x's queue length went from `from` to `to`: move it between depth lists. */
  private depMove(x: number, from: number, to: number): void {
    if (from > 0) this.depUnlink(x, from);
    if (to > 0) this.depLink(x, to);
    if (to > this.maxDepth) this.maxDepth = to;
    while (this.maxDepth > 0 && this.depHead[this.maxDepth] < 0) this.maxDepth--;
  }

  // ---- admission ----

  protected admit(f: number): Verdict {
    if (this.perturbNs > 0 && this.queuedAt && this.queuedAt[f] >= this.nextPerturb) this.perturb(this.queuedAt[f]);
    const b = this.bucketOf(f);
    let x = this.bucketSlot[b];
    if (x < 0) {
      if (this.freeTop === 0) return DROP_QUEUE_LIMIT; // every slot busy ([2]: the packet is dropped)
      x = this.free[--this.freeTop];
      this.bucketSlot[b] = x;
      this.slotBucket[x] = b;
    } else if (this.fifos.packets[x] >= this.depth) {
      if (!this.headdrop) return DROP_QUEUE_LIMIT;
      this.drop(x, false);
    }
    const before = this.fifos.packets[x];
    this.put(x, f);
    this.depMove(x, before, before + 1);
    if (before === 0) {
      // A newly active flow joins the end of the round with a full allotment.
      if (this.tail < 0) this.ringNext[x] = x;
      else {
        this.ringNext[x] = this.ringNext[this.tail];
        this.ringNext[this.tail] = x;
      }
      this.tail = x;
      this.allot[x] = this.quantum;
    }
    if (this.total <= this.limit) return ENQUEUED;
    const longest = this.depHead[this.maxDepth];
    if (longest === x && !this.headdrop) {
      // Tail drop of the longest flow: the packet just queued.
      this.take(x, true);
      this.depMove(x, before + 1, before);
      if (before === 0) this.leaveRing(x);
      return DROP_QUEUE_LIMIT;
    }
    this.drop(longest, !this.headdrop);
    return ENQUEUED;
  }

  /** Drops one packet of slot x (its tail, or its head) through the sink. */
  private drop(x: number, fromTail: boolean): void {
    const before = this.fifos.packets[x];
    this.dropFrom(x, DROP_QUEUE_LIMIT, fromTail);
    this.depMove(x, before, before - 1);
    if (before === 1) this.leaveRing(x);
  }

  /** Slot x is empty: out of the ring (its predecessor is `tail` when x is the front), its bucket freed. */
  private leaveRing(x: number): void {
    if (this.ringNext[x] === x) this.tail = -1;
    else {
      let p = this.tail;
      // Only an eviction or a drop can empty a slot that is not at the front: walk to it.
      while (this.ringNext[p] !== x) p = this.ringNext[p];
      this.ringNext[p] = this.ringNext[x];
      if (this.tail === x) this.tail = p;
    }
    this.ringNext[x] = -1;
    this.bucketSlot[this.slotBucket[x]] = -1;
    this.slotBucket[x] = -1;
    this.free[this.freeTop++] = x;
  }

  protected flowShrunk(x: number, before: number): void {
    const now = this.fifos.packets[x];
    this.depMove(x, before, now);
    if (now === 0) this.leaveRing(x);
  }

  // ---- service ----

  protected serve(): number {
    if (this.tail < 0) return -1;
    let a = this.ringNext[this.tail];
    while (this.allot[a] <= 0) {
      this.allot[a] += this.quantum;
      this.tail = a;
      a = this.ringNext[a];
    }
    const before = this.fifos.packets[a];
    const f = this.take(a);
    this.allot[a] -= this.len[f];
    this.depMove(a, before, before - 1);
    if (before === 1) this.leaveRing(a);
    return f;
  }

  /** A new seed; queued packets are re-hashed in per-flow order ([2]'s sfq_rehash). */
  private perturb(now: number): void {
    this.nextPerturb = now + this.perturbNs;
    this.seed = (Math.imul(this.seed ^ (now / 1e3), 0x9e3779b1) + 0x7f4a7c15) | 0;
    const order: number[] = [];
    while (this.tail >= 0) {
      const x = this.ringNext[this.tail];
      const before = this.fifos.packets[x];
      while (this.fifos.packets[x] > 0) order.push(this.take(x));
      this.depMove(x, before, 0);
      this.leaveRing(x);
    }
    // A packet that finds no room under the new hash (a slot over depth) is dropped, as [2] does.
    for (const f of order) if (this.admit(f) !== ENQUEUED) this.discard(f, DROP_QUEUE_LIMIT);
  }
}

/** An sfq over `links` shared with other leaf disciplines of one scheduler. */
export function createSfq(ctx: SchedulerContext, params: RootParams, links?: FlowLinks): FlowQueueScheduler {
  return new SfqScheduler(ctx, params, links);
}

export const sfq: SchedulerKind = {
  kind: 'sfq',
  summary: 'SFQ (McKenney; Linux sch_sfq): hashed flows served round robin by bytes',
  workConserving: true,
  hashesFlows: true,
  create: (ctx, params = {}) => new SfqScheduler(ctx, params),
};
