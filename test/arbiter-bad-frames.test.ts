/**
 * A buggy client that bypasses the Client API and writes raw entries into its mailbox:
 * the arbiter counts every bad entry, recycles what it may, never corrupts its queues,
 * and keeps serving good packets.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ArbiterHost } from '../src/arbiter/host.js';
import { CTL_DOORBELL } from '../src/arbiter/control.js';
import { Client } from '../src/client/client.js';
import { Doorbell } from '../src/shm/doorbell.js';
import { SpscRing } from '../src/shm/spsc-ring.js';
import { waitFor } from './helpers/wait.js';

let host: ArbiterHost | undefined;
afterEach(async () => {
  await host?.terminate();
  host = undefined;
});

describe('arbiter frame validation', () => {
  it('counts bad indices, foreign and doubly-sent frames, runts and bad classes, and keeps working', async () => {
    host = await ArbiterHost.start({ poolFrames: 64 });
    const link = await host.addLink({ rate: 1e9, maxClasses: 2, classes: [{}, {}] });
    const mine = await link.connectClient({ frames: 16 });
    await link.connectClient({ frames: 16 }); // owns frames 16..31
    const client = new Client(mine);
    const raw = new SpscRing(mine.mailbox, new Doorbell(new Int32Array(mine.arbiterControl), CTL_DOORBELL));
    const frames = new Int32Array(16);
    expect(client.takeFrames(frames, 16)).toBe(16);
    const pool = client.pool;
    const good = (f: number, cls = 0) => {
      pool.len[f] = 100;
      pool.cls[f] = cls;
    };
    good(frames[0]);
    good(frames[1]);
    pool.len[frames[2]] = 5; // runt
    pool.cls[frames[2]] = 1;
    pool.len[frames[3]] = 4000; // longer than a 2048 B frame
    pool.cls[frames[3]] = 1;
    pool.len[frames[4]] = 100;
    pool.cls[frames[4]] = 7; // no such class slot
    const entries = [-1, 99_999, 20 /* another client's */, frames[0], frames[0] /* again */, frames[1], frames[2], frames[3], frames[4]];
    expect(raw.push(Int32Array.from(entries), 0, entries.length)).toBe(entries.length);
    let s = await link.stats();
    // Until the arbiter has taken all nine (the test's timeout bounds the wait).
    while (s.totals.sent + s.totals.dropped < entries.length) s = await link.stats(); // dropped includes badFrames

    expect(s.badFrames).toBe(5); // -1, 99999, foreign 20, frames[0] twice, class 7
    const c1 = s.classes.find((c) => c.slot === 1)!;
    expect(c1.drops.badFrame).toBe(2); // runt and oversize, charged to their class
    expect(s.totals.sent).toBe(2); // frames[0] once, frames[1]
    // Recycled (in the pass that took them): the two sent, the runt, the oversize and the bad-class frame.
    expect(client.takeFrames(new Int32Array(16), 16)).toBe(5);

    // Still serving: a good packet afterwards is sent.
    good(frames[5], 1);
    expect(raw.push(Int32Array.from([frames[5]]), 0, 1)).toBe(1);
    await waitFor('the good packet to be sent', async () => (await link.stats()).totals.sent === 3);
  });

  it('ignores a mailbox whose producer index was corrupted, and serves the other clients', async () => {
    host = await ArbiterHost.start({ poolFrames: 64 });
    const link = await host.addLink({ rate: 1e9, maxClasses: 1, classes: [{}] });
    const bad = await link.connectClient({ frames: 16 });
    const okChannel = await link.connectClient({ frames: 16 });
    // The buggy client scribbles its tail index backwards, then far ahead.
    const ctl = new Int32Array(bad.mailbox);
    for (const tail of [-5, 1 << 20]) {
      Atomics.store(ctl, 0, tail);
      new Doorbell(new Int32Array(bad.arbiterControl), CTL_DOORBELL).ring();
      await sleep(20); // time to look at it
    }
    const ok = new Client(okChannel);
    const frames = new Int32Array(4);
    expect(ok.takeFrames(frames, 4)).toBe(4);
    for (const f of frames) expect(ok.send(f, 100, 0)).toBe(true);
    ok.flush();
    await waitFor('the good client to be served', async () => (await link.stats()).totals.sent === 4);
    expect((await link.stats()).badFrames).toBe(0);
  });
});
