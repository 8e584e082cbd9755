/**
 * FIFO (pfifo / bfifo): one queue for the whole link, served in arrival order.
 *
 * Classes exist only for accounting (the per-class counters and backlog that `show`
 * prints); they do not change the order. The queue limit is the root's: `limitPackets`
 * (pfifo) and/or `limitBytes` (bfifo). A packet that would exceed it is dropped on
 * arrival (tail drop), as the kernel's pfifo/bfifo do.
 */
import { ClassQueues, ClassSet } from './class-queues.js';
import {
  DROP_NO_CLASS,
  DROP_QUEUE_LIMIT,
  ENQUEUED,
  type RootParams,
  type Scheduler,
  type SchedulerContext,
  type SchedulerKind,
  type Verdict,
} from './types.js';

/** The one queue lives in slot 0 of a one-class ClassQueues. */
const QUEUE = 0;

class FifoScheduler implements Scheduler {
  readonly kind = 'fifo';
  readonly wakeAt = Infinity;
  private readonly queue: ClassQueues;
  private readonly classes: ClassSet;
  private readonly classPackets: Float64Array;
  private readonly classBytes: Float64Array;
  private readonly len: Uint32Array;
  private readonly cls: Int32Array;

  constructor(ctx: SchedulerContext, params: RootParams) {
    this.queue = new ClassQueues(ctx.frames, ctx.poolFrames, 1);
    this.queue.setLimits(QUEUE, params);
    this.classes = new ClassSet(ctx.maxClasses);
    this.classPackets = new Float64Array(ctx.maxClasses);
    this.classBytes = new Float64Array(ctx.maxClasses);
    this.len = ctx.frames.len;
    this.cls = ctx.frames.cls;
  }

  get backlog(): number {
    return this.queue.packets[QUEUE];
  }

  addClass(slot: number): void {
    this.classes.checkNew(slot);
    this.classes.add(slot);
  }

  changeClass(slot: number): void {
    this.classes.checkExists(slot);
  }

  deleteClass(slot: number, evict: (frame: number) => void): void {
    this.classes.checkExists(slot);
    // The shared queue keeps the other classes' order: rebuild it without this class.
    const n = this.queue.packets[QUEUE];
    for (let i = 0; i < n; i++) {
      const f = this.queue.pop(QUEUE);
      if (this.cls[f] === slot) evict(f);
      else this.queue.append(QUEUE, f);
    }
    this.classPackets[slot] = 0;
    this.classBytes[slot] = 0;
    this.classes.remove(slot);
  }

  hasClass(slot: number): boolean {
    return this.classes.has(slot);
  }

  enqueue(frame: number): Verdict {
    const slot = this.cls[frame];
    if (!this.classes.has(slot)) return DROP_NO_CLASS;
    const len = this.len[frame];
    if (this.queue.wouldOverflow(QUEUE, len)) return DROP_QUEUE_LIMIT;
    this.queue.append(QUEUE, frame);
    this.classPackets[slot]++;
    this.classBytes[slot] += len;
    return ENQUEUED;
  }

  dequeue(): number {
    if (this.queue.isEmpty(QUEUE)) return -1;
    const f = this.queue.pop(QUEUE);
    this.classPackets[this.cls[f]]--;
    this.classBytes[this.cls[f]] -= this.len[f];
    return f;
  }

  peek(): number {
    return this.queue.head[QUEUE];
  }

  backlogPackets(slot: number): number {
    return this.classPackets[slot];
  }

  backlogBytes(slot: number): number {
    return this.classBytes[slot];
  }

  reset(evict: (frame: number) => void): void {
    this.queue.flush(QUEUE, evict);
    this.classPackets.fill(0);
    this.classBytes.fill(0);
  }
}

export const fifo: SchedulerKind = {
  kind: 'fifo',
  summary: 'one tail-drop FIFO for the link (pfifo/bfifo); classes only count',
  workConserving: true,
  create: (ctx, params = {}) => new FifoScheduler(ctx, params),
};
