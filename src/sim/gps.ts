/**
 * The ideal fluid system, GPS (Parekh–Gallager [1]), that the simulator measures lag
 * against: the link serves every backlogged flow at once, in proportion to weight.
 *
 *  [1] A. K. Parekh, R. G. Gallager, "A Generalized Processor Sharing Approach to Flow
 *      Control in Integrated Services Networks: The Single-Node Case", IEEE/ACM ToN 1(3),
 *      1993 (virtual time, section 2).
 *
 * Virtual time V(t) grows at dV/dt = r / Σ_{i backlogged} w_i (r = link rate in bytes/ns),
 * so a backlogged flow receives w_i·dV bytes. A packet of L bytes arriving for flow i at
 * t gets finish tag F_i = max(V(t), F_i) + L / w_i; flow i is backlogged while F_i > V.
 * Its fluid service by time t is then
 *     W_i^GPS(t) = A_i − w_i·max(0, F_i − V(t))        (A_i: bytes arrived)
 * and a saturating flow (always backlogged, F_i = ∞) has W_i^GPS(t) = w_i·V(t).
 *
 * V advances event by event: to the next smallest F (a flow empties, Σw drops) or to the
 * target time, whichever comes first. A min-heap keyed by F keeps that O(log N).
 */
import { IndexedHeap } from '../../schedulers/indexed-heap.js';

export class FluidGps {
  /** Virtual time, bytes per unit weight. */
  private v = 0;
  /** Real time V was last advanced to, ns. */
  private t = 0;
  /** Σ w_i over backlogged flows. */
  private wsum = 0;
  private readonly finish: Float64Array;
  private readonly arrived: Float64Array;
  private readonly saturating: Uint8Array;
  private readonly anySaturating: boolean;
  /** Backlogged non-saturating flows by finish tag. */
  private readonly busy: IndexedHeap;

  constructor(
    private readonly weights: readonly number[],
    saturating: readonly boolean[],
    /** bytes per ns */
    private readonly rate: number,
  ) {
    const n = weights.length;
    this.finish = new Float64Array(n);
    this.arrived = new Float64Array(n);
    this.saturating = Uint8Array.from(saturating, (s) => (s ? 1 : 0));
    this.busy = new IndexedHeap(n);
    this.anySaturating = saturating.includes(true);
    saturating.forEach((s, i) => {
      if (s) this.wsum += weights[i];
    });
  }

  /** Moves the fluid system to time `t` (never backwards). */
  advanceTo(t: number): void {
    while (t > this.t && this.wsum > 0) {
      const next = this.busy.top();
      const dt = next < 0 ? Infinity : ((this.finish[next] - this.v) * this.wsum) / this.rate;
      if (this.t + dt > t) {
        this.v += ((t - this.t) * this.rate) / this.wsum;
        break;
      }
      // Flow `next` empties: its weight leaves the sum.
      this.t += dt;
      this.v = this.finish[next];
      this.busy.pop();
      this.wsum -= this.weights[next];
      // Float error must not leave a ghost weight behind once every flow has emptied.
      if (this.busy.size === 0 && !this.anySaturating) this.wsum = 0;
    }
    this.t = Math.max(this.t, t);
  }

  /** A packet of `len` bytes for (non-saturating) flow `i` at time `t`. */
  arrive(i: number, len: number, t: number): void {
    this.advanceTo(t);
    const w = this.weights[i];
    const backlogged = this.busy.has(i);
    this.finish[i] = Math.max(this.v, this.finish[i]) + len / w;
    this.arrived[i] += len;
    this.busy.key[i] = this.finish[i];
    if (backlogged) this.busy.rekey(i);
    else {
      this.busy.push(i);
      this.wsum += w;
    }
  }

  /** Bytes flow `i` has received in the fluid system by the time last advanced to. */
  served(i: number): number {
    if (this.saturating[i]) return this.weights[i] * this.v;
    return this.arrived[i] - this.weights[i] * Math.max(0, this.finish[i] - this.v);
  }
}
