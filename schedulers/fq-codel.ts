/**
 * FQ-CoDel — flow queueing with CoDel active queue management per flow.
 *
 * Sources:
 *  [1] T. Høiland-Jørgensen et al., "The Flow Queue CoDel Packet Scheduler and Active
 *      Queue Management Algorithm", RFC 8290, 2018 (§4: enqueue, dequeue, new/old lists).
 *  [2] K. Nichols, V. Jacobson et al., "Controlled Delay Active Queue Management",
 *      RFC 8289, 2018 (the control law, §5).
 *  [3] Linux net/sched/sch_fq_codel.c and include/net/codel_impl.h.
 *
 * Algorithm. A packet's flow hash picks one of `flows` queues. A queue that becomes active
 * joins the *new* list with a `quantum` of credit; dequeue serves the new list before the
 * old one, so a sparse flow (a DNS query, a TCP ACK, a game's update) goes out ahead of
 * the bulk flows; a queue whose credit runs out moves to the end of the old list with
 * another quantum (DRR by bytes among the busy flows). A new-list queue that empties moves
 * to the old list once, so a flow cannot stay "new" by emptying its queue each turn.
 *
 * Each queue runs CoDel on its head: a packet's sojourn time is now − when the arbiter
 * took it. Once sojourn has stayed above `target` for a whole `interval` (and more than an
 * MTU is queued in all), the queue enters the dropping state and drops a head packet at
 * times spaced interval/√count apart (the control law) until sojourn falls below target.
 * Over `limit` packets or `memoryLimit` bytes, up to `dropBatch` packets are dropped from
 * the head of the fattest queue (by bytes) until half of its backlog is gone ([3]).
 *
 * ECN ([2] §5.6, [3]): with `ecn` on, a packet CoDel would drop is marked CE instead when
 * it is ECN-capable (the frame table's `markCe` writes the IP header), and sent; with
 * `ceThresholdUs`, any ECN-capable packet whose sojourn exceeds it is marked too.
 * Differences from [3]: time is the link clock in ns and √ is exact, not [3]'s Newton
 * iteration.
 *
 * Layout, per flow queue: deficit, list (0 none / 1 new / 2 old) and listNext; CoDel's
 * count, lastCount, dropping, dropNext, firstAboveTime.
 */
import { intParam } from './class-queues.js';
import { FlowQueueScheduler, seededHash, type FlowLinks } from './flow-queues.js';
import { DROP_AQM, DROP_QUEUE_LIMIT, ENQUEUED, type ClassXstats, type RootParams, type SchedulerContext, type SchedulerKind, type Verdict } from './types.js';

export const FQ_CODEL_DEFAULTS = {
  limit: 10240,
  flows: 1024,
  quantum: 1514,
  targetUs: 5000,
  intervalUs: 100_000,
  memoryLimit: 32 << 20,
  dropBatch: 64,
} as const;
/** CoDel does not drop while the whole queue holds no more than one MTU ([3]'s params->mtu). */
const MTU = 1514;
const NONE = 0;
const NEW = 1;
const OLD = 2;

class FqCodelScheduler extends FlowQueueScheduler {
  readonly kind = 'fq_codel';
  private readonly flows: number;
  private readonly limit: number;
  private readonly quantum: number;
  private readonly targetNs: number;
  private readonly intervalNs: number;
  private readonly memoryLimit: number;
  private readonly dropBatch: number;
  private readonly queuedAt: Float64Array;
  private readonly markCe: ((frame: number) => boolean) | null;
  private readonly ceThresholdNs: number;
  /** Packets marked CE instead of dropped, and by the CE threshold (tc's ecn_mark, ce_mark). */
  private ecnMarks = 0;
  private ceMarks = 0;
  private readonly seed = 0x2545f491;
  private readonly deficit: Float64Array;
  private readonly list: Uint8Array;
  private readonly listNext: Int32Array;
  /** Heads and tails of the new and old lists, indexed by NEW / OLD. */
  private readonly listHead = new Int32Array(3).fill(-1);
  private readonly listTail = new Int32Array(3).fill(-1);
  private readonly count: Float64Array;
  private readonly lastCount: Float64Array;
  private readonly dropping: Uint8Array;
  private readonly dropNext: Float64Array;
  private readonly firstAbove: Float64Array;

