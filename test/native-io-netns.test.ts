/**
 * Real packets through real kernel interfaces: the arbiter schedules with DRR and sends
 * through AF_XDP or AF_PACKET on a veth whose peer, in a sink namespace, receives them
 * as UDP. Exact counts, byte-exact payloads, per-class counts, and DRR's order at the sink.
 */
import { spawn } from 'node:child_process';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGenerators, type GeneratorFleet } from '../traffic/generators.js';
import { ArbiterHost } from '../src/arbiter/host.js';
import { workerUrl } from '../src/worker-url.js';
import { nativeAddon, tryNativeAddon } from '../src/transmit/native.js';
import { NativePort } from '../src/transmit/native-port.js';
import { FramePool } from '../src/shm/frame-pool.js';
import { createSinkTopology, type SinkTopology } from '../src/testbed/netns.js';
import { skipWithoutNet } from './helpers/netns.js';
import { pspat } from './helpers/cli.js';
import { writeTestFrame } from '../traffic/packet.js';

const skip = skipWithoutNet();
if (!skip && tryNativeAddon() === null && process.env.PSPAT_REQUIRE_NET === '1') {
  throw new Error('PSPAT_REQUIRE_NET=1 but the native addon is not built (npm run build:native)');
}

interface SinkResult {
  count: number;
  order: number[];
  frameBytes: number[];
  corrupt: number;
}

function startSink(ns: string, expected: number): Promise<{ result: Promise<SinkResult> }> {
  const script = fileURLToPath(workerUrl('./helpers/udp-sink.js', import.meta.url));
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, '9', String(expected), '1500']);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) {
        out = out.slice(6);
        resolve({
          result: new Promise((res, rej) => {
            child.once('exit', (code) => (code === 0 ? res(JSON.parse(out) as SinkResult) : rej(new Error(`sink exited ${code}`))));
          }),
        });
      }
    });
    child.stderr.on('data', (d: Buffer) => reject(new Error(`sink: ${d}`)));
    child.once('error', reject);
  });
}

