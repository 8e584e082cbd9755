import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';
import { ClassHistograms, histogramsOf, STAGE_MAILBOX, STAGE_QUEUE, STAGE_TX } from '../src/stats/class-histograms.js';
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

  it('a later copy less an earlier one holds what was recorded between them, percentiles within 1% (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10_000_000_000 }), { maxLength: 500 }),
        fc.array(fc.integer({ min: 0, max: 10_000_000_000 }), { maxLength: 500 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (before, between, q) => {
          const live = new Histogram();
          for (const v of before) live.record(v);
          const earlier = new Histogram(live.data.slice());
          for (const v of between) live.record(v);
          const alone = new Histogram();
          for (const v of between) alone.record(v);
          live.subtract(earlier);
          expect(live.count).toBe(between.length);
          expect(live.sum).toBe(alone.sum);
          // Same buckets; min and max are the edges of the extreme buckets, within their 1/64.
          expect([...live.data.subarray(4)]).toEqual([...alone.data.subarray(4)]);
          expect(Math.abs(live.min - alone.min)).toBeLessThanOrEqual(alone.min / 64);
          expect(Math.abs(live.max - alone.max)).toBeLessThanOrEqual(alone.max / 64 + 1);
          const want = alone.quantile(q);
          expect(Math.abs(live.quantile(q) - want)).toBeLessThanOrEqual(0.01 * want + 1);
        },
      ),
    );
  });

  it('is exact for small values and empty-safe', () => {
    const h = new Histogram();
    expect(h.quantile(0.5)).toBe(0);
    for (const v of [3, 5, 7]) h.record(v);
    expect([h.quantile(0), h.quantile(0.5), h.quantile(1)]).toEqual([3, 5, 7]);
  });

  it('any percentile of any sample set is within 1% of the exact one (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 100, max: 10_000_000_000 }), { minLength: 1, maxLength: 2000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, q) => {
          const h = new Histogram();
          for (const v of values) h.record(v);
          const want = exact(
            [...values].sort((a, b) => a - b),
            q,
          );
          return Math.abs(h.quantile(q) - want) <= 0.01 * want;
        },
      ),
      { seed: 7, numRuns: 2000 },
    );
  });

  it('round-trips through its RUN.json form exactly, and refuses a corrupt one', () => {
    const rng = new Rng(5);
    const h = new Histogram();
    for (let i = 0; i < 5000; i++) h.record(rng.int(0, 1e9));
    const back = Histogram.fromJSON(JSON.parse(JSON.stringify(h)));
    expect([...back.data]).toEqual([...h.data]);
    const j = h.toJSON();
    expect(() => Histogram.fromJSON({ ...j, count: j.count + 1 })).toThrow(`count ${j.count + 1} is not the sum of the bucket counts (${j.count})`);
    expect(() => Histogram.fromJSON({ ...j, buckets: [[1e6, 1]] })).toThrow('bucket index 1000000 out of range');
  });
});

describe('per-class stage histograms in shared memory', () => {
  it("binds a record on a class's first sample; classes past the capacity share the overflow record", () => {
    const layout = ClassHistograms.allocate(16, { capacity: 2 });
    const writer = new ClassHistograms(layout);
    const ns = new Float64Array([100, 2000, 30, 40, 50]);
    writer.record(5, STAGE_MAILBOX, ns, 0);
    writer.record(5, STAGE_QUEUE, ns, 1);
    writer.record(9, STAGE_TX, ns, 2);
    writer.record(12, STAGE_TX, ns, 3); // third class: overflow
    writer.record(13, STAGE_TX, ns, 4); // fourth: overflow too
    // A reader on another thread sees the same memory.
    const reader = new ClassHistograms(layout);
    expect([5, 9, 12, 13, 0].map((s) => reader.recordOf(s))).toEqual([0, 1, 2, 2, -1]);
    const copy = reader.copy();
    expect(Object.keys(copy[5]!)).toEqual(['mailbox', 'queue']);
    expect(histogramsOf(copy[5]!).queue!.max).toBe(2000);
    expect(histogramsOf(copy[9]!).tx!.count).toBe(1);
    expect(copy[12]).toBeNull();
    const other = histogramsOf(reader.copyOverflow()!);
    expect([other.tx!.count, other.tx!.min, other.tx!.max]).toEqual([2, 40, 50]);
    expect(new ClassHistograms(ClassHistograms.allocate(4)).copyOverflow()).toBeNull();
  });

  it("samples each class's first packet and then every Nth of that class, whatever the classes' order", () => {
    const h = new ClassHistograms(ClassHistograms.allocate(4, { sampleEvery: 4 }));
    // Classes in a fixed rotation (as a generator cycles them): a count per link would sample one class only.
    const picked = [0, 0, 0, 0];
    for (let i = 0; i < 40; i++) if (h.sample(i % 4)) picked[i % 4]++;
    expect(picked).toEqual([3, 3, 3, 3]); // 10 packets each: the 1st, 5th and 9th
    const every = new ClassHistograms(ClassHistograms.allocate(4));
    expect(Array.from({ length: 7 }, () => every.sample(2))).toEqual(Array(7).fill(true));
  });
});
