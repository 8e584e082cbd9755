/**
 * The arbiter's hot path allocates nothing, so its isolate does not collect garbage while
 * packets flow: a scavenge stops the one serial stage of the data path (up to 9 ms each,
 * measured, when it allocated a heap number per pass and per packet). Counted by the
 * arbiter worker itself (LOOP_GCS, written when its loop ends).
 */
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ArbiterHost } from '../src/arbiter/host.js';
import { workerUrl } from '../src/worker-url.js';
import { endAfterEach, ended } from './helpers/teardown.js';

/** Enough for a heap number per packet (16 B) to fill the young generation many times over. */
const PACKETS = 6e6;

endAfterEach();

describe('the arbiter allocates nothing per pass or per packet', () => {
  it.each(['drr', 'fifo'])(
    '%s: six million packets, and no more collections than start-up makes',
    async (scheduler) => {
      const clients = 2;
      const frames = 1024;
      const host = ended(await ArbiterHost.start({ poolFrames: clients * frames }));
      const classes = 64;
      const link = await host.addLink({
        rate: 1e12,
        scheduler,
        backend: 'null',
        maxClasses: classes,
        schedulerParams: scheduler === 'fifo' ? { limitPackets: clients * frames } : {},
        classes: Array.from({ length: classes }, () => ({ weight: 1, limitPackets: clients * frames })),
      });
      const channels = [];
      for (let i = 0; i < clients; i++) channels.push(await link.connectClient({ frames }));
      const feeder = ended(new Worker(workerUrl('../traffic/feeder-worker.js', import.meta.url), { workerData: { channels, spec: { classes, size: 64 } } }));
      const fed = new Promise<void>((resolve, reject) => {
        feeder.once('message', () => resolve());
        feeder.once('error', reject);
      });
      // Long enough for them on a loaded 2-CPU machine; quiet, the arbiter takes about a second.
      for (let waited = 0; (await link.stats()).totals.sent < PACKETS && waited < 20_000; waited += 100) await sleep(100);
      link.stopClients();
      await fed;
      const [stats] = await host.close({ drain: false });
      const loop = host.loop.read();
      expect(stats.totals.sent).toBeGreaterThanOrEqual(PACKETS);
      // Start-up (loading modules, compiling the loop) collects 2–5 times here (5 once in CI);
      // a small object made per packet (a heap number and its holder) made 80 in this run.
      expect(loop.gcs).toBeLessThanOrEqual(8);
    },
    30_000,
  );
});
