/**
 * Parking a thread on an Int32 word of shared memory, and waking it: what doorbells are
 * made of (doorbell.ts).
 *
 * With the native addon, the kernel's futex directly (native/src/futex.cc). Not
 * `Atomics.wait`/`Atomics.notify`: V8 implements both with one process-wide mutex, which
 * a notifier holds while it signals and a waiter takes on its way out. A real-time
 * arbiter woken by a client preempts that client while the client still holds the mutex,
 * and blocks on it until the client runs again — two extra context switches per wake-up,
 * and on a busy host, whatever the client then waits for its CPU: `pspat bench e2e
 * --arbiter-priority 50 --load-hogs 2` caught the arbiter blocked so for milliseconds
 * (BENCHMARKS.md). Without the addon, the Atomics.
 *
 * Either way, `wait` may return early (a native wait lasts at most 100 ms, so a worker
 * blocked in one still ends when terminated): callers look again and wait again.
 */
import { tryNativeAddon } from '../transmit/native.js';

export interface Futex {
  /** Sleeps while `words[index]` is `expected`, until woken or `timeoutMs` (Infinity: no limit) — or earlier. */
  wait(words: Int32Array, index: number, expected: number, timeoutMs: number): void;
  /** Wakes every thread sleeping on `words[index]`. */
  wake(words: Int32Array, index: number): void;
}

export const atomicsFutex: Futex = {
  wait: (words, index, expected, timeoutMs) => void Atomics.wait(words, index, expected, timeoutMs),
  wake: (words, index) => void Atomics.notify(words, index),
};

/** The kernel's futex through the addon, or null without it (or with an addon built before it had one). */
export function nativeFutex(): Futex | null {
  const addon = tryNativeAddon();
  if (addon === null || typeof addon.futexWait !== 'function') return null;
  return {
    // A word that has moved on already costs no system call (Atomics.wait does not make one either).
    wait: (words, index, expected, timeoutMs) => {
      if (Atomics.load(words, index) === expected) addon.futexWait(words, index, expected, timeoutMs);
    },
    wake: (words, index) => void addon.futexWake(words, index),
  };
}

/**
 * The one every doorbell of this process uses: waiters and wakers of one word must use the
 * same (neither wakes the other's sleepers), and every thread loads the same addon.
 */
export const futex: Futex = nativeFutex() ?? atomicsFutex;

/** The timer slack preciseTimedWaits asks for (0 would restore the default). */
const PRECISE_SLACK_NS = 1000;

/**
 * Lets the calling thread's timed waits end on time. The kernel may end a timed wait up to
 * the thread's timer slack late, to batch wake-ups: 50 µs by default, which is most of
 * what a timed wait overslept here (≈ 72 µs against ≈ 22 µs with 1 µs of slack, a
 * futex wait of 30–100 µs on this VM). For a thread whose waits have a deadline that
 * matters: the arbiter, parked until its shapers' next release, and a ring capture client,
 * whose read naps 20 µs when its ring runs dry. Either kind of futex wait honours it
 * (Atomics.wait sleeps on a futex too); without the addon, nothing changes. Whether the
 * slack was set.
 */
export function preciseTimedWaits(): boolean {
  const addon = tryNativeAddon();
  return typeof addon?.setTimerSlack === 'function' && addon.setTimerSlack(PRECISE_SLACK_NS) === 0;
}
