/**
 * Packet arrivals of one flow, in virtual time (ns): a pure function of the workload seed
 * and the flow's index, so every scheduler compared on a workload sees the same packets at
 * the same times.
 *
 *   cbr       one packet every len·8/rate, so the flow's bit rate is exact whatever the
 *             size distribution; the first packet at a random phase within one interval,
 *             so that CBR flows of one workload do not arrive in lockstep;
 *   poisson   exponential gaps with mean len·8/rate;
 *   onoff     CBR at `rate` during `on`, nothing during `off`, starting with a burst at 0;
 *   saturating never "arrives": the simulator keeps such a flow backlogged (see simulate.ts).
 */
import { Rng } from '../random.js';
import type { Arrival, SizeDist } from './workload.js';

const TWO32 = 2 ** 32;

/** Seeds flow `index`'s generator from the workload seed (a splitmix-style scramble). */
function flowSeed(seed: number, index: number): number {
  let x = (seed ^ Math.imul(index + 1, 0x9e3779b9)) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) | 0;
}

export class FlowArrivals {
  private readonly rng: Rng;
  /** Time of the next arrival, ns; Infinity for a saturating flow. */
  nextTime = Infinity;
  /** Size of the next packet, bytes. */
  nextSize = 0;

  constructor(
    private readonly arrival: Arrival,
    private readonly sizes: SizeDist,
    seed: number,
    index: number,
  ) {
    this.rng = new Rng(flowSeed(seed, index));
    this.nextSize = this.drawSize();
    if (arrival.type === 'cbr') this.nextTime = this.uniform() * this.gapNs(this.nextSize, arrival.rate);
    else if (arrival.type === 'poisson') this.nextTime = this.exponential() * this.gapNs(this.nextSize, arrival.rate);
    else if (arrival.type === 'onoff') this.nextTime = 0;
  }

  /** A packet size from the flow's distribution (saturating flows draw here too). */
  drawSize(): number {
    const s = this.sizes;
    if (s.type === 'fixed') return s.bytes;
    if (s.type === 'uniform') return this.rng.int(s.min, s.max);
    const total = s.weights.reduce((a, b) => a + b, 0);
    let u = this.uniform() * total;
    for (let k = 0; k < s.values.length; k++) {
      u -= s.weights[k];
      if (u < 0) return s.values[k];
    }
    return s.values[s.values.length - 1];
  }

  /** Moves past the current arrival to the next one. */
  advance(): void {
    const a = this.arrival;
    const sent = this.nextSize;
    this.nextSize = this.drawSize();
    if (a.type === 'cbr') this.nextTime += this.gapNs(sent, a.rate);
    else if (a.type === 'poisson') this.nextTime += this.exponential() * this.gapNs(sent, a.rate);
    else if (a.type === 'onoff') {
      const t = this.nextTime + this.gapNs(sent, a.rate);
      const period = a.onNs + a.offNs;
      const phase = t % period;
      // A packet that would start in the off time waits for the next on time.
      this.nextTime = phase < a.onNs ? t : t - phase + period;
    }
  }

  private gapNs(len: number, rate: number): number {
    return (len * 8e9) / rate;
  }

  private uniform(): number {
    return this.rng.nextU32() / TWO32;
  }

  private exponential(): number {
    return -Math.log(1 - this.uniform());
  }
}
