/**
 * The pool's unowned frames (src/shm/frame-ranges.ts), and the pool they keep from running
 * dry: a link's clients' frames come back when the link is removed.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { startGenerators } from '../traffic/generators.js';
import { ArbiterHost } from '../src/arbiter/host.js';
import { FrameRanges } from '../src/shm/frame-ranges.js';

describe('FrameRanges', () => {
  it('hands out disjoint ranges, takes them back in any order, and merges back to one range', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 30 }), (sizes, order) => {
        const total = 400;
        const r = new FrameRanges(total);
        const owner = new Int32Array(total).fill(-1);
        const held: [number, number][] = [];
        sizes.forEach((n, id) => {
          const first = r.take(n);
          if (first < 0) {
            expect(r.largest).toBeLessThan(n);
            return;
          }
          for (let f = first; f < first + n; f++) {
            expect(owner[f], `frame ${f} handed out twice`).toBe(-1);
            owner[f] = id;
          }
          held.push([first, n]);
        });
        expect(r.free).toBe(total - held.reduce((a, [, n]) => a + n, 0));
        for (const k of order) {
          if (held.length === 0) break;
          const [first, n] = held.splice(k % held.length, 1)[0];
          r.give(first, n);
        }
        for (const [first, n] of held) r.give(first, n);
        expect([r.free, r.largest]).toEqual([total, total]);
      }),
    );
  });

  it('refuses frames it did not hand out', () => {
    const r = new FrameRanges(100);
    const a = r.take(10);
    expect(() => r.give(a + 5, 10)).toThrow(/not all handed out/);
    expect(() => r.give(50, 1)).toThrow(/not all handed out/);
    r.give(a, 10);
    expect(r.free).toBe(100);
  });
});

let host: ArbiterHost | undefined;
afterEach(async () => {
  await host?.terminate();
  host = undefined;
});

describe('the pool over link lifetimes', () => {
  it('a link added and removed 20 times over a pool that holds two links at once never runs dry', async () => {
    host = await ArbiterHost.start({ poolFrames: 2 * 512 });
    for (let round = 0; round < 20; round++) {
      const link = await host.addLink({ rate: 1e9, maxClasses: 1, classes: [{ weight: 1 }] });
      const fleet = await startGenerators(link, 1, () => ({ classes: [0], minSize: 64, maxSize: 64, packets: 600, seed: round + 1 }), 512);
      await fleet.done;
      await link.detachClients();
      const s = await link.remove();
      expect(s.totals).toMatchObject({ offered: 600, queued: 0 });
      expect(s.totals.sent + s.totals.dropped).toBe(600);
    }
  });
});
