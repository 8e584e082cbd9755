/**
 * The benchmarks' one-way delay sink on the far end of a veth: the XDP program (stamps on
 * arrival, records, drops) and the AF_PACKET socket it falls back to record every stamped
 * test frame once, with its class, a delay between the sender's stamp and the moment the
 * test read it, and count every frame that reached them. The XDP sink leaves the device as
 * it found it when closed.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGenerators, type GeneratorFleet } from '../traffic/generators.js';
import { ArbiterHost } from '../src/arbiter/host.js';
import { StampSink } from '../src/bench/stamp-sink.js';
import { createSinkTopology, type SinkTopology } from '../src/testbed/netns.js';
import { tryNativeAddon } from '../src/transmit/native.js';
import { skipWithoutNet } from './helpers/netns.js';

const skip = skipWithoutNet() || tryNativeAddon() === null;

/** What `ip` says is attached to the far end: its XDP program id, or none. */
function xdpOn(topo: SinkTopology): string {
  const link = JSON.parse(execFileSync('ip', ['-n', topo.ns, '-j', 'link', 'show', topo.peer], { encoding: 'utf8' }))[0];
  return link.xdp ? `prog ${link.xdp.prog?.id ?? link.xdp.attached?.[0]?.prog?.id}` : 'none';
}

describe.skipIf(skip)('the stamp sink', () => {
  let topo: SinkTopology;
  let host: ArbiterHost | undefined;
  let fleet: GeneratorFleet | undefined;
  let sink: StampSink | undefined;
  beforeAll(() => {
    topo = createSinkTopology('sink', false);
  });
  afterEach(async () => {
    sink?.close();
    await fleet?.terminate();
    await host?.terminate();
    sink = host = fleet = undefined;
  });
  afterAll(() => topo?.destroy());

  for (const xdp of [true, false]) {
    it(`${xdp ? 'XDP' : 'AF_PACKET'}: every stamped frame once, its class, a delay within the test's own span`, async () => {
      const packets = 2000;
      host = await ArbiterHost.start({ poolFrames: 1024 });
      const link = await host.addLink({
        rate: 1e9,
        backend: 'afpacket',
        dev: topo.dev,
        maxClasses: 8,
        classes: Array.from({ length: 8 }, () => ({ weight: 1 })),
      });
      sink = new StampSink(topo.ns, topo.peer, host.epoch, xdp);
      expect(sink.kind).toBe(xdp ? 'xdp' : 'packet');
      if (xdp) expect(xdpOn(topo)).toMatch(/^prog \d+$/);
      const before = process.hrtime.bigint();
      fleet = await startGenerators(link, 1, () => ({ classes: [5], minSize: 64, maxSize: 64, packets, seed: 1, stamp: true }), 1024);
      await fleet.done;
      const [stats] = await host.close({ drain: true, timeoutMs: 10_000 });
      host = undefined;
      const span = Number(process.hrtime.bigint() - before);
      expect(stats.totals.sent).toBe(packets);
      // Let the kernel hand the last frames over, reading as they come.
      for (let waited = 0; sink.poll() >= 0 && sink.stamped < packets && waited < 2000; waited += 20) await new Promise((r) => setTimeout(r, 20));
      // The socket also sees the far end's own frames (IPv6 neighbour discovery); XDP, only arrivals.
      if (xdp) expect(sink.received).toBe(packets);
      else expect(sink.received).toBeGreaterThanOrEqual(packets);
      expect(sink.stamped).toBe(packets);
      expect([...sink.e2e.keys()]).toEqual([5]);
      const h = sink.e2e.get(5)!;
      expect(h.count).toBe(packets);
      expect(h.min).toBeGreaterThan(0);
      expect(h.max).toBeLessThan(span);
      sink.close();
      sink = undefined;
      expect(xdpOn(topo)).toBe('none');
    });
  }
});