  constructor(ctx: SchedulerContext, p: RootParams, links?: FlowLinks) {
    const flows = intParam('flows', p.flows ?? FQ_CODEL_DEFAULTS.flows, 1, 65536);
    super(ctx, flows, links);
    if (!ctx.frames.queuedAt) throw new RangeError('fq_codel: the frame table has no queuedAt column (sojourn times)');
    this.queuedAt = ctx.frames.queuedAt;
    const frames = ctx.frames;
    this.markCe = (p.ecn ?? true) && frames.markCe ? (f) => frames.markCe!(f) : null;
    this.ceThresholdNs = p.ceThresholdUs === undefined ? Infinity : intParam('ceThreshold', p.ceThresholdUs, 0, 2 ** 31 - 1, ' µs') * 1e3;
    this.flows = flows;
    this.limit = intParam('limitPackets', p.limitPackets ?? FQ_CODEL_DEFAULTS.limit, 1, 2 ** 31 - 1);
    this.quantum = intParam('quantum', p.quantum ?? FQ_CODEL_DEFAULTS.quantum, 1, 2 ** 31 - 1, ' bytes');
    this.targetNs = intParam('target', p.targetUs ?? FQ_CODEL_DEFAULTS.targetUs, 1, 2 ** 31 - 1, ' µs') * 1e3;
    this.intervalNs = intParam('interval', p.intervalUs ?? FQ_CODEL_DEFAULTS.intervalUs, 1, 2 ** 31 - 1, ' µs') * 1e3;
    this.memoryLimit = intParam('memoryLimit', p.memoryLimit ?? FQ_CODEL_DEFAULTS.memoryLimit, 1, 2 ** 40, ' bytes');
    this.dropBatch = intParam('dropBatch', p.dropBatch ?? FQ_CODEL_DEFAULTS.dropBatch, 1, 65536);
    this.deficit = new Float64Array(flows);
    this.list = new Uint8Array(flows);
    this.listNext = new Int32Array(flows).fill(-1);
    this.count = new Float64Array(flows);
    this.lastCount = new Float64Array(flows);
    this.dropping = new Uint8Array(flows);
    this.dropNext = new Float64Array(flows);
    this.firstAbove = new Float64Array(flows);
  }

  // ---- the new and old lists (only their heads are ever removed) ----

  private append(which: number, q: number): void {
    this.list[q] = which;
    this.listNext[q] = -1;
    if (this.listTail[which] < 0) this.listHead[which] = q;
    else this.listNext[this.listTail[which]] = q;
    this.listTail[which] = q;
  }

  private shiftList(which: number): number {
    const q = this.listHead[which];
    this.listHead[which] = this.listNext[q];
    if (this.listHead[which] < 0) this.listTail[which] = -1;
    this.list[q] = NONE;
    return q;
  }

  // ---- enqueue ----

  protected admit(f: number): Verdict {
    const q = seededHash(this.flowHash[f], this.seed) % this.flows;
    this.put(q, f);
    if (this.list[q] === NONE) {
      this.append(NEW, q);
      this.deficit[q] = this.quantum;
    }
    if (this.total > this.limit || this.totalBytes > this.memoryLimit) this.dropFattest();
    return ENQUEUED;
  }

  /** [3]'s fq_codel_drop: head drops from the queue with the most bytes, up to half of them. */
  private dropFattest(): void {
    let fattest = 0;
    for (let q = 1; q < this.flows; q++) if (this.fifos.bytes[q] > this.fifos.bytes[fattest]) fattest = q;
    const threshold = this.fifos.bytes[fattest] / 2;
    let dropped = 0;
    for (let i = 0; i < this.dropBatch && dropped < threshold && this.fifos.packets[fattest] > 0; i++) {
      dropped += this.len[this.dropFrom(fattest, DROP_QUEUE_LIMIT)];
    }
    // An emptied queue stays on its list; dequeue finds it empty and moves on, as in [3].
  }

  // ---- dequeue ----

  /**
   * The link clock of the dequeue under way. A field, not an argument, for the reason the
   * clock is a cell (SchedulerContext.clock): as an argument it made the arbiter collect garbage.
   */
  private now = 0;

