/**
 * The scheduler interface, in the manner of the kernel's `Qdisc_ops`: one object per link,
 * driven only by the arbiter thread, over frame indices (never packet objects).
 *
 * Classes are dense slots 0..maxClasses-1 chosen by the control plane (which maps tc's
 * major:minor class ids onto them); clients stamp the slot into the frame table, so the
 * scheduler reads a packet's class and length from there.
 *
 * Hot-path methods (`enqueue`, `dequeue`, `peek`, backlog getters) allocate nothing and
 * never throw. Class management runs between arbiter batches and may throw
 * (RangeError / InvalidOptionError naming the field) with the scheduler left unchanged.
 */

/** What a scheduler reads of the frame table. */
import type { SizeTableParams } from './size-table.js';
export interface FrameTable {
  readonly len: Uint32Array;
  readonly cls: Int32Array;
  /** Flow hash the client computed (5-tuple): sfq and fq_codel need it. */
  readonly flow?: Uint32Array;
  /** When the arbiter took the frame (ns, the link clock's scale): fq_codel's sojourn time needs it. */
  readonly queuedAt?: Float64Array;
  /** Sets ECN CE on the frame if it is ECN-capable; false if it is not (fq_codel then drops it instead). */
  markCe?(frame: number): boolean;
  /** Class slot inside the frame's class's inner qdisc (a classful leaf discipline reads it as its `cls`). */
  readonly sub?: Int32Array;
}

export interface SchedulerContext {
  frames: FrameTable;
  /**
   * The link clock, shared with whoever drives the scheduler: element 0 is the time (ns)
   * at which the next frame dequeued starts on the wire. The driver sets it before
   * `dequeue` and `peek`; a shaper charges its buckets at it, CoDel measures sojourn to it,
   * and an inner scheduler shares its parent's. A cell rather than an argument: V8 boxes a
   * double passed to a call it does not inline in a new heap number — one per packet, and
   * the arbiter's scavenges were most of its tail delay.
   */
  clock: Float64Array;
  /**
   * Where a scheduler hands a frame it had accepted and then dropped (sfq's overlimit
   * victim, CoDel's drops), with the reason (DROP_QUEUE_LIMIT or DROP_AQM): the arbiter
   * counts it and recycles it. Schedulers that never drop accepted frames ignore it.
   */
  drop?: (frame: number, reason: number) => void;
  /** Frames in the pool: bounds every per-frame array. */
  poolFrames: number;
  /** Class slots the link may use. */
  maxClasses: number;
}

/** Enqueue verdicts. Anything but ENQUEUED means the frame was not taken. */
export const ENQUEUED = 0;
/** The class (or the scheduler) is at its packet or byte limit. */
export const DROP_QUEUE_LIMIT = 1;
/** The frame names a class slot that does not exist. */
export const DROP_NO_CLASS = 2;
export type Verdict = typeof ENQUEUED | typeof DROP_QUEUE_LIMIT | typeof DROP_NO_CLASS;
/** Reason given to `SchedulerContext.drop`: an active queue manager (CoDel) dropped it. */
export const DROP_AQM = 3;

/** Per-class parameters; each scheduler reads the ones it knows (see its file). */
export interface ClassParams {
  /** Relative share for the fair queueing schedulers. @default 1 */
  weight?: number;
  /** DRR quantum in bytes; overrides weight × base quantum. */
  quantum?: number;
  /** QFQ: the class's largest packet L_i in bytes (sets its group). @default 2048 */
  maxpkt?: number;
  /** prio: the class's band, 0 = highest priority. @default 0 */
  band?: number;
  /** htb: parent class slot; absent = a child of the root. Fixed once the class exists. */
  parent?: number;
  /** htb: assured rate in bit/s (required for an htb class). */
  rate?: number;
  /** htb: the most the class may take by borrowing, bit/s. @default rate */
  ceil?: number;
  /** htb: bytes the class may send at once above `rate`. @default rate/8 / 1e9 + 1600 (tc's) */
  burst?: number;
  /** htb: bytes the class may send at once above `ceil`. @default ceil/8 / 1e9 + 1600 */
  cburst?: number;
  /** htb: priority among classes borrowing from one parent, 0 = first. @default 0 */
  prio?: number;
  /** htb: smallest size a packet is charged as, bytes (tc's mpu). @default 0 */
  mpu?: number;
  /** htb: bytes added to every packet the class's rates count, before the mpu (tc's overhead). @default 0 */
  overhead?: number;
  /** htb: the class's rates count whole ATM cells (53 bytes per 48 of packet; tc's `linklayer atm`). @default false */
  atm?: boolean;
  /** Queue limit in packets. @default 1000 (tc's txqueuelen) */
  limitPackets?: number;
  /** Queue limit in bytes; no byte limit when absent. */
  limitBytes?: number;
  /**
   * A flow-queueing discipline in place of the class's FIFO (tc: an sfq or fq_codel qdisc
   * attached to the class), with its own limits; null puts the FIFO back. Absent on a
   * change: unchanged. @default none (a FIFO)
   */
  leaf?: LeafSpec | null;
}

/**
 * A leaf qdisc of a class: which, and its parameters (the same as the kind's at the root).
 * A classful one (prio, drr, qfq) has its own classes, which the frame table's `sub`
 * column picks; flow-queueing ones (sfq, fq_codel) have none.
 */
export interface LeafSpec {
  kind: string;
  params: RootParams;
  classes?: (ClassParams & { slot: number })[];
}

