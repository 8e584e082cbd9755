/**
 * HTB: Hierarchical Token Bucket shaping with borrowing (as Linux's sch_htb).
 *
 * Sources:
 *  [1] M. Devera, "HTB Linux queuing discipline manual — user guide", 2002, and
 *      "Hierarchical token bucket theory", 2002 (the model: rate, ceil, borrowing, prio).
 *  [2] Linux net/sched/sch_htb.c (the structure below: class modes, per-level rows of
 *      self-feeding classes, per-parent feeds, a wait queue of classes whose mode will
 *      change).
 *  [3] S. Floyd, V. Jacobson, "Link-sharing and resource management models for packet
 *      networks", IEEE/ACM ToN 3(4), 1995 (class-based link sharing, which HTB implements).
 *  [4] P. Goyal, H. Vin, H. Cheng, "Start-time fair queueing", IEEE/ACM ToN 5(5), 1997.
 *
 * Model. Classes form a tree under the root; packets queue only at leaves. Every class c
 * has two token buckets, kept in nanoseconds of transmission time as in [2]:
 *   tokens  at `rate`, capped at `buffer` (= burst at rate): the assured rate;
 *   ctokens at `ceil`, capped at `cbuffer` (= cburst at ceil): the most c may ever send.
 * A class's mode follows from its buckets at time t:
 *   CAN_SEND    tokens ≥ 0: it may send on its own rate;
 *   MAY_BORROW  tokens < 0 ≤ ctokens: it may send only with bandwidth an ancestor lends;
 *   CANT_SEND   ctokens < 0: it may not send at all until its ceil bucket refills.
 * A backlogged leaf may send at level ℓ when the lowest ancestor-or-self in CAN_SEND sits
 * at level ℓ and every class below it on the path is MAY_BORROW. Dequeue serves the
 * lowest level first (own rate before borrowed bandwidth), within a level the lowest
 * `prio`. Charging a packet of L bytes sent at level ℓ takes L/rate from `tokens` of
 * every class on the path at level ≥ ℓ (the lender and above), and L/ceil from `ctokens`
 * of every class on the path. A leaf's own rate is assured: it is not checked against
 * its ancestors' ceilings (as in [2]), so children's rates should fit their parent's.
 *
 * Structure (from [2]). Levels count from the leaves: a leaf is level 0; an inner class
 * sits at its parent's level − 1, top-level inner classes at MAX_DEPTH − 1. For each
 * class and priority p:
 *   - a CAN_SEND class with demand at p sits in row[level][p] (it can "feed itself");
 *   - a MAY_BORROW class with demand at p sits in its parent's feed[p] (asking to borrow),
 *     and the parent then has demand at p too, and so on up the tree;
 *   - a CANT_SEND class sits in neither and waits.
 * `rowMask[level]` has bit p set when row[level][p] is not empty, so dequeue finds the
 * first level and priority with a find-first-set, takes the row's class whose DRR turn
 * it is (classes of a row take turns by `quantum`), and walks down the feeds to a leaf.
 * Every class not in CAN_SEND is in the wait heap keyed by the time its mode improves;
 * dequeue first applies the changes that are due. When nothing may be sent, `wakeAt` is
 * the heap's earliest time: the arbiter keeps the link idle until then (the qdisc
 * watchdog of [2]).
 *
 * Sharing what a parent lends. Within a feed, children are served in order of a virtual
 * start tag ([4]): serving L bytes through child c advances its tag by L / quantum_c, and
 * a child that comes back to borrowing starts no earlier than the feed's virtual time.
 * Children that stay backlogged therefore share the lent bandwidth by quantum (by default
 * rate / r2q, hence by rate), and a child held back by its own ceil, or busy sending on
 * its own rate, is served as soon as it may borrow again, with at most one quantum of
 * credit (a new borrower starts at the feed's virtual time: idleness earns none). [2]
 * runs DRR here instead; with tc's default quanta (rate / r2q, up to 200 kB) one child's
 * turn outlasts a small cburst, and the ceil-limited child then gets far less than its
 * ceil. The feed is a heap (O(log n) in the number of borrowing children).
 *
 * Also different from [2]: no hysteresis (the kernel's default is off too), and a class
 * with queued packets cannot become a parent (the kernel drops its packets): the change
 * is refused, so nothing is lost.
 *
 * Layout (per class slot; a node is slot × PRIOS + p):
 *   parent, level, children   the tree
 *   nsPerByte, nsPerByteCeil  8e9 / rate, 8e9 / ceil
 *   buffer, cbuffer           bucket sizes, ns
 *   tokens, ctokens, checked  bucket levels, ns, as of time `checked`
 *   mode                      CANT_SEND / MAY_BORROW / CAN_SEND as of the last update
 *   prio, quantum             class parameters
 *   mpu, overhead, atm        what the class's rates count a packet as (chargedLen)
 *   activity                  bitmask of priorities with demand (a leaf: 1 << prio while
 *                             backlogged; an inner class: the p whose feed has a borrower)
 *   deficit[node]             DRR deficit of a class in its row at p
 *   tag[node], vtime[node]    start tag among the parent's borrowers; a feed's virtual time
 *   lends, borrows, overlimits  statistics, as `tc -s class show` prints them
 *
 * Invariants: (1) a class with activity bit p is in row[level][p] iff CAN_SEND, and in
 * its parent's feed[p] iff MAY_BORROW; (2) an inner class has activity bit p iff its
 * feed[p] is not empty; (3) a class is in the wait heap iff not CAN_SEND, keyed by when
 * its mode improves; (4) a leaf with activity is backlogged. Every path from a row's
 * class down the feeds' first members therefore ends at a backlogged leaf.
 */
