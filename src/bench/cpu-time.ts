/**
 * The host's busy CPU time, every thread and softirq of every process together, from
 * /proc/stat: what a packet path costs in CPU, whichever threads (or interrupts) pay it.
 */
import { readFileSync } from 'node:fs';

/** Nanoseconds per kernel tick (USER_HZ is 100 on every Linux architecture node runs on). */
const NS_PER_TICK = 1e9 / 100;

/** The first line of /proc/stat (all CPUs), in ticks: user, nice, system, idle, iowait, irq, softirq, steal, … */
function allCpuTicks(): number[] {
  return readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
}

/** Busy CPU nanoseconds since boot, over all CPUs: user, nice, system, irq, softirq, steal (not idle or iowait). */
export function busyCpuNs(): number {
  const [user, nice, system, , , irq, softirq, steal] = allCpuTicks();
  return (user + nice + system + irq + softirq + steal) * NS_PER_TICK;
}

/**
 * Nanoseconds since boot, over all CPUs, that the hypervisor ran something else while this
 * (virtual) machine's CPUs had work: its steal time, to the tick (10 ms). 0 on bare metal.
 */
export function stealNs(): number {
  return allCpuTicks()[7] * NS_PER_TICK;
}

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
