import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readTag } from '../traffic/packet.js';
import { startGenerators, type GeneratorFleet } from '../traffic/generators.js';
import { ArbiterHost } from '../src/arbiter/host.js';
import { readPcap } from '../src/transmit/pcap.js';

let host: ArbiterHost | undefined;
let fleet: GeneratorFleet | undefined;
const dir = mkdtempSync(join(tmpdir(), 'pspat-pcap-'));
afterEach(async () => {
  await fleet?.terminate();
  await host?.terminate();
  host = fleet = undefined;
});

describe('pcap backend', () => {
  it('writes every released frame, in order, stamped at its departure: spaced by wire time', async () => {
    const out = join(dir, 'run.pcap');
    const rate = 100e6;
    host = await ArbiterHost.start({ poolFrames: 256 });
    const link = await host.addLink({ rate, scheduler: 'fifo', backend: 'pcap', out, maxClasses: 2, classes: [{}, {}] });
    fleet = await startGenerators(link, 1, () => ({ classes: [0, 1], minSize: 1000, maxSize: 1000, packets: 2000, seed: 4 }), 256);
    await fleet.done;
    const [s] = await host.close({ drain: true });
    expect(s.totals).toEqual({ offered: 2000, sent: 2000, dropped: 0, queued: 0 });

    const records = readPcap(readFileSync(out));
    expect(records).toHaveLength(2000);
    const tags = records.map((r) => readTag(r.data, 0));
    expect(tags.map((t) => t.seq)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(records.every((r) => r.data.length === 1000)).toBe(true);
    // Per class counts match what the arbiter says it sent.
    for (const c of s.classes) expect(tags.filter((t) => t.cls === c.slot)).toHaveLength(c.sentPackets);

    const wireNs = ((1000 + 24) * 8e9) / rate; // 81 920 ns
    const gaps = records.slice(1).map((r, i) => (r.sec - records[i].sec) * 1e9 + (r.nsec - records[i].nsec));
    // Never faster than the link; while backlogged, exactly one wire time apart (±1 ns
    // for the integer nanoseconds in the file).
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(wireNs - 1);
    const exact = gaps.filter((g) => Math.abs(g - wireNs) <= 1).length;
    expect(exact / gaps.length).toBeGreaterThan(0.95);
  });

  it('refuses a pcap file it cannot create, on the calling side of addLink', async () => {
    host = await ArbiterHost.start({ poolFrames: 64 });
    await expect(host.addLink({ backend: 'pcap', out: join(dir, 'missing', 'x.pcap') })).rejects.toThrow(
      /^out: cannot write pcap file '.*missing\/x\.pcap': ENOENT/,
    );
    await expect(host.addLink({ backend: 'pcap' })).rejects.toThrow('out: the pcap backend needs a file to write (--out FILE)');
  });
});

process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
