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