import { atmCells } from './size-table.js';
import { InvalidOptionError, RejectedChangeError } from '../src/errors.js';
import { intParam } from './class-queues.js';
import { ClassfulScheduler } from './classful.js';
import { HeapForest } from './heap-forest.js';
import { IndexedHeap } from './indexed-heap.js';
import { RoundRobinRings } from './round-robin.js';
import { DROP_NO_CLASS, type ClassParams, type RootParams, type SchedulerContext, type SchedulerKind, type Verdict } from './types.js';

/** Levels of the tree, leaves included (the kernel's TC_HTB_MAXDEPTH). */
export const MAX_DEPTH = 8;
/** Priorities among siblings (TC_HTB_NUMPRIO). */
export const PRIOS = 8;
/** Class modes, ordered so that a larger value may send more. */
export const CANT_SEND = 0;
export const MAY_BORROW = 1;
export const CAN_SEND = 2;
/** How far below zero a bucket may go, and the longest idle time credited (the kernel's mbuffer). */
const MAX_DEBT_NS = 60e9;
/** tc's default MTU when it computes a default burst. */
const DEFAULT_MTU = 1600;
/** The kernel clamps a default quantum (rate / r2q) into this range. */
export const MIN_DEFAULT_QUANTUM = 1000;
export const MAX_DEFAULT_QUANTUM = 200_000;

/** A class's quantum when none is given: its rate (bit/s) in bytes over r2q, clamped as sch_htb does. */
export function htbDefaultQuantum(rate: number, r2q: number): number {
  return Math.min(MAX_DEFAULT_QUANTUM, Math.max(MIN_DEFAULT_QUANTUM, Math.floor(rate / 8 / r2q)));
}
/** Highest rate accepted, bit/s (as the link's). */
const MAX_RATE = 1e15;
const NO_PARENT = -1;

/** Index of the lowest set bit of m (m ≠ 0): find-first-set. */
function lowestBit(m: number): number {
  return 31 - Math.clz32(m & -m);
}

/** Validates a rate in bit/s, naming the field. */
function rateParam(field: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0 || value > MAX_RATE) {
    throw new InvalidOptionError(field, `must be a rate in (0, ${MAX_RATE}] bit/s, got ${value}`);
  }
  return value;
}

/** What `tc -s class show` prints for an htb class beyond the byte and packet counters. */
export type HtbClassStats = {
  mode: 'can send' | 'may borrow' | 'cant send';
  /** Bucket levels in bytes at the class's rate / ceil (negative: in debt). */
  tokens: number;
  ctokens: number;
  lends: number;
  borrows: number;
  overlimits: number;
};

/** A class's validated parameters, applied only after everything checked out. */
interface HtbParams {
  rate: number;
  ceil: number;
  burst: number;
  cburst: number;
  prio: number;
  quantum: number;
  mpu: number;
  overhead: number;
  atm: boolean;
}

