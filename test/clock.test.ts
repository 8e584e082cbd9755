import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { Clock, makeClock, newEpoch } from '../src/clock.js';
import { tryNativeAddon } from '../src/transmit/native.js';

/** hrtime's reading (ns since `epoch`) before and after `read`, and what `read` gave between them. */
function bracket(epoch: bigint, read: () => number): [before: number, got: number, after: number] {
  const before = Number(process.hrtime.bigint() - epoch);
  const got = read();
  const after = Number(process.hrtime.bigint() - epoch);
  return [before, got, after];
}

describe('the shared clock', () => {
  it('reads the monotonic clock behind process.hrtime: each reading lies between two hrtime readings around it', () => {
    const epoch = newEpoch();
    const clock = new Clock(epoch);
    for (let i = 0; i < 1000; i++) {
      const [before, got, after] = bracket(epoch, () => {
        clock.read();
        return clock.ns;
      });
      // The native clock reads CLOCK_MONOTONIC exactly; the fallback is calibrated to within its bracket (< 1 µs here).
      const slack = tryNativeAddon() === null ? 1000 : 0;
      expect(got).toBeGreaterThanOrEqual(before - slack);
      expect(got).toBeLessThanOrEqual(after + slack);
    }
  });

  it('never goes back, and two clocks with different epochs on one thread each count from their own', () => {
    const a = newEpoch();
    const b = a - 5_000_000_000n; // five seconds earlier
    const ca = makeClock(a);
    const cb = makeClock(b);
    let last = -Infinity;
    for (let i = 0; i < 10_000; i++) {
      const t = ca();
      expect(t).toBeGreaterThanOrEqual(last);
      last = t;
    }
    const ta = ca();
    const tb = cb();
    expect(tb - ta).toBeGreaterThanOrEqual(5e9);
    expect(tb - ta).toBeLessThan(5e9 + 1e6);
  });

  it("agrees across threads: a worker reading the same epoch lands between this thread's readings", async () => {
    const epoch = newEpoch();
    const now = makeClock(epoch);
    const before = now();
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.url).then(({ makeClock }) => parentPort.postMessage(makeClock(workerData.epoch)()));
    `;
    const url = new URL('../src/clock.ts', import.meta.url).href.replace('/src/clock.ts', '/dist/src/clock.js');
    const w = new Worker(code, { eval: true, workerData: { epoch, url } });
    const theirs = await new Promise<number>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    const after = now();
    await w.terminate();
    expect(theirs).toBeGreaterThanOrEqual(before);
    expect(theirs).toBeLessThanOrEqual(after);
  });
});
