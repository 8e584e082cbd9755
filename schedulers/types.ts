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
export interface FrameTable {
  readonly len: Uint32Array;
  readonly cls: Int32Array;
}

export interface SchedulerContext {
  frames: FrameTable;
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
  /** Queue limit in packets. @default 1000 (tc's txqueuelen) */
  limitPackets?: number;
  /** Queue limit in bytes; no byte limit when absent. */
  limitBytes?: number;
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
  /** Next frame to send, or -1 when nothing may be sent. */
  dequeue(): number;
  /** The frame `dequeue` would return next, without removing it; -1 if none. */
  peek(): number;
  backlogPackets(slot: number): number;
  backlogBytes(slot: number): number;
  /** Packets queued over all classes. */
  readonly backlog: number;
  /** Empties every queue into `evict`. */
  reset(evict: (frame: number) => void): void;
}

/** Parameters of the scheduler itself (the root qdisc), as opposed to its classes. */
export interface RootParams {
  /** FIFO: queue limit in packets (pfifo). @default 1000 */
  limitPackets?: number;
  /** FIFO: queue limit in bytes (bfifo); no byte limit when absent. */
  limitBytes?: number;
  /** DRR: bytes one unit of weight earns per round. @default 1514 (an Ethernet MTU frame) */
  quantum?: number;
}

/** A registry entry, like a `Qdisc_ops` table. */
export interface SchedulerKind {
  kind: string;
  /** One line for `--help` and errors. */
  summary: string;
  /** Builds an empty scheduler; throws InvalidOptionError on a bad root parameter. */
  create(ctx: SchedulerContext, params?: RootParams): Scheduler;
}
