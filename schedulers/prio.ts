/**
 * Strict priority bands.
 *
 * Sources:
 *  [1] Linux net/sched/sch_prio.c (the prio qdisc: band 0 is always served first).
 *
 * Algorithm. Every class sits in a band (0 = highest). Dequeue serves the lowest-numbered
 * band that has a backlogged class; a higher band is never served while a lower one has
 * packets — starvation of low bands under overload is the point. Where the kernel has one
 * class per band, several classes may share a band here; they take turns one packet at
 * a time, so sharing a band never lets one class starve another.
 *
 * Layout:
 *   band[c]      the class's band
 *   nonEmpty     bit b set while band b has a backlogged class (32 bands: one Int32,
 *                the lowest set bit found with Math.clz32 — O(1) band lookup)
 *   active       one circular list of backlogged classes per band (active-lists.ts)
 *   queues       leaf FIFOs and limits (class-queues.ts)
 */
import { ActiveLists } from './active-lists.js';
import { intParam } from './class-queues.js';
import { ClassfulScheduler } from './classful.js';
import type { ClassParams, SchedulerContext, SchedulerKind } from './types.js';

/** Bands available: one bit each in a 32-bit mask. */
export const PRIO_BANDS = 32;

/** Index of the lowest set bit of a non-zero 32-bit mask. */
function lowestBit(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

class PrioScheduler extends ClassfulScheduler {
  readonly kind = 'prio';
  private readonly band: Int32Array;
  private readonly active: ActiveLists;
  private nonEmpty = 0;

  constructor(ctx: SchedulerContext) {
    super(ctx);
    const m = ctx.maxClasses;
    this.band = new Int32Array(m);
    this.active = new ActiveLists(m, PRIO_BANDS);
  }

  private bandOf(params: ClassParams): number {
    return intParam('band', params.band ?? 0, 0, PRIO_BANDS - 1);
  }

  addClass(slot: number, params: ClassParams): void {
    this.classes.checkNew(slot);
    const b = this.bandOf(params);
    this.queues.setLimits(slot, params);
    this.band[slot] = b;
    this.classes.add(slot);
  }

  changeClass(slot: number, params: ClassParams): void {
    this.classes.checkExists(slot);
    const b = params.band === undefined ? this.band[slot] : this.bandOf(params);
    this.queues.setLimits(slot, this.queues.limitsWith(slot, params));
    if (b === this.band[slot]) return;
    // A backlogged class moves to the tail of its new band.
    const wasActive = this.active.isActive(slot);
    if (wasActive) this.deactivate(slot);
    this.band[slot] = b;
    if (wasActive) this.activate(slot);
  }

  protected forget(slot: number): void {
    if (this.active.isActive(slot)) this.deactivate(slot);
  }

  /** Serves the lowest backlogged band; classes sharing it take turns. */
  protected serve(): number {
    while (this.nonEmpty !== 0) {
      const b = lowestBit(this.nonEmpty);
      const c = this.active.head(b);
      const f = this.queues.pop(c);
      // −1: a leaf discipline (fq_codel) dropped all it held when asked.
      if (f < 0 || this.queues.isEmpty(c)) this.deactivate(c);
      else this.active.rotate(b);
      if (f >= 0) return f;
    }
    return -1;
  }

  protected activate(c: number): void {
    this.active.append(this.band[c], c);
    this.nonEmpty |= 1 << this.band[c];
  }

  private deactivate(c: number): void {
    const b = this.band[c];
    this.active.remove(b, c);
    if (this.active.isEmpty(b)) this.nonEmpty &= ~(1 << b);
  }
}

export const prio: SchedulerKind = {
  kind: 'prio',
  summary: 'strict priority bands (band 0 first); classes sharing a band take turns',
  workConserving: true,
  create: (ctx) => new PrioScheduler(ctx),
};
