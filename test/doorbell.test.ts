/**
 * The doorbell's contract with a ring's producer: a consumer armed for `want` entries is
 * rung by the submit that brings the ring to `want`, not before (a client parked for a
 * batch of free frames is woken once per batch, not on every pass of the arbiter), and
 * one armed for a single entry by any submit. Rings are counted in the doorbell's word,
 * so the single-thread checks read it; the last check parks a real thread.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Doorbell } from '../src/shm/doorbell.js';
import { SpscRing } from '../src/shm/spsc-ring.js';
import { futexAddon, WAIT_SOURCE } from './helpers/futex-worker.js';

/** The ring count word of a ring's own doorbell (spsc-ring.ts layout: doorbell at byte 128, count second). */
const ringCount = (ring: SpscRing): number => Atomics.load(new Int32Array(ring.buffer), 128 / 4 + 1);

describe('doorbell armed for a batch', () => {
  it('rings on the submit that reaches what the consumer wants, once, and not while it is not parking', () => {
    const ring = new SpscRing(SpscRing.allocate(64));
    const one = Int32Array.of(7);
    ring.push(one, 0, 1); // nobody parked: no ring
    expect(ringCount(ring)).toBe(0);
    ring.pop(new Int32Array(1), 0, 1);

    ring.doorbell.arm(4);
    for (let i = 0; i < 3; i++) ring.push(one, 0, 1);
    expect(ringCount(ring)).toBe(0); // 3 of 4
    ring.push(one, 0, 1);
    expect(ringCount(ring)).toBe(1); // the fourth rings
    ring.doorbell.disarm();
    ring.push(one, 0, 1);
    expect(ringCount(ring)).toBe(1);
  });

  it('counts what the consumer has not taken: entries it read before parking do not count toward its batch', () => {
    const ring = new SpscRing(SpscRing.allocate(64));
    ring.push(
      Int32Array.from({ length: 10 }, (_, i) => i),
      0,
      10,
    );
    ring.pop(new Int32Array(10), 0, 10);
    ring.doorbell.arm(3);
    ring.push(Int32Array.of(1, 2), 0, 2);
    expect(ringCount(ring)).toBe(0);
    ring.push(Int32Array.of(3), 0, 1);
    expect(ringCount(ring)).toBe(1);
  });

  it('armed for one entry (the default), rings on the first submit while parked, and not again until armed again', () => {
    const ring = new SpscRing(SpscRing.allocate(8));
    ring.doorbell.arm();
    ring.push(Int32Array.of(1), 0, 1);
    ring.push(Int32Array.of(2), 0, 1); // rung already: no second system call
    expect(ringCount(ring)).toBe(1);
    ring.doorbell.arm();
    ring.push(Int32Array.of(3), 0, 1);
    expect(ringCount(ring)).toBe(2);
  });

  it('wakes a thread parked for a batch once the batch is there', async () => {
    const buffer = SpscRing.allocate(64);
    const ring = new SpscRing(buffer);
    // The consumer parks for 8 entries, up to 20 s (a wait may end early: it waits again
    // until rung), and reports whether it was rung and what it found on waking.
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       ${WAIT_SOURCE}
       const ctl = new Int32Array(workerData.buffer);
       const token = Atomics.load(ctl, 33);
       Atomics.store(ctl, 32, 8);
       parentPort.postMessage('armed');
       const until = Date.now() + 20000;
       while (Atomics.load(ctl, 33) === token && Date.now() < until) wait(ctl, 33, token, until - Date.now());
       const woke = Atomics.load(ctl, 33) !== token ? 'rung' : 'timed out';
       parentPort.postMessage([woke, (Atomics.load(ctl, 0) - Atomics.load(ctl, 16)) | 0]);`,
      { eval: true, workerData: { buffer, addon: futexAddon() } },
    );
    const messages: unknown[] = [];
    const next = () => new Promise((resolve) => worker.once('message', resolve));
    messages.push(await next());
    const reply = next();
    for (let i = 0; i < 8; i++) ring.push(Int32Array.of(i), 0, 1);
    messages.push(await reply);
    await worker.terminate();
    // Rung, not timed out, with all 8 there; the count says the first 7 submits did not ring.
    const [woke, ready] = messages[1] as [string, number];
    expect(woke).toBe('rung');
    expect(ready).toBe(8);
    expect(ringCount(ring)).toBe(1);
  });
});

describe('doorbell with wake times', () => {
  it('measures from the first stamped ring since the consumer armed, not a later one, and not a stale one', () => {
    const words = new Int32Array(new SharedArrayBuffer(4 * 32));
    let t = 1000;
    const clock = (): number => t;
    const consumer = new Doorbell(words, 16, clock);
    const producer = new Doorbell(words, 16, clock);
    const unstamped = new Doorbell(words, 16); // the host: rings for commands, no clock

    consumer.arm();
    t = 1500;
    producer.ring(); // the first ring since arming
    t = 1900;
    producer.ring(); // rung already: does not move it later
    expect(consumer.wakeLatency(2000)).toBe(500);

    consumer.disarm();
    t = 3000;
    consumer.arm();
    t = 3100;
    unstamped.ring(); // woken by a ring that carries no time: nothing to measure
    expect(consumer.wakeLatency(3200)).toBe(-1); // and the ring before arming is stale
    consumer.disarm();
    t = 3250;
    consumer.arm();
    t = 3300;
    producer.ring();
    expect(consumer.wakeLatency(3400)).toBe(100);
  });
});
