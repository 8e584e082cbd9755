/**
 * A client thread that dies (terminated mid-run, as a crash would end it) does not stall
 * the arbiter or the other client; what it had published is sent or counted; reclaiming
 * its channel puts every frame it owned back on its free ring, and a new thread takes its
 * place on the same channel.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ArbiterHost } from '../src/arbiter/host.js';
import type { ClientChannel } from '../src/client.js';
import { workerUrl } from '../src/worker-url.js';
import type { GeneratorResult, GeneratorSpec } from '../clients/generator.js';

let host: ArbiterHost | undefined;
afterEach(async () => {
  await host?.terminate();
  host = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FRAMES = 512;

function generator(channel: ClientChannel, cls: number): { worker: Worker; result: Promise<GeneratorResult> } {
  const spec: GeneratorSpec = { classes: [cls], minSize: 64, maxSize: 1500, packets: Infinity, seed: cls + 1 };
  const worker = new Worker(workerUrl('../clients/generator-worker.js', import.meta.url), { workerData: { channel, spec } });
  return { worker, result: new Promise((resolve, reject) => (worker.once('message', resolve), worker.once('error', reject))) };
}

describe('client faults', () => {
  it('a terminated client stalls no one; reclaiming its channel recovers its frames for a new thread', async () => {
    host = await ArbiterHost.start({ poolFrames: 2 * FRAMES });
    // 200 Mbit/s: queues stay full, so the dying client has packets queued and frames in hand.
    const link = await host.addLink({ rate: 2e8, scheduler: 'drr', maxClasses: 2, classes: [{ weight: 1, limitPackets: 128 }, { weight: 1, limitPackets: 128 }] });
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
    expect(sentOf(s1, 1) - sentOf(s0, 1)).toBeGreaterThan(0.9 * ((2e8 * 0.3) / 8 / (782 + 24)));
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
    // End to end, the dead thread may have died between publishing a batch and counting it
    // (one flush: at most 64 packets, the client's staging size) — the only slack allowed.
    const t = final.totals;
    expect(Math.abs(t.offered - (t.sent + t.dropped + t.queued))).toBeLessThanOrEqual(64);
    // Every frame is back: the free rings plus what the live generators still held.
    expect(link.freeFrames() + rb.held + ra2.held).toBe(2 * FRAMES);
    host = undefined;
  }, 30_000);
});