describe.skipIf(skip || tryNativeAddon() === null)('native backends through a veth into a sink namespace', () => {
  let topo: SinkTopology;
  let host: ArbiterHost | undefined;
  let fleet: GeneratorFleet | undefined;
  beforeAll(() => {
    topo = createSinkTopology('io', true, 2);
  });
  afterEach(async () => {
    await fleet?.terminate();
    await host?.terminate();
    host = fleet = undefined;
  });
  afterAll(() => topo?.destroy());

  for (const [backend, txWorkers] of [
    ['afxdp', 0],
    ['afpacket', 0],
    ['afxdp', 1],
    ['afpacket', 1],
    ['afxdp', 2],
    ['afpacket', 2],
  ] as const) {
    it(`${backend}, ${txWorkers} transmit workers: every packet arrives once, intact, in DRR order (weights 1:3)`, async () => {
      const perClient = 1500;
      const total = 2 * perClient;
      const sink = await startSink(topo.ns, total);
      // Every packet gets its own frame, so all can queue at once and both classes stay
      // backlogged while the link drains them.
      host = await ArbiterHost.start({ poolFrames: total });
      const link = await host.addLink({
        rate: 40e6,
        backend,
        dev: topo.dev,
        xdpMode: 'copy',
        txWorkers,
        maxClasses: 2,
        classes: [
          { weight: 1, limitPackets: 5000 },
          { weight: 3, limitPackets: 5000 },
        ],
      });
      fleet = await startGenerators(
        link,
        2,
        (i) => ({
          classes: [0, 1],
          minSize: 100,
          maxSize: 1000,
          packets: perClient,
          seed: 20 + i,
          fillPayload: true,
        }),
        perClient,
      );
      // Both classes must be backlogged while the first half is sent: hold the arbiter while
      // the generators fill their mailboxes (up to 1024 each; both classes at random), so
      // the first half comes out of a backlog even if a loaded machine then starves the
      // generators (it did in a CI run here: a link draining packets as they come sends them in arrival order).
      await host.stall(300);
      await fleet.done;
      const [s] = await host.close({ drain: true, timeoutMs: 10_000 });
      host = undefined;
      const got = await sink.result;

      expect(s.totals).toEqual({ offered: total, sent: total, dropped: 0, queued: 0 });
      expect(got.count).toBe(total);
      expect(got.corrupt).toBe(0);
      for (const c of s.classes) expect(got.order.filter((cls) => cls === c.slot)).toHaveLength(c.sentPackets);
      // While both classes are backlogged (the first half of arrivals), class 1 gets 3×
      // class 0's bytes on the wire. Two workers send batches in parallel, so a batch
      // released before the half-way point may arrive after it — by a whole CFS time slice
      // when one worker is descheduled on a loaded machine (0.0998 seen in CI): a wider
      // tolerance, still far from the 0.25 an unweighted split would give.
      const half = got.order.slice(0, total / 2);
      const bytes = [0, 1].map((c) => half.reduce((a, cls, i) => a + (cls === c ? got.frameBytes[i] : 0), 0));
      expect(Math.abs(bytes[1] / (bytes[0] + bytes[1]) - 0.75)).toBeLessThan(txWorkers > 1 ? 0.15 : 0.03);
    });
  }

  // XDP_MAX_TX_SKB_BUDGET came in 6.17; older kernels send 32 a kick, as before.
  const [major, minor] = release().split('.').map(Number);
  it.skipIf(major * 1000 + minor < 6017)('in AF_XDP copy mode one kick sends a whole submit, not 32 frames of it', () => {
    const addon = nativeAddon();
    const frames = 256;
    const pool = new FramePool(FramePool.allocate(frames, 2048, (u8) => addon.pageOffset(u8)));
    const batch = Int32Array.from({ length: frames }, (_, f) => f);
    for (const f of batch) {
      writeTestFrame(pool.bytes, pool.offsetOf(f), 64, 0, 0, f);
      pool.len[f] = 64;
    }
    const port = new NativePort({ backend: 'afxdp', dev: topo.dev, queue: 0, xdpMode: 'copy' }, pool, frames);
    try {
      expect(port.submit(batch, frames)).toBe(frames);
      const done = new Int32Array(frames);
      const status = new Int32Array(frames);
      let reaped = 0;
      // Copy mode completes each frame inside the kick, so one reap finds them all; the
      // bound only keeps a regression from looping (each empty reap kicks again).
      for (let i = 0; i < 1000 && reaped < frames; i++) reaped += port.reap(done, status, frames);
      expect(reaped).toBe(frames);
      // The default budget needed 8 kicks, 7 of them refused with EAGAIN (counted as retries).
      expect(port.counters()).toEqual({ kicks: 1, retries: 0, ringFull: 0, faults: 0 });
    } finally {
      port.close();
    }
  });

  it('refuses an interface that does not exist, zero-copy on veth and a queue the device lacks, with clear messages', async () => {
    host = await ArbiterHost.start({ poolFrames: 64 });
    await expect(host.addLink({ backend: 'afxdp', dev: 'nonexistent0' })).rejects.toThrow("dev: interface 'nonexistent0' does not exist");
    await expect(host.addLink({ backend: 'afxdp', dev: topo.dev, xdpMode: 'zerocopy' })).rejects.toThrow(
      `afxdp on ${topo.dev}: the driver cannot do zero-copy (EOPNOTSUPP); use --xdp-mode auto or copy`,
    );
    // The topology has two queues: a third transmit worker has none to bind.
    await expect(host.addLink({ backend: 'afxdp', dev: topo.dev, xdpMode: 'copy', txWorkers: 3 })).rejects.toThrow(
      `afxdp on ${topo.dev}: queue 2 does not exist (${topo.dev} has 2 transmit queues; each transmit worker binds one: give fewer --tx-workers, a lower --queue, or add queues with ethtool -L)`,
    );
  });

  it('tells an unprivileged user what it needs, in one line, with exit status 1', async () => {
    const unprivileged = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'];
    for (const backend of ['afxdp', 'afpacket']) {
      const r = await pspat(['demo', '--backend', backend, '--dev', topo.dev, '--seconds', '0.2'], unprivileged);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`pspat: ${backend} on ${topo.dev}: permission denied (EPERM): needs CAP_NET_RAW and CAP_NET_ADMIN; run as root\n`);
    }
  });
});