class HtbScheduler extends ClassfulScheduler {
  readonly kind = 'htb';
  private readonly r2q: number;
  private readonly parent: Int32Array;
  private readonly level: Int8Array;
  private readonly children: Int32Array;
  private readonly nsPerByte: Float64Array;
  private readonly nsPerByteCeil: Float64Array;
  private readonly buffer: Float64Array;
  private readonly cbuffer: Float64Array;
  private readonly tokens: Float64Array;
  private readonly ctokens: Float64Array;
  private readonly checked: Float64Array;
  private readonly mode: Uint8Array;
  private readonly prio: Uint8Array;
  private readonly quantum: Float64Array;
  private readonly mpu: Float64Array;
  private readonly overhead: Float64Array;
  private readonly atm: Uint8Array;
  private readonly activity: Uint8Array;
  private readonly deficit: Float64Array;
  private readonly lends: Float64Array;
  private readonly borrows: Float64Array;
  private readonly overlimits: Float64Array;
  /** Ring level × PRIOS + p is row[level][p]; node c × PRIOS + p is class c at p. */
  private readonly rows: RoundRobinRings;
  /** Heap c × PRIOS + p is class c's feed[p]: its MAY_BORROW children at p, by tag. */
  private readonly borrowers: HeapForest;
  /** Per node: virtual start tag among its parent's borrowers (bytes / quantum). */
  private readonly tag: Float64Array;
  /** Per feed: the start tag of the member served last (the feed's virtual time). */
  private readonly vtime: Float64Array;
  private readonly rowMask: Uint8Array;
  private readonly waiting: IndexedHeap;
  /**
   * The time (ns) the buckets are brought to by the operation under way: a dequeue's clock,
   * or a changed class's last check. A field, not an argument, for the reason the clock is
   * a cell (SchedulerContext.clock): as an argument it made the arbiter collect garbage.
   */
  private at = 0;

  constructor(ctx: SchedulerContext, params: RootParams) {
    super(ctx);
    const m = ctx.maxClasses;
    this.r2q = intParam('r2q', params.r2q ?? 10, 1, 2 ** 32 - 1);
    this.parent = new Int32Array(m).fill(NO_PARENT);
    this.level = new Int8Array(m);
    this.children = new Int32Array(m);
    this.nsPerByte = new Float64Array(m);
    this.nsPerByteCeil = new Float64Array(m);
    this.buffer = new Float64Array(m);
    this.cbuffer = new Float64Array(m);
    this.tokens = new Float64Array(m);
    this.ctokens = new Float64Array(m);
    this.checked = new Float64Array(m);
    this.mode = new Uint8Array(m);
    this.prio = new Uint8Array(m);
    this.quantum = new Float64Array(m);
    this.mpu = new Float64Array(m);
    this.overhead = new Float64Array(m);
    this.atm = new Uint8Array(m);
    this.activity = new Uint8Array(m);
    this.deficit = new Float64Array(m * PRIOS);
    this.lends = new Float64Array(m);
    this.borrows = new Float64Array(m);
    this.overlimits = new Float64Array(m);
    this.rows = new RoundRobinRings(m * PRIOS, MAX_DEPTH * PRIOS);
    this.borrowers = new HeapForest(m * PRIOS, m * PRIOS);
    this.tag = new Float64Array(m * PRIOS);
    this.vtime = new Float64Array(m * PRIOS);
    this.rowMask = new Uint8Array(MAX_DEPTH);
    this.waiting = new IndexedHeap(m);
  }

  // ---- class management (between arbiter passes; validates before it changes anything) ----