  protected serve(): number {
    this.now = this.clock[0];
    for (;;) {
      const which = this.listHead[NEW] >= 0 ? NEW : OLD;
      const q = this.listHead[which];
      if (q < 0) return -1;
      if (this.deficit[q] <= 0) {
        this.deficit[q] += this.quantum;
        this.append(OLD, this.shiftList(which));
        continue;
      }
      const f = this.codelDequeue(q);
      if (f < 0) {
        // Empty: a new queue goes to the old list once (if there is one), an old one leaves.
        this.shiftList(which);
        if (which === NEW && this.listHead[OLD] >= 0) this.append(OLD, q);
        continue;
      }
      this.deficit[q] -= this.len[f];
      return f;
    }
  }

  /** RFC 8289's dodequeue: the head packet and whether CoDel may drop it; -1 when empty. */
  private okToDrop = false;

  private headOf(q: number): number {
    const now = this.now;
    this.okToDrop = false;
    if (this.fifos.packets[q] === 0) {
      this.firstAbove[q] = 0;
      return -1;
    }
    const f = this.take(q);
    const sojourn = now - this.queuedAt[f];
    // [3] compares the backlog left behind this packet with the MTU.
    if (sojourn < this.targetNs || this.totalBytes <= MTU) this.firstAbove[q] = 0;
    else if (this.firstAbove[q] === 0) this.firstAbove[q] = now + this.intervalNs;
    else if (now >= this.firstAbove[q]) this.okToDrop = true;
    return f;
  }

  /** The control law: queue q's next drop, one interval / √count after the last (or after now). */
  private scheduleDrop(q: number, fromNow: boolean): void {
    const after = fromNow ? this.now : this.dropNext[q];
    this.dropNext[q] = after + this.intervalNs / Math.sqrt(this.count[q]);
  }

  /** RFC 8289's dequeue for queue q: the packet to send, after whatever CoDel drops now. */
  private codelDequeue(q: number): number {
    const now = this.now;
    let f = this.headOf(q);
    if (f < 0) {
      this.dropping[q] = 0;
      return -1;
    }
    if (this.dropping[q]) {
      if (!this.okToDrop) this.dropping[q] = 0;
      else {
        while (now >= this.dropNext[q] && this.dropping[q]) {
          this.count[q]++;
          if (this.mark(f)) {
            // Marked, not dropped: it goes out, and the next mark is due by the control law.
            this.scheduleDrop(q, false);
            break;
          }
          this.discard(f, DROP_AQM);
          f = this.headOf(q);
          if (f < 0 || !this.okToDrop) this.dropping[q] = 0;
          else this.scheduleDrop(q, false);
        }
      }
    } else if (this.okToDrop) {
      if (!this.mark(f)) {
        this.discard(f, DROP_AQM);
        f = this.headOf(q);
      }
      this.dropping[q] = 1;
      // Start near the drop rate that last worked, if that was recent.
      const delta = this.count[q] - this.lastCount[q];
      this.count[q] = delta > 1 && now - this.dropNext[q] < 16 * this.intervalNs ? delta : 1;
      this.lastCount[q] = this.count[q];
      this.scheduleDrop(q, true);
    }
    if (f >= 0 && this.markCe !== null && now - this.queuedAt[f] > this.ceThresholdNs && this.markCe(f)) this.ceMarks++;
    return f;
  }

  /** With ECN on, marks CE instead of dropping an ECN-capable packet; false: drop it. */
  private mark(f: number): boolean {
    if (this.markCe === null || !this.markCe(f)) return false;
    this.ecnMarks++;
    return true;
  }

  /** tc -s's fq_codel counters (for slot 0: the qdisc's). */
  classStats(): ClassXstats {
    return { ecn_mark: this.ecnMarks, ce_mark: this.ceMarks };
  }

  protected flowShrunk(): void {
    // Queues stay on their lists while empty; dequeue moves past them (as after a drop).
  }
}

/** An fq_codel over `links` shared with other leaf disciplines of one scheduler. */
export function createFqCodel(ctx: SchedulerContext, params: RootParams, links?: FlowLinks): FlowQueueScheduler {
  return new FqCodelScheduler(ctx, params, links);
}

export const fqCodel: SchedulerKind = {
  kind: 'fq_codel',
  summary: 'FQ-CoDel (RFC 8290): hashed flows, new flows first, CoDel per flow',
  workConserving: true,
  hashesFlows: true,
  create: (ctx, params = {}) => new FqCodelScheduler(ctx, params),
};