export interface Scheduler {
  readonly kind: string;
  /** Creates class `slot`. Throws if it exists or a parameter is bad. */
  addClass(slot: number, params: ClassParams): void;
  /** Changes parameters of an existing class; queued packets stay queued. */
  changeClass(slot: number, params: ClassParams): void;
  /**
   * Removes class `slot`. Its queued frames are handed to `evict` (the arbiter counts
   * them dropped with reason 'class deleted' and recycles them): nothing is lost silently.
   */
  deleteClass(slot: number, evict: (frame: number) => void): void;
  hasClass(slot: number): boolean;
  enqueue(frame: number): Verdict;
  /**
   * Next frame to send at the context's clock (the time the frame starts on the wire), or
   * -1 when nothing may be sent then. Work-conserving schedulers ignore the clock; a
   * shaper charges its token buckets at it, so the clock must never go back in time.
   */
  dequeue(): number;
  /** The frame `dequeue()` would return next at the same clock, without removing it; -1 if none. */
  peek(): number;
  /**
   * After `dequeue` returned -1 with packets queued (a shaper out of tokens): when to ask
   * again — the arbiter idles the link until then, as the kernel's qdisc watchdog does.
   * Nothing may be sent before it; at it, a class's state changes, which may or may not
   * let a packet go (if not, `dequeue` names a later time). Infinity for work-conserving
   * schedulers.
   */
  readonly wakeAt: number;
  backlogPackets(slot: number): number;
  backlogBytes(slot: number): number;
  /** Packets queued over all classes. */
  readonly backlog: number;
  /** Empties every queue into `evict`. */
  reset(evict: (frame: number) => void): void;
  /**
   * The scheduler's own per-class counters, as tc's "xstats" (htb: tokens, ctokens,
   * lends, borrows, overlimits); absent for schedulers that keep none. Not hot path.
   */
  classStats?(slot: number): ClassXstats;
  /**
   * The classes of the inner classful qdisc attached to class `slot` (tc `qdisc add ...
   * parent X:Y prio|drr|qfq|htb`), with their own counters; null when it has none. Not hot path.
   */
  innerStats?(slot: number): InnerClassStats[] | null;
}

/** One class of an inner qdisc: what its scheduler released and refused, and holds. */
export interface InnerClassStats {
  slot: number;
  /** Released onto the link by the inner scheduler. */
  packets: number;
  bytes: number;
  /** Refused at its limit, or dropped by its own leaf. */
  drops: number;
  backlogPackets: number;
  backlogBytes: number;
  xstats: ClassXstats | null;
}

/** A scheduler's extra per-class figures, by name (numbers or a mode word). */
export type ClassXstats = Readonly<Record<string, number | string>>;

/** Parameters of the scheduler itself (the root qdisc), as opposed to its classes. */
export interface RootParams {
  /** FIFO: queue limit in packets (pfifo); sfq, fq_codel: packets over all flows. @default 1000 (sfq 127, fq_codel 10240) */
  limitPackets?: number;
  /** FIFO: queue limit in bytes (bfifo); no byte limit when absent. */
  limitBytes?: number;
  /** DRR: bytes one unit of weight earns per round; sfq, fq_codel: bytes a flow sends per turn. @default 1514 (an Ethernet MTU frame) */
  quantum?: number;
  /** htb: a class's default quantum is its rate in bytes/s divided by this. @default 10 */
  r2q?: number;
  /** sfq: hash buckets (a power of two). @default 1024 */
  divisor?: number;
  /** sfq: flow slots active at once; fq_codel: flow queues. @default 128 (sfq), 1024 (fq_codel) */
  flows?: number;
  /** sfq: packets one flow may queue. @default 127 */
  depth?: number;
  /** sfq: over a limit, drop the flow's oldest packet instead of the newest. @default false */
  headdrop?: boolean;
  /** sfq: seconds between hash perturbations; 0 never. @default 0 */
  perturbS?: number;
  /** fq_codel: CoDel's target queueing delay, µs. @default 5000 */
  targetUs?: number;
  /** fq_codel: CoDel's interval, µs. @default 100000 */
  intervalUs?: number;
  /** fq_codel: bytes queued at most over all flows. @default 32 MiB */
  memoryLimit?: number;
  /** fq_codel: packets dropped at once from the fattest flow over a limit. @default 64 */
  dropBatch?: number;
  /** fq_codel: mark ECN-capable packets CE instead of dropping them. @default true */
  ecn?: boolean;
  /** fq_codel: also mark CE any ECN-capable packet whose sojourn exceeds this, µs; absent: never. */
  ceThresholdUs?: number;
  /**
   * The root qdisc's size table (tc's `stab`): the length each packet is charged, for every
   * scheduler alike (size-table.ts). The link applies it; a scheduler reads the result as
   * its frames' `len`. Absent: a packet is charged its length.
   */
  sizeTable?: SizeTableParams;
}

/** A registry entry, like a `Qdisc_ops` table. */
export interface SchedulerKind {
  kind: string;
  /** One line for `--help` and errors. */
  summary: string;
  /** True if it never holds a packet back while the link is free (all but shapers). */
  workConserving: boolean;
  /**
   * True if it queues by flow hash (frame table `flow`), not by class: sfq, fq_codel. Its
   * classes only count; one class is enough. @default false
   */
  hashesFlows?: boolean;
  /** Builds an empty scheduler; throws InvalidOptionError on a bad root parameter. */
  create(ctx: SchedulerContext, params?: RootParams): Scheduler;
}
