/**
 * One monotonic nanosecond clock for every thread.
 *
 * `performance.now()` counts from a per-worker origin, so raw values from two workers
 * cannot be compared. Node derives both `performance.now()` and `process.hrtime` from the
 * same monotonic source (uv_hrtime), so each thread calibrates once: it samples both and
 * keeps the offset that maps its `performance.now()` onto nanoseconds since a shared epoch
 * (an hrtime value chosen by the thread that created the link, passed to every worker).
 * Reading the clock is then one `performance.now()` call and a multiply-add (no BigInt, no
 * allocation). Values stay far below 2^53, so they are exact doubles.
 */
import { performance } from 'node:perf_hooks';

/** An epoch every thread of one pspat instance shares: a `process.hrtime.bigint()` value. */
export type ClockEpoch = bigint;

export function newEpoch(): ClockEpoch {
  return process.hrtime.bigint();
}

/** Calibration samples; the tightest bracket wins. */
const CALIBRATION_ROUNDS = 64;

/**
 * Returns a function giving nanoseconds since `epoch`, comparable across threads.
 *
 * The offset is read as an hrtime value bracketed by two `performance.now()` reads, many
 * times, keeping the tightest bracket's midpoint: the first reads of a thread are slow
 * (lazy initialisation, cold code), and one cold sample put two threads' clocks several
 * microseconds apart — as much as the one-way delays being measured.
 */
export function makeClock(epoch: ClockEpoch): () => number {
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
  return () => performance.now() * 1e6 + offset;
}
