/**
 * QFQ — Quick Fair Queueing: WF2Q+'s guarantees within a constant, in O(1) per packet.
 *
 * Sources:
 *  [1] F. Checconi, L. Rizzo, P. Valente, "QFQ: Efficient Packet Scheduling With Tight
 *      Guarantees", IEEE/ACM ToN 21(3), 2013.
 *  [2] Linux net/sched/sch_qfq.c, the authors' implementation (the pre-QFQ+ version:
 *      one class per group slot entry, no aggregates).
 *
 * Algorithm ([1] §3–4). Each class i has weight w_i, inverse weight σ_i = ONE_FP / w_i,
 * maximum packet length L_i, and WF2Q+ timestamps S_i, F_i = S_i + len · σ_i (fixed point).
 * Classes are put in *groups* by their slot size L_i·σ_i: group g holds classes whose slot
 * size is at most 2^(SLOT_SHIFT_MIN + g). Inside a group, a class is filed by its start
 * time rounded down to the group's slot size, into a ring of NUM_SLOTS buckets starting
 * at the group's own start S_g (its earliest rounded class start); F_g = S_g + 2·slot.
 * Because all classes of a group have (nearly) the same slot size, the group needs no
 * sorting: the head class of its front bucket has (up to one slot) the smallest finish.
 *
 * Groups are in one of four sets, each a bitmap over group indices:
 *   ER eligible & ready   (S_g ≤ V, and no lower-indexed... see below)
 *   IR ineligible & ready (S_g > V)
 *   EB eligible & blocked (S_g ≤ V, but some ER group of higher index has smaller F)
 *   IB ineligible & blocked
 * Groups in ER are ordered by index *and* by finish time ([1] Lemma 3), so the next group
 * to serve is simply the lowest set bit of ER: O(1) with find-first-set. Serving moves V
 * forward by len / Σw; groups whose S_g is passed by V move IR→ER and IB→EB in bulk (one
 * bitmap operation for all groups whose slot boundary V crossed); a served group whose F
 * grows unblocks the lower groups it was blocking (EB→ER, IB→IR).
 *
 * Guarantee checked by the tests: lag behind the fluid system within QFQ's worst-case
 * fairness bound ([1] §V: B-WFI_k ≤ 3·L_k + 2·L bytes, L_k the class's maxpkt and L the
 * largest packet; test/sim-lag-bounds.test.ts); long-run shares within 1% of the
 * weights up to 1:1000.
 *
 * Fixed point. Timestamps are exact integers in doubles, compared and added with plain
 * operators. The kernel lets its u64 stamps wrap and compares them through a signed
 * difference (`qfq_gt`); here V is pulled back instead (`rebase`): when it reaches 2^51,
 * every stamp moves down by 2^50 (a multiple of every slot size, so rounding and bucket
 * positions do not change). A live stamp lies within 32 slots of the largest group
 * (2^46 each, 2^51 in all) of V, so all stay below 2^53, where doubles are exact. A class
 * with no backlog is moved down when it is next activated, by the rebases it missed, so a
 * rebase costs O(groups + backlogged classes). Why not wrap as the kernel does: each
 * wrapped compare or add is a call taking and returning doubles, and V8 leaves a rarely
 * taken call out of line, where every double crossing it becomes a new heap number — the
 * arbiter then allocated per packet and collected garbage mid-run (`pspat bench arbiter`,
 * its "GCs measured" column).
 *
 * Layout (per class slot c): invW σ, lmax L, S, F, group, bucketNext (classes in one
 * bucket form a stack), stampEpoch (the rebase its S and F were last moved by). Per group
 * g: slotShift, S, F, front (bucket of S_g), fullSlots (bit k: bucket front+k not empty),
 * buckets[g·NUM_SLOTS + k] (top class or -1).
 */
import { intParam } from './class-queues.js';
import { ClassfulScheduler } from './classful.js';
import type { ClassParams, SchedulerContext, SchedulerKind } from './types.js';

