/**
 * One monotonic nanosecond clock for every thread, that allocates nothing when read.
 *
 * Every thread of one pspat instance counts nanoseconds since a shared epoch (an
 * `process.hrtime.bigint()` value chosen by the thread that created the link, passed to
 * every worker), so stamps taken on one thread compare with those taken on another.
 *
 * The hot loops read the clock for every pass and every batch — an arbiter polling on its
 * own CPU some millions of times a second. In node 20, `performance.now()` and both forms
 * of `process.hrtime` allocate on every call (a heap number, an array, a BigInt): an idle
 * polling arbiter scavenged 125 times a second, each a pause of up to 9 ms for the one
 * serial stage of the data path. So the clock is read through the native addon
 * (clockRead: CLOCK_MONOTONIC, the source of process.hrtime, into two shared doubles),
 * which returns nothing and allocates nothing (node 24's performance.now() no longer
 * allocates, but costs the same). Without the addon it falls back to `performance.now()`,
 * calibrated against hrtime.
 */
import { performance } from 'node:perf_hooks';
import { tryNativeAddon } from './transmit/native.js';

/** An epoch every thread of one pspat instance shares: a `process.hrtime.bigint()` value. */
export type ClockEpoch = bigint;

export function newEpoch(): ClockEpoch {
  return process.hrtime.bigint();
}

/** Calibration samples of the fallback clock; the tightest bracket wins. */
const CALIBRATION_ROUNDS = 64;

/** This thread's clock slots ([seconds, nanoseconds]), bound to the addon on first use. */
let slots: Float64Array | null = null;

/**
 * Nanoseconds since `epoch`, comparable across threads, read into a field: `read()`
 * returns nothing and leaves the time in `ns`. A hot loop that passes a double around, or
 * gets one back from a call V8 does not inline, allocates a heap number each time; reading
 * the field gives the value unboxed.
 */
export class Clock {
  /** The time at the last `read()`. */
  ns = 0;
  private readonly addon = tryNativeAddon();
  private readonly slots: Float64Array;
  private readonly epochSec: number;
  private readonly epochNs: number;
  /** Fallback only: performance.now() × 1e6 + offset = ns since the epoch. */
  private readonly offset: number;

  constructor(epoch: ClockEpoch) {
    this.epochSec = Number(epoch / 1_000_000_000n);
    this.epochNs = Number(epoch % 1_000_000_000n);
    if (this.addon !== null && slots === null) {
      slots = new Float64Array(new SharedArrayBuffer(16));
      this.addon.clockBind(slots);
    }
    this.slots = slots ?? new Float64Array(2);
    this.offset = this.addon === null ? performanceOffset(epoch) : 0;
    this.read();
  }

  read(): void {
    if (this.addon !== null) {
      this.addon.clockRead();
      this.ns = (this.slots[0] - this.epochSec) * 1e9 + (this.slots[1] - this.epochNs);
    } else {
      this.ns = performance.now() * 1e6 + this.offset;
    }
  }
}

/** The same clock as a function, where a call per read costs nothing that matters. */
export function makeClock(epoch: ClockEpoch): () => number {
  const clock = new Clock(epoch);
  return () => {
    clock.read();
    return clock.ns;
  };
}

/**
 * The fallback's offset: `performance.now()` counts from a per-worker origin, so each
 * thread maps it onto the epoch with an hrtime value bracketed by two `performance.now()`
 * reads, many times, keeping the tightest bracket's midpoint — one cold sample put two
 * threads' clocks several microseconds apart.
 */
function performanceOffset(epoch: ClockEpoch): number {
  let offset = 0;
  let best = Infinity;
  for (let i = 0; i < CALIBRATION_ROUNDS; i++) {
    const before = performance.now() * 1e6;
    const hrNs = Number(process.hrtime.bigint() - epoch);
    const after = performance.now() * 1e6;
    if (after - before < best) {
      best = after - before;
      offset = hrNs - (before + after) / 2;
    }
  }
  return offset;
}