  /** Fills defaults as tc does and validates; `current` supplies what a change leaves out. */
  private paramsOf(params: ClassParams, current?: HtbParams): HtbParams {
    if (params.rate === undefined && current === undefined) {
      throw new InvalidOptionError('rate', 'an htb class needs a rate');
    }
    const rate = params.rate === undefined ? current!.rate : rateParam('rate', params.rate);
    const ceil = params.ceil === undefined ? (params.rate === undefined ? current!.ceil : rate) : rateParam('ceil', params.ceil);
    const burstOf = (bps: number): number => Math.ceil(bps / 8 / 1e9) + DEFAULT_MTU;
    const burst =
      params.burst === undefined ? (params.rate === undefined ? current!.burst : burstOf(rate)) : intParam('burst', params.burst, 1, 2 ** 32 - 1, ' bytes');
    const cburst =
      params.cburst === undefined
        ? params.ceil === undefined && params.rate === undefined
          ? current!.cburst
          : burstOf(ceil)
        : intParam('cburst', params.cburst, 1, 2 ** 32 - 1, ' bytes');
    const defaultQuantum = htbDefaultQuantum(rate, this.r2q);
    const quantum =
      params.quantum === undefined
        ? params.rate === undefined && current !== undefined
          ? current.quantum
          : defaultQuantum
        : intParam('quantum', params.quantum, 1, 2 ** 32 - 1, ' bytes');
    const prio = params.prio === undefined ? (current?.prio ?? 0) : intParam('prio', params.prio, 0, PRIOS - 1);
    const mpu = params.mpu === undefined ? (current?.mpu ?? 0) : intParam('mpu', params.mpu, 0, 65535, ' bytes');
    const overhead = params.overhead === undefined ? (current?.overhead ?? 0) : intParam('overhead', params.overhead, 0, 65535, ' bytes');
    const atm = params.atm ?? current?.atm ?? false;
    return { rate, ceil, burst, cburst, prio, quantum, mpu, overhead, atm };
  }

  private currentParams(c: number): HtbParams {
    return {
      rate: 8e9 / this.nsPerByte[c],
      ceil: 8e9 / this.nsPerByteCeil[c],
      burst: Math.round(this.buffer[c] / this.nsPerByte[c]),
      cburst: Math.round(this.cbuffer[c] / this.nsPerByteCeil[c]),
      prio: this.prio[c],
      quantum: this.quantum[c],
      mpu: this.mpu[c],
      overhead: this.overhead[c],
      atm: this.atm[c] === 1,
    };
  }

  addClass(slot: number, params: ClassParams): void {
    this.classes.checkNew(slot);
    const parent = params.parent ?? NO_PARENT;
    if (parent !== NO_PARENT) this.checkCanParent(parent);
    const p = this.paramsOf(params);
    this.queues.setLimits(slot, params);
    this.apply(slot, p);
    this.tokens[slot] = this.buffer[slot];
    this.ctokens[slot] = this.cbuffer[slot];
    this.checked[slot] = 0;
    this.mode[slot] = CAN_SEND;
    this.deficit.fill(0, slot * PRIOS, (slot + 1) * PRIOS);
    this.tag.fill(0, slot * PRIOS, (slot + 1) * PRIOS);
    this.lends[slot] = this.borrows[slot] = this.overlimits[slot] = 0;
    this.parent[slot] = parent;
    this.level[slot] = 0;
    if (parent !== NO_PARENT) {
      if (this.children[parent]++ === 0) this.becomeInner(parent);
      for (let prio = 0; prio < PRIOS; prio++) this.borrowers.reserve(parent * PRIOS + prio, this.children[parent]);
    }
    this.classes.add(slot);
  }

  /** Throws unless `parent` exists and may take a child: not backlogged, and depth left. */
  private checkCanParent(parent: number): void {
    if (!this.classes.has(parent)) {
      throw new InvalidOptionError('parent', `class slot ${parent} does not exist`);
    }
    if (this.children[parent] > 0) return;
    if (this.queues.packets[parent] > 0) {
      throw new RejectedChangeError(`parent: class slot ${parent} has ${this.queues.packets[parent]} queued packets and cannot become a parent`);
    }
    if (this.innerLevelOf(parent) < 1) {
      throw new InvalidOptionError('parent', `the class tree would be deeper than ${MAX_DEPTH} levels`);
    }
  }

  /** The level `c` takes as an inner class: one below its parent, or the top. */
  private innerLevelOf(c: number): number {
    const p = this.parent[c];
    return (p === NO_PARENT ? MAX_DEPTH : this.level[p]) - 1;
  }

  /** A leaf gains its first child: it leaves the rows as a leaf and waits for demand. */
  private becomeInner(c: number): void {
    // Not backlogged (checked), so it has no activity and sits in no ring.
    this.level[c] = this.innerLevelOf(c);
  }

