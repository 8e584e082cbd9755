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

  // QFQ moves its stamps down when V reaches 2^51 (V grows by len·2^30/Σw per packet).
  // Weights 1:1 and 1024:1024 give stamps that differ by exactly 2^10 (σ = 2^30/w, slots
  // and groups powers of two), so the two must serve the same sequence — but at Σw = 2, V
  // crosses 2^51 every 2^22 bytes (some 35 times here), and at Σw = 2048 never. Class 1
  // empties after every packet and is offered its next at once: it is idle, with its finish
  // time ahead of V, at every rebase, so the test also covers the stamps of idle classes.
  it('qfq: rebasing its stamps changes no decision', () => {
    const order = (weight: number): number[] => {
      const h = new Harness('qfq', 64, 2);
      h.sched.addClass(0, { weight, limitPackets: 1e6 });
      h.sched.addClass(1, { weight, limitPackets: 1e6 });
      for (let i = 0; i < 8; i++) h.offer(0, L_MAX);
      h.offer(1, L_MAX);
      const served: number[] = [];
      for (let i = 0; i < 100_000; i++) {
        const f = h.takeWaiting();
        served.push(h.cls[f]);
        h.offer(h.cls[f], L_MAX);
      }
      return served;
    };
    expect(order(1)).toEqual(order(1024));
  });

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
