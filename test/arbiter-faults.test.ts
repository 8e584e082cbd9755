/**
 * The arbiter thread dying (here: terminated, as a crash would end it) is loud, never a
 * hang: pending and later requests fail with the reason, the client threads still stop
 * when asked, and the daemon reports it as a reason to stop (its supervisor restarts it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { startGenerators, type GeneratorFleet } from '../traffic/generators.js';
import { ArbiterHost } from '../src/arbiter/host.js';
import { Daemon } from '../src/daemon/daemon.js';
import { endAfterEach, ended } from './helpers/teardown.js';

/** The arbiter's worker thread (private to the host: only a test kills it). */
const workerOf = (host: ArbiterHost) => (host as unknown as { worker: Worker }).worker;

describe('arbiter faults', () => {
  let host: ArbiterHost | undefined;
  let fleet: GeneratorFleet | undefined;
  endAfterEach();

  it('a dead arbiter fails pending and later requests with the reason; clients still stop', async () => {
    host = ended(await ArbiterHost.start({ poolFrames: 1024 }));
    const link = await host.addLink({ rate: 1e8, maxClasses: 2, classes: [{ weight: 1 }, { weight: 2 }] });
    fleet = ended(await startGenerators(link, 2, (i) => ({ classes: [0, 1], minSize: 64, maxSize: 1500, packets: Infinity, seed: i }), 512));
    await sleep(200);

    const pending = link.stats();
    const died = host.died;
    await workerOf(host).terminate();
    await expect(pending).rejects.toThrow('arbiter worker exited with code 1');
    expect((await died).message).toBe('arbiter worker exited with code 1');
    await expect(link.stats()).rejects.toThrow('arbiter worker exited with code 1');
    await expect(host.addLink({ rate: 1e6 })).rejects.toThrow('arbiter worker exited with code 1');

    // The generators block on a full mailbox nobody drains; asked to stop, they return what they hold.
    const started = Date.now();
    const results = await fleet.stop();
    fleet = undefined;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(results).toHaveLength(2);
  });

  it('the daemon takes an arbiter death as a reason to stop, and still stops the others cleanly', async () => {
    const d = await Daemon.start({ poolFrames: 2048, arbiters: 2 });
    const arbiters = (d as unknown as { arbiters: ArbiterHost[] }).arbiters;
    await workerOf(arbiters[1]).terminate();
    await expect(d.fatal).resolves.toBe('arbiter 1: arbiter worker exited with code 1');
    await expect(d.close()).resolves.toEqual([]);
  });
});
