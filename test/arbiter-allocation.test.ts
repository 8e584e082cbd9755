/**
 * The arbiter's hot path allocates nothing, so its isolate does not collect garbage while
 * packets flow: a scavenge stops the one serial stage of the data path (up to 9 ms each,
 * measured, when it allocated a heap number per pass and per packet). Counted by the
 * arbiter worker itself (LOOP_WINDOW_GCS, written when its loop ends) in a window opened
 * after a warm-up, so start-up's collections (loading modules, compiling) stay out.
 *
 * 4096 classes fed from 2048 frames: most classes hold a packet or none, so they keep
 * emptying and filling again. That is the path a saturated class table misses (QFQ's
 * activate, with its rarely taken branches, allocated there: 7–24 collections a run).
 * Every scheduler kind runs (prio with its 32 bands): htb and fq_codel passed their clock
 * to methods as an argument, a heap number per call, and collected 23–25 times a run.
 */
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ArbiterHost } from '../src/arbiter/host.js';
import { PRIO_BANDS } from '../schedulers/prio.js';
import { schedulerKinds } from '../schedulers/registry.js';
import { slotsFor, weightedClasses } from '../schedulers/weighted-classes.js';
import { workerUrl } from '../src/worker-url.js';
import { endAfterEach, ended } from './helpers/teardown.js';

/** Enough for a heap number per packet (16 B) to fill the young generation many times over. */
const PACKETS = 6e6;
/** Sent before the window opens: the JIT has settled by then (it takes well under 1 M). */
const WARMUP_PACKETS = 2e6;

endAfterEach();

describe('the arbiter allocates nothing per pass or per packet', () => {
  it.each(schedulerKinds().map((k) => k.kind))(
    '%s: six million packets after a warm-up, and at most two collections among them',
    async (scheduler) => {
      const clients = 2;
      const frames = 1024;
      const host = ended(await ArbiterHost.start({ poolFrames: clients * frames }));
      const classes = scheduler === 'prio' ? PRIO_BANDS : 4096;
      const link = await host.addLink({
        rate: 1e12,
        scheduler,
        backend: 'null',
        maxClasses: slotsFor(scheduler, classes),
        schedulerParams: scheduler === 'fifo' ? { limitPackets: clients * frames } : {},
        classes: weightedClasses(scheduler, new Array<number>(classes).fill(1), 1e12, { limitPackets: clients * frames }),
      });
      const channels = [];
      for (let i = 0; i < clients; i++) channels.push(await link.connectClient({ frames }));
      const feeder = ended(new Worker(workerUrl('../traffic/feeder-worker.js', import.meta.url), { workerData: { channels, spec: { classes, size: 64 } } }));
      const fed = new Promise<void>((resolve, reject) => {
        feeder.once('message', () => resolve());
        feeder.once('error', reject);
      });
      // Long enough for them on a loaded 2-CPU machine; quiet, the arbiter takes about two seconds.
      // Read lock-free: a stats request would make the arbiter allocate its reply.
      const sent = () => {
        let packets = 0;
        for (let c = 0; c < classes; c++) packets += link.liveSent(c).packets;
        return packets;
      };
      for (let waited = 0; sent() < WARMUP_PACKETS && waited < 20_000; waited += 50) await sleep(50);
      const before = sent();
      host.loop.markWindow(false);
      for (let waited = 0; sent() - before < PACKETS && waited < 30_000; waited += 100) await sleep(100);
      const measured = sent() - before;
      host.loop.markWindow(true);
      link.stopClients();
      await fed;
      const [stats] = await host.close({ drain: false });
      const loop = host.loop.read();
      expect(measured).toBeGreaterThanOrEqual(PACKETS);
      expect(stats.totals.sent).toBeGreaterThanOrEqual(before + PACKETS);
      // A heap number per packet made 13–25 here (QFQ before its stamps stopped wrapping,
      // htb and fq_codel before their clock became a field). One or two collections show
      // up now and then, in any scheduler (FIFO too), more often on a loaded machine, where
      // the window lasts longer: not per packet (htb: one in 30 M packets, quiet). Where
      // they come from is not pinned down (a collection start-up left under way, or the
      // loop's control path), so two are let through.
      expect(loop.windowGcs).toBeLessThanOrEqual(2);
    },
    60_000,
  );
});
