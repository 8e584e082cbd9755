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
 *   active     the round: a circular list of backlogged classes (active-lists.ts)
 *   queues     leaf FIFOs and limits (class-queues.ts)
 */
import { ActiveLists } from './active-lists.js';
import { intParam } from './class-queues.js';
import { ClassfulScheduler } from './classful.js';
import type { ClassParams, RootParams, SchedulerContext, SchedulerKind } from './types.js';

/** Base quantum: one full Ethernet frame per unit of weight keeps dequeue O(1). */
export const DEFAULT_QUANTUM = 1514;
/** DRR has one round: list 0 of its ActiveLists. */
const ROUND = 0;
/** Largest weight accepted: keeps quantum × weight exact in a double and a round finite. */
export const MAX_WEIGHT = 2 ** 31 - 1;
/** Largest quantum accepted (bytes): the kernel's drr takes a u32. */
export const MAX_QUANTUM = 2 ** 32 - 1;

class DrrScheduler extends ClassfulScheduler {
  readonly kind = 'drr';
  private readonly quantum: Float64Array;
  private readonly deficit: Float64Array;
  private readonly active: ActiveLists;
  private readonly baseQuantum: number;

  constructor(ctx: SchedulerContext, params: RootParams) {
    super(ctx);
    const m = ctx.maxClasses;
    this.baseQuantum = intParam('quantum', params.quantum ?? DEFAULT_QUANTUM, 1, MAX_QUANTUM, ' bytes');
    this.quantum = new Float64Array(m);
    this.deficit = new Float64Array(m);
    this.active = new ActiveLists(m, 1);
  }

  private quantumOf(params: ClassParams): number {
    if (params.quantum !== undefined) return intParam('quantum', params.quantum, 1, MAX_QUANTUM, ' bytes');
    return intParam('weight', params.weight ?? 1, 1, MAX_WEIGHT) * this.baseQuantum;
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

  /** First packet: join the tail of the round with one quantum, as sch_drr does. */
  protected activate(slot: number): void {
    this.deficit[slot] = this.quantum[slot];
    this.active.append(ROUND, slot);
  }

  protected forget(slot: number): void {
    if (this.active.isActive(slot)) this.active.remove(ROUND, slot);
  }

  /**
   * Takes the next frame in DRR order off its queue.
   * Invariant relied on: every class in the active list has a non-empty queue, or a leaf
   * discipline that may turn out empty when asked (then it leaves the list).
   */
  protected serve(): number {
    while (!this.active.isEmpty(ROUND)) {
      const c = this.active.head(ROUND);
      const head = this.queues.headOf(c);
      if (head < 0) {
        // A leaf discipline (fq_codel) dropped all it held when asked: the class is idle.
        this.active.remove(ROUND, c);
        continue;
      }
      const len = this.len[head];
      if (len <= this.deficit[c]) {
        this.deficit[c] -= len;
        this.queues.pop(c);
        if (this.queues.isEmpty(c)) this.active.remove(ROUND, c);
        return head;
      }
      this.deficit[c] += this.quantum[c];
      this.active.rotate(ROUND);
    }
    return -1;
  }
}

export const drr: SchedulerKind = {
  kind: 'drr',
  summary: 'Deficit Round Robin (Shreedhar–Varghese): byte shares in proportion to quantum',
  workConserving: true,
  create: (ctx, params = {}) => new DrrScheduler(ctx, params),
};
