/**
 * Deficit Round Robin.
 *
 * Sources:
 *  [1] M. Shreedhar, G. Varghese, "Efficient Fair Queueing Using Deficit Round Robin",
 *      ACM SIGCOMM 1995 / IEEE/ACM ToN 4(3), 1996.
 *  [2] Linux net/sched/sch_drr.c (the same algorithm as a classful qdisc).
 *
 * Algorithm. Backlogged classes sit in a circular active list. The class at the head may
 * send packets while its deficit counter covers the head packet's length; when it cannot,
 * it earns its quantum and moves to the tail. A class entering the list starts with one
 * quantum (as in [2]), and leaves the list when its queue empties, forgetting its deficit,
 * so idle time is never credit. Over any interval in which classes i and j stay
 * backlogged they receive bytes in the ratio quantum_i : quantum_j, within one maximum
 * packet plus one quantum per class ([1], Lemma 2) — this is the 1% share test's basis.
 *
 * Cost. With every quantum ≥ the largest packet, a dequeue visits at most two list
 * entries, so enqueue and dequeue are O(1) ([1], §4); smaller quanta stay correct but may
 * rotate several times per packet.
 *
 * Layout (per class slot unless noted):
 *   quantum    bytes earned per round (weight × base quantum, or set directly)
 *   deficit    bytes the class may still send this round
 *   nextActive circular active list as "next" links; -1 when not in the list
 *   activeTail last class of the active list (its nextActive is the head); -1 if empty
 *   queues     leaf FIFOs and limits (class-queues.ts)
 */
import { InvalidOptionError } from '../src/errors.js';
import { ClassQueues, ClassSet } from './class-queues.js';
import {
  DROP_NO_CLASS,
  DROP_QUEUE_LIMIT,
  ENQUEUED,
  type ClassParams,
  type RootParams,
  type Scheduler,
  type SchedulerContext,
  type SchedulerKind,
  type Verdict,
} from './types.js';

/** Base quantum: one full Ethernet frame per unit of weight keeps dequeue O(1). */
export const DEFAULT_QUANTUM = 1514;
/** Largest weight accepted: keeps quantum × weight exact in a double and a round finite. */
export const MAX_WEIGHT = 2 ** 31 - 1;

class DrrScheduler implements Scheduler {
  readonly kind = 'drr';
  private readonly queues: ClassQueues;
  private readonly classes: ClassSet;
  private readonly quantum: Float64Array;
  private readonly deficit: Float64Array;
  private readonly nextActive: Int32Array;
  private activeTail = -1;
  private queued = 0;
  /** Frame taken out by `peek` and owed to the next `dequeue` (qdisc_peek_dequeued). */
  private peeked = -1;
  private readonly len: Uint32Array;
  private readonly cls: Int32Array;
  private readonly baseQuantum: number;

  constructor(private readonly ctx: SchedulerContext, params: RootParams) {
    const m = ctx.maxClasses;
    this.baseQuantum = params.quantum ?? DEFAULT_QUANTUM;
    if (!Number.isInteger(this.baseQuantum) || this.baseQuantum < 1) {
      throw new InvalidOptionError('quantum', `must be an integer ≥ 1 byte, got ${params.quantum}`);
    }
    this.queues = new ClassQueues(ctx.frames, ctx.poolFrames, m);
    this.classes = new ClassSet(m);
    this.quantum = new Float64Array(m);
    this.deficit = new Float64Array(m);
    this.nextActive = new Int32Array(m).fill(-1);
    this.len = ctx.frames.len;
    this.cls = ctx.frames.cls;
  }

  get backlog(): number {
    return this.queued;
  }

  private quantumOf(params: ClassParams): number {
    if (params.quantum !== undefined) {
      if (!Number.isInteger(params.quantum) || params.quantum < 1) {
        throw new InvalidOptionError('quantum', `must be an integer ≥ 1 byte, got ${params.quantum}`);
      }
      return params.quantum;
    }
    const w = params.weight ?? 1;
    if (!Number.isInteger(w) || w < 1 || w > MAX_WEIGHT) {
      throw new InvalidOptionError('weight', `must be an integer in [1, ${MAX_WEIGHT}], got ${w}`);
    }
    return w * this.baseQuantum;
  }

  addClass(slot: number, params: ClassParams): void {
    this.classes.checkNew(slot);
    const q = this.quantumOf(params);
    this.queues.setLimits(slot, params);
    this.quantum[slot] = q;
    this.deficit[slot] = 0;
    this.classes.add(slot);
  }

