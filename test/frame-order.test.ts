import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { inIndexOrder } from '../src/arbiter/frame-order.js';
import { ArbiterHost } from '../src/arbiter/host.js';
import { Client } from '../src/client/client.js';
import { waitFor } from './helpers/wait.js';

let host: ArbiterHost | undefined;
afterEach(async () => {
  await host?.terminate();
  host = undefined;
});

describe('frames go back to their client in index order', () => {
  it('any set of distinct frames of a client, in any order, comes out ascending, the bits left clear (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 1, max: 3000 }).chain((frames) => fc.tuple(fc.constant(frames), fc.shuffledSubarray(Array.from({ length: frames }, (_, i) => i)))),
        (first, [frames, picked]) => {
          const bits = new Int32Array(Math.ceil(frames / 32));
          const batch = Int32Array.from(picked, (k) => first + k);
          inIndexOrder(batch, batch.length, first, bits);
          expect(Array.from(batch)).toEqual(picked.map((k) => first + k).sort((a, b) => a - b));
          expect(bits.every((w) => w === 0)).toBe(true);
        },
      ),
    );
  });

  it('a prio link sends band 0 before band 1, and the client still gets its frames back in index order', async () => {
    host = await ArbiterHost.start({ poolFrames: 64 });
    const link = await host.addLink({ rate: 1e15, scheduler: 'prio', maxClasses: 2, classes: [{ band: 0 }, { band: 1 }] });
    const client = new Client(await link.connectClient({ frames: 16 }));
    const frames = new Int32Array(16);
    expect(client.takeFrames(frames, 16)).toBe(16);
    // Odd frames in band 0, even ones in band 1: sent as 1, 3, …, 15, then 0, 2, …, 14.
    for (const f of frames) expect(client.send(f, 100, f % 2 === 1 ? 0 : 1)).toBe(true);
    expect(client.flush()).toBe(16);
    await waitFor('all 16 to be sent', async () => (await link.stats()).totals.sent === 16);
    const back = new Int32Array(16);
    expect(client.takeFrames(back, 16)).toBe(16);
    // All 16 go in the pass that drains them (the idle link's clock restarts at that pass,
    // and at 10^15 bit/s every packet is due within the arbiter's release horizon), in the
    // scheduler's order 1, 3, …, 15, 0, 2, …, 14, and come back in index order.
    expect(Array.from(back)).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });
});