const FRAC_BITS = 30;
const ONE_FP = 2 ** FRAC_BITS;
/** Largest class weight ([2]: QFQ_MAX_WEIGHT). */
export const QFQ_MAX_WEIGHT = 1 << 10;
/**
 * Largest sum of weights (65536 classes of weight 64). V advances by len · ⌊ONE_FP / Σw⌋;
 * at this limit the floor slows V by at most 1/256, which only delays eligibility
 * slightly (V is also pulled up to the smallest group start when nothing is eligible).
 */
export const QFQ_MAX_WSUM = 1 << 22;
/** Packet length limits for L_i ([2]: QFQ_MIN_LMAX, 1 << QFQ_MTU_SHIFT). */
export const QFQ_MIN_LMAX = 512;
export const QFQ_MAX_LMAX = 1 << 16;
const MAX_INDEX = 24;
const GROUPS = MAX_INDEX + 1;
const NUM_SLOTS = 32;
/**
 * Bucket positions wrap with `& SLOT_MASK`, on int32s (`| 0`): a `%` on a slot number
 * computed from a double stamp is a double modulo, which V8 compiles to a call to C's fmod.
 */
const SLOT_MASK = NUM_SLOTS - 1;
const SLOT_SHIFT_MIN = FRAC_BITS + 16 - MAX_INDEX; // 22
/** Default L_i: the largest frame the pool holds. */
const DEFAULT_LMAX = 2048;

const ER = 0;
const IR = 1;
const EB = 2;
const IB = 3;

/** bucketNext value of a class filed in no bucket (-1 ends a bucket's stack). */
const UNFILED = -2;

/** V at which every stamp moves down by REBASE_STEP (see "Fixed point" above). */
const REBASE_AT = 2 ** 51;
const REBASE_STEP = 2 ** 50;

/** Slot size 2^(SLOT_SHIFT_MIN + g) of each group, precomputed (no Math.pow per packet). */
const SLOT_UNIT = Float64Array.from({ length: GROUPS }, (_, g) => 2 ** (SLOT_SHIFT_MIN + g));
/**
 * Their inverses: a stamp's slot is `stamp × SLOT_INV[g]`, a multiply where a divide costs
 * several times as much. Exact, as the divide: both only change a power-of-two exponent.
 */
const SLOT_INV = Float64Array.from({ length: GROUPS }, (_, g) => 2 ** -(SLOT_SHIFT_MIN + g));
const MIN_INV = SLOT_INV[0];

/** The slot of group g that `stamp` falls in. */
function slotOf(stamp: number, g: number): number {
  return Math.floor(stamp * SLOT_INV[g]);
}

/** `stamp` rounded down to group g's slot size. */
function roundDown(stamp: number, g: number): number {
  return slotOf(stamp, g) * SLOT_UNIT[g];
}

