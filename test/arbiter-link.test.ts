/**
 * The whole data path on real worker threads: generator clients → mailboxes → arbiter
 * (scheduler + pacing) → null port → free rings.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startGenerators, type GeneratorFleet } from '../traffic/generators.js';
import { ArbiterHost } from '../src/arbiter/host.js';
import { Client } from '../src/client/client.js';
import { WIRE_OVERHEAD_BYTES } from '../src/arbiter/pacer.js';
import type { LinkStats } from '../src/stats/link-stats.js';
import { endAfterEach, ended } from './helpers/teardown.js';

let host: ArbiterHost | undefined;
let fleet: GeneratorFleet | undefined;
endAfterEach();

/** arrived = sent + dropped + backlog per class; offered = sent + dropped + queued in total. */
function expectConservation(s: LinkStats): void {
  for (const c of s.classes) expect(c.arrivedPackets).toBe(c.sentPackets + c.droppedPackets + c.backlogPackets);
  const t = s.totals;
  expect(t.offered).toBe(t.sent + t.dropped + t.queued);
}

describe('arbiter link', () => {
  it('accounts for every packet exactly, per class and in total, with queue-limit drops', async () => {
    host = ended(await ArbiterHost.start({ poolFrames: 4 * 256 }));
    const link = await host.addLink({
      rate: 200e6,
      maxClasses: 3,
      classes: [
        { weight: 1, limitPackets: 20 },
        { weight: 2, limitPackets: 20 },
        { weight: 3, limitPackets: 20 },
      ],
    });
    const perClient = 20_000;
    fleet = ended(await startGenerators(link, 4, (i) => ({ classes: [0, 1, 2], minSize: 64, maxSize: 1500, packets: perClient, seed: i + 1 }), 256));
    const results = await fleet.done;
    const s = (await host.close({ drain: false }))[0];
    expect(results.reduce((a, r) => a + r.sent, 0)).toBe(4 * perClient);
    expect(s.totals.offered).toBe(4 * perClient);
    expect(s.classes.reduce((a, c) => a + c.drops.queueLimit, 0)).toBeGreaterThan(0);
    expectConservation(s);
  });

  it('a counters-only snapshot has every counter of a full one and no histograms', async () => {
    host = ended(await ArbiterHost.start({ poolFrames: 2 * 256 }));
    const link = await host.addLink({ rate: 1e9, maxClasses: 2, classes: [{ weight: 1 }, { weight: 1 }] });
    fleet = ended(await startGenerators(link, 1, () => ({ classes: [0, 1], minSize: 64, maxSize: 1500, packets: 5000, seed: 7 }), 256));
    await fleet.done;
    for (let waited = 0; (await link.stats({ histograms: false })).totals.queued > 0 && waited < 5000; waited += 20)
      await new Promise((r) => setTimeout(r, 20));
    const full = await link.stats();
    const counters = await link.stats({ histograms: false });
    expect(counters.totals).toEqual(full.totals);
    expect(counters.totals.sent).toBe(5000);
    for (const [i, c] of counters.classes.entries()) {
      const { stages, ...rest } = c;
      const { stages: fullStages, ...fullRest } = full.classes[i];
      expect(rest).toEqual(fullRest);
      expect(stages).toEqual({});
      expect(fullStages.tx!.count).toBe(c.sentPackets);
    }
    expectConservation(counters);
  });

  it('snapshots taken at once while packets flow each hold histograms that agree with their own counters', async () => {
    host = ended(await ArbiterHost.start({ poolFrames: 2 * 256 }));
    const link = await host.addLink({ rate: 1e9, maxClasses: 4, classes: Array.from({ length: 4 }, () => ({ weight: 1 })) });
    fleet = ended(
      await startGenerators(link, 2, (i) => ({ classes: [0, 1, 2, 3], minSize: 64, maxSize: 1500, packets: Infinity, pps: 50_000, seed: i + 1 }), 256),
    );
    await new Promise((r) => setTimeout(r, 200));
    const asked = [true, true, false, true].map((histograms) => link.stats({ histograms }));
    const snaps = await Promise.all(asked);
    for (const s of snaps) {
      for (const c of s.classes) {
        if (s === snaps[2]) expect(c.stages).toEqual({});
        else expect(c.stages.tx?.count ?? 0).toBe(c.sentPackets);
      }
    }
    expect(snaps[0].totals.sent).toBeGreaterThan(0);
  });

  it('with stageSample N records the stages of 1 packet in N per class, and keeps every counter exact', async () => {
    host = ended(await ArbiterHost.start({ poolFrames: 2 * 128 }));
    const link = await host.addLink({ rate: 1e9, maxClasses: 2, stageSample: 8, classes: [{ weight: 1 }, { weight: 1 }] });
    // Client i sends 1000 packets in class i.
    fleet = ended(await startGenerators(link, 2, (i) => ({ classes: [i], minSize: 64, maxSize: 64, packets: 1000, seed: i + 3 }), 128));
    await fleet.done;
    const s = (await host.close({ drain: true }))[0];
    expect(s.totals).toEqual({ offered: 2000, sent: 2000, dropped: 0, queued: 0 });
    expect(s.stageSample).toBe(8);
    for (const c of s.classes) {
      expect(c.sentPackets).toBe(1000);
      // Each class's 1st, 9th, 17th … packet: ceil(1000 / 8).
      expect([c.stages.mailbox!.count, c.stages.queue!.count, c.stages.tx!.count]).toEqual([125, 125, 125]);
    }
  });

  it('sends everything when closed with drain, and returns every frame to its client', async () => {
    host = ended(await ArbiterHost.start({ poolFrames: 2 * 128 }));
    const link = await host.addLink({ rate: 1e9, maxClasses: 2, classes: [{ weight: 1 }, { weight: 1 }] });
    fleet = ended(await startGenerators(link, 2, (i) => ({ classes: [0, 1], minSize: 64, maxSize: 64, packets: 5000, seed: i + 7 }), 128));
    await fleet.done;
    const s = (await host.close({ drain: true }))[0];
    expect(s.totals).toEqual({ offered: 10_000, sent: 10_000, dropped: 0, queued: 0 });
  });

  it('a draining close that runs out of time drops what is left, counted as shutdown; nothing stays queued', async () => {
    host = ended(await ArbiterHost.start({ poolFrames: 2 * 256 }));
    // 1 Mbit/s: 400 queued packets of 1000 B would need over 3 s; the close allows 200 ms.
    const link = await host.addLink({
      rate: 1e6,
      maxClasses: 2,
      classes: [
        { weight: 1, limitPackets: 200 },
        { weight: 1, limitPackets: 200 },
      ],
    });
    fleet = ended(await startGenerators(link, 2, (i) => ({ classes: [0, 1], minSize: 1000, maxSize: 1000, packets: Infinity, seed: i + 5 }), 256));
    await sleep(300);
    const results = await fleet.stop();
    fleet = undefined;
    const started = Date.now();
    const s = (await host.close({ drain: true, timeoutMs: 200 }))[0];
    expect(Date.now() - started).toBeLessThan(2000);
    host = undefined;
    const shutdown = s.classes.reduce((a, c) => a + c.drops.shutdown, 0);
    expect(shutdown).toBeGreaterThan(100);
    expect(s.classes.every((c) => c.backlogPackets === 0)).toBe(true);
    expect(s.inMailboxes).toBe(0);
    expectConservation(s);
    // Every frame is back: in the free rings, or in the hands of the stopped generators.
    expect(link.freeFrames() + results.reduce((a, r) => a + r.held, 0)).toBe(2 * 256);
  });

  it('paces released bytes to the link rate within 1% (wire time incl. 24 B framing)', async () => {
    host = ended(await ArbiterHost.start({ poolFrames: 2 * 512 }));
    const rate = 100e6;
    const link = await host.addLink({
      rate,
      maxClasses: 2,
      classes: [
        { weight: 1, limitPackets: 200 },
        { weight: 3, limitPackets: 200 },
      ],
    });
    fleet = ended(await startGenerators(link, 2, (i) => ({ classes: [0, 1], minSize: 64, maxSize: 1500, packets: Infinity, seed: i + 3 }), 512));
    await sleep(300); // past start-up, queues full
    const a = await link.stats();
    await sleep(1500);
    const b = await link.stats();
    const measured = ((b.wireBytes - a.wireBytes) * 8e9) / (b.nowNs - a.nowNs);
    expect(Math.abs(measured / rate - 1)).toBeLessThan(0.01);
    // The backlogged classes split the link 1:3 by bytes.
    const sent = b.classes.map((c, i) => c.sentBytes - a.classes[i].sentBytes);
    expect(Math.abs(sent[1] / (sent[0] + sent[1]) - 0.75)).toBeLessThan(0.01);
    await fleet.stop();
    expectConservation((await host.close({ drain: false }))[0]);
  });

  it('does not turn idle time into a burst: after a pause the link clock restarts at now', async () => {
    host = ended(await ArbiterHost.start({ poolFrames: 256 }));
    const link = await host.addLink({ rate: 10e6, maxClasses: 1, classes: [{}] });
    fleet = ended(await startGenerators(link, 1, () => ({ classes: [0], minSize: 1000, maxSize: 1000, packets: 10, seed: 1 }), 128));
    await fleet.done;
    await sleep(200); // 10 packets need 8 ms at 10 Mbit/s; then idle
    const idle = await link.stats();
    expect(idle.totals.sent).toBe(10);
    fleet = ended(await startGenerators(link, 1, () => ({ classes: [0], minSize: 1000, maxSize: 1000, packets: 50, seed: 2 }), 64));
    await fleet.done;
    let after = await link.stats();
    while (after.totals.sent < 60) after = await link.stats();
    // 200 ms of idle at 10 Mbit/s would be 250 packets of credit: the 50 would leave at
    // once, on a clock still 150 ms in the past. Without credit the clock restarts when the
    // first of them arrives, after `idle` was taken, so the last ends 50 wire times later.
    // (The link's own clock, not the test's timers: it holds however loaded the machine is.)
    const wireNs = ((1000 + WIRE_OVERHEAD_BYTES) * 8e9) / 10e6;
    expect(after.linkIdleNs).toBeGreaterThanOrEqual(idle.nowNs + 50 * wireNs);
  });

  it('after a 100 ms stall under backlog releases at most rate × elapsed + maxLag, not the time it missed', async () => {
    const rate = 100e6;
    const maxLagNs = 1e6;
    host = ended(await ArbiterHost.start({ poolFrames: 2 * 256 }));
    const link = await host.addLink({ rate, maxLagNs, maxClasses: 1, classes: [{ limitPackets: 400 }] });
    fleet = ended(await startGenerators(link, 2, (i) => ({ classes: [0], minSize: 1000, maxSize: 1000, packets: Infinity, seed: i }), 256));
    await sleep(200); // backlogged: the generators offer far more than 100 Mbit/s
    // The snapshot is posted with the stall, so the arbiter takes it right after the stall,
    // before it releases anything: `a` is the moment the arbiter comes back.
    const [, a] = await Promise.all([host.stall(100), link.stats()]);
    let b = await link.stats();
    while (b.nowNs - a.nowNs < 20e6) b = await link.stats();
    // Bytes on the wire over [a, b], on the arbiter's own clock: what the rate allows, plus
    // the burst maxLag permits, plus a packet of rounding at each end (a release may start
    // just before `b`; the clock restarts within a packet of now − maxLag). Without the
    // bound the link clock would be ~100 ms behind and release ~1.2 MB here at once.
    const wire = 1000 + WIRE_OVERHEAD_BYTES;
    const allowed = (rate / 8e9) * (b.nowNs - a.nowNs + maxLagNs) + 2 * wire;
    expect(b.wireBytes - a.wireBytes).toBeLessThanOrEqual(allowed);
    expect(b.wireBytes - a.wireBytes).toBeGreaterThan(0);
    await fleet.stop();
    expectConservation((await host.close({ drain: false }))[0]);
  });

  it('counts a pass full when it drains a full batch, or releases one that earlier passes queued (bench arbiter saturated)', async () => {
    host = ended(await ArbiterHost.start({ poolFrames: 8 * 512 }));
    const link = await host.addLink({ rate: 1e15, maxClasses: 1, classes: [{ limitPackets: 5000 }] });
    // Eight clients on this thread, each publishing 300 packets while the arbiter is held.
    const clients = await Promise.all(Array.from({ length: 8 }, async () => new Client(await link.connectClient({ frames: 512 }))));
    let held = true;
    const stall = host.stall(3000).then(() => {
      held = false;
    });
    // The command reaches the arbiter within microseconds (its doorbell wakes it); were it
    // later than this, the passes below would differ and the test fail, not pass wrongly.
    await sleep(200);
    const before = host.loop.read();
    const frames = new Int32Array(300);
    for (const c of clients) {
      expect(c.takeFrames(frames, 300)).toBe(300);
      for (const f of frames) expect(c.send(f, 64, 0)).toBe(true);
      while (c.pending > 0) expect(c.flush()).toBeGreaterThan(0);
    }
    expect(held).toBe(true);
    await stall;
    for (let waited = 0; (await link.stats({ histograms: false })).totals.sent < 2400 && waited < 5000; waited += 20) await sleep(20);
    const after = host.loop.read();
    // Drains of 64 a client (drainBatch), releases of at most 256 (releaseBatch). Four
    // passes drain 512 and a fifth the last 352, each full, and each releases 256 (the
    // idle link's clock restarts at the pass's time, and the arbiter releases what is due
    // within the shortest time it parks for: at 10^15 bit/s, all of them). The queues then
    // hold 1120: four passes release 256 of them, draining nothing — full too, the arbiter
    // being the limit — and a tenth the last 96, not full.
    expect([after.busyPasses - before.busyPasses, after.fullPasses - before.fullPasses]).toEqual([10, 9]);
    expectConservation((await host.close({ drain: false }))[0]);
  });

  it('shapes htb classes to their rates within 2% on a live link (70 of 1000 Mbit/s)', async () => {
    host = ended(await ArbiterHost.start({ poolFrames: 2 * 512 }));
    const rates = [20e6, 50e6];
    // htb's rate arithmetic, not the stall policy (the stall test above covers that): a lag
    // bound above any scheduling delay of a loaded machine, so an arbiter kept off its CPU
    // for longer than the default 4 ms catches up instead of losing class time.
    const link = await host.addLink({
      rate: 1e9,
      maxLagNs: 200e6,
      scheduler: 'htb',
      maxClasses: 2,
      classes: rates.map((rate) => ({ rate, limitPackets: 200 })),
    });
    fleet = ended(await startGenerators(link, 2, (i) => ({ classes: [0, 1], minSize: 64, maxSize: 1500, packets: Infinity, seed: i + 5 }), 512));
    await sleep(300);
    const a = await link.stats();
    await sleep(1500);
    const b = await link.stats();
    const ns = b.nowNs - a.nowNs;
    rates.forEach((rate, i) => {
      const measured = ((b.classes[i].sentBytes - a.classes[i].sentBytes) * 8e9) / ns;
      expect(Math.abs(measured / rate - 1)).toBeLessThan(0.02);
    });
    await fleet.stop();
    expectConservation((await host.close({ drain: false }))[0]);
  });

  it('applies class changes while backlogged without losing a packet', async () => {
    host = ended(await ArbiterHost.start({ poolFrames: 2 * 512 }));
    const link = await host.addLink({
      rate: 5e6,
      maxClasses: 3,
      classes: [
        { weight: 1, limitPackets: 100 },
        { weight: 1, limitPackets: 100 },
      ],
    });
    fleet = ended(await startGenerators(link, 2, (i) => ({ classes: [0, 1, 2], minSize: 200, maxSize: 200, packets: Infinity, seed: i + 9 }), 512));
    await sleep(200);
    await link.changeClass(1, { weight: 4 });
    // The new weight is what DRR serves by: both classes stay backlogged (the senders, a
    // third of their packets to each, fill them far faster than 5 Mbit/s drains them, also
    // on a loaded machine), so class 1 sends 4 packets to class 0's 1. 15%: the window's
    // edges cut DRR rounds in a window of ~600 packets.
    const before = [link.liveSent(0).packets, link.liveSent(1).packets];
    await sleep(200);
    const ratio = (link.liveSent(1).packets - before[1]) / (link.liveSent(0).packets - before[0]);
    expect(Math.abs(ratio / 4 - 1), `class 1 : class 0 = ${ratio}`).toBeLessThan(0.15);
    await link.addClass({ slot: 2, weight: 2, limitPackets: 100 });
    await sleep(200);
    await link.deleteClass(0);
    await sleep(100);
    await fleet.stop();
    const s = (await host.close({ drain: false }))[0];
    expectConservation(s);
    const c0 = s.classes.find((c) => c.slot === 0)!;
    expect(c0.drops.classDeleted).toBeGreaterThan(0);
    expect(c0.drops.noClass).toBeGreaterThan(0); // packets for the deleted class afterwards
  });

  it('rejects bad link options on the calling thread with the field named', async () => {
    host = ended(await ArbiterHost.start({ poolFrames: 64 }));
    await expect(host.addLink({ rate: -1 })).rejects.toThrow('rate: must be a positive number');
    await expect(host.addLink({ scheduler: 'nope' })).rejects.toThrow("scheduler: unknown scheduler 'nope'");
    await expect(host.addLink({ stageSample: 0 })).rejects.toThrow('stageSample: must be an integer in [1, 65536], got 0');
    await expect(host.addLink({ classes: [{ weight: 1 }, { weight: 0 }] })).rejects.toThrow('classes[1].weight: must be an integer');
    const link = await host.addLink({ maxClasses: 2, classes: [{}] });
    await expect(link.connectClient({ frames: 1000 })).rejects.toThrow('frames: pool exhausted');
    await expect(link.addClass({ slot: 0 })).rejects.toThrow('class slot 0 already exists');
    await expect(ArbiterHost.start({ frameSize: 1500 })).rejects.toThrow('frameSize: must be one of 2048, 4096, got 1500');
  });
});
