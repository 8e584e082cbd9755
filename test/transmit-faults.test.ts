/**
 * Transmit faults on a real device (a veth into a sink namespace): the device going down
 * holds the link's queues, fails what the port held (counted txError), and transmission
 * resumes by itself once it is back; a deleted device faults for good (ENODEV) and a stop
 * drops what is left as `shutdown`; transient refusals (ENOBUFS from a full qdisc) are
 * retried without loss, but only up to the stall bound. Every packet is accounted for:
 * `offered = sent + dropped + queued` exactly, and what pspat counts as sent is exactly
 * what the sink's device received.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startGenerators, type GeneratorFleet } from '../traffic/generators.js';
import { ArbiterHost, type LinkHandle } from '../src/arbiter/host.js';
import { createSinkTopology, sinkPackets, type SinkTopology } from '../src/testbed/netns.js';
import { FramePool } from '../src/shm/frame-pool.js';
import type { LinkStats } from '../src/stats/link-stats.js';
import { NativePort, STALL_MS } from '../src/transmit/native-port.js';
import type { TxPort } from '../src/transmit/port.js';
import { TxWorkerPort } from '../src/transmit/tx-worker-port.js';
import { UNPLACED } from '../src/placement.js';
import { nativeAddon, tryNativeAddon } from '../src/transmit/native.js';
import { ENETDOWN, ENODEV, errnoName, ETIMEDOUT } from '../src/errno.js';
import { pspat } from './helpers/cli.js';
import { startDaemon, stopDaemonAndTopology, type RunningDaemon } from './helpers/daemon.js';
import { skipWithoutNet } from './helpers/netns.js';
import { waitFor } from './helpers/wait.js';

const skip = skipWithoutNet() || tryNativeAddon() === null;
const FRAMES = 256;

function sum(s: LinkStats, f: (c: LinkStats['classes'][number]) => number): number {
  return s.classes.reduce((a, c) => a + f(c), 0);
}

/** Reaps until `count` frames are back or `ms` passed; their statuses. */
async function reapAll(p: TxPort, count: number, ms: number): Promise<number[]> {
  const done = new Int32Array(count);
  const status = new Int32Array(count);
  const statuses: number[] = [];
  const end = Date.now() + ms;
  while (statuses.length < count && Date.now() < end) {
    const n = p.reap(done, status, count);
    for (let i = 0; i < n; i++) statuses.push(status[i]);
    if (n === 0) await new Promise((r) => setImmediate(r));
  }
  return statuses;
}

/** A worker whose port is faulted with `errno`: it reports so, and 4 frames handed to it come back failed with it. */
async function expectFailingWorker(worker: TxWorkerPort, errno: string): Promise<void> {
  await waitFor('the worker to report its port faulted', () => worker.fault !== 0, 3000);
  expect(errnoName(worker.fault)).toBe(errno);
  expect(worker.submit(Int32Array.from([0, 1, 2, 3]), 4)).toBe(4);
  expect(await reapAll(worker, 4, 3000)).toEqual(new Array(4).fill(worker.fault));
  expect(worker.inFlight).toBe(0);
}

function expectConservation(s: LinkStats): void {
  expect(s.totals.offered).toBe(s.totals.sent + s.totals.dropped + s.totals.queued);
}

