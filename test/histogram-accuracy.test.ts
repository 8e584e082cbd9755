import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { Histogram } from '../src/stats/histogram.js';

function exact(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

describe('log-linear histogram', () => {
  it('reports percentiles within 1% of the exact ones from 100 ns to 10 s', () => {
    const rng = new Rng(99);
    const values = Array.from({ length: 100_000 }, () => Math.floor(100 * 1e8 ** (rng.nextU32() / 2 ** 32)));
    const h = new Histogram();
    for (const v of values) h.record(v);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0, 0.1, 0.5, 0.9, 0.99, 0.999, 1]) {
      const want = exact(sorted, q);
      expect(Math.abs(h.quantile(q) - want) / want).toBeLessThan(0.01);
    }
    expect(h.min).toBe(sorted[0]);
    expect(h.max).toBe(sorted[sorted.length - 1]);
    expect(h.count).toBe(values.length);
  });

  it('merging equals recording everything into one', () => {
    const rng = new Rng(3);
    const all = new Histogram();
    const parts = [new Histogram(), new Histogram(), new Histogram()];
    for (let i = 0; i < 30_000; i++) {
      const v = rng.int(0, 5e9);
      all.record(v);
      parts[i % 3].record(v);
    }
    const merged = new Histogram();
    for (const p of parts) merged.merge(p);
    expect([...merged.data]).toEqual([...all.data]);
  });

  it('is exact for small values and empty-safe', () => {
    const h = new Histogram();
    expect(h.quantile(0.5)).toBe(0);
    for (const v of [3, 5, 7]) h.record(v);
    expect([h.quantile(0), h.quantile(0.5), h.quantile(1)]).toEqual([3, 5, 7]);
  });
});