  private apply(slot: number, p: HtbParams): void {
    this.nsPerByte[slot] = 8e9 / p.rate;
    this.nsPerByteCeil[slot] = 8e9 / p.ceil;
    this.buffer[slot] = p.burst * this.nsPerByte[slot];
    this.cbuffer[slot] = p.cburst * this.nsPerByteCeil[slot];
    this.prio[slot] = p.prio;
    this.quantum[slot] = p.quantum;
    this.mpu[slot] = p.mpu;
    this.overhead[slot] = p.overhead;
    this.atm[slot] = p.atm ? 1 : 0;
  }

  changeClass(slot: number, params: ClassParams): void {
    this.classes.checkExists(slot);
    if (params.parent !== undefined && params.parent !== this.parent[slot]) {
      throw new InvalidOptionError('parent', `an htb class cannot move to another parent (slot ${slot})`);
    }
    const p = this.paramsOf(params, this.currentParams(slot));
    this.queues.setLimits(slot, this.queues.limitsWith(slot, params));
    // A new prio moves a backlogged leaf's demand to other rings: withdraw it, offer it again.
    const backlogged = this.level[slot] === 0 && this.activity[slot] !== 0;
    if (backlogged) this.setState(slot, 0, this.mode[slot]);
    this.apply(slot, p);
    this.tokens[slot] = Math.min(this.tokens[slot], this.buffer[slot]);
    this.ctokens[slot] = Math.min(this.ctokens[slot], this.cbuffer[slot]);
    if (backlogged) this.setState(slot, 1 << this.prio[slot], this.mode[slot]);
    this.at = this.checked[slot];
    this.updateMode(slot);
  }

  override deleteClass(slot: number, evict: (frame: number) => void): void {
    this.classes.checkExists(slot);
    if (this.children[slot] > 0) {
      throw new RejectedChangeError(`class slot ${slot} has ${this.children[slot]} child classes; delete them first`);
    }
    super.deleteClass(slot, evict);
    if (this.waiting.has(slot)) this.waiting.remove(slot);
    const p = this.parent[slot];
    this.parent[slot] = NO_PARENT;
    // A parent left without children is a leaf again (with no demand: it had none).
    if (p !== NO_PARENT && --this.children[p] === 0) this.level[p] = 0;
  }

  /**
   * Class `slot`'s queue was flushed (delete or reset): a leaf withdraws its demand. Inner
   * classes lose theirs as their leaves withdraw (invariant 2), so they do nothing here.
   */
  protected forget(slot: number): void {
    if (this.level[slot] === 0 && this.activity[slot] !== 0) this.setState(slot, 0, this.mode[slot]);
  }

  override enqueue(frame: number): Verdict {
    // Packets queue at leaves only; a frame stamped with an inner class has no queue.
    const slot = this.cls[frame];
    if (this.classes.has(slot) && this.level[slot] > 0) return DROP_NO_CLASS;
    return super.enqueue(frame);
  }

  classStats(slot: number): HtbClassStats {
    this.classes.checkExists(slot);
    const names = ['cant send', 'may borrow', 'can send'] as const;
    return {
      mode: names[this.mode[slot]],
      tokens: this.tokens[slot] / this.nsPerByte[slot],
      ctokens: this.ctokens[slot] / this.nsPerByteCeil[slot],
      lends: this.lends[slot],
      borrows: this.borrows[slot],
      overlimits: this.overlimits[slot],
    };
  }

  // ---- demand: where a class sits, from its activity and mode (invariants 1–3) ----

  protected activate(slot: number): void {
    this.setState(slot, 1 << this.prio[slot], this.mode[slot]);
  }