describe.skipIf(skip)('transmit faults on a real device', () => {
  let topo: SinkTopology | undefined;
  let host: ArbiterHost | undefined;
  let fleet: GeneratorFleet | undefined;
  afterEach(async () => {
    await fleet?.terminate();
    await host?.terminate();
    topo?.destroy();
    host = fleet = topo = undefined;
  });

  /** One class at 20 Mbit/s with `size` B packets from a saturating generator: the queue stays at its limit. */
  async function start(backend: 'afxdp' | 'afpacket', txWorkers: number, size = 1000): Promise<{ t: SinkTopology; link: LinkHandle; base: number }> {
    const t = createSinkTopology('tf');
    topo = t;
    await sleep(100);
    const base = sinkPackets(t);
    host = await ArbiterHost.start({ poolFrames: FRAMES });
    const link = await host.addLink({
      rate: 20e6,
      backend,
      dev: t.dev,
      xdpMode: 'copy',
      txWorkers,
      maxClasses: 1,
      classes: [{ weight: 1, limitPackets: 100 }],
    });
    fleet = await startGenerators(link, 1, () => ({ classes: [0], minSize: size, maxSize: size, packets: Infinity, seed: 7 }), FRAMES);
    return { t, link, base };
  }

  async function stop(link: LinkHandle, timeoutMs: number): Promise<{ final: LinkStats; held: number }> {
    const results = await fleet!.stop();
    fleet = undefined;
    const [final] = await host!.close({ drain: true, timeoutMs });
    host = undefined;
    // Every frame is back: on the free ring, or in the stopped generator's hands.
    expect(link.freeFrames() + results.reduce((a, r) => a + r.held, 0)).toBe(FRAMES);
    return { final, held: results.reduce((a, r) => a + r.held, 0) };
  }

  for (const [backend, txWorkers] of [
    ['afxdp', 0],
    ['afpacket', 0],
    ['afpacket', 1],
  ] as const) {
    it(`${backend}, ${txWorkers} transmit workers: down holds the queue and sends nothing; back up, it resumes by itself; counts exact`, async () => {
      const { t, link, base } = await start(backend, txWorkers);
      await sleep(300);
      expect(sinkPackets(t) - base).toBeGreaterThan(300); // flowing: 2500 packets/s

      execFileSync('ip', ['link', 'set', t.dev, 'down']);
      await waitFor('the port to fault', () => link.portFault() === ENETDOWN, 2000);
      const atDown = sinkPackets(t);
      await sleep(500);
      const down = await link.stats();
      expect(down.port.fault).toBe('ENETDOWN');
      expect(sinkPackets(t)).toBe(atDown); // nothing left while down
      expect(down.classes[0].backlogPackets).toBe(100); // the queue holds, at its limit
      expect(down.classes[0].drops.queueLimit).toBeGreaterThan(0);

      execFileSync('ip', ['link', 'set', t.dev, 'up']);
      await waitFor('the port to recover', () => link.portFault() === 0, 3000);
      await sleep(400);
      expect(sinkPackets(t) - atDown).toBeGreaterThan(500); // 100 held + 0.4 s at 2500/s

      const { final } = await stop(link, 3000);
      expectConservation(final);
      expect(final.totals.queued).toBe(0);
      expect(final.port.faults).toBe(1);
      expect(final.port.fault).toBeNull();
      // Frames the port held when the device went down failed, each counted once.
      expect(sum(final, (c) => c.drops.txError)).toBe(final.port.txErrors);
      expect(final.port.txErrors).toBeLessThanOrEqual(FRAMES);
      // What pspat counts as sent is exactly what reached the sink's device.
      expect(final.totals.sent).toBe(sinkPackets(t) - base);
    });
  }

  for (const backend of ['afxdp', 'afpacket'] as const) {
    it(`${backend}: the far end going down (no carrier) faults the port instead of losing frames as sent; back up, it resumes; counts exact`, async () => {
      const { t, link, base } = await start(backend, 0);
      await sleep(300);
      execFileSync('ip', ['-n', t.ns, 'link', 'set', t.peer, 'down']);
      // AF_XDP: the device drops the frame it is handed and the kick says EBUSY; AF_PACKET:
      // the kernel keeps the frame and says ENOBUFS, and the waiting port sees the device
      // is not running. Either way a fault well before the 2 s stall bound.
      await waitFor('the port to fault', () => link.portFault() !== 0, 1000);
      const atFault = sinkPackets(t);
      await sleep(300);
      expect(sinkPackets(t)).toBe(atFault);
      const down = await link.stats();
      expect(down.port.fault).toBe('ENETDOWN');
      expect(down.classes[0].backlogPackets).toBe(100); // held, not dropped at link rate

      execFileSync('ip', ['-n', t.ns, 'link', 'set', t.peer, 'up']);
      await waitFor('the port to recover', () => link.portFault() === 0, 3000);
      await sleep(400);
      expect(sinkPackets(t) - atFault).toBeGreaterThan(500);

      const { final } = await stop(link, 3000);
      expectConservation(final);
      expect(final.totals.queued).toBe(0);
      expect(sum(final, (c) => c.drops.txError)).toBe(final.port.txErrors);
      // A frame the device dropped is never counted as sent.
      expect(final.totals.sent).toBe(sinkPackets(t) - base);
    });

    it(`${backend}: a lowered MTU is seen within a second: longer frames are refused as bad frames, not sent; raised again, they flow`, async () => {
      // 1400 B frames and an MTU of 1300: below 1280 the kernel would drop and later
      // re-create the device's IPv6 state, which then sends its own packets to the sink.
      const { t, link, base } = await start(backend, 0, 1400);
      await sleep(200);
      execFileSync('ip', ['link', 'set', t.dev, 'mtu', '1300']);
      await waitFor('frames refused for the new MTU', async () => (await link.stats()).classes[0].drops.badFrame > 0, 2000);
      const atRefusal = sinkPackets(t);
      await sleep(300);
      expect(sinkPackets(t)).toBe(atRefusal);
      execFileSync('ip', ['link', 'set', t.dev, 'mtu', '1500']);
      await waitFor('frames to flow again', () => sinkPackets(t) > atRefusal + 100, 2000);
      const { final } = await stop(link, 3000);
      expectConservation(final);
      expect(final.port.fault).toBeNull();
      // Until pspat looked, a too-long frame still went to the port: a veth sends it anyway
      // (AF_XDP: exact), AF_PACKET's kernel skips it unseen and it counts as sent (at most
      // a second's worth: RELIABILITY.md).
      if (backend === 'afxdp') expect(final.totals.sent).toBe(sinkPackets(t) - base);
      // AF_PACKET: what went missing that way is bounded by the frames the link counted as
      // suspect — released over the new MTU before it saw the change.
      const unseen = final.totals.sent - (sinkPackets(t) - base);
      if (backend === 'afpacket') expect(final.port.mtuSuspect).toBeGreaterThanOrEqual(Math.max(1, unseen));
      else expect(final.port.mtuSuspect).toBe(0);
    });

    it(`${backend}: a deleted device faults for good (ENODEV); the stop drops what is queued as shutdown; nothing lost`, async () => {
      const { t, link } = await start(backend, 0);
      await sleep(300);
      execFileSync('ip', ['link', 'del', t.dev]);
      await waitFor('the port to report the device gone', () => link.portFault() === ENODEV, 2000);
      await sleep(300); // stays gone: no reopen is attempted on a vanished index
      expect(link.portFault()).toBe(ENODEV);
      const { final } = await stop(link, 200);
      expectConservation(final);
      expect(final.port.fault).toBe('ENODEV');
      expect(final.totals.queued).toBe(0);
      expect(sum(final, (c) => c.drops.shutdown)).toBeGreaterThanOrEqual(100);
    });
  }

  describe('AF_PACKET through a qdisc that refuses (ENOBUFS)', () => {
    const addon = skip ? null : nativeAddon();
    function port(t: SinkTopology, count: number): { port: NativePort; batch: Int32Array } {
      const pool = new FramePool(FramePool.allocate(count, 2048, (u) => addon!.pageOffset(u)));
      for (let f = 0; f < count; f++) {
        pool.len[f] = 1000;
        pool.bytes.fill(0, pool.offsetOf(f), pool.offsetOf(f) + 1000);
        pool.bytes.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5], pool.offsetOf(f)); // local experimental ethertype
      }
      // Through the device's qdisc (no bypass): the tbf below refuses when its queue is full.
      const p = new NativePort({ backend: 'afpacket', dev: t.dev, queue: 0, xdpMode: 'copy', qdiscBypass: false }, pool, count);
      return { port: p, batch: Int32Array.from({ length: count }, (_, i) => i) };
    }

    it('refusals are retried until the device takes every frame: none lost, retries counted', async () => {
      const t = createSinkTopology('tfb');
      topo = t;
      // 1 Mbit/s with room for 4 packets: most of the 32 are refused at first, then drain at 125/s.
      execFileSync('tc', ['qdisc', 'add', 'dev', t.dev, 'root', 'tbf', 'rate', '1mbit', 'burst', '1600', 'limit', '4000']);
      await sleep(100);
      const base = sinkPackets(t);
      const { port: p, batch } = port(t, 32);
      expect(p.submit(batch, 32)).toBe(32);
      const statuses = await reapAll(p, 32, 3000);
      expect(statuses).toEqual(new Array(32).fill(0));
      expect(p.fault).toBe(0);
      expect(p.counters().retries).toBeGreaterThan(0);
      await sleep(100);
      expect(sinkPackets(t) - base).toBe(32);
      p.close();
    });

    it(`retries are bounded: a device that takes nothing for ${STALL_MS} ms faults the port (ETIMEDOUT); the waiting frames fail; then it reopens`, async () => {
      const t = createSinkTopology('tfs');
      topo = t;
      // 8 bit/s: after the first packet, nothing moves for minutes.
      execFileSync('tc', ['qdisc', 'add', 'dev', t.dev, 'root', 'tbf', 'rate', '8bit', 'burst', '1600', 'limit', '1600']);
      await sleep(100);
      const { port: p, batch } = port(t, 16);
      const started = Date.now();
      expect(p.submit(batch, 16)).toBe(16);
      const statuses = await reapAll(p, 16, STALL_MS + 3000);
      expect(statuses).toHaveLength(16);
      expect(Date.now() - started).toBeGreaterThanOrEqual(STALL_MS);
      const failed = statuses.filter((s) => s === ETIMEDOUT).length;
      expect(failed).toBeGreaterThanOrEqual(14); // the tbf took one or two
      expect(failed + statuses.filter((s) => s === 0).length).toBe(16);
      expect(p.counters().faults).toBe(1);
      // The device is up: the port reopens on a later reap and takes frames again.
      const done = new Int32Array(16);
      await waitFor(
        'the port to reopen',
        () => {
          p.reap(done, new Int32Array(16), 16);
          return p.fault === 0;
        },
        1000,
      );
      p.close();
    });
  });

  it('a transmit worker whose port cannot open (its AF_XDP queue taken) reports the fault, fails what it is handed, and transmits once the queue is free', async () => {
    const t = createSinkTopology('tfw');
    topo = t;
    const addon = nativeAddon();
    const pool = new FramePool(FramePool.allocate(16, 2048, (u) => addon.pageOffset(u)));
    for (let f = 0; f < 16; f++) {
      pool.len[f] = 60;
      pool.bytes.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x88, 0xb5], pool.offsetOf(f)); // local experimental ethertype
    }
    const o = { backend: 'afxdp', dev: t.dev, queue: 0, xdpMode: 'copy' } as const;
    const holder = new NativePort(o, pool, 16);
    const worker = new TxWorkerPort(o, pool, 16, UNPLACED);
    try {
      await expectFailingWorker(worker, 'EBUSY');
      holder.close();
      await waitFor('the worker to open its port', () => worker.fault === 0, 3000);
      const base = sinkPackets(t);
      expect(worker.submit(Int32Array.from([4, 5, 6, 7]), 4)).toBe(4);
      expect(await reapAll(worker, 4, 3000)).toEqual([0, 0, 0, 0]);
      await waitFor('the sink to count them', () => sinkPackets(t) - base === 4, 2000);
    } finally {
      holder.close();
      worker.close();
    }
  });

  // The arbiter's event loop never turns while it runs, so it would never hear of a dead
  // worker's `error` event: the worker itself must fault the port and hand every frame back.
  it('a transmit worker that cannot place itself (CPU 4095) faults its port with EPIPE and hands back every frame it is given, failed', async () => {
    const t = createSinkTopology('tfd');
    topo = t;
    const addon = nativeAddon();
    const pool = new FramePool(FramePool.allocate(16, 2048, (u) => addon.pageOffset(u)));
    const base = sinkPackets(t);
    const worker = new TxWorkerPort({ backend: 'afpacket', dev: t.dev, queue: 0, xdpMode: 'copy' }, pool, 16, { cpus: [4095], priority: 0 });
    try {
      await expectFailingWorker(worker, 'EPIPE');
      expect(worker.counters().faults).toBe(1);
      expect(sinkPackets(t) - base).toBe(0);
    } finally {
      worker.close();
    }
  });
});

