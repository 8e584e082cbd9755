/**
 * tc's `police` on the arbiter: one token bucket per policer a link's filters name, as
 * tc-police(8) meters — `rate`, `burst`, and what to do with a packet over them. The
 * client that classifies a packet stamps the index of the policer its filter names
 * (frame table `police`); the arbiter meters it when it takes the packet, single-threaded
 * and in arrival order, which is where the kernel meters it too (at enqueue).
 *
 * The bucket is kept as GCRA's theoretical arrival time: a packet of L bytes at time t
 * conforms when max(tat, t) + L·8/rate − t ≤ burst·8/rate, and then moves tat there — the
 * same decisions as a bucket of `burst` bytes filling at `rate`, in one number.
 */
import type { PoliceSpec } from '../tc/model.js';

export class Policers {
  private rateNsPerByte = new Float64Array(0);
  private burstNs = new Float64Array(0);
  private drops = new Uint8Array(0);
  private tat = new Float64Array(0);

  /** Replaces the policers (a filter change); each new one starts with a full bucket. */
  set(specs: readonly PoliceSpec[]): void {
    const n = specs.length;
    this.rateNsPerByte = Float64Array.from(specs, (p) => 8e9 / p.rate);
    this.burstNs = Float64Array.from(specs, (p) => (p.burst * 8e9) / p.rate);
    // Only `drop` discards; pass, reclassify and continue let the packet through here.
    this.drops = Uint8Array.from(specs, (p) => (p.exceed === 'drop' ? 1 : 0));
    this.tat = new Float64Array(n);
  }

  get size(): number {
    return this.tat.length;
  }

  /** Meters a packet of `len` bytes at `now` (ns) against policer `i`; false: drop it. */
  admit(i: number, len: number, now: number): boolean {
    if (i < 0 || i >= this.tat.length) return true;
    const start = this.tat[i] > now ? this.tat[i] : now;
    const next = start + len * this.rateNsPerByte[i];
    if (next - now > this.burstNs[i]) return this.drops[i] === 0;
    this.tat[i] = next;
    return true;
  }
}
