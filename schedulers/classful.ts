/**
 * What every classful scheduler with per-class leaf FIFOs shares (DRR, WF2Q+, prio): the
 * leaf queues and their limits, the class table, the backlog count, peek by
 * dequeue-and-hold, and the enqueue / dequeue / delete skeleton. A subclass supplies only
 * its algorithm: what happens when a class becomes backlogged (`activate`), which frame
 * goes next (`serve`), and how a class leaves its scheduling state (`forget`).
 *
 * Invariant subclasses rely on: `activate(c)` is called exactly when class c's queue goes
 * from empty to non-empty, and `serve` only pops from non-empty queues.
 */
import { ClassQueues, ClassSet } from './class-queues.js';
import { leafFactory } from './leaf-queues.js';
import { PeekCache } from './peek-cache.js';
import {
  DROP_NO_CLASS,
  DROP_QUEUE_LIMIT,
  ENQUEUED,
  type ClassParams,
  type InnerClassStats,
  type Scheduler,
  type SchedulerContext,
  type Verdict,
} from './types.js';

export abstract class ClassfulScheduler implements Scheduler {
  abstract readonly kind: string;
  /** Work-conserving subclasses never set it; a shaper sets it when it holds packets back. */
  protected shaperWake = Infinity;
  /** Bound once: wakes a class whose shaping leaf may send again. */
  private readonly reactivate = (slot: number): void => this.activate(slot);
  protected readonly queues: ClassQueues;
  protected readonly classes: ClassSet;
  protected readonly len: Uint32Array;
  protected readonly cls: Int32Array;
  private readonly peeked: PeekCache;
  private queued = 0;
  /**
   * Per class: packets and bytes released, packets refused or dropped — what an inner
   * qdisc's classes report. Kept only by an inner scheduler (`countClasses`): at the root
   * the arbiter counts per class already.
   */
  private counting = false;
  private readonly outPackets: Float64Array;
  private readonly outBytes: Float64Array;
  private readonly drops: Float64Array;

  constructor(protected readonly ctx: SchedulerContext) {
    // A leaf discipline's own drops leave the backlog and go to the context's sink.
    const dropped = ctx.drop
      ? (f: number, reason: number) => {
          this.queued--;
          if (this.counting) this.drops[ctx.frames.cls[f]]++;
          ctx.drop!(f, reason);
        }
      : undefined;
    this.outPackets = new Float64Array(ctx.maxClasses);
    this.outBytes = new Float64Array(ctx.maxClasses);
    this.drops = new Float64Array(ctx.maxClasses);
    this.queues = new ClassQueues(ctx.frames, ctx.poolFrames, ctx.maxClasses, leafFactory(ctx), dropped);
    this.classes = new ClassSet(ctx.maxClasses);
    this.len = ctx.frames.len;
    this.cls = ctx.frames.cls;
    this.peeked = new PeekCache(ctx.frames);
  }

  abstract addClass(slot: number, params: ClassParams): void;
  abstract changeClass(slot: number, params: ClassParams): void;
  /** Class `slot`'s queue just went from empty to non-empty. */
  protected abstract activate(slot: number): void;
  /** Pops the next frame to send at the context's clock off its class queue, or returns -1. */
  protected abstract serve(): number;
  /** Class `slot` (queue already flushed) leaves the scheduling state. */
  protected abstract forget(slot: number): void;

  /** When to ask again: the scheduler's own shaping, or a class's shaping leaf, whichever is sooner. */
  get wakeAt(): number {
    const leaves = this.queues.nextWake();
    return leaves < this.shaperWake ? leaves : this.shaperWake;
  }

  get backlog(): number {
    return this.queued;
  }

  hasClass(slot: number): boolean {
    return this.classes.has(slot);
  }

  enqueue(frame: number): Verdict {
    const slot = this.cls[frame];
    if (!this.classes.has(slot)) return DROP_NO_CLASS;
    if (this.queues.wouldOverflow(slot, this.len[frame])) {
      if (this.counting) this.drops[slot]++;
      return DROP_QUEUE_LIMIT;
    }
    // By the counter, not by asking: asking a leaf discipline for its head takes it out
    // (held for the next dequeue), which must not happen before later, better packets arrive.
    const wasEmpty = this.queues.packets[slot] === 0;
    if (!this.queues.append(slot, frame)) {
      if (this.counting) this.drops[slot]++;
      return DROP_QUEUE_LIMIT;
    }
    this.queued++;
    // A shaping leaf out of tokens leaves its class asleep until its wake-up time.
    if (wasEmpty && this.queues.canSend(slot)) this.activate(slot);
    return ENQUEUED;
  }

  dequeue(): number {
    if (this.queues.sleeping > 0) this.queues.wake(this.ctx.clock[0], this.reactivate);
    const held = this.peeked.take();
    const f = held >= 0 ? held : this.serve();
    if (f >= 0) {
      this.queued--;
      if (this.counting) {
        this.outPackets[this.cls[f]]++;
        this.outBytes[this.cls[f]] += this.len[f];
      }
    }
    return f;
  }

  /** Makes this scheduler count per class (it runs as an inner qdisc; see `innerStats`). */
  countClasses(): void {
    this.counting = true;
  }

  innerStats(slot: number): InnerClassStats[] | null {
    const leaf = this.queues.leafOf(slot);
    return leaf instanceof ClassfulScheduler ? leaf.ownClassStats() : null;
  }

  /** Every class's counters, as an inner qdisc reports them. */
  private ownClassStats(): InnerClassStats[] {
    const out: InnerClassStats[] = [];
    for (let c = 0; c < this.ctx.maxClasses; c++) {
      if (!this.classes.has(c)) continue;
      out.push({
        slot: c,
        packets: this.outPackets[c],
        bytes: this.outBytes[c],
        drops: this.drops[c],
        backlogPackets: this.backlogPackets(c),
        backlogBytes: this.backlogBytes(c),
        xstats: (this as Scheduler).classStats?.(c) ?? null,
      });
    }
    return out;
  }

  peek(): number {
    if (this.queues.sleeping > 0) this.queues.wake(this.ctx.clock[0], this.reactivate);
    if (this.peeked.frame < 0) this.peeked.frame = this.serve();
    return this.peeked.frame;
  }

  backlogPackets(slot: number): number {
    return this.queues.packets[slot] + this.peeked.packets(slot);
  }

  backlogBytes(slot: number): number {
    return this.queues.bytes[slot] + this.peeked.bytes(slot);
  }

  deleteClass(slot: number, evict: (frame: number) => void): void {
    this.classes.checkExists(slot);
    if (this.peeked.packets(slot) === 1) {
      evict(this.peeked.take());
      this.queued--;
    }
    this.queued -= this.queues.packets[slot];
    this.queues.flush(slot, evict);
    this.forget(slot);
    this.classes.remove(slot);
  }

  reset(evict: (frame: number) => void): void {
    const held = this.peeked.take();
    if (held >= 0) evict(held);
    for (let c = 0; c < this.ctx.maxClasses; c++) {
      if (!this.classes.has(c)) continue;
      this.queues.flush(c, evict);
      this.forget(c);
    }
    this.queued = 0;
  }
}
