import { describe, expect, it } from 'vitest';
import { Harness } from './helpers/sched-harness.js';

describe('WF2Q+', () => {
  it('interleaves by weight instead of bursting: weight 3 vs 1 with equal packets goes 3,1 per round', () => {
    const h = new Harness('wf2q', 64, 2);
    h.sched.addClass(0, { weight: 3 });
    h.sched.addClass(1, { weight: 1 });
    for (let i = 0; i < 12; i++) h.offer(0, 1000);
    for (let i = 0; i < 4; i++) h.offer(1, 1000);
    const order = Array.from({ length: 16 }, () => h.cls[h.take()]);
    // Within every 4 consecutive packets, exactly 3 from class 0: no class runs ahead of
    // its fluid share by more than a packet (WF2Q's worst-case fairness).
    for (let i = 0; i + 4 <= 16; i += 4) expect(order.slice(i, i + 4).filter((c) => c === 0)).toHaveLength(3);
  });

  it('does not bank credit while idle: a class returning after a pause starts at the current virtual time', () => {
    const h = new Harness('wf2q', 256, 2);
    h.sched.addClass(0, {});
    h.sched.addClass(1, {});
    for (let i = 0; i < 50; i++) h.offer(0, 1000);
    for (let i = 0; i < 40; i++) h.take(); // class 1 idle all along
    for (let i = 0; i < 20; i++) h.offer(1, 1000);
    const next = Array.from({ length: 20 }, () => h.cls[h.take()]);
    expect(next.filter((c) => c === 1).length).toBeGreaterThanOrEqual(9);
    expect(next.filter((c) => c === 1).length).toBeLessThanOrEqual(11);
  });
});