  /**
   * Gives class c activity `act` and mode `mode`, and moves it to match:
   *   rows[level][p]    for each p in act while CAN_SEND;
   *   parent's feed[p]  (the heap of borrowers) for each p in act while MAY_BORROW.
   * A parent's activity is the set of p whose feed is not empty, so a change there
   * carries up the tree, one level per call (at most MAX_DEPTH).
   */
  private setState(c: number, act: number, mode: number): void {
    const wasAct = this.activity[c];
    const was = this.mode[c];
    this.activity[c] = act;
    this.mode[c] = mode;
    const wasRow = was === CAN_SEND ? wasAct : 0;
    const isRow = mode === CAN_SEND ? act : 0;
    this.removeFromRows(c, wasRow & ~isRow);
    this.addToRows(c, isRow & ~wasRow);
    const p = this.parent[c];
    if (p === NO_PARENT) return;
    const wasBorrow = was === MAY_BORROW ? wasAct : 0;
    const isBorrow = mode === MAY_BORROW ? act : 0;
    let parentAct = this.activity[p];
    for (let m = wasBorrow & ~isBorrow; m !== 0; m &= m - 1) {
      const prio = lowestBit(m);
      const feed = p * PRIOS + prio;
      this.borrowers.remove(feed, c * PRIOS + prio);
      if (this.borrowers.size(feed) === 0) parentAct &= ~(1 << prio);
    }
    for (let m = isBorrow & ~wasBorrow; m !== 0; m &= m - 1) {
      const prio = lowestBit(m);
      const feed = p * PRIOS + prio;
      const node = c * PRIOS + prio;
      // A class with new demand starts at the feed's virtual time: idleness is not credit
      // (as in SFQ [4]). One that had demand all along and was held back by its ceil (or
      // sent on its own rate) keeps up to one quantum of credit, so a brief hold does not
      // cost it its share, and a long one does not turn into a long burst.
      const floor = (wasAct & (1 << prio)) !== 0 ? this.vtime[feed] - 1 : this.vtime[feed];
      this.tag[node] = Math.max(this.tag[node], floor);
      this.borrowers.key[node] = this.tag[node];
      this.borrowers.push(feed, node);
      parentAct |= 1 << prio;
    }
    if (parentAct !== this.activity[p]) this.setState(p, parentAct, this.mode[p]);
  }

  private addToRows(c: number, mask: number): void {
    const lvl = this.level[c];
    for (let m = mask; m !== 0; m &= m - 1) {
      const prio = lowestBit(m);
      this.rows.insert(lvl * PRIOS + prio, c * PRIOS + prio);
      this.rowMask[lvl] |= 1 << prio;
    }
  }

  private removeFromRows(c: number, mask: number): void {
    const lvl = this.level[c];
    for (let m = mask; m !== 0; m &= m - 1) {
      const prio = lowestBit(m);
      const row = lvl * PRIOS + prio;
      this.rows.remove(row, c * PRIOS + prio);
      if (this.rows.isEmpty(row)) this.rowMask[lvl] &= ~(1 << prio);
    }
  }

  // ---- tokens and modes ----

  /**
   * Recomputes class c's mode at time `at` from its buckets (credited with the time since
   * `checked`, not stored), moves its demand if the mode changed (invariant 1), and keeps
   * its place in the wait heap (invariant 3).
   */
  private updateMode(c: number): void {
    const t = this.at;
    const idle = Math.min(t - this.checked[c], MAX_DEBT_NS);
    const ct = this.ctokens[c] + idle;
    const tk = this.tokens[c] + idle;
    const next = ct < 0 ? CANT_SEND : tk >= 0 ? CAN_SEND : MAY_BORROW;
    if (next !== this.mode[c]) {
      if (next !== CAN_SEND) this.overlimits[c]++;
      this.setState(c, this.activity[c], next);
    }
    if (next === CAN_SEND) {
      if (this.waiting.has(c)) this.waiting.remove(c);
      return;
    }
    // The mode improves when the deficient bucket reaches zero; at least 1 ns ahead, so
    // applying due changes always makes progress despite rounding.
    const due = t + Math.max(1, next === CANT_SEND ? -ct : -tk);
    if (this.waiting.has(c)) this.waiting.remove(c);
    this.waiting.key[c] = due;
    this.waiting.push(c);
  }

  /** Applies every mode change due by time `at`. */
  private applyDueChanges(): void {
    const w = this.waiting;
    while (w.size > 0 && w.key[w.top()] <= this.at) this.updateMode(w.top());
  }

  /**
   * The bytes class c's rates count a packet of `len` as (the kernel's psched_l2t_ns):
   * plus its overhead, at least its mpu, in whole ATM cells on ATM.
   */
  private chargedLen(c: number, len: number): number {
    const n = Math.max(len + this.overhead[c], this.mpu[c]);
    return this.atm[c] === 1 ? atmCells(n) : n;
  }

