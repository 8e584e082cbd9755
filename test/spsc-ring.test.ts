import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SpscRing } from '../src/shm/spsc-ring.js';
import { workerUrl } from '../src/worker-url.js';

describe('SPSC ring', () => {
  it('moves 2M entries from a producer worker with seeded random batches: no loss, no duplicate, in order', async () => {
    const count = 2_000_000;
    const buffer = SpscRing.allocate(256);
    const ring = new SpscRing(buffer);
    const worker = new Worker(workerUrl('./helpers/ring-producer-worker.js', import.meta.url), {
      workerData: { buffer, count, seed: 42, maxBatch: 100 },
    });
    const producerDone = new Promise<{ fullTimes: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const out = new Int32Array(64);
    let expected = 0;
    let wrong = 0;
    while (expected < count) {
      const n = ring.pop(out, 0, 1 + (expected % 64));
      for (let i = 0; i < n; i++) if (out[i] !== expected++) wrong++;
      if (n === 0) await new Promise((r) => setImmediate(r));
    }
    const { fullTimes } = await producerDone;
    expect(wrong).toBe(0);
    expect(expected).toBe(count);
    expect(ring.peek(1)).toBe(0);
    // The consumer yields to the event loop when empty, so the 256-slot ring must fill.
    expect(fullTimes).toBeGreaterThan(0);
  });

  it('refuses entries when full (backpressure) and accepts them after a release', () => {
    const ring = new SpscRing(SpscRing.allocate(8));
    const src = Int32Array.from({ length: 12 }, (_, i) => i);
    expect(ring.push(src, 0, 12)).toBe(8);
    expect(ring.push(src, 8, 4)).toBe(0);
    const out = new Int32Array(3);
    expect(ring.pop(out, 0, 3)).toBe(3);
    expect([...out]).toEqual([0, 1, 2]);
    expect(ring.push(src, 8, 4)).toBe(3);
  });

  it('counts the submits that woke a consumer parked for entries: one per arming, once what it asked for is there', () => {
    const ring = new SpscRing(SpscRing.allocate(16));
    const src = Int32Array.from({ length: 16 }, (_, i) => i);
    ring.push(src, 0, 2);
    expect(ring.wakes).toBe(0); // nobody parked
    const out = new Int32Array(16);
    ring.pop(out, 0, 16);
    ring.doorbell.arm(4); // the consumer announces it parks for 4 (it is not parked: the claim is what counts)
    ring.push(src, 0, 2);
    expect(ring.wakes).toBe(0); // 2 of the 4 it asked for
    ring.push(src, 0, 2);
    expect(ring.wakes).toBe(1);
    ring.push(src, 0, 2);
    expect(ring.wakes).toBe(1); // claimed already: not rung again until it arms again
  });

  it('keeps order across index wrap-around (slots and int32 counters)', () => {
    const buffer = SpscRing.allocate(4);
    // Start both counters just below 2^31 to cross the int32 wrap as well.
    const ctl = new Int32Array(buffer);
    ctl[0] = 2 ** 31 - 3;
    ctl[16] = 2 ** 31 - 3;
    const ring = new SpscRing(buffer);
    const out = new Int32Array(4);
    let v = 0;
    for (let round = 0; round < 10; round++) {
      const src = Int32Array.from([v, v + 1, v + 2]);
      expect(ring.push(src, 0, 3)).toBe(3);
      expect(ring.pop(out, 0, 4)).toBe(3);
      expect([...out.subarray(0, 3)]).toEqual([v, v + 1, v + 2]);
      v += 3;
    }
    expect(ring.fill()).toBe(0);
  });

  it('matches a queue model under any sequence of pushes and pops (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(2, 4, 16), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 20 })), { maxLength: 200 }), (size, ops) => {
        const ring = new SpscRing(SpscRing.allocate(size));
        const model: number[] = [];
        let next = 0;
        for (const [isPush, n] of ops) {
          if (isPush) {
            const src = Int32Array.from({ length: n }, (_, i) => next + i);
            const took = ring.push(src, 0, n);
            expect(took).toBe(Math.min(n, size - model.length));
            for (let i = 0; i < took; i++) model.push(next + i);
            next += took;
          } else {
            const out = new Int32Array(n);
            const got = ring.pop(out, 0, n);
            expect([...out.subarray(0, got)]).toEqual(model.splice(0, Math.min(n, model.length)));
          }
          expect(ring.fill()).toBe(model.length);
        }
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('reads nothing from a producer index that went backwards or past a full ring', () => {
    const buffer = SpscRing.allocate(8);
    const ring = new SpscRing(buffer);
    const ctl = new Int32Array(buffer);
    for (const tail of [-1, 9, 2 ** 31 - 1]) {
      Atomics.store(ctl, 0, tail);
      expect(ring.peek(4)).toBe(0);
      expect(ring.consIndex()).toBe(0);
    }
  });

  it('rejects a size that is not a power of two', () => {
    expect(() => SpscRing.allocate(100)).toThrow(/ring size: must be a power of two/);
  });
});
