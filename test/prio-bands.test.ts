import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Harness } from './helpers/sched-harness.js';

describe('prio', () => {
  it('always serves the highest backlogged band first (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 5 })), { maxLength: 300 }), (ops) => {
        const bands = [3, 0, 7, 0, 31, 7];
        const h = new Harness('prio', 512, bands.length);
        bands.forEach((band, c) => {
          h.sched.addClass(c, { band });
        });
        for (const [isEnq, c] of ops) {
          if (isEnq) h.offer(c, 100);
          else {
            const waiting = bands.filter((_, k) => h.sched.backlogPackets(k) > 0);
            const f = h.take();
            if (waiting.length === 0) expect(f).toBe(-1);
            else expect(bands[h.cls[f]]).toBe(Math.min(...waiting));
          }
        }
      }),
      { seed: 31, numRuns: 200 },
    );
  });

  it('lets classes sharing a band take turns, and moves a class on a band change', () => {
    const h = new Harness('prio', 64, 3);
    h.sched.addClass(0, { band: 1 });
    h.sched.addClass(1, { band: 1 });
    h.sched.addClass(2, { band: 2 });
    for (let i = 0; i < 3; i++) for (const c of [0, 1, 2]) h.offer(c, 100);
    expect([h.take(), h.take(), h.take(), h.take()].map((f) => h.cls[f])).toEqual([0, 1, 0, 1]);
    h.sched.changeClass(2, { band: 0 });
    expect(h.cls[h.take()]).toBe(2);
    expect(() => h.sched.changeClass(2, { band: 32 })).toThrow('band: must be an integer in [0, 31], got 32');
  });
});
