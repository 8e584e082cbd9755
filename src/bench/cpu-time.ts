/**
 * The host's busy CPU time, every thread and softirq of every process together, from
 * /proc/stat: what a packet path costs in CPU, whichever threads (or interrupts) pay it.
 */
import { readFileSync } from 'node:fs';

/** Kernel ticks per second (USER_HZ): 100 on every Linux architecture node runs on. */
const USER_HZ = 100;

/** Busy CPU nanoseconds since boot, over all CPUs: user, nice, system, irq, softirq, steal (not idle or iowait). */
export function busyCpuNs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return ((user + nice + system + irq + softirq + steal) * 1e9) / USER_HZ;
}
