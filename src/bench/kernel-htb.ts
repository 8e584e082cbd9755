/**
 * The kernel's own scheduler for `bench e2e`'s tc mode: an htb tree on the device as a VM
 * host configures one — a root class at the link rate, K leaves sharing it by weight
 * (assured rate·w/Σw, may borrow up to the rate), one u32 filter per leaf on the UDP
 * source port the test frames carry (10000 + class). `overhead 24` makes htb count the
 * same 24 B of wire framing per packet that pspat's pacing counts, so configured rates
 * mean the same on both.
 */
import { execFileSync } from 'node:child_process';
import { WIRE_OVERHEAD_BYTES } from '../arbiter/pacer.js';

function tc(...args: string[]): string {
  return execFileSync('tc', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Leaf classid minor of class `i` (1:10, 1:11, ...). */
const leafMinor = (i: number) => (0x10 + i).toString(16);

/** Installs the tree on `dev` (replacing its root qdisc); `rate` in bit/s. */
export function installHtb(dev: string, weights: number[], rate: number): void {
  const total = weights.reduce((a, b) => a + b, 0);
  const burst = ['burst', '100k', 'cburst', '100k', 'quantum', '1514', 'overhead', String(WIRE_OVERHEAD_BYTES)];
  const lines = [
    `qdisc replace dev ${dev} root handle 1: htb`,
    `class add dev ${dev} parent 1: classid 1:1 htb rate ${Math.round(rate)}bit ${burst.join(' ')}`,
    ...weights.flatMap((w, i) => [
      `class add dev ${dev} parent 1:1 classid 1:${leafMinor(i)} htb rate ${Math.max(8, Math.round((rate * w) / total))}bit ceil ${Math.round(rate)}bit ${burst.join(' ')}`,
      `filter add dev ${dev} parent 1: protocol ip prio 1 u32 match ip sport ${10000 + i} 0xffff flowid 1:${leafMinor(i)}`,
    ]),
  ];
  // One tc process for the whole tree (64 classes: 129 commands).
  execFileSync('tc', ['-batch', '-'], { input: `${lines.join('\n')}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
}

export function removeHtb(dev: string): void {
  try {
    tc('qdisc', 'del', 'dev', dev, 'root');
  } catch {
    /* gone with its device */
  }
}

/** Packets each leaf has sent so far, by class index (`tc -s class show`; this tc has no JSON for htb classes). */
export function htbLeafPackets(dev: string, classes: number): number[] {
  const out = tc('-s', 'class', 'show', 'dev', dev);
  const sent = new Array<number>(classes).fill(0);
  for (const m of out.matchAll(/^class htb 1:([0-9a-f]+) [^\n]*\n Sent \d+ bytes (\d+) pkt/gm)) {
    const i = parseInt(m[1], 16) - 0x10;
    if (i >= 0 && i < classes) sent[i] = Number(m[2]);
  }
  return sent;
}
