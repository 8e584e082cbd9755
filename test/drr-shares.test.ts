import { describe, expect, it } from 'vitest';
import { DROP_QUEUE_LIMIT } from '../schedulers/types.js';
import { Harness, saturate } from './helpers/sched-harness.js';

describe('DRR', () => {
  it.each([
    ['1:2:3:4 by weight', [1, 2, 3, 4].map((weight) => ({ weight })), [1, 2, 3, 4], 200_000, 11],
    ['1:10:100 by quantum', [1500, 15000, 150000].map((quantum) => ({ quantum })), [1, 10, 100], 300_000, 5],
    // The weight-1 class gets 1/1111 of 1M packets: ~900, so 1% is ~9 packets.
    ['1:10:100:1000 by weight', [1, 10, 100, 1000].map((weight) => ({ weight })), [1, 10, 100, 1000], 1_000_000, 3],
  ] as const)('splits bytes %s within 1% over ≥200k mixed-size packets', (_, params, ratio, packets, seed) => {
    const h = new Harness('drr', 1024, params.length);
    params.forEach((p, c) => {
      h.sched.addClass(c, p);
    });
    const served = saturate(h, params.length, packets, seed);
    const total = served.reduce((a, b) => a + b, 0);
    const sum = ratio.reduce((a, b) => a + b, 0);
    for (const [c, r] of ratio.entries()) expect(Math.abs(served[c] / total - r / sum) / (r / sum)).toBeLessThan(0.01);
  });

  it('does not turn idle time into credit: a returning class starts with one quantum', () => {
    const h = new Harness('drr', 64, 2);
    h.sched.addClass(0, { quantum: 1000 });
    h.sched.addClass(1, { quantum: 1000 });
    for (let i = 0; i < 4; i++) h.offer(0, 1000);
    for (let i = 0; i < 4; i++) expect(h.cls[h.take()]).toBe(0); // class 1 idle
    for (let i = 0; i < 4; i++) {
      h.offer(0, 1000);
      h.offer(1, 1000);
    }
    const order = Array.from({ length: 8 }, () => h.cls[h.take()]);
    expect(order).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
  });

  it('tail-drops at the class packet and byte limits', () => {
    const h = new Harness('drr', 64, 2);
    h.sched.addClass(0, { limitPackets: 3 });
    h.sched.addClass(1, { limitBytes: 1000 });
    const v0 = Array.from({ length: 5 }, () => h.offer(0, 100)[1]);
    expect(v0.filter((v) => v === DROP_QUEUE_LIMIT)).toHaveLength(2);
    const v1 = [h.offer(1, 600)[1], h.offer(1, 400)[1], h.offer(1, 1)[1]];
    expect(v1).toEqual([0, 0, DROP_QUEUE_LIMIT]);
  });

  it('rejects weight 0, quantum 0 and limit 0 with the field named', () => {
    const h = new Harness('drr', 8, 2);
    expect(() => h.sched.addClass(0, { weight: 0 })).toThrow('weight: must be an integer in [1, 2147483647], got 0');
    expect(() => h.sched.addClass(0, { quantum: 0 })).toThrow('quantum: must be an integer in [1, 4294967295] bytes, got 0');
    expect(() => h.sched.addClass(0, { limitPackets: 0 })).toThrow('limitPackets: must be an integer in [1, 4294967295], got 0');
    expect(h.sched.hasClass(0)).toBe(false);
  });
});

describe('FIFO', () => {
  it('serves in arrival order across classes and tail-drops at the pfifo limit', () => {
    const h = new Harness('fifo', 64, 3, { limitPackets: 5 });
    for (let c = 0; c < 3; c++) h.sched.addClass(c, {});
    const sent = Array.from({ length: 7 }, (_, i) => h.offer(i % 3, 100));
    expect(sent.map(([, v]) => v)).toEqual([0, 0, 0, 0, 0, DROP_QUEUE_LIMIT, DROP_QUEUE_LIMIT]);
    const order = Array.from({ length: 5 }, () => h.take());
    expect(order).toEqual(sent.slice(0, 5).map(([f]) => f));
  });

  it('tail-drops at the bfifo byte limit', () => {
    const h = new Harness('fifo', 64, 1, { limitBytes: 1500 });
    h.sched.addClass(0, {});
    expect([h.offer(0, 1000)[1], h.offer(0, 600)[1], h.offer(0, 500)[1]]).toEqual([0, DROP_QUEUE_LIMIT, 0]);
  });
});
