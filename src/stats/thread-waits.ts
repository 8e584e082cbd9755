/**
 * What the kernel's scheduler did to one thread of this process (/proc/self/task/TID):
 * whether a thread that should own its CPU (a polling arbiter) did, or waited for it.
 */
import { readFileSync } from 'node:fs';

/** What the kernel's scheduler says of one thread of this process, since it started. */
export interface ThreadWaits {
  /** Nanoseconds it was runnable but not running: preempted, or woken and not yet on a CPU (schedstat's run_delay). */
  runDelayNs: number;
  /** Times the kernel took its CPU from it (nonvoluntary context switches). */
  preemptions: number;
  /** Times it gave up its CPU itself: a futex, a page fault's I/O, a sleep (voluntary context switches). */
  blocks: number;
}

/** The scheduler's counts for thread `tid` of this process; null when it is gone or the kernel keeps no schedstat. */
export function threadWaits(tid: number): ThreadWaits | null {
  try {
    const runDelayNs = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
    const status = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
    const count = (key: string) => Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(status)?.[1]);
    return { runDelayNs, preemptions: count('nonvoluntary_ctxt_switches'), blocks: count('voluntary_ctxt_switches') };
  } catch {
    return null;
  }
}
