/**
 * WF2Q+ (Worst-case Fair Weighted Fair Queueing, plus) — the exact reference.
 *
 * Sources:
 *  [1] J. C. R. Bennett, H. Zhang, "Hierarchical Packet Fair Queueing Algorithms",
 *      IEEE/ACM ToN 5(5), 1997 (WF2Q+, §4).
 *  [2] J. C. R. Bennett, H. Zhang, "WF2Q: Worst-case Fair Weighted Fair Queueing",
 *      INFOCOM 1996 (the eligibility rule and its delay / fairness bounds).
 *
 * Algorithm. Class i (weight φ_i) carries start and finish tags S_i, F_i for its head
 * packet; V is the system virtual time. A packet reaching an empty class gets
 * S_i = max(F_i, V), F_i = S_i + L/φ_i. To send, among the classes that are *eligible*
 * (S_i ≤ V) pick the smallest F_i; after its packet of length L, the class's next head gets
 * S_i = F_i, F_i = S_i + L'/φ_i, and V = max(V + L/Φ, min over backlogged S_j), Φ being the
 * sum of the weights of all classes. Taking the minimum start tag keeps V from lagging
 * the backlogged classes, so no class is ever ineligible with nothing else to send
 * (work conservation). The eligibility test is what separates WF2Q+ from WFQ: no class
 * runs ahead of its fluid (GPS) service by more than one maximum packet ([2], Thm. 1).
 *
 * Cost: O(log N) per packet, with two indexed heaps — eligible classes keyed by F,
 * ineligible ones keyed by S. QFQ is the O(1) approximation of exactly this.
 *
 * Layout (per class slot): weight φ, S and F (bytes / weight, doubles: exact to 2^53),
 * leaf queues in class-queues.ts.
 */
import { intParam } from './class-queues.js';
import { ClassfulScheduler } from './classful.js';
import { IndexedHeap } from './indexed-heap.js';
import type { ClassParams, SchedulerContext, SchedulerKind } from './types.js';

/** Largest weight accepted (the kernel's QFQ caps weights far lower; WF2Q+ needs no cap). */
export const WF2Q_MAX_WEIGHT = 2 ** 31 - 1;

class Wf2qScheduler extends ClassfulScheduler {
  readonly kind = 'wf2q';
  /**
   * Integers, so Int32: a weight read back from a Float64Array is a heap number, and summing
   * one into a field that held small integers changes the scheduler's hidden class when a
   * class changes — which discards the optimised hot path (bench/deopt-check.ts).
   */
  private readonly weight: Int32Array;
  private readonly start: Float64Array;
  private readonly finish: Float64Array;
  /** Backlogged classes with S ≤ V, keyed by F. */
  private readonly eligible: IndexedHeap;
  /** Backlogged classes with S > V, keyed by S. */
  private readonly waiting: IndexedHeap;
  private vtime = 0;
  private weightSum = 0;

  constructor(ctx: SchedulerContext) {
    super(ctx);
    const m = ctx.maxClasses;
    this.weight = new Int32Array(m);
    this.start = new Float64Array(m);
    this.finish = new Float64Array(m);
    this.eligible = new IndexedHeap(m);
    this.waiting = new IndexedHeap(m);
  }

  private weightOf(params: ClassParams): number {
    return intParam('weight', params.weight ?? 1, 1, WF2Q_MAX_WEIGHT);
  }

  addClass(slot: number, params: ClassParams): void {
    this.classes.checkNew(slot);
    const w = this.weightOf(params);
    this.queues.setLimits(slot, params);
    this.weight[slot] = w;
    this.weightSum += w;
    this.start[slot] = this.finish[slot] = this.vtime;
    this.classes.add(slot);
  }

  changeClass(slot: number, params: ClassParams): void {
    this.classes.checkExists(slot);
    const w = params.weight === undefined ? this.weight[slot] : this.weightOf(params);
    this.queues.setLimits(slot, this.queues.limitsWith(slot, params));
    // The new weight applies from the next tag computed; the current head keeps its tags.
    this.weightSum += w - this.weight[slot];
    this.weight[slot] = w;
  }

  override deleteClass(slot: number, evict: (frame: number) => void): void {
    super.deleteClass(slot, evict);
    this.weightSum -= this.weight[slot];
  }

  protected forget(slot: number): void {
    if (this.eligible.has(slot)) this.eligible.remove(slot);
    if (this.waiting.has(slot)) this.waiting.remove(slot);
  }

  /** A packet reached an empty class: tag it from its last finish or from now (V). */
  protected activate(slot: number): void {
    const s = this.finish[slot] > this.vtime ? this.finish[slot] : this.vtime;
    this.start[slot] = s;
    this.finish[slot] = s + this.len[this.queues.headOf(slot)] / this.weight[slot];
    this.schedule(slot);
  }

  /** Puts backlogged class `slot` in the heap its start tag says. */
  private schedule(slot: number): void {
    if (this.start[slot] <= this.vtime) {
      this.eligible.key[slot] = this.finish[slot];
      this.eligible.push(slot);
    } else {
      this.waiting.key[slot] = this.start[slot];
      this.waiting.push(slot);
    }
  }

  protected serve(): number {
    if (this.eligible.size === 0) {
      if (this.waiting.size === 0) return -1;
      // Nothing eligible: jump V to the smallest start tag (the max(…, min S) term).
      this.vtime = this.waiting.key[this.waiting.top()];
    }
    this.promote();
    const c = this.eligible.pop();
    const f = this.queues.pop(c);
    const len = this.len[f];
    if (!this.queues.isEmpty(c)) {
      this.start[c] = this.finish[c];
      this.finish[c] = this.start[c] + this.len[this.queues.headOf(c)] / this.weight[c];
    }
    this.vtime += len / this.weightSum;
    if (!this.queues.isEmpty(c)) this.schedule(c);
    // V = max(V + L/Φ, min backlogged S): only the waiting heap can hold a larger minimum.
    if (this.eligible.size === 0 && this.waiting.size > 0) {
      const minStart = this.waiting.key[this.waiting.top()];
      if (minStart > this.vtime) this.vtime = minStart;
    }
    return f;
  }

  /** Moves every waiting class whose start tag V has reached into the eligible heap. */
  private promote(): void {
    while (this.waiting.size > 0 && this.waiting.key[this.waiting.top()] <= this.vtime) {
      const c = this.waiting.pop();
      this.eligible.key[c] = this.finish[c];
      this.eligible.push(c);
    }
  }
}

export const wf2q: SchedulerKind = {
  kind: 'wf2q',
  summary: 'WF2Q+ (Bennett–Zhang): exact worst-case fair queueing by weight, O(log N)',
  workConserving: true,
  create: (ctx) => new Wf2qScheduler(ctx),
};
