/**
 * Fair-queueing schedulers on saturated classes: long-run shares, and the largest lag of
 * any class behind its weighted share of everything sent so far, measured after every
 * packet. WF2Q+ and QFQ keep that lag within a few maximum packets whatever the weights
 * ([1] Bennett–Zhang, WF2Q+'s worst-case fairness; [2] Checconi–Rizzo–Valente, QFQ's
 * B-WFI, a small multiple of L_max): we check 3·L_max = 4500 B. DRR's lag grows with the
 * quantum spread, so at 1:1000 it is far larger — shown, not hidden.
 */
import { describe, expect, it } from 'vitest';
import { Harness, saturate } from './helpers/sched-harness.js';

const L_MAX = 1500;

function run(kind: string, weights: number[], packets: number, seed: number): { ratios: number[]; maxLag: number } {
  const h = new Harness(kind, 1024, weights.length);
  weights.forEach((w, c) => {
    h.sched.addClass(c, { weight: w, limitPackets: 1e6 });
  });
  const W = weights.reduce((a, b) => a + b, 0);
  let maxLag = 0;
  const served = saturate(h, weights.length, packets, seed, (sofar, total) => {
    for (let k = 0; k < weights.length; k++) maxLag = Math.max(maxLag, (weights[k] / W) * total - sofar[k]);
  });
  const total = served.reduce((a, b) => a + b, 0);
  return { ratios: served.map((b, k) => b / total / (weights[k] / W)), maxLag };
}

describe('fair queueing: shares and lag', () => {
  for (const kind of ['qfq', 'wf2q']) {
    for (const weights of [
      [1, 2, 3, 4],
      [1, 10, 100, 1000],
    ]) {
      it(`${kind} ${weights.join(':')}: shares within 1%, lag within 3·L_max`, () => {
        const { ratios, maxLag } = run(kind, weights, 200_000, 5);
        for (const r of ratios) expect(Math.abs(r - 1)).toBeLessThan(0.01);
        expect(maxLag).toBeLessThan(3 * L_MAX);
      });
    }
  }

  it('DRR at 1:10:100:1000 lags far more than QFQ (its burst is a whole quantum)', () => {
    const drr = run('drr', [1, 10, 100, 1000], 100_000, 5).maxLag;
    const qfq = run('qfq', [1, 10, 100, 1000], 100_000, 5).maxLag;
    expect(drr).toBeGreaterThan(10 * qfq);
  });

  it('QFQ refuses weights and packet sizes outside its fixed-point range', () => {
    const h = new Harness('qfq', 8, 2);
    expect(() => h.sched.addClass(0, { weight: 1025 })).toThrow('weight: must be an integer in [1, 1024], got 1025');
    expect(() => h.sched.addClass(0, { maxpkt: 100 })).toThrow('maxpkt: must be an integer in [512, 65536] bytes, got 100');
    expect(h.sched.hasClass(0)).toBe(false);
  });
});
