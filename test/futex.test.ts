/**
 * Both ways of parking a thread on a shared word (src/shm/futex.ts) keep the contract
 * doorbells rely on: a wait on a word that no longer holds the expected value returns at
 * once, a waiting thread is woken by `wake`, and a timed wait ends by itself. The native
 * one (the kernel's futex, without V8's process-wide lock) is what doorbells use where
 * the addon is built, and CI builds it.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { atomicsFutex, futex, nativeFutex, type Futex } from '../src/shm/futex.js';
import { nativeBuildFile } from '../src/transmit/native.js';
import { WAIT_SOURCE } from './helpers/futex-worker.js';

const native = nativeFutex();

describe('futex', () => {
  it('doorbells use the native futex when the addon is built', () => {
    expect(futex === atomicsFutex).toBe(native === null);
    if (process.env.PSPAT_REQUIRE_NET) expect(native).not.toBeNull();
  });

  for (const [name, impl, addon] of [
    ['Atomics', atomicsFutex, null],
    ['native', native, nativeBuildFile('pspat_native.node')],
  ] as [string, Futex | null, string | null][]) {
    describe.skipIf(impl === null)(name, () => {
      it('returns at once when the word has moved on, and ends a timed wait by itself', () => {
        const words = new Int32Array(new SharedArrayBuffer(8));
        words[1] = 5;
        let t = performance.now();
        impl!.wait(words, 1, 4, 10_000);
        expect(performance.now() - t).toBeLessThan(1000); // not the 10 s asked for: 5 is not 4
        t = performance.now();
        impl!.wait(words, 1, 5, 20);
        expect(performance.now() - t).toBeGreaterThanOrEqual(19); // nobody wakes it: the timeout
      });

      it('wakes a thread parked on the word', async () => {
        const words = new Int32Array(new SharedArrayBuffer(8));
        // The worker parks, with this kind, until word 1 moves from 0 (each wait may end early:
        // it looks again), then says what it found.
        const worker = new Worker(
          `const { workerData, parentPort } = require('node:worker_threads');
           ${WAIT_SOURCE}
           const words = new Int32Array(workerData.buffer);
           parentPort.postMessage('parking');
           const until = Date.now() + 20000;
           while (Atomics.load(words, 1) === 0 && Date.now() < until) wait(words, 1, 0, until - Date.now());
           parentPort.postMessage(Atomics.load(words, 1));`,
          { eval: true, workerData: { buffer: words.buffer, addon } },
        );
        const next = () => new Promise((resolve) => worker.once('message', resolve));
        expect(await next()).toBe('parking');
        const reply = next();
        await new Promise((r) => setTimeout(r, 50)); // most likely asleep by now; either way it must see the change
        Atomics.store(words, 1, 1);
        impl!.wake(words, 1);
        expect(await reply).toBe(1);
        await worker.terminate();
      });
    });
  }
});