describe.skipIf(skip)('pspat daemon when its device goes down, comes back, and is deleted', () => {
  let topo: SinkTopology | undefined;
  let d: RunningDaemon | undefined;
  afterEach(async () => {
    await stopDaemonAndTopology(d, topo);
    d = topo = undefined;
  });

  it('says so each time; once the device is deleted it stops with exit 1 and a line saying why, giving the attachment back', async () => {
    const t = createSinkTopology('tfd');
    topo = t;
    d = await startDaemon(['--backend', 'afpacket', '--rate', `${t.dev}=50mbit`, '--test-traffic', `${t.dev}=5001/1000`]);
    process.env.PSPAT_RUN_DIR = d.runDir;
    const tc = (...args: string[]) => pspat(['tc', ...args]);
    expect((await tc('qdisc', 'add', 'dev', t.dev, 'root', 'handle', '1:', 'htb', 'default', '10')).code).toBe(0);
    expect((await tc('class', 'add', 'dev', t.dev, 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '20mbit')).code).toBe(0);
    const statePath = join(d.runDir, 'attach', `${t.dev}.json`);
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as { capture: string };
    await sleep(300);

    execFileSync('ip', ['link', 'set', t.dev, 'down']);
    await waitFor('the down line', () => d!.log().includes(`${t.dev}: cannot transmit (ENETDOWN): its queues hold until the device is back`), 3000);
    execFileSync('ip', ['link', 'set', t.dev, 'up']);
    await waitFor('the back line', () => d!.log().includes(`${t.dev}: transmitting again`), 3000);
    const flowing = sinkPackets(t);
    await sleep(300);
    expect(sinkPackets(t) - flowing).toBeGreaterThan(300); // 20 Mbit/s of 1000 B: 2500/s
    // It still takes commands after the outage.
    expect((await tc('class', 'change', 'dev', t.dev, 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '10mbit')).code).toBe(0);

    execFileSync('ip', ['link', 'del', t.dev]);
    expect(await d.exited).toBe(1);
    const log = d.log();
    expect(log).toContain(`pspat daemon: ${t.dev}: the device is gone (deleted): stopping`);
    expect(log).toMatch(
      new RegExp(`${t.dev}: the device is gone \\(deleted\\): stopped; 1 link: offered (\\d+) = sent (\\d+) \\+ dropped (\\d+) \\+ still queued 0`),
    );
    const [, offered, sent, dropped] = log.match(/offered (\d+) = sent (\d+) \+ dropped (\d+)/)!.map(Number);
    expect(offered).toBe(sent + dropped);
    // Given back: no capture pair, no state file.
    expect(existsSync(statePath)).toBe(false);
    expect(() => execFileSync('ip', ['link', 'show', state.capture], { stdio: 'ignore' })).toThrow();
  });
});