  changeClass(slot: number, params: ClassParams): void {
    this.classes.checkExists(slot);
    // Validate everything before touching state, so a rejected change changes nothing;
    // parameters left out keep their current values, as `tc class change` does.
    const keepQuantum = params.quantum === undefined && params.weight === undefined;
    const q = keepQuantum ? this.quantum[slot] : this.quantumOf(params);
    this.queues.setLimits(slot, this.queues.limitsWith(slot, params));
    this.quantum[slot] = q;
  }

  deleteClass(slot: number, evict: (frame: number) => void): void {
    this.classes.checkExists(slot);
    if (this.peeked >= 0 && this.cls[this.peeked] === slot) {
      const f = this.peeked;
      this.peeked = -1;
      this.queued--;
      evict(f);
    }
    this.queued -= this.queues.packets[slot];
    this.queues.flush(slot, evict);
    if (this.nextActive[slot] >= 0) this.unlink(slot);
    this.classes.remove(slot);
  }

  hasClass(slot: number): boolean {
    return this.classes.has(slot);
  }

  enqueue(frame: number): Verdict {
    const slot = this.cls[frame];
    if (!this.classes.has(slot)) return DROP_NO_CLASS;
    if (this.queues.wouldOverflow(slot, this.len[frame])) return DROP_QUEUE_LIMIT;
    this.queues.append(slot, frame);
    this.queued++;
    if (this.nextActive[slot] < 0) {
      // First packet: join the tail of the round with one quantum, as sch_drr does.
      this.deficit[slot] = this.quantum[slot];
      this.linkTail(slot);
    }
    return ENQUEUED;
  }

  dequeue(): number {
    if (this.peeked >= 0) {
      const f = this.peeked;
      this.peeked = -1;
      this.queued--;
      return f;
    }
    const f = this.serve();
    if (f >= 0) this.queued--;
    return f;
  }

  peek(): number {
    if (this.peeked < 0) this.peeked = this.serve();
    return this.peeked;
  }

  /**
   * Takes the next frame in DRR order off its queue (still counted in `queued`).
   * Invariant relied on: every class in the active list has a non-empty queue.
   */
  private serve(): number {
    while (this.activeTail >= 0) {
      const c = this.nextActive[this.activeTail];
      const head = this.queues.head[c];
      const len = this.len[head];
      if (len <= this.deficit[c]) {
        this.deficit[c] -= len;
        this.queues.pop(c);
        if (this.queues.isEmpty(c)) this.unlink(c);
        return head;
      }
      this.deficit[c] += this.quantum[c];
      this.activeTail = c; // rotate: the head becomes the tail
    }
    return -1;
  }

  backlogPackets(slot: number): number {
    const peekedHere = this.peeked >= 0 && this.cls[this.peeked] === slot ? 1 : 0;
    return this.queues.packets[slot] + peekedHere;
  }

  backlogBytes(slot: number): number {
    const peekedHere = this.peeked >= 0 && this.cls[this.peeked] === slot ? this.len[this.peeked] : 0;
    return this.queues.bytes[slot] + peekedHere;
  }

  reset(evict: (frame: number) => void): void {
    if (this.peeked >= 0) evict(this.peeked);
    this.peeked = -1;
    for (let c = 0; c < this.ctx.maxClasses; c++) {
      if (this.classes.has(c)) this.queues.flush(c, evict);
      this.nextActive[c] = -1;
    }
    this.activeTail = -1;
    this.queued = 0;
  }

  private linkTail(c: number): void {
    if (this.activeTail < 0) {
      this.nextActive[c] = c;
    } else {
      this.nextActive[c] = this.nextActive[this.activeTail];
      this.nextActive[this.activeTail] = c;
    }
    this.activeTail = c;
  }

  /** Removes `c` from the circular list (O(n) only when c is not the head: deletes). */
  private unlink(c: number): void {
    if (this.nextActive[c] === c) {
      this.activeTail = -1;
    } else {
      let prev = this.activeTail;
      while (this.nextActive[prev] !== c) prev = this.nextActive[prev];
      this.nextActive[prev] = this.nextActive[c];
      if (this.activeTail === c) this.activeTail = prev;
    }
    this.nextActive[c] = -1;
  }
}

export const drr: SchedulerKind = {
  kind: 'drr',
  summary: 'Deficit Round Robin (Shreedhar–Varghese): byte shares in proportion to quantum',
  create: (ctx, params = {}) => new DrrScheduler(ctx, params),
};