/** Index of the lowest set bit of a non-zero 32-bit mask. */
function ffs(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

/** Bits of `mask` at positions ≥ `from`. */
function maskFrom(mask: number, from: number): number {
  return from >= 32 ? 0 : mask & ~((1 << from) - 1);
}

/** The group of a class: the smallest g with L·σ ≤ 2^(SLOT_SHIFT_MIN + g) ([2] qfq_calc_index). */
function groupIndex(invW: number, lmax: number): number {
  const slotSize = lmax * invW;
  const sizeMap = Math.floor(slotSize / 2 ** SLOT_SHIFT_MIN);
  if (sizeMap === 0) return 0;
  let index = 32 - Math.clz32(sizeMap); // fls: 1-based position of the highest bit
  if (slotSize === 2 ** (index + SLOT_SHIFT_MIN - 1)) index--;
  return Math.max(0, Math.min(MAX_INDEX, index));
}

class QfqScheduler extends ClassfulScheduler {
  readonly kind = 'qfq';
  // Per class.
  /**
   * Integers, so Int32: a weight read back from a Float64Array is a heap number, and summing
   * one into a field that held small integers changes the scheduler's hidden class when a
   * class changes — which discards the optimised hot path (bench/deopt-check.ts).
   */
  private readonly weight: Int32Array;
  private readonly invW: Float64Array;
  private readonly lmax: Float64Array;
  private readonly S: Float64Array;
  private readonly F: Float64Array;
  private readonly group: Int32Array;
  private readonly bucketNext: Int32Array;
  /** Set when a class leaves the buckets: rebases since then are owed to its F. */
  private readonly stampEpoch: Float64Array;
  // Per group.
  private readonly gS = new Float64Array(GROUPS);
  private readonly gF = new Float64Array(GROUPS);
  private readonly front = new Int32Array(GROUPS);
  private readonly fullSlots = new Int32Array(GROUPS);
  private readonly buckets = new Int32Array(GROUPS * NUM_SLOTS).fill(-1);
  /** The four group sets ER, IR, EB, IB as bitmaps over group indices. */
  private readonly sets = new Int32Array(4);
  private V = 0;
  /**
   * V before the packet just served, and the served group's F before it moved: what
   * updateEligible and unblockGroups compare with. Fields, not arguments, as every stamp
   * here: a double passed to a method V8 does not inline is a new heap number, per packet.
   */
  private vBefore = 0;
  private gfBefore = 0;
  private wsum = 0;
  private iwsum = 0;
  /** Rebases so far (see "Fixed point"). */
  private epoch = 0;

  constructor(ctx: SchedulerContext) {
    super(ctx);
    const m = ctx.maxClasses;
    this.weight = new Int32Array(m);
    this.invW = new Float64Array(m);
    this.lmax = new Float64Array(m);
    this.S = new Float64Array(m);
    this.F = new Float64Array(m);
    this.group = new Int32Array(m);
    this.bucketNext = new Int32Array(m).fill(UNFILED);
    this.stampEpoch = new Float64Array(m);
  }

  // ---- class management ----

  private paramsOf(params: ClassParams, slot: number, fresh: boolean): [number, number] {
    const w = params.weight ?? (fresh ? 1 : this.weight[slot]);
    const l = params.maxpkt ?? (fresh ? DEFAULT_LMAX : this.lmax[slot]);
    return [intParam('weight', w, 1, QFQ_MAX_WEIGHT), intParam('maxpkt', l, QFQ_MIN_LMAX, QFQ_MAX_LMAX, ' bytes')];
  }

  /** Throws unless `wsum` is a sum of weights QFQ can take; call before changing anything. */
  private checkWeightSum(wsum: number): number {
    if (wsum > QFQ_MAX_WSUM) {
      throw new RangeError(`weight: the sum of all class weights would be ${wsum}, above QFQ's limit ${QFQ_MAX_WSUM}`);
    }
    return wsum;
  }

  private setWeightSum(wsum: number): void {
    this.wsum = wsum;
    this.iwsum = wsum > 0 ? Math.floor(ONE_FP / wsum) : 0;
  }

  addClass(slot: number, params: ClassParams): void {
    this.classes.checkNew(slot);
    const [w, l] = this.paramsOf(params, slot, true);
    const wsum = this.checkWeightSum(this.wsum + w);
    this.queues.setLimits(slot, params);
    this.setWeightSum(wsum);
    this.setShape(slot, w, l);
    this.S[slot] = this.F[slot] = this.V;
    this.stampEpoch[slot] = this.epoch;
    this.classes.add(slot);
  }

  changeClass(slot: number, params: ClassParams): void {
    this.classes.checkExists(slot);
    const [w, l] = this.paramsOf(params, slot, false);
    const wsum = this.checkWeightSum(this.wsum - this.weight[slot] + w);
    this.queues.setLimits(slot, this.queues.limitsWith(slot, params));
    this.setWeightSum(wsum);
    if (w === this.weight[slot] && l === this.lmax[slot]) return;
    // A backlogged class (filed in a bucket exactly while its queue is non-empty) changes
    // group: take it out and file it again (as [2] does).
    const backlogged = this.inBucket(slot);
    if (backlogged) this.deactivate(slot);
    this.setShape(slot, w, l);
    if (backlogged) {
      this.F[slot] = this.S[slot]; // restart its stamps from its last start
      this.activate(slot);
    }
  }

  override deleteClass(slot: number, evict: (frame: number) => void): void {
    super.deleteClass(slot, evict);
    this.setWeightSum(this.wsum - this.weight[slot]);
  }

  private setShape(slot: number, w: number, l: number): void {
    this.weight[slot] = w;
    this.invW[slot] = Math.floor(ONE_FP / w);
    this.lmax[slot] = l;
    this.group[slot] = groupIndex(this.invW[slot], l);
  }

  protected forget(slot: number): void {
    if (this.inBucket(slot)) this.deactivate(slot);
  }

  // ---- enqueue side ([2] qfq_enqueue, qfq_update_start, qfq_activate_class) ----

  /** A packet reached an empty class: compute S, F and file the class in its group. */
  protected activate(c: number): void {
    const g = this.group[c];
    // Stamps of a class with no backlog are not moved by a rebase: catch up first.
    this.F[c] -= (this.epoch - this.stampEpoch[c]) * REBASE_STEP;
    this.updateStart(c, g);
    this.F[c] = this.S[c] + this.len[this.queues.headOf(c)] * this.invW[c];
    const roundedS = roundDown(this.S[c], g);
    if (this.fullSlots[g] !== 0) {
      if (this.gS[g] <= this.S[c]) {
        this.bucketInsert(g, c);
        return;
      }
      // The class starts before the group: shift the bucket ring to make room. The group
      // was ineligible (S_g > S_c ≥ V), so it leaves IR/IB and is re-placed below.
      this.slotRotate(g, c);
      this.sets[IR] &= ~(1 << g);
      this.sets[IB] &= ~(1 << g);
    } else if (this.sets[ER] === 0 && roundedS > this.V) {
      this.V = roundedS; // nothing eligible anywhere: jump V (no idle credit)
    }
    this.setGroupStart(g, c);
    this.sets[this.groupState(g)] |= 1 << g;
    this.bucketInsert(g, c);
  }

  /** S_g = the rounded start of class c, the group's front class; F_g = S_g + 2 slots. */
  private setGroupStart(g: number, c: number): void {
    const roundedS = roundDown(this.S[c], g);
    this.gS[g] = roundedS;
    this.gF[g] = roundedS + 2 * SLOT_UNIT[g];
  }

  /** [2] qfq_update_start: S = F unless F is stale (behind V, or too far ahead of it). */
  private updateStart(c: number, g: number): void {
    const unit = SLOT_UNIT[g];
    const roundedF = roundDown(this.F[c], g);
    const limit = roundDown(this.V, g) + unit;
    if (this.F[c] <= this.V || roundedF > limit) {
      const mask = maskFrom(this.sets[ER], g);
      if (mask !== 0) {
        const next = ffs(mask);
        if (roundedF > this.gF[next]) {
          this.S[c] = Math.min(limit, this.gF[next]);
          return;
        }
      }
      this.S[c] = this.V;
    } else {
      this.S[c] = this.F[c];
    }
  }

  /** [2] qfq_calc_state: eligible unless S_g > V; blocked if a higher ER group finishes first. */
  private groupState(g: number): number {
    let state = this.gS[g] > this.V ? IR : ER;
    const mask = maskFrom(this.sets[ER], g);
    if (mask !== 0 && this.gF[g] > this.gF[ffs(mask)]) state |= EB;
    return state;
  }

  // ---- dequeue side ([2] qfq_dequeue, qfq_update_class, qfq_unblock_groups,
  //      qfq_update_eligible, qfq_make_eligible) ----

  protected serve(): number {
    if (this.sets[ER] === 0) return -1;
    const g = ffs(this.sets[ER]);
    const c = this.buckets[g * NUM_SLOTS + this.front[g]];
    const f = this.queues.pop(c);
    this.vBefore = this.V;
    this.V += this.len[f] * this.iwsum;
    if (this.updateClass(g, c)) {
      this.gfBefore = this.gF[g];
      const next = this.slotScan(g);
      if (next < 0) {
        this.sets[ER] &= ~(1 << g);
      } else if (this.gS[g] !== roundDown(this.S[next], g)) {
        this.setGroupStart(g, next);
        this.sets[ER] &= ~(1 << g);
        this.sets[this.groupState(g)] |= 1 << g;
      }
      this.unblockGroups(g);
    }
    this.updateEligible();
    if (this.V >= REBASE_AT) this.rebase();
    return f;
  }

  /**
   * Advances class c past the packet just sent. Returns true when the group's front may
   * have changed (the class left the front bucket).
   */
  private updateClass(g: number, c: number): boolean {
    this.S[c] = this.F[c];
    const head = this.queues.headOf(c);
    if (head < 0) {
      this.frontRemove(g);
      this.stampEpoch[c] = this.epoch;
      return true;
    }
    this.F[c] = this.S[c] + this.len[head] * this.invW[c];
    if (roundDown(this.S[c], g) === this.gS[g]) return false;
    this.frontRemove(g);
    this.bucketInsert(g, c);
    return true;
  }

  /** Lower groups blocked by g become ready if g no longer finishes before them (its F was gfBefore). */
  private unblockGroups(g: number): void {
    const mask = maskFrom(this.sets[ER], g + 1);
    if (mask !== 0 && this.gF[ffs(mask)] <= this.gfBefore) return;
    const lower = (1 << g) - 1;
    this.moveGroups(lower, EB, ER);
    this.moveGroups(lower, IB, IR);
  }

  /** Groups that V's move from vBefore made eligible become so. */
  private updateEligible(): void {
    const ineligible = this.sets[IR] | this.sets[IB];
    if (ineligible === 0) return;
    if (this.sets[ER] === 0) {
      const g = ffs(ineligible);
      if (this.gS[g] > this.V) this.V = this.gS[g];
    }
    // Groups whose slot boundary V crossed become eligible, all at once.
    const vslot = Math.floor(this.V * MIN_INV);
    const oldVslot = Math.floor(this.vBefore * MIN_INV);
    if (vslot !== oldVslot) {
      const high = 31 - Math.clz32(vslot ^ oldVslot);
      const mask = high >= 30 ? -1 : (2 << high) - 1;
      this.moveGroups(mask, IR, ER);
      this.moveGroups(mask, IB, EB);
    }
  }

  /**
   * Moves V and every live stamp down by REBASE_STEP: the groups' and those of the classes
   * filed in their buckets. A class with no backlog catches up when activated (stampEpoch).
   */
  private rebase(): void {
    this.V -= REBASE_STEP;
    this.epoch++;
    for (let g = 0; g < GROUPS; g++) {
      this.gS[g] -= REBASE_STEP;
      this.gF[g] -= REBASE_STEP;
      for (let k = 0; k < NUM_SLOTS; k++) {
        for (let c = this.buckets[g * NUM_SLOTS + k]; c >= 0; c = this.bucketNext[c]) {
          this.S[c] -= REBASE_STEP;
          this.F[c] -= REBASE_STEP;
        }
      }
    }
  }

  private moveGroups(mask: number, from: number, to: number): void {
    const bits = this.sets[from] & mask;
    this.sets[to] |= bits;
    this.sets[from] &= ~bits;
  }

  // ---- bucket ring of one group ([2] qfq_slot_*) ----

  /** Files class c in the bucket of its rounded start. */
  private bucketInsert(g: number, c: number): void {
    const ahead = slotOf(this.S[c], g) - this.gS[g] * SLOT_INV[g];
    // QFQ's invariants keep k within a few slots; clamp as [2] does rather than index
    // outside the ring if a class's stamps were pushed far ahead (e.g. by a weight change).
    const k = ahead > NUM_SLOTS - 2 ? NUM_SLOTS - 2 : ahead < 0 ? 0 : ahead | 0;
    const i = g * NUM_SLOTS + ((this.front[g] + k) & SLOT_MASK);
    this.bucketNext[c] = this.buckets[i];
    this.buckets[i] = c;
    this.fullSlots[g] |= 1 << k;
  }

  /** Pops the top class of the front bucket. */
  private frontRemove(g: number): void {
    const i = g * NUM_SLOTS + this.front[g];
    const c = this.buckets[i];
    this.buckets[i] = this.bucketNext[c];
    this.bucketNext[c] = UNFILED;
    if (this.buckets[i] < 0) this.fullSlots[g] &= ~1;
  }

  /** First class of the first non-empty bucket, moving the front there; -1 if none. */
  private slotScan(g: number): number {
    const full = this.fullSlots[g];
    if (full === 0) return -1;
    const k = ffs(full);
    if (k > 0) {
      this.front[g] = (this.front[g] + k) & SLOT_MASK;
      this.fullSlots[g] = full >>> k;
    }
    return this.buckets[g * NUM_SLOTS + this.front[g]];
  }

  /** Moves the ring's front back so bucket 0 starts at class c's rounded start (< S_g). */
  private slotRotate(g: number, c: number): void {
    const k = (this.gS[g] * SLOT_INV[g] - slotOf(this.S[c], g)) | 0;
    this.fullSlots[g] = this.fullSlots[g] << k;
    this.front[g] = (this.front[g] - k) & SLOT_MASK;
  }

  /** Removes class c from wherever it is filed (class change or deletion): O(bucket). */
  private deactivate(c: number): void {
    const g = this.group[c];
    for (let k = 0; k < NUM_SLOTS; k++) {
      if ((this.fullSlots[g] & (1 << k)) === 0) continue;
      const i = g * NUM_SLOTS + ((this.front[g] + k) & SLOT_MASK);
      let prev = -1;
      for (let x = this.buckets[i]; x >= 0; prev = x, x = this.bucketNext[x]) {
        if (x !== c) continue;
        if (prev < 0) this.buckets[i] = this.bucketNext[x];
        else this.bucketNext[prev] = this.bucketNext[x];
        this.bucketNext[c] = UNFILED;
        this.stampEpoch[c] = this.epoch;
        if (this.buckets[i] < 0) this.fullSlots[g] &= ~(1 << k);
        this.refileGroup(g);
        // Keep ER non-empty while anything is backlogged (V may have to jump).
        this.vBefore = this.V;
        this.updateEligible();
        return;
      }
    }
  }

  /** After a removal from inside the ring, recompute the group's place (slow path). */
  private refileGroup(g: number): void {
    for (let s = 0; s < 4; s++) this.sets[s] &= ~(1 << g);
    const next = this.slotScan(g);
    if (next >= 0) {
      this.setGroupStart(g, next);
      this.sets[this.groupState(g)] |= 1 << g;
    }
    this.gfBefore = this.gF[g];
    this.unblockGroups(g);
  }

  private inBucket(c: number): boolean {
    return this.bucketNext[c] !== UNFILED;
  }
}

export const qfq: SchedulerKind = {
  kind: 'qfq',
  summary: 'QFQ (Checconi–Rizzo–Valente): WF2Q+-like guarantees in O(1) with groups and bitmaps',
  workConserving: true,
  create: (ctx) => new QfqScheduler(ctx),
};
