/**
 * Peek for schedulers whose choice changes their state (DRR's deficits, WF2Q+'s virtual
 * time): as the kernel's qdisc_peek_dequeued does, `peek` dequeues once and holds the
 * frame here for the next `dequeue`. The held frame still counts as its class's backlog.
 */
import type { FrameTable } from './types.js';

export class PeekCache {
  /** The held frame, or -1. */
  frame = -1;

  constructor(private readonly frames: FrameTable) {}

  /** Returns the held frame (or -1) and forgets it. */
  take(): number {
    const f = this.frame;
    this.frame = -1;
    return f;
  }

  /** 1 if the held frame is of class `slot`, else 0. */
  packets(slot: number): number {
    return this.frame >= 0 && this.frames.cls[this.frame] === slot ? 1 : 0;
  }

  /** Bytes of the held frame if it is of class `slot`, else 0. */
  bytes(slot: number): number {
    return this.packets(slot) === 1 ? this.frames.len[this.frame] : 0;
  }
}
