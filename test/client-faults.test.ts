/**
 * A client thread that dies (terminated mid-run, as a crash would end it) does not stall
 * the arbiter or the other client; what it had published is sent or counted; reclaiming
 * its channel puts every frame it owned back on its free ring, and a new thread takes its
 * place on the same channel.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ArbiterHost } from '../src/arbiter/host.js';
import { SpscRing } from '../src/shm/spsc-ring.js';
import type { ClientChannel } from '../src/client/channel.js';
import { workerUrl } from '../src/worker-url.js';
import type { GeneratorResult, GeneratorSpec } from '../traffic/generator.js';

let host: ArbiterHost | undefined;
afterEach(async () => {
  await host?.terminate();
  host = undefined;
});

const FRAMES = 512;

function generator(channel: ClientChannel, cls: number): { worker: Worker; result: Promise<GeneratorResult> } {
  const spec: GeneratorSpec = { classes: [cls], minSize: 64, maxSize: 1500, packets: Infinity, seed: cls + 1 };
  const worker = new Worker(workerUrl('../traffic/generator-worker.js', import.meta.url), { workerData: { channel, spec } });
  return {
    worker,
    result: new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }),
  };
}

describe('client faults', () => {
  it('a terminated client stalls no one; reclaiming its channel recovers its frames for a new thread', async () => {
    host = await ArbiterHost.start({ poolFrames: 2 * FRAMES });
    // 200 Mbit/s: queues stay full, so the dying client has packets queued and frames in hand.
    const link = await host.addLink({
      rate: 2e8,
      scheduler: 'drr',
      maxClasses: 2,
      classes: [
        { weight: 1, limitPackets: 128 },
        { weight: 1, limitPackets: 128 },
      ],
    });
    const a = await link.connectClient({ frames: FRAMES });
    const b = await link.connectClient({ frames: FRAMES });
    const ga = generator(a, 0);
    const gb = generator(b, 1);
    await sleep(300);

    await ga.worker.terminate(); // mid-run: it held frames, some staged, some in the arbiter
    const s0 = await link.stats();
    await sleep(300);
    const s1 = await link.stats();
    const sentOf = (s: typeof s0, slot: number) => s.classes.find((c) => c.slot === slot)!.sentPackets;
    // The other client's class goes on, and takes the whole link now (DRR gives it all).
    const seconds = (s1.nowNs - s0.nowNs) / 1e9; // the arbiter's clock, not the test's timer
    expect(sentOf(s1, 1) - sentOf(s0, 1)).toBeGreaterThan(0.9 * ((2e8 * seconds) / 8 / (782 + 24)));
    // The dead client's queued packets drained: sent or dropped, none left.
    expect(s1.classes.find((c) => c.slot === 0)!.backlogPackets).toBe(0);

    const reclaimed = await link.reclaimClient(a);
    expect(reclaimed).toBe(FRAMES); // nothing of it is held by the arbiter any more: all back
    const ga2 = generator(a, 0); // a new thread on the same channel
    await sleep(300);
    const s2 = await link.stats();
    expect(sentOf(s2, 0) - sentOf(s1, 0)).toBeGreaterThan(1000);

    link.stopClients();
    const [rb, ra2] = await Promise.all([gb.result, ga2.result]);
    const [final] = await host.close({ drain: true });
    // Arbiter-side accounting is exact: everything admitted was sent or dropped.
    for (const c of final.classes) expect(c.arrivedPackets).toBe(c.sentPackets + c.droppedPackets + c.backlogPackets);
    // End to end too: had the thread died between publishing a batch and counting it,
    // reclaimClient counted what the arbiter drained beyond the client's count.
    const t = final.totals;
    expect(t.offered).toBe(t.sent + t.dropped + t.queued);
    for (const c of final.classes) expect(c.offeredPackets).toBe(c.arrivedPackets);
    // Every frame is back: the free rings plus what the live generators still held.
    expect(link.freeFrames() + rb.held + ra2.held).toBe(2 * FRAMES);
    host = undefined;
  }, 30_000);

  it('a thread that died right after publishing a batch, before counting it: reclaimClient counts it, per class and in bytes', async () => {
    host = await ArbiterHost.start({ poolFrames: FRAMES });
    const link = await host.addLink({ rate: 1e9, scheduler: 'drr', maxClasses: 3, classes: [{ weight: 1 }, { weight: 1 }, { weight: 1 }] });
    const channel = await link.connectClient({ frames: FRAMES });
    // What the dead thread did: took 10 frames, wrote them, published them — and counted nothing.
    const free = new SpscRing(channel.free);
    const frames = new Int32Array(10);
    expect(free.pop(frames, 0, 10)).toBe(10);
    frames.forEach((f, i) => {
      host!.pool.len[f] = 100 + i;
      host!.pool.cls[f] = i % 3;
    });
    expect(new SpscRing(channel.mailbox).push(frames, 0, 10)).toBe(10);

    // All but the 10 back at once (some of those may still be in transmit).
    expect(await link.reclaimClient(channel)).toBeGreaterThanOrEqual(FRAMES - 10);
    const [final] = await host.close({ drain: true });
    host = undefined;
    expect(link.freeFrames()).toBe(FRAMES);
    expect(final.totals).toEqual({ offered: 10, sent: 10, dropped: 0, queued: 0 });
    expect(final.classes.map((c) => [c.slot, c.offeredPackets, c.offeredBytes])).toEqual([
      [0, 4, 100 + 103 + 106 + 109],
      [1, 3, 101 + 104 + 107],
      [2, 3, 102 + 105 + 108],
    ]);
  });
});