  /**
   * Charges a packet of `len` bytes sent by leaf c at `level` at time `at`: rate tokens of the
   * lender and everything above it, ceil tokens of the whole path ([2]'s charge_class),
   * each class counting the packet as its own link layer does.
   */
  private charge(c: number, level: number, len: number): void {
    const t = this.at;
    for (; c !== NO_PARENT; c = this.parent[c]) {
      const bytes = this.chargedLen(c, len);
      const idle = Math.min(t - this.checked[c], MAX_DEBT_NS);
      let tk = Math.min(this.tokens[c] + idle, this.buffer[c]);
      if (this.level[c] >= level) {
        if (this.level[c] === level) this.lends[c]++;
        tk = Math.max(tk - bytes * this.nsPerByte[c], 1 - MAX_DEBT_NS);
      } else {
        this.borrows[c]++;
      }
      this.tokens[c] = tk;
      const ctk = Math.min(this.ctokens[c] + idle, this.cbuffer[c]) - bytes * this.nsPerByteCeil[c];
      this.ctokens[c] = Math.max(ctk, 1 - MAX_DEBT_NS);
      this.checked[c] = t;
      this.updateMode(c);
    }
  }

  // ---- dequeue ----

  /**
   * The lowest level with a class that can send, its lowest priority, that row's class
   * whose turn it is, and down the feeds' first borrowers to a leaf.
   */
  protected serve(): number {
    this.at = this.ctx.clock[0];
    this.applyDueChanges();
    for (let lvl = 0; lvl < MAX_DEPTH; lvl++) {
      const mask = this.rowMask[lvl];
      if (mask === 0) continue;
      const f = this.sendFrom(lvl, lowestBit(mask));
      if (f >= 0) return f;
      // The leaf's discipline (fq_codel) dropped all it held when asked; its demand is
      // withdrawn, so look again from the lowest level.
      lvl = -1;
    }
    const w = this.waiting;
    // Two stores, not one of `size > 0 ? key : Infinity`: where serve was optimised before
    // its Infinity branch ran, V8 joined the double with the global Infinity as a tagged
    // value, a new heap number for every call that found a shaper waiting (BENCHMARKS.md).
    if (w.size > 0) this.shaperWake = w.key[w.top()];
    else this.shaperWake = Infinity;
    return -1;
  }

  private sendFrom(lvl: number, prio: number): number {
    const row = lvl * PRIOS + prio;
    // Every class met on the way down borrows (MAY_BORROW): one that could send on its own
    // would sit in a lower level's row, which would have been served first.
    const lender = this.rows.turn(row);
    let c = (lender / PRIOS) | 0;
    while (this.level[c] > 0) c = (this.borrowers.top(c * PRIOS + prio) / PRIOS) | 0;
    const f = this.queues.pop(c);
    if (f < 0) {
      this.setState(c, 0, this.mode[c]);
      return -1;
    }
    // DRR among the classes of the row, and SFQ tags on the way down from the lender, by
    // the packet's length (the kernel's deficit); the buckets by each class's link layer.
    const bytes = this.len[f];
    this.deficit[lender] -= bytes;
    if (this.deficit[lender] < 0) {
      this.deficit[lender] += this.quantum[(lender / PRIOS) | 0];
      this.rows.advance(row);
    }
    for (let b = c; this.level[b] < lvl; b = this.parent[b]) {
      const node = b * PRIOS + prio;
      const feed = this.parent[b] * PRIOS + prio;
      this.vtime[feed] = this.tag[node];
      this.tag[node] += bytes / this.quantum[b];
      this.borrowers.key[node] = this.tag[node];
      this.borrowers.rekey(feed, node);
    }
    if (this.queues.isEmpty(c)) this.setState(c, 0, this.mode[c]);
    this.charge(c, lvl, bytes);
    return f;
  }
}

export const htb: SchedulerKind = {
  kind: 'htb',
  summary: 'HTB shaping: a class tree with rate, ceil, burst, borrowing, prio and quantum (as tc htb)',
  workConserving: false,
  create: (ctx, params = {}) => new HtbScheduler(ctx, params),
};

export type { HtbScheduler };
