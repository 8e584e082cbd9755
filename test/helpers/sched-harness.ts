/** A scheduler over a private frame table, for unit and property tests. */
import { findScheduler } from '../../schedulers/registry.js';
import { Rng } from '../../src/random.js';
import type { RootParams, Scheduler } from '../../schedulers/types.js';

export class Harness {
  readonly len: Uint32Array;
  readonly cls: Int32Array;
  readonly sched: Scheduler;
  private readonly free: number[];

  constructor(kind: string, poolFrames: number, maxClasses: number, params: RootParams = {}) {
    this.len = new Uint32Array(poolFrames);
    this.cls = new Int32Array(poolFrames);
    this.sched = findScheduler(kind).create({ frames: this, poolFrames, maxClasses }, params);
    this.free = Array.from({ length: poolFrames }, (_, i) => poolFrames - 1 - i);
  }

  /** Takes a free frame, stamps it, enqueues it; returns [frame, verdict] (frame freed on refusal). */
  offer(cls: number, len: number): [number, number] {
    const f = this.free.pop();
    if (f === undefined) throw new Error('harness out of frames');
    this.len[f] = len;
    this.cls[f] = cls;
    const v = this.sched.enqueue(f);
    if (v !== 0) this.free.push(f);
    return [f, v];
  }

  take(): number {
    const f = this.sched.dequeue();
    if (f >= 0) this.free.push(f);
    return f;
  }

  recycle = (f: number): void => {
    this.free.push(f);
  };
}

/**
 * Keeps every class backlogged with random 64–1500 B packets; returns bytes served per
 * class. `afterEach` sees the running per-class totals after every packet.
 */
export function saturate(
  h: Harness,
  classes: number,
  packets: number,
  seed: number,
  afterEach?: (served: number[], total: number) => void,
): number[] {
  const rng = new Rng(seed);
  const served = new Array(classes).fill(0);
  let total = 0;
  for (let c = 0; c < classes; c++) for (let i = 0; i < 8; i++) h.offer(c, rng.int(64, 1500));
  for (let i = 0; i < packets; i++) {
    const f = h.take();
    const c = h.cls[f];
    served[c] += h.len[f];
    total += h.len[f];
    h.offer(c, rng.int(64, 1500)); // refill the class just served: always backlogged
    afterEach?.(served, total);
  }
  return served;
}
