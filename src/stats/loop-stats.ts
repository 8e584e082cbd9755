/**
 * The arbiter loop's own figures, what PSPAT exposed as sysctls: passes, how long a pass
 * that moved packets takes, how many packets a release batch carries, time parked, and
 * how long a parked arbiter took to run again once a client rang it.
 * One buffer per arbiter; the arbiter writes with plain stores, readers see them lock-free.
 *
 * Layout (Float64 words): LOOP_* counters, then three histograms (histogram.ts): the
 * duration of passes that moved packets (ns), packets per non-empty release batch, and
 * wake-up latency (ns: a client's ring → the arbiter running, doorbell.ts).
 */
import { Histogram, HISTOGRAM_WORDS, type StageSummary } from './histogram.js';

export const LOOP_PASSES = 0; // every pass, idle ones included
export const LOOP_BUSY_PASSES = 1; // passes that moved at least one frame
export const LOOP_PARKS = 2; // times the arbiter parked on its doorbell
export const LOOP_PARKED_NS = 3; // time spent parked
export const LOOP_STARTED_NS = 4; // clock when the loop started
export const LOOP_NOW_NS = 5; // clock of the last pass
export const LOOP_TID = 6; // kernel thread id of the arbiter (−1 unknown): /proc/PID/task/TID
/**
 * Passes that found a full batch waiting: drained at least min(clients × drainBatch,
 * releaseBatch) entries from some link, or released a full batch (releaseBatch) from one's
 * queues. A saturated arbiter's passes are nearly all full; a low fraction means it
 * waited for its feeders (bench arbiter's `saturated`).
 */
export const LOOP_FULL_PASSES = 7;
/**
 * The arbiter isolate's garbage collections over its life, and their pauses: written once
 * the loop has ended (a loop that never yields cannot be told of them sooner). The hot
 * path allocates nothing, so these are start-up's; more means something on it allocates.
 */
export const LOOP_GCS = 8;
export const LOOP_GC_NS = 9;
export const LOOP_GC_MAX_NS = 10;
/**
 * A window a reader marks (`markWindow`, wall-clock ms since the epoch, as the threads of
 * one process share it), and the collections that began inside it and their longest pause,
 * written with the others: a benchmark's measured seconds, apart from start-up's.
 */
export const LOOP_WINDOW_FROM_MS = 11;
export const LOOP_WINDOW_TO_MS = 12;
export const LOOP_WINDOW_GCS = 13;
export const LOOP_WINDOW_GC_MAX_NS = 14;
/**
 * Stalls: loop iterations (a pass and the step to the next) that took STALL_NS or more
 * without parking or applying a command. Passes take microseconds; such an iteration means
 * the thread was kept off its CPU — preempted, or on a VM its virtual CPU stopped by the
 * host — or paused (a collection), and every packet waiting meanwhile waited with it.
 * Their count, total and longest.
 */
export const LOOP_STALLS = 15;
export const LOOP_STALL_NS = 16;
export const LOOP_STALL_MAX_NS = 17;
/** Idle passes on which an adaptive arbiter yielded its CPU to a client it had just woken (Arbiter.yieldOwed). */
export const LOOP_YIELDS = 18;
export const LOOP_FIELDS = 19;
/** What counts as a stall: far above a pass's own time (a full copy-mode batch takes ≈ 0.4 ms). */
export const STALL_NS = 1_000_000;

export function allocateLoopStats(): SharedArrayBuffer {
  return new SharedArrayBuffer(8 * (LOOP_FIELDS + 3 * HISTOGRAM_WORDS));
}

export class LoopStats {
  readonly words: Float64Array;
  /** Duration of each pass that moved packets, ns. */
  readonly passTime: Histogram;
  /** Packets per release batch (one per link per pass that released any). */
  readonly batchSize: Histogram;
  /** A parked arbiter's wake-up latency: the first client ring since it parked → running again, ns. */
  readonly wake: Histogram;

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Float64Array(buffer, 0, LOOP_FIELDS);
    this.passTime = new Histogram(new Float64Array(buffer, 8 * LOOP_FIELDS, HISTOGRAM_WORDS));
    this.batchSize = new Histogram(new Float64Array(buffer, 8 * (LOOP_FIELDS + HISTOGRAM_WORDS), HISTOGRAM_WORDS));
    this.wake = new Histogram(new Float64Array(buffer, 8 * (LOOP_FIELDS + 2 * HISTOGRAM_WORDS), HISTOGRAM_WORDS));
  }

  /** Marks the start (`end` false) or the end of a window whose collections are counted apart (LOOP_WINDOW_GCS). */
  markWindow(end: boolean): void {
    this.words[end ? LOOP_WINDOW_TO_MS : LOOP_WINDOW_FROM_MS] = performance.timeOrigin + performance.now();
  }

  /**
   * The figures a reader wants, from a lock-free read. The counters are read together,
   * before the histograms' summaries (which take a while): a ratio of two of them, as
   * full/busy passes, must not count passes the arbiter made in between.
   */
  read(): LoopFigures {
    const w = this.words;
    // Full before busy: the arbiter counts a pass busy first, so fullPasses ≤ busyPasses here.
    const fullPasses = w[LOOP_FULL_PASSES];
    const counters = {
      passes: w[LOOP_PASSES],
      busyPasses: w[LOOP_BUSY_PASSES],
      fullPasses,
      parks: w[LOOP_PARKS],
      parkedNs: w[LOOP_PARKED_NS],
      elapsedNs: Math.max(0, w[LOOP_NOW_NS] - w[LOOP_STARTED_NS]),
      threadId: w[LOOP_TID],
      gcs: w[LOOP_GCS],
      gcNs: w[LOOP_GC_NS],
      gcMaxNs: w[LOOP_GC_MAX_NS],
      windowGcs: w[LOOP_WINDOW_GCS],
      windowGcMaxNs: w[LOOP_WINDOW_GC_MAX_NS],
      stalls: w[LOOP_STALLS],
      stallNs: w[LOOP_STALL_NS],
      stallMaxNs: w[LOOP_STALL_MAX_NS],
      yields: w[LOOP_YIELDS],
    };
    return {
      ...counters,
      passTime: this.passTime.summary(),
      batchSize: this.batchSize.summary(),
      meanBatch: this.batchSize.mean,
      wake: this.wake.summary(),
    };
  }
}

export interface LoopFigures {
  passes: number;
  busyPasses: number;
  parks: number;
  parkedNs: number;
  elapsedNs: number;
  passTime: StageSummary;
  batchSize: StageSummary;
  meanBatch: number;
  /** Wake-up latency of the parked arbiter (LoopStats.wake). */
  wake: StageSummary;
  /** The arbiter thread's kernel id (0 before it started, −1 unknown). */
  threadId: number;
  /** Passes that found a full batch waiting (LOOP_FULL_PASSES). */
  fullPasses: number;
  /** Garbage collections of the arbiter's isolate, their total and longest pause (ns); 0 until it has stopped. */
  gcs: number;
  gcNs: number;
  gcMaxNs: number;
  /** Of those, the ones that began inside the window a reader marked (markWindow), and their longest pause (ns). */
  windowGcs: number;
  windowGcMaxNs: number;
  /** Iterations of the loop that took STALL_NS or more without parking (LOOP_STALLS), their total and longest (ns). */
  stalls: number;
  stallNs: number;
  stallMaxNs: number;
  /** Idle passes that yielded the CPU to a client just woken (LOOP_YIELDS). */
  yields: number;
}
