/** A scheduler over a private frame table, for unit and property tests. */
import { findScheduler } from '../../schedulers/registry.js';
import { Rng } from '../../src/random.js';
import type { ClassParams, RootParams, Scheduler } from '../../schedulers/types.js';

export class Harness {
  readonly len: Uint32Array;
  readonly cls: Int32Array;
  /** Flow hash per frame: the class, unless a test sets it (sfq and fq_codel queue by it). */
  readonly flow: Uint32Array;
  /** Arrival time per frame: `now` at `offer`. */
  readonly queuedAt: Float64Array;
  readonly sched: Scheduler;
  /** Class slot inside the frame's class's inner qdisc. */
  readonly sub: Int32Array;
  /** Per frame: 1 if the packet is ECN-capable (fq_codel may mark it instead of dropping). */
  readonly ect: Uint8Array;
  /** Frames marked CE through `markCe`. */
  readonly marked: number[] = [];
  /** Frames the scheduler dropped after accepting them (its drop sink), with the reasons and their class then; recycled. */
  readonly sunk: { frame: number; reason: number; cls: number }[] = [];
  private readonly free: number[];

  constructor(
    kind: string,
    poolFrames: number,
    maxClasses: number,
    params: RootParams = {},
    /** bit/s of the link `take` models. */
    readonly linkRate = 1e9,
  ) {
    this.len = new Uint32Array(poolFrames);
    this.cls = new Int32Array(poolFrames);
    this.flow = new Uint32Array(poolFrames);
    this.queuedAt = new Float64Array(poolFrames);
    this.ect = new Uint8Array(poolFrames);
    this.sub = new Int32Array(poolFrames);
    const drop = (frame: number, reason: number) => {
      this.sunk.push({ frame, reason, cls: this.cls[frame] });
      this.free.push(frame);
    };
    this.sched = findScheduler(kind).create({ frames: this, clock: this.clock, poolFrames, maxClasses, drop }, params);
    this.free = Array.from({ length: poolFrames }, (_, i) => poolFrames - 1 - i);
  }

  /** Takes a free frame, stamps it, enqueues it; returns [frame, verdict] (frame freed on refusal). */
  /** The frame table's ECN hook: marks an ECN-capable frame. */
  markCe(f: number): boolean {
    if (this.ect[f] === 0) return false;
    this.marked.push(f);
    return true;
  }

  offer(cls: number, len: number, flow = cls + 1, ect = false, sub = 0): [number, number] {
    const f = this.free.pop();
    if (f === undefined) throw new Error('harness out of frames');
    this.ect[f] = ect ? 1 : 0;
    this.sub[f] = sub;
    this.len[f] = len;
    this.cls[f] = cls;
    this.flow[f] = flow;
    this.queuedAt[f] = this.now;
    const v = this.sched.enqueue(f);
    if (v !== 0) this.free.push(f);
    return [f, v];
  }

  /** The link clock the scheduler reads (SchedulerContext.clock). */
  readonly clock = new Float64Array(1);

  /** The link clock (ns) the scheduler is asked at: it advances by each packet sent. */
  get now(): number {
    return this.clock[0];
  }
  set now(t: number) {
    this.clock[0] = t;
  }

  /** Dequeues at `now`; a sent packet occupies the harness's link for its time on the wire. */
  take(): number {
    const f = this.sched.dequeue();
    if (f >= 0) {
      this.now += (this.len[f] * 8e9) / this.linkRate;
      this.free.push(f);
    }
    return f;
  }

  /**
   * Like `take`, but when a shaper holds packets back, waits for it: moves the clock to
   * its `wakeAt` until it sends. Throws if it never does within `maxWaits` wake-ups.
   */
  takeWaiting(maxWaits = 1000): number {
    let f = this.take();
    for (let waits = 0; f < 0 && this.sched.backlog > 0; waits++) {
      const wake = this.sched.wakeAt;
      if (!(wake > this.now && wake < Infinity) || waits === maxWaits) {
        throw new Error(`shaper holds ${this.sched.backlog} packets at ${this.now} ns, wakeAt ${wake}`);
      }
      this.now = wake;
      f = this.take();
    }
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
export function saturate(h: Harness, classes: number, packets: number, seed: number, afterEach?: (served: number[], total: number) => void): number[] {
  const rng = new Rng(seed);
  const served = new Array(classes).fill(0);
  let total = 0;
  for (let c = 0; c < classes; c++) for (let i = 0; i < 8; i++) h.offer(c, rng.int(64, 1500));
  for (let i = 0; i < packets; i++) {
    const f = h.takeWaiting();
    const c = h.cls[f];
    served[c] += h.len[f];
    total += h.len[f];
    h.offer(c, rng.int(64, 1500)); // refill the class just served: always backlogged
    afterEach?.(served, total);
  }
  return served;
}

/**
 * Class parameters giving class `c` a relative share `weight` under any scheduler kind:
 * htb classes get a rate in proportion (a tenth of a 1 Gbit/s link per unit) and may
 * borrow up to the link, so the same suite can run over every kind.
 */
export function shareParams(kind: string, weight: number): ClassParams {
  return kind === 'htb' ? { rate: weight * 1e8, ceil: 1e9 } : { weight };
}
