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

/** Returns a function giving nanoseconds since `epoch`, comparable across threads. */
export function makeClock(epoch: ClockEpoch): () => number {
  const perfNs = performance.now() * 1e6;
  const hrNs = Number(process.hrtime.bigint() - epoch);
  const offset = hrNs - perfNs;
  return () => performance.now() * 1e6 + offset;
}
